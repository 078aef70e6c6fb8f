"""Opening the DuckDB warehouse: one short-lived writer, readers that retry, files stock clients read.

DuckDB 2.x writes a storage format the stock 1.5 CLI cannot read; new files are therefore created
with ``storage_compatibility_version = STORAGE_VERSION`` so ``duckdb -readonly data/ecotrend.duckdb``
(duckdb-cli 1.5.x) opens them.
"""
from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Callable

import duckdb

log = logging.getLogger("ecotrend.warehouse")

STORAGE_VERSION = "v1.4.0"
APP_TABLE = "schema_migrations"


class WarehouseError(Exception):
    """The warehouse cannot be used (missing, foreign, corrupt, locked); str() is one line."""


class WarehouseLocked(WarehouseError):
    pass


class WarehouseMissing(WarehouseError):
    pass


def _is_lock_error(exc: Exception) -> bool:
    text = str(exc)
    return "lock" in text.lower() and ("Conflicting" in text or "Could not set lock" in text)


def _open(path: Path, read_only: bool) -> duckdb.DuckDBPyConnection:
    # No replacement scans: a table name the warehouse lacks is a catalog error, never a Python
    # variable of that name picked up from the calling code.
    config = {"python_enable_replacements": False}
    if not read_only:
        config["storage_compatibility_version"] = STORAGE_VERSION
    return duckdb.connect(str(path), read_only=read_only, config=config)


def _classify(path: Path, exc: Exception) -> WarehouseError:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if _is_lock_error(exc):
        return WarehouseLocked(f"{path}: the warehouse is locked by another process "
                               f"(a DuckDB session left open? open it with 'duckdb -readonly')")
    if "not a valid DuckDB database" in text or "Unable to read" in text or "magic" in text.lower() \
            or "IO Error" in text and "header" in text.lower():
        return WarehouseError(f"{path}: not a DuckDB database file; refusing to touch it")
    if "Permission denied" in text or "Read-only file system" in text:
        return WarehouseError(f"{path}: cannot write here: {text}")
    return WarehouseError(f"{path}: cannot open the warehouse: {text}")


def connect(path: Path, read_only: bool, wait_seconds: float = 10.0,
            sleep: Callable[[float], None] = time.sleep,
            say: Callable[[str], None] | None = None) -> duckdb.DuckDBPyConnection:
    """Open the warehouse, retrying for ``wait_seconds`` while another process holds the lock."""
    path = Path(path)
    if read_only and not path.exists():
        raise WarehouseMissing(f"{path}: no warehouse yet; 'ecotrend run' or 'ecotrend collect' creates it")
    if not read_only:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise WarehouseError(f"{path.parent}: cannot create the data folder: {exc.strerror}") from None
    deadline = time.monotonic() + wait_seconds
    told = False
    delay = 0.1
    while True:
        try:
            con = _open(path, read_only)
        except (duckdb.Error, OSError) as exc:
            err = _classify(path, exc)
            if isinstance(err, WarehouseLocked) and time.monotonic() < deadline:
                if not told:
                    msg = f"warehouse busy (another process is writing); retrying for up to {wait_seconds:.0f}s"
                    (say or log.warning)(msg)
                    told = True
                sleep(delay)
                delay = min(delay * 2, 1.0)
                continue
            raise err from None
        _check_ours(path, con)
        return con


def _check_ours(path: Path, con: duckdb.DuckDBPyConnection) -> None:
    """Refuse a DuckDB file that holds tables but is not an ecotrend warehouse."""
    tables = {r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'").fetchall()}
    if tables and APP_TABLE not in tables:
        con.close()
        raise WarehouseError(f"{path}: a DuckDB file, but not an ecotrend warehouse "
                             f"(no {APP_TABLE} table); refusing to touch it")


def read_query(path: Path, sql: str, params: list | None = None, wait_seconds: float = 10.0,
               say: Callable[[str], None] | None = None) -> list[tuple]:
    """Run one read-only query on a short-lived connection; [] when there is no warehouse yet."""
    path = Path(path)
    if not path.exists():
        return []
    con = connect(path, read_only=True, wait_seconds=wait_seconds, say=say)
    try:
        return con.execute(sql, params or []).fetchall()
    except duckdb.CatalogException:
        return []  # an older warehouse without the table yet
    finally:
        con.close()
