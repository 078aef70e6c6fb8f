"""The warehouse as an open Parquet lake: ``ecotrend export --to DIR``.

The export reads the warehouse only through its query contract (``observations`` and the dimension
tables) and writes (the layout is a contract, documented in README "Beyond one machine")::

    DIR/manifest.json                                       written last; names every file below
    DIR/observations/source=S/metric=M/YYYY-MM.parquet      the facts of one month
    DIR/{subjects,memberships,metrics,ecosystems,events}/data.parquet

Run again on the same DIR it is incremental: every file's content is summed up in DuckDB as
(rows, sum of a hash of each row) and compared with what the manifest recorded; only files whose
figure differs (or that are missing) are written again, files of months that no longer hold facts
are removed, and the manifest is rewritten only when it changed — a re-export of unchanged data
touches no file.  Every file is written under a hidden temporary name and renamed into place, and
the manifest last, so a reader or a killed export never meets a torn file.
"""
from __future__ import annotations

import fcntl
import json
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from jobs.commands import CommandError, UsageError, say
from jobs.config import Config
from warehouse import db

FORMAT = "ecotrend-lake"
LAYOUT_VERSION = 1  # the folders, file names and columns below; bumped when any of them changes
CONTRACT_VERSION = 1  # README's query contract (observations, subjects, memberships, metrics, …)
MANIFEST = "manifest.json"
LOCK = ".export.lock"
FACTS = "observations"
COMPRESSION = "zstd"
ROW_GROUP_ROWS = 1_000_000
MONTH_FILE = re.compile(r"^\d{4}-\d{2}\.parquet$")

# One figure per month file: rows and the sum of a 64-bit hash of every row (order-free, so DuckDB
# can compute it in one parallel pass).  source and metric are the folders, not columns of the file.
FACT_FIGURES_SQL = """
SELECT source, metric, strftime(day, '%Y-%m') AS month, count(*) AS n,
       CAST(sum(hash(day, subject, value, method, flags, run_id, collected_at)) AS VARCHAR) AS h
FROM observations GROUP BY ALL ORDER BY ALL"""
AS_OF_SQL = "SELECT CAST(max(day) AS VARCHAR) FROM observations WHERE method <> 'reference'"
# The month files to write, one group id each (registered as _wanted), in one ordered pass.
FACT_ROWS_SQL = """
SELECT w.g, o.day, o.subject, o.value, o.method, o.flags, o.run_id, o.collected_at
FROM observations o
JOIN _wanted w ON w.source = o.source AND w.metric = o.metric AND w.month = strftime(o.day, '%Y-%m')
ORDER BY w.g, o.day, o.subject, o.method"""
# The dimensions the family aggregation needs, each as (figure query, rows in a stable order).
DIMENSIONS: dict[str, tuple[str, str]] = {
    "subjects": ("SELECT count(*), CAST(sum(hash(t)) AS VARCHAR) FROM subjects t",
                 "SELECT * FROM subjects ORDER BY source, subject"),
    "memberships": ("SELECT count(*), CAST(sum(hash(t)) AS VARCHAR) FROM memberships t",
                    "SELECT * FROM memberships ORDER BY ecosystem, source, subject, role"),
    "metrics": ("SELECT count(*), CAST(sum(hash(t)) AS VARCHAR) FROM metrics t",
                "SELECT * FROM metrics ORDER BY metric"),
    "ecosystems": ("SELECT count(*), CAST(sum(hash(t)) AS VARCHAR) FROM ecosystems t",
                   "SELECT * FROM ecosystems ORDER BY ecosystem"),
    "events": ("SELECT count(*), CAST(sum(hash(t)) AS VARCHAR) FROM events t",
               "SELECT * FROM events ORDER BY day, label"),
}


@dataclass
class Outcome:
    """What one export did, file by file (paths relative to DIR)."""

    written: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)
    manifest_written: bool = False


def partition_dir(source: str, metric: str) -> str:
    """observations/source=S/metric=M, values escaped as Hive does (%XX for anything unusual)."""
    return f"{FACTS}/source={quote(source, safe='')}/metric={quote(metric, safe='')}"


def read_manifest(to: Path) -> dict[str, Any] | None:
    """The previous export's manifest; None for a new or empty folder; UsageError for anything else."""
    if not to.exists():
        return None
    if not to.is_dir():
        raise UsageError(f"{to}: exists and is not a folder; choose a folder")
    path = to / MANIFEST
    if not path.exists():
        if any(p.name != LOCK for p in to.iterdir()):
            raise UsageError(f"{to}: folder is not empty and holds no ecotrend export ({MANIFEST} missing); "
                             "choose an empty folder or a previous export")
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path}: not a readable ecotrend export manifest ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise UsageError(f"{path}: not an ecotrend export manifest; choose an empty folder or a previous export")
    if int(manifest.get("layout_version", 0)) > LAYOUT_VERSION:
        raise UsageError(f"{to}: written by a newer ecotrend (layout {manifest['layout_version']}, this one "
                         f"writes {LAYOUT_VERSION}); upgrade or choose another folder")
    return manifest


