"""The save half: write collected batches in one short transaction, or spool them when locked out.

Observations arrive as one Arrow table per commit and are upserted with ``INSERT … SELECT … ON
CONFLICT`` keyed by (day, source, metric, subject, method): re-running a day changes nothing.
When the warehouse stays locked past ``[storage] lock_wait_seconds`` (a DuckDB CLI session left
open), the rows go to ``pending_dir`` as gzip JSON and are merged on the next successful open.
"""
from __future__ import annotations

import datetime as dt
import gzip
import json
import logging
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import duckdb
import pyarrow as pa

from collectors.base import Batch, Observation, Subject
from warehouse import db, migrations
from warehouse.metrics import METRICS
from warehouse.settings import StorageSettings

log = logging.getLogger("ecotrend.warehouse")

# Extra tables a Batch may carry: name -> key columns.  The tables are created by migrations.
EXTRA_TABLE_KEYS: dict[str, list[str]] = {}
EXTRA_TABLE_KEYS["gaps"] = ["day", "collector"]  # days a catch-up could not rebuild
EXTRA_TABLE_KEYS["leaderboard"] = ["day", "arena", "model"]  # Arena boards (collectors/arena.py)
EXTRA_TABLE_KEYS["hf_top_models"] = ["day", "ecosystem", "rank"]  # each family's top Hub models
EXTRA_TABLE_KEYS["trending"] = ["day", "period", "rank"]  # GitHub Trending rows (collectors/github_trending.py)
EXTRA_TABLE_KEYS["openrouter_days"] = ["day"]  # OpenRouter's meta.as_of per day (collectors/openrouter.py)


@dataclass
class RunRecord:
    run_id: str
    collector: str
    day: dt.date
    mode: str  # run | collect | backfill | replay
    started_at: dt.datetime
    ended_at: dt.datetime | None = None
    status: str = "ok"  # ok | partial | failed | interrupted | skipped
    requests: dict[str, int] = field(default_factory=dict)
    rows_written: int = 0
    error: str = ""


def new_run_id(now: dt.datetime | None = None) -> str:
    now = now or dt.datetime.now(dt.UTC)
    return now.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]


def open_writer(storage: StorageSettings, wait_seconds: float | None = None,
                say: Callable[[str], None] | None = None) -> duckdb.DuckDBPyConnection:
    """Open for writing (brief!), apply migrations, refresh the catalogue and merge spooled rows."""
    wait = storage.lock_wait_seconds if wait_seconds is None else wait_seconds
    con = db.connect(storage.database, read_only=False, wait_seconds=wait, say=say)
    try:
        migrations.migrate(con)
        _sync_catalogue(con)
        merge_pending(con, storage)
    except Exception:
        con.close()
        raise
    return con


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    con.execute("BEGIN TRANSACTION")
    try:
        yield
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def insert_arrow(con: duckdb.DuckDBPyConnection, table: pa.Table, sql: str) -> None:
    """Run ``sql``, which reads the relation ``_batch``, with ``table`` registered under that name."""
    con.register("_batch", table)
    try:
        con.execute(sql)
    except duckdb.Error:
        # in an aborted transaction unregister fails too; keep the real error, not that one
        with suppress(duckdb.Error):
            con.unregister("_batch")
        raise
    con.unregister("_batch")


def _sync_catalogue(con: duckdb.DuckDBPyConnection) -> None:
    table = pa.table({"metric": [m.name for m in METRICS], "unit": [m.unit for m in METRICS],
                      "kind": [m.kind for m in METRICS], "aggregation": [m.aggregation for m in METRICS],
                      "description": [m.description for m in METRICS]})
    with transaction(con):
        con.execute("DELETE FROM metrics")
        insert_arrow(con, table, "INSERT INTO metrics BY NAME SELECT * FROM _batch")


@dataclass(frozen=True)
class EcosystemRow:
    """One family as the ``ecosystems`` table holds it."""

    key: str
    label: str
    color: str
    first_release: str | None = None  # YYYY-MM-DD


@dataclass(frozen=True)
class EventRow:
    """One release event as the ``events`` table holds it."""

    day: str  # YYYY-MM-DD
    label: str
    ecosystem: str = ""


