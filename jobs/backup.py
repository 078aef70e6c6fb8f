"""``ecotrend backup --to DIR``: a consistent copy of the warehouse that opens on its own.

The copy is made through DuckDB, not by copying the file: the warehouse is attached read-only (a
snapshot; a run's commit waits at most for the copy, and the copy retries briefly while a commit
holds the lock) and ``COPY FROM DATABASE`` writes every table, view and the migration log into a
fresh file with the same storage compatibility version, so the stock DuckDB CLI opens the copy.
The copy is written under a temporary name and renamed when complete: a kill leaves no half file.
"""
from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Callable
from pathlib import Path

import duckdb

from jobs.config import Config
from warehouse import db


def backup(cfg: Config, to: Path, today: dt.date, say: Callable[[str], None] | None = None) -> Path:
    """Write ``DIR/<warehouse name>-<day>.duckdb``; return its path."""
    src = cfg.database
    if not src.exists():
        raise db.WarehouseMissing(f"{src}: no warehouse yet; nothing to back up")
    to = Path(to)
    if to.exists() and not to.is_dir():
        raise FileExistsError(f"{to}: exists and is not a folder; choose a folder for the copy")
    to.mkdir(parents=True, exist_ok=True)
    target = to / f"{src.stem}-{today:%Y%m%d}.duckdb"
    if target.exists():
        raise FileExistsError(f"{target}: exists already; choose another folder or move it away")
    tmp = target.with_name(target.name + ".partial")
    for p in (tmp, Path(str(tmp) + ".wal")):
        p.unlink(missing_ok=True)
    deadline = time.monotonic() + float(cfg.storage.lock_wait_seconds)
    told = False
    while True:
        con = duckdb.connect()
        try:
            con.execute("ATTACH ? AS src (READ_ONLY)", [str(src)])
            break
        except duckdb.Error as exc:
            con.close()
            if db._is_lock_error(exc) and time.monotonic() < deadline:
                if not told and say:
                    say("warehouse busy (a run is committing); retrying the backup briefly")
                    told = True
                time.sleep(0.2)
                continue
            raise db._classify(src, exc) from None
    tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables "
                                         "WHERE table_catalog = 'src' AND table_schema = 'main'").fetchall()}
    if db.APP_TABLE not in tables:
        con.close()
        raise db.WarehouseError(f"{src}: not an ecotrend warehouse (no {db.APP_TABLE} table); "
                                "refusing to back it up")
    try:
        con.execute(f"ATTACH ? AS dst (STORAGE_VERSION '{db.STORAGE_VERSION}')", [str(tmp)])
        con.execute("COPY FROM DATABASE src TO dst")
        con.execute("DETACH dst")
    except BaseException:
        con.close()
        for p in (tmp, Path(str(tmp) + ".wal")):
            p.unlink(missing_ok=True)  # no half copy left behind
        raise
    con.close()
    os.replace(tmp, target)
    return target