def previous_files(manifest: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """relative path -> {"rows", "hash"} of every file the previous manifest lists (same layout only)."""
    if not manifest or manifest.get("layout_version") != LAYOUT_VERSION:
        return {}
    out: dict[str, dict[str, Any]] = {}
    for table in manifest.get("tables", {}).values():
        out.update(table.get("files", {}))
    return out


@contextmanager
def export_lock(to: Path) -> Iterator[None]:
    """One export at a time per folder (an flock the kernel drops when its holder dies)."""
    fd = os.open(to / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise CommandError(f"{to}: another export into this folder is in progress") from None
        yield
    finally:
        os.close(fd)


def _tmp_name(final: Path) -> Path:
    return final.with_name(f".{final.name}.{os.getpid()}.tmp")


def _replace(tmp: Path, final: Path) -> None:
    os.replace(tmp, final)


class _MonthWriter:
    """Writes the ordered rows of the month files being replaced, one file at a time, each under a
    temporary name renamed into place when complete."""

    def __init__(self, to: Path, targets: list[str]):
        self.to, self.targets = to, targets
        self.current: int | None = None
        self.writer: pq.ParquetWriter | None = None
        self.tmp: Path | None = None
        self.buffer: list[pa.RecordBatch] = []
        self.buffered = 0

    def add(self, g: int, batch: pa.RecordBatch) -> None:
        if g != self.current:
            self.finish()
            self.current = g
            final = self.to / self.targets[g]
            final.parent.mkdir(parents=True, exist_ok=True)
            self.tmp = _tmp_name(final)
            self.writer = pq.ParquetWriter(self.tmp, batch.schema, compression=COMPRESSION)
        self.buffer.append(batch)
        self.buffered += batch.num_rows
        if self.buffered >= ROW_GROUP_ROWS:
            self._flush()

    def _flush(self) -> None:
        if self.buffer and self.writer is not None:
            self.writer.write_table(pa.Table.from_batches(self.buffer), row_group_size=ROW_GROUP_ROWS)
        self.buffer, self.buffered = [], 0

    def finish(self) -> None:
        if self.writer is None or self.current is None or self.tmp is None:
            return
        self._flush()
        self.writer.close()
        _replace(self.tmp, self.to / self.targets[self.current])
        self.writer, self.current, self.tmp = None, None, None

    def abandon(self) -> None:
        if self.writer is not None and self.tmp is not None:
            self.writer.close()
            self.tmp.unlink(missing_ok=True)
        self.writer, self.current, self.tmp = None, None, None


def write_months(con: duckdb.DuckDBPyConnection, to: Path, wanted: list[tuple[str, str, str, str]]) -> None:
    """Write the month files ``wanted`` ((source, metric, month, relative path)) in one ordered pass."""
    if not wanted:
        return
    con.register("_wanted", pa.table({"g": pa.array(range(len(wanted)), pa.int32()),
                                      "source": [w[0] for w in wanted], "metric": [w[1] for w in wanted],
                                      "month": [w[2] for w in wanted]}))
    out = _MonthWriter(to, [w[3] for w in wanted])
    try:
        reader = con.sql(FACT_ROWS_SQL).to_arrow_reader(ROW_GROUP_ROWS)
        for batch in reader:
            runs = pc.run_end_encode(batch.column("g"))
            start = 0
            for end, g in zip(runs.run_ends.to_pylist(), runs.values.to_pylist()):
                out.add(g, batch.slice(start, end - start).drop_columns(["g"]))
                start = end
        out.finish()
    except BaseException:
        out.abandon()
        raise
    finally:
        con.unregister("_wanted")


def export_facts(con: duckdb.DuckDBPyConnection, to: Path, before: dict[str, dict[str, Any]],
                 outcome: Outcome) -> dict[str, dict[str, Any]]:
    """Write the month files whose figure changed; return the new file list."""
    files: dict[str, dict[str, Any]] = {}
    wanted: list[tuple[str, str, str, str]] = []
    for source, metric, month, n, h in con.execute(FACT_FIGURES_SQL).fetchall():
        rel = f"{partition_dir(source, metric)}/{month}.parquet"
        files[rel] = {"rows": n, "hash": h}
        old = before.get(rel)
        if old is not None and old.get("hash") == h and old.get("rows") == n and (to / rel).is_file():
            outcome.kept.append(rel)
        else:
            wanted.append((source, metric, month, rel))
            outcome.written.append(rel)
    write_months(con, to, wanted)
    outcome.rows[FACTS] = sum(f["rows"] for f in files.values())
    return files


def export_dimensions(con: duckdb.DuckDBPyConnection, to: Path, before: dict[str, dict[str, Any]],
                      outcome: Outcome) -> dict[str, dict[str, dict[str, Any]]]:
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for name, (figure_sql, rows_sql) in DIMENSIONS.items():
        [(n, h)] = con.execute(figure_sql).fetchall()
        rel = f"{name}/data.parquet"
        out[name] = {rel: {"rows": n, "hash": h or "0"}}
        outcome.rows[name] = n
        old = before.get(rel)
        if old is not None and old.get("hash") == (h or "0") and old.get("rows") == n and (to / rel).is_file():
            outcome.kept.append(rel)
            continue
        final = to / rel
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = _tmp_name(final)
        pq.write_table(con.sql(rows_sql).to_arrow_table(), tmp, compression=COMPRESSION)
        _replace(tmp, final)
        outcome.written.append(rel)
    return out


def remove_stale(to: Path, keep: set[str], before: dict[str, dict[str, Any]], outcome: Outcome) -> None:
    """Remove the files of the previous export that are no longer part of it (months without facts,
    a vanished metric), and month files a killed export left unlisted; then empty partition folders."""
    facts_dir = to / FACTS
    strays = set()
    if facts_dir.is_dir():
        for path in facts_dir.glob("source=*/metric=*/*"):
            if MONTH_FILE.match(path.name) or (path.name.startswith(".") and path.name.endswith(".tmp")):
                strays.add(str(path.relative_to(to)))
    for rel in sorted((set(before) | strays) - keep):
        path = to / rel
        if path.is_file():
            path.unlink()
            if not path.name.startswith("."):
                outcome.removed.append(rel)
    if facts_dir.is_dir():
        for folder in sorted(facts_dir.glob("source=*/metric=*")) + sorted(facts_dir.glob("source=*")):
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()


def write_manifest(to: Path, manifest: dict[str, Any]) -> bool:
    """Write the manifest (temporary name, then rename) unless it already says the same; True if written."""
    text = json.dumps(manifest, indent=1, sort_keys=True) + "\n"
    path = to / MANIFEST
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return False
    tmp = _tmp_name(path)
    tmp.write_text(text, encoding="utf-8")
    _replace(tmp, path)
    return True


def export(con: duckdb.DuckDBPyConnection, to: Path, previous: dict[str, Any] | None) -> Outcome:
    """Bring the lake in ``to`` up to date with the warehouse behind ``con`` (read through the contract)."""
    outcome = Outcome()
    before = previous_files(previous)
    if previous is None:  # a first export marks the folder as one before writing into it
        write_manifest(to, {"format": FORMAT, "layout_version": LAYOUT_VERSION, "complete": False})
    facts = export_facts(con, to, before, outcome)
    dims = export_dimensions(con, to, before, outcome)
    keep = set(facts) | {rel for files in dims.values() for rel in files}
    remove_stale(to, keep, before, outcome)
    tables = {FACTS: {"rows": outcome.rows[FACTS], "partitioning": ["source", "metric"], "files": facts}}
    tables.update({name: {"rows": outcome.rows[name], "files": files} for name, files in dims.items()})
    manifest = {"format": FORMAT, "layout_version": LAYOUT_VERSION, "contract_version": CONTRACT_VERSION,
                "complete": True, "as_of": con.execute(AS_OF_SQL).fetchall()[0][0], "tables": tables}
    outcome.manifest_written = write_manifest(to, manifest)
    return outcome


def export_command(cfg: Config, to: Path) -> int:
    """``ecotrend export --to DIR``: a new lake in a new or empty folder, or an update of a previous one."""
    to = Path(to)
    read_manifest(to)  # refuse a foreign folder before anything else
    started = time.monotonic()
    con = db.connect(cfg.database, read_only=True, wait_seconds=cfg.storage.lock_wait_seconds, say=say)
    try:
        try:
            to.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CommandError(f"{to}: cannot create the export folder: {exc.strerror}") from None
        try:
            with export_lock(to):
                outcome = export(con, to, read_manifest(to))
        except OSError as exc:
            raise CommandError(f"{to}: export failed: {exc.strerror or exc}") from None
    finally:
        con.close()
    print(f"exported {outcome.rows[FACTS]} observations and {len(DIMENSIONS)} dimension tables to {to} "
          f"in {time.monotonic() - started:.1f}s: {len(outcome.written)} files written, {len(outcome.kept)} "
          f"unchanged, {len(outcome.removed)} removed (layout: {MANIFEST}, {FACTS}/source=…/metric=…/YYYY-MM.parquet)")
    return 0