def sync_config(con: duckdb.DuckDBPyConnection, ecosystems: Sequence[EcosystemRow], events: Sequence[EventRow],
                memberships: Iterable[Any]) -> None:
    """Make ecosystems, events and memberships mirror the config (the config is their truth)."""
    ecos = pa.table({
        "ecosystem": [e.key for e in ecosystems],
        "label": [e.label for e in ecosystems],
        "color": [e.color for e in ecosystems],
        "first_release": [dt.date.fromisoformat(e.first_release) if e.first_release else None
                          for e in ecosystems],
        "position": list(range(len(ecosystems))),
    })
    seen_events = {(ev.day, ev.label): ev for ev in events}
    events_t = pa.table({
        "day": [dt.date.fromisoformat(e.day) for e in seen_events.values()],
        "label": [e.label for e in seen_events.values()],
        "ecosystem": [e.ecosystem or None for e in seen_events.values()],
    }, schema=pa.schema([("day", pa.date32()), ("label", pa.string()), ("ecosystem", pa.string())]))
    mem_rows = {(m.ecosystem, m.source, m.subject, m.role) for m in memberships}
    mems = pa.table({
        "ecosystem": [r[0] for r in mem_rows], "source": [r[1] for r in mem_rows],
        "subject": [r[2] for r in mem_rows], "role": [r[3] for r in mem_rows],
    }, schema=pa.schema([(n, pa.string()) for n in ("ecosystem", "source", "subject", "role")]))
    with transaction(con):
        con.execute("DELETE FROM ecosystems")
        insert_arrow(con, ecos, "INSERT INTO ecosystems BY NAME SELECT * FROM _batch")
        con.execute("DELETE FROM events")
        insert_arrow(con, events_t, "INSERT INTO events BY NAME SELECT * FROM _batch")
        con.execute("DELETE FROM memberships")
        insert_arrow(con, mems, "INSERT INTO memberships BY NAME SELECT * FROM _batch")


def _obs_table(obs: list[Observation], run_id: str, collected_at: dt.datetime) -> pa.Table:
    dedup: dict[tuple, Observation] = {}
    for o in obs:
        dedup[o.key()] = o  # the last word of a run on a key wins
    rows = list(dedup.values())
    return pa.table({
        "day": pa.array([o.day for o in rows], pa.date32()),
        "source": pa.array([o.source for o in rows], pa.string()),
        "metric": pa.array([o.metric for o in rows], pa.string()),
        "subject": pa.array([o.subject for o in rows], pa.string()),
        "value": pa.array([float(o.value) for o in rows], pa.float64()),
        "method": pa.array([o.method for o in rows], pa.string()),
        "flags": pa.array([o.flags or "" for o in rows], pa.string()),
        "run_id": pa.array([run_id] * len(rows), pa.string()),
        "collected_at": pa.array([collected_at.replace(tzinfo=None)] * len(rows), pa.timestamp("us")),
    })


def upsert_observations(con: duckdb.DuckDBPyConnection, table: pa.Table) -> int:
    if table.num_rows == 0:
        return 0
    insert_arrow(con, table, """
        INSERT INTO observations BY NAME SELECT * FROM _batch
        ON CONFLICT (day, source, metric, subject, method) DO UPDATE SET
            value = excluded.value, flags = excluded.flags,
            run_id = excluded.run_id, collected_at = excluded.collected_at""")
    return table.num_rows


def _upsert_rows(con: duckdb.DuckDBPyConnection, name: str, rows: list[dict[str, Any]]) -> int:
    if not rows:
        return 0
    keys = EXTRA_TABLE_KEYS[name]
    dedup = {tuple(r[k] for k in keys): r for r in rows}
    table = pa.Table.from_pylist(list(dedup.values()))
    cols = table.column_names
    updates = ", ".join(f"{c} = excluded.{c}" for c in cols if c not in keys)
    conflict = f"DO UPDATE SET {updates}" if updates else "DO NOTHING"
    insert_arrow(con, table, f"INSERT INTO {name} BY NAME SELECT * FROM _batch "  # names from code
                             f"ON CONFLICT ({', '.join(keys)}) {conflict}")
    return len(dedup)


def write_batch(con: duckdb.DuckDBPyConnection, batch: Batch, run_id: str, day: dt.date,
                collected_at: dt.datetime | None = None) -> int:
    """Write one batch inside the caller's transaction; return the rows written."""
    collected_at = collected_at or dt.datetime.now(dt.UTC)
    n = upsert_observations(con, _obs_table(batch.observations, run_id, collected_at))
    subjects = list({(s.source, s.subject): s for s in batch.subjects}.values())
    if subjects:
        insert_arrow(con, pa.table({
            "source": [s.source for s in subjects], "subject": [s.subject for s in subjects],
            "kind": [s.kind for s in subjects], "canonical": [s.canonical or s.subject for s in subjects],
            "first_seen": pa.array([day] * len(subjects), pa.date32()),
            "last_seen": pa.array([day] * len(subjects), pa.date32())}), """
            INSERT INTO subjects BY NAME SELECT * FROM _batch
            ON CONFLICT (source, subject) DO UPDATE SET kind = excluded.kind,
                canonical = excluded.canonical, last_seen = excluded.last_seen""")
    for name, rows in batch.tables.items():
        n += _upsert_rows(con, name, rows)
    now = collected_at.replace(tzinfo=None)
    if batch.state:
        keys = list(batch.state)
        insert_arrow(con, pa.table({
            "source": [batch.source] * len(keys), "key": keys,
            "value": pa.array([batch.state[k] for k in keys], pa.string()),
            "updated_at": pa.array([now] * len(keys), pa.timestamp("us"))}),
            """INSERT INTO state BY NAME SELECT * FROM _batch ON CONFLICT (source, key)
               DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at""")
    return n


