"""The save half: write collected rows in one short transaction, or spool them when locked out.

A write takes ``Rows``: Arrow tables or plain columns (and a few row lists), no class of the
collectors.  Observations become facts keyed by series ids (warehouse/facts.py): the batch's keys
are deleted and the batch appended, so re-running a day changes nothing; then the plausibility of
the levels it touched is judged (warehouse/plausibility.py) and the family totals of the groups it
touched are recomputed (warehouse/family.py), all in the caller's transaction.
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
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence, Union

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from warehouse import db, facts, family, migrations, plausibility
from warehouse.facts import OBSERVATION_SCHEMA, KeyedFacts
from warehouse.metrics import METRICS
from warehouse.settings import PlausibilitySettings, StorageSettings

log = logging.getLogger("ecotrend.warehouse")

# Extra tables a write may carry: name -> key columns.  The tables are created by migrations.
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
    suspects: list[str] = field(default_factory=list)  # facts this run flagged suspect (not stored in runs)


# column name -> values (all of one length), or a list of rows (mappings of column name -> value)
Columns = Mapping[str, Sequence[Any]]
RowList = Sequence[Mapping[str, Any]]
TableLike = Union[pa.Table, Columns, RowList]

OBSERVATION_KEY = ("day", "source", "metric", "subject", "method")
SUBJECT_SCHEMA = pa.schema([(n, pa.string()) for n in ("source", "subject", "kind", "canonical")])


@dataclass
class Rows:
    """What one source's run (or backfill window) writes.

    ``observations`` has OBSERVATION_SCHEMA's columns (flags may be null for none), ``subjects``
    SUBJECT_SCHEMA's (canonical empty for the configured name); ``tables`` maps an extra table
    (EXTRA_TABLE_KEYS) to its rows; ``state`` is (key, value) pairs kept under ``source``.  Within
    one write the last row given for a key wins.
    """

    source: str
    observations: Union[TableLike, KeyedFacts] = field(default_factory=dict)
    subjects: TableLike = field(default_factory=list)
    tables: Mapping[str, TableLike] = field(default_factory=dict)
    state: Mapping[str, str] = field(default_factory=dict)


Item = tuple[Union[Rows, None], RunRecord]  # what one commit holds per collector: rows (or none) and its run


def as_table(data: TableLike, schema: pa.Schema | None = None) -> pa.Table:
    """An Arrow table from a table, columns or a row list; typed (and its columns chosen) by ``schema``."""
    if isinstance(data, pa.Table):
        return data if schema is None else data.select(schema.names).cast(schema)
    if isinstance(data, Mapping):
        if schema is None:
            return pa.table(dict(data))
        return pa.table({n: data.get(n, []) for n in schema.names}, schema=schema)
    return pa.Table.from_pylist(list(data), schema=schema)


def as_rows(data: TableLike) -> list[dict[str, Any]]:
    """The same data as a list of rows."""
    if isinstance(data, pa.Table):
        return data.to_pylist()
    if isinstance(data, Mapping):
        return [dict(zip(data, values)) for values in zip(*data.values())]
    return [dict(r) for r in data]


def last_per_key(table: pa.Table, keys: Sequence[str]) -> pa.Table:
    """One row per key: the last one given (the last word of a run on a key wins), in first-seen order."""
    if table.num_rows < 2:
        return table
    positions = table.select(list(keys)).append_column("_pos", pa.array(range(table.num_rows), pa.int64()))
    groups = positions.group_by(list(keys), use_threads=False).aggregate([("_pos", "min"), ("_pos", "max")])
    if groups.num_rows == table.num_rows:
        return table
    order = pc.sort_indices(groups["_pos_min"])
    return table.take(groups["_pos_max"].take(order))


def new_run_id(now: dt.datetime | None = None) -> str:
    now = now or dt.datetime.now(dt.UTC)
    return now.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]


def open_writer(storage: StorageSettings, wait_seconds: float | None = None,
                say: Callable[[str], None] | None = None,
                rules: PlausibilitySettings | None = None) -> duckdb.DuckDBPyConnection:
    """Open for writing (brief!), apply migrations, refresh the catalogue and merge spooled rows."""
    wait = storage.lock_wait_seconds if wait_seconds is None else wait_seconds
    con = db.connect(storage.database, read_only=False, wait_seconds=wait, say=say)
    try:
        migrations.migrate(con)
        _sync_catalogue(con)
        merge_pending(con, storage, rules)
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


def insert_arrow(con: duckdb.DuckDBPyConnection, table: pa.Table, sql: str, params: list | None = None) -> None:
    """Run ``sql``, which reads the relation ``_batch``, with ``table`` registered under that name."""
    con.register("_batch", table)
    try:
        con.execute(sql, params)
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
    if not family.catalogue_changed(con, table, "metrics", "metric, unit, kind, aggregation, description"):
        return
    with transaction(con):
        con.execute("DELETE FROM metrics")
        insert_arrow(con, table, "INSERT INTO metrics BY NAME SELECT * FROM _batch")
        family.rebuild(con)  # a metric's aggregation may have changed


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
    members_changed = family.catalogue_changed(con, mems, "memberships", "ecosystem, source, subject, role")
    with transaction(con):
        con.execute("DELETE FROM ecosystems")
        insert_arrow(con, ecos, "INSERT INTO ecosystems BY NAME SELECT * FROM _batch")
        con.execute("DELETE FROM events")
        insert_arrow(con, events_t, "INSERT INTO events BY NAME SELECT * FROM _batch")
        if members_changed:  # family totals follow memberships: rebuilt only when they change
            con.execute("DELETE FROM memberships")
            insert_arrow(con, mems, "INSERT INTO memberships BY NAME SELECT * FROM _batch")
            family.rebuild(con)


def _upsert_rows(con: duckdb.DuckDBPyConnection, name: str, rows: TableLike) -> int:
    table = as_table(rows)
    if table.num_rows == 0:
        return 0
    keys = EXTRA_TABLE_KEYS[name]
    table = last_per_key(table, keys)
    cols = table.column_names
    updates = ", ".join(f"{c} = excluded.{c}" for c in cols if c not in keys)
    conflict = f"DO UPDATE SET {updates}" if updates else "DO NOTHING"
    insert_arrow(con, table, f"INSERT INTO {name} BY NAME SELECT * FROM _batch "  # names from code
                             f"ON CONFLICT ({', '.join(keys)}) {conflict}")
    return table.num_rows


def _upsert_subjects(con: duckdb.DuckDBPyConnection, subjects: TableLike, day: dt.date) -> None:
    table = last_per_key(as_table(subjects, SUBJECT_SCHEMA), ("source", "subject"))
    if table.num_rows == 0:
        return
    insert_arrow(con, table, """
        INSERT INTO subjects BY NAME
        SELECT source, subject, kind, coalesce(nullif(canonical, ''), subject) AS canonical,
               ?::DATE AS first_seen, ?::DATE AS last_seen FROM _batch
        ON CONFLICT (source, subject) DO UPDATE SET kind = excluded.kind,
            canonical = excluded.canonical, last_seen = excluded.last_seen""", [day, day])


def _upsert_state(con: duckdb.DuckDBPyConnection, source: str, state: Mapping[str, str],
                  updated_at: dt.datetime) -> None:
    if not state:
        return
    insert_arrow(con, pa.table({"key": pa.array(list(state), pa.string()),
                                "value": pa.array(list(state.values()), pa.string())}), """
        INSERT INTO state BY NAME SELECT ? AS source, key, value, ? AS updated_at FROM _batch
        ON CONFLICT (source, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at""",
                 [source, updated_at.replace(tzinfo=None)])


@dataclass
class Touched:
    """What a transaction's writes touched, for one refresh of the family totals at its end."""

    series_ids: list[pa.Array] = field(default_factory=list)
    days: list[pa.Array] = field(default_factory=list)

    def add(self, series_ids: pa.Array, days: pa.Array) -> None:
        self.series_ids.append(series_ids)
        self.days.append(days)

    def refresh(self, con: duckdb.DuckDBPyConnection) -> None:
        if self.series_ids:
            family.refresh(con, pa.concat_arrays(self.series_ids), pa.concat_arrays(self.days))
        self.series_ids, self.days = [], []


def write_facts(con: duckdb.DuckDBPyConnection, observations: Union[TableLike, KeyedFacts], run_id: str,
                collected_at: dt.datetime, rules: PlausibilitySettings | None = None,
                touched: Touched | None = None) -> tuple[int, list[str]]:
    """Store observations as facts and judge the levels they touch, in the caller's transaction; the
    family totals they touch are refreshed now, or added to ``touched`` for one refresh later.
    Return the facts written and one line per fact newly flagged suspect."""
    batch = facts.keyed(observations)
    if batch.num_rows == 0:
        return 0, []
    written = facts.append(con, batch, run_id, collected_at)
    rules = rules or PlausibilitySettings()
    plausibility.remember(con, rules)
    changes = plausibility.check(con, written, rules)
    mine = Touched() if touched is None else touched
    mine.add(written["series_id"].combine_chunks(), written["day"].combine_chunks())
    if changes:
        mine.add(pa.array([c.series_id for c in changes], pa.int32()), pa.array([c.day for c in changes], pa.date32()))
    if touched is None:
        mine.refresh(con)
    return written.num_rows, plausibility.describe(con, changes)


def write(con: duckdb.DuckDBPyConnection, rows: Rows, run_id: str, day: dt.date,
          collected_at: dt.datetime | None = None, rules: PlausibilitySettings | None = None,
          suspects: list[str] | None = None, touched: Touched | None = None) -> int:
    """Write one source's rows inside the caller's transaction; return the rows written.  Lines naming
    the facts this write flagged suspect are added to ``suspects``; see write_facts for ``touched``."""
    at = collected_at or dt.datetime.now(dt.UTC)
    n, flagged = write_facts(con, rows.observations, run_id, at, rules, touched)
    if suspects is not None:
        suspects += flagged
    _upsert_subjects(con, rows.subjects, day)
    n += sum(_upsert_rows(con, name, table) for name, table in rows.tables.items())
    _upsert_state(con, rows.source, rows.state, at)
    return n


def recompute(con: duckdb.DuckDBPyConnection) -> None:
    """Derive again what the facts imply, from the facts alone: the series that hold facts, the suspect
    flags (by the rules the warehouse applied) and the family totals.  For a filtered copy (an as-of
    snapshot), so that nothing judged or summed later leaks into it."""
    with transaction(con):
        facts.prune_series(con)
        plausibility.check(con, pa.table({"series_id": pa.array([], pa.int32()), "day": pa.array([], pa.date32())}),
                           plausibility.stored_rules(con), everything=True)
        family.rebuild(con)


def after_manual_write(con: duckdb.DuckDBPyConnection) -> None:
    """After a hand-made write (``ecotrend sql --write``): forget series left without facts and
    recompute every family total, so the materialized totals never disagree with the facts."""
    with transaction(con):
        facts.prune_series(con)
        family.rebuild(con)


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


def commit(con: duckdb.DuckDBPyConnection, items: Sequence[Item], rules: PlausibilitySettings | None = None) -> int:
    """Write rows and their run records in one transaction; all or nothing.  Each run record's
    ``suspects`` lists the facts its rows flagged suspect."""
    total = 0
    touched = Touched()
    with transaction(con):
        for rows, rec in items:
            if rows is not None:
                rec.suspects = []
                rec.rows_written = write(con, rows, rec.run_id, rec.day, rules=rules, suspects=rec.suspects,
                                         touched=touched)
                total += rec.rows_written
            write_run(con, rec)
        touched.refresh(con)
    return total


# -- spooling -------------------------------------------------------------------------------------
# A spool file (version 1) holds per item the source's rows — observations as lists in
# OBSERVATION_SCHEMA's column order, subjects and extra tables as row objects, state as an object —
# and the run record's fields, dates and times as ISO text.
def _jsonable(v: Any) -> Any:
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    return v


def _json_rows(data: TableLike) -> list[dict[str, Any]]:
    return [{k: _jsonable(v) for k, v in r.items()} for r in as_rows(data)]


def _spooled_rows(rows: Rows) -> dict[str, Any]:
    obs = facts.keyed(rows.observations).to_table().to_pydict()
    return {
        "source": rows.source,
        "observations": [[_jsonable(v) for v in r] for r in zip(*obs.values())],
        "subjects": as_rows(as_table(rows.subjects, SUBJECT_SCHEMA)),
        "tables": {name: _json_rows(table) for name, table in rows.tables.items()},
        "state": dict(rows.state),
    }


def spool(storage: StorageSettings, items: Sequence[Item]) -> Path:
    """Write a run's rows to pending_dir atomically; merged on the next successful open."""
    folder = storage.pending_dir
    folder.mkdir(parents=True, exist_ok=True)
    payload = {"version": 1, "items": [{"batch": None if rows is None else _spooled_rows(rows),
                                        "run": {k: _jsonable(v) for k, v in asdict(rec).items()}}
                                       for rows, rec in items]}
    run_id = items[0][1].run_id if items else new_run_id()
    path = folder / f"{run_id}-{uuid.uuid4().hex[:4]}.json.gz"
    tmp = path.with_name(path.name + ".tmp")
    with gzip.open(tmp, "wt", encoding="utf-8") as fh:
        json.dump(payload, fh)
    os.replace(tmp, path)
    return path


def _unspooled_rows(b: dict[str, Any]) -> Rows:
    columns = {name: list(values) for name, values in zip(OBSERVATION_SCHEMA.names, zip(*b["observations"]))}
    columns["day"] = [dt.date.fromisoformat(d) for d in columns.get("day", [])]
    return Rows(b["source"], columns, b["subjects"], b["tables"], b["state"])


def _unspooled_run(r: dict[str, Any]) -> RunRecord:
    values = {f.name: r[f.name] for f in fields(RunRecord) if f.name in r}
    return RunRecord(**{**values, "day": dt.date.fromisoformat(r["day"]),
                        "started_at": dt.datetime.fromisoformat(r["started_at"]),
                        "ended_at": dt.datetime.fromisoformat(r["ended_at"]) if r["ended_at"] else None})


def _load_spool(path: Path) -> list[Item]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        payload = json.load(fh)
    return [(None if item["batch"] is None else _unspooled_rows(item["batch"]), _unspooled_run(item["run"]))
            for item in payload["items"]]


def merge_pending(con: duckdb.DuckDBPyConnection, storage: StorageSettings,
                  rules: PlausibilitySettings | None = None) -> int:
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
            commit(con, items, rules)
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