def write_run(con: duckdb.DuckDBPyConnection, rec: RunRecord) -> None:
    con.execute("""
        INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (run_id, collector) DO UPDATE SET ended_at = excluded.ended_at,
            status = excluded.status, requests = excluded.requests,
            rows_written = excluded.rows_written, error = excluded.error""",
                [rec.run_id, rec.collector, rec.day, rec.mode,
                 rec.started_at.replace(tzinfo=None) if rec.started_at else None,
                 rec.ended_at.replace(tzinfo=None) if rec.ended_at else None, rec.status,
                 json.dumps(rec.requests, sort_keys=True), rec.rows_written, rec.error or None])


def close_stale_runs(con: duckdb.DuckDBPyConnection, current: set[str]) -> None:
    """Mark runs left 'running' by a killed process as interrupted (call only under the run lock)."""
    con.execute("""UPDATE runs SET status = 'interrupted',
                      error = 'the process ended before the run finished (killed?)'
                   WHERE status = 'running' AND NOT list_contains(?, run_id)""", [sorted(current)])


def commit(con: duckdb.DuckDBPyConnection, items: list[tuple[Batch | None, RunRecord]]) -> int:
    """Write batches and their run records in one transaction; all or nothing."""
    total = 0
    with transaction(con):
        for batch, rec in items:
            if batch is not None:
                rec.rows_written = write_batch(con, batch, rec.run_id, rec.day)
                total += rec.rows_written
            write_run(con, rec)
    return total


# -- spooling -------------------------------------------------------------------------------------
def _jsonable(v: Any) -> Any:
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    return v


def spool(storage: StorageSettings, items: list[tuple[Batch | None, RunRecord]]) -> Path:
    """Write a run's rows to pending_dir atomically; merged on the next successful open."""
    folder = storage.pending_dir
    folder.mkdir(parents=True, exist_ok=True)
    payload = {
        "version": 1,
        "items": [
            {
                "batch": None if b is None else {
                    "source": b.source,
                    "observations": [[o.day.isoformat(), o.source, o.metric, o.subject, o.value,
                                      o.method, o.flags] for o in b.observations],
                    "subjects": [asdict(s) for s in b.subjects],
                    "tables": {k: [{kk: _jsonable(vv) for kk, vv in r.items()} for r in rows]
                               for k, rows in b.tables.items()},
                    "state": b.state,
                },
                "run": {**{k: _jsonable(v) for k, v in asdict(r).items()}},
            }
            for b, r in items
        ],
    }
    run_id = items[0][1].run_id if items else new_run_id()
    path = folder / f"{run_id}-{uuid.uuid4().hex[:4]}.json.gz"
    tmp = path.with_name(path.name + ".tmp")
    with gzip.open(tmp, "wt", encoding="utf-8") as fh:
        json.dump(payload, fh)
    os.replace(tmp, path)
    return path


def _load_spool(path: Path) -> list[tuple[Batch | None, RunRecord]]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        payload = json.load(fh)
    out = []
    for item in payload["items"]:
        b = item["batch"]
        batch = None
        if b is not None:
            batch = Batch(source=b["source"])
            batch.observations = [Observation(dt.date.fromisoformat(r[0]), r[1], r[2], r[3], r[4], r[5],
                                              r[6]) for r in b["observations"]]
            batch.subjects = [Subject(**s) for s in b["subjects"]]
            batch.tables = b["tables"]
            batch.state = b["state"]
        r = item["run"]
        rec = RunRecord(run_id=r["run_id"], collector=r["collector"], day=dt.date.fromisoformat(r["day"]),
                        mode=r["mode"], started_at=dt.datetime.fromisoformat(r["started_at"]),
                        ended_at=dt.datetime.fromisoformat(r["ended_at"]) if r["ended_at"] else None,
                        status=r["status"], requests=r["requests"], rows_written=r["rows_written"],
                        error=r["error"])
        out.append((batch, rec))
    return out


def merge_pending(con: duckdb.DuckDBPyConnection, storage: StorageSettings) -> int:
    """Merge spooled runs, oldest first; a merged file is deleted only after its commit."""
    folder = storage.pending_dir
    if not folder.is_dir():
        return 0
    merged = 0
    for path in sorted(folder.glob("*.json.gz")):
        try:
            items = _load_spool(path)
        except (OSError, ValueError, KeyError) as exc:
            log.error("pending file %s is unreadable (%s); left in place", path.name, exc)
            continue
        try:
            commit(con, items)
        except Exception as exc:  # noqa: BLE001 - whatever is wrong with it, it must not block writes
            # one bad file must not block every later write: set it aside, keep it for inspection
            bad = path.with_name(path.name + ".bad")
            os.replace(path, bad)
            log.error("pending file %s could not be merged (%s); kept as %s",
                      path.name, str(exc).splitlines()[0], bad.name)
            continue
        path.unlink()
        merged += 1
        log.info("merged spooled rows from %s", path.name)
    return merged
