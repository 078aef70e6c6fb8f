"""Running collectors: fetch with no database open, then one short write at the end (or per window).

The order of a run: take the run lock → read state (read-only, brief) → each collector fetches and
parses in memory → open the writer, commit batches and run records in one transaction, close → if
the warehouse stays locked, spool the rows to data/pending/ for the next open.
"""
from __future__ import annotations

import datetime as dt
import logging
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Iterable, Sequence

import duckdb

import collectors
from collectors import archive as archive_mod
from collectors.base import BackfillCollector, Batch, Collector, Context, Membership
from collectors.errors import Interrupted, SourceError
from collectors.http import HttpClient, ReplayClient
from jobs import history
from jobs.config import Config
from jobs.lock import RunLock, lock_path
from warehouse import db, store
from warehouse.facts import KeyedFacts

log = logging.getLogger("ecotrend")


@dataclass
class Outcome:
    """What a command reports: per collector a status line, and where rows went."""

    records: list[store.RunRecord] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    spooled: str | None = None
    batches: dict[str, Batch] = field(default_factory=dict)
    skipped: bool = False  # the day was collected by another process while this one waited

    @property
    def failed(self) -> bool:
        return any(r.status in ("failed", "partial", "interrupted") for r in self.records)

    @property
    def suspects(self) -> list[str]:
        """Facts this command's commits flagged suspect, one line each (collector: day source metric …)."""
        return [f"{r.collector}: {line}" for r in self.records for line in r.suspects]

    @property
    def interrupted(self) -> bool:
        return any(r.status == "interrupted" for r in self.records)


class StopFlag:
    """Set by SIGTERM/SIGINT; collectors and the HTTP client stop at the next safe point."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self._old: dict[int, Any] = {}

    def __call__(self) -> bool:
        return self.event.is_set()

    def install(self) -> "StopFlag":
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                self._old[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        if self.event.is_set():  # a second signal: stop now
            raise KeyboardInterrupt
        log.warning("received %s; stopping at the next safe point", signal.Signals(signum).name)
        self.event.set()

    def restore(self) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)
        self._old.clear()


def secrets(cfg: Config) -> list[str]:
    return cfg.collector_settings().secrets()


def all_memberships(cfg: Config) -> list[Membership]:
    out: list[Membership] = []
    for c in collectors.REGISTRY.values():
        fn = getattr(c, "memberships", None)
        if fn:
            out.extend(fn(cfg.collector_settings()))
    return out


def load_state(cfg: Config) -> dict[str, dict[str, str]]:
    try:
        rows = db.read_query(cfg.database, "SELECT source, key, value FROM state", wait_seconds=5)
    except db.WarehouseLocked:
        log.warning("warehouse locked while reading state; collecting without cached ETags/cursors")
        return {}
    out: dict[str, dict[str, str]] = {}
    for source, key, value in rows:
        out.setdefault(source, {})[key] = value
    return out


def make_query(cfg: Config) -> Callable[[str, list | None], list[tuple]]:
    def query(sql: str, params: list | None = None) -> list[tuple]:
        try:
            return db.read_query(cfg.database, sql, params, wait_seconds=5)
        except db.WarehouseLocked:
            return []
    return query


def to_stderr(message: str) -> None:
    print(message, file=sys.stderr)


def run_lock(cfg: Config, lock_wait: float | None = None) -> RunLock:
    """The one-writer lock of the warehouse, waited for ``lock_wait`` s ([storage] lock_wait_seconds if None)."""
    return RunLock(lock_path(cfg.database),
                   wait_seconds=cfg.storage.lock_wait_seconds if lock_wait is None else lock_wait)


def rows_of(batch: Batch) -> store.Rows:
    """What the warehouse writes of a collector's batch: its observation columns, subjects, tables, state."""
    return store.Rows(batch.source, KeyedFacts.from_lists(batch.source, *batch.facts()),
                      [asdict(s) for s in batch.subjects], batch.tables, batch.state)


def save(cfg: Config, items: Sequence[store.Item], outcome: Outcome, say: Callable[[str], None],
         sync: bool = True) -> None:
    """Commit, or spool when the warehouse stays locked past its bound. Never drops rows."""
    try:
        con = store.open_writer(cfg.storage, say=say, rules=cfg.plausibility)
    except db.WarehouseLocked as exc:
        path = store.spool(cfg.storage, items)
        outcome.spooled = str(path)
        say(f"{exc}; rows kept in {path} and merged on the next run")
        return
    try:
        if sync:
            store.sync_config(con, cfg.ecosystem_rows(), cfg.event_rows(), all_memberships(cfg))
            # we hold the run lock: a 'running' row of another run belongs to a process that died
            store.close_stale_runs(con, {rec.run_id for _, rec in items})
        store.commit(con, items, cfg.plausibility)
    except duckdb.Error as exc:
        # the commit rolled back; the collected rows are kept on disk rather than lost
        path = store.spool(cfg.storage, items)
        outcome.spooled = str(path)
        say(f"warehouse write failed ({str(exc).splitlines()[0]}); rows kept in {path}")
    finally:
        con.close()


def _status_line(rec: store.RunRecord) -> str:
    reqs = sum(v for k, v in rec.requests.items() if not k.endswith("_304") and k != "rate_limit")
    base = f"{rec.collector}: {rec.status}, {rec.rows_written} rows, {reqs} requests"
    return base + (f" — {rec.error}" if rec.error else "")


def status_lines(records: Iterable[store.RunRecord]) -> list[str]:
    return [_status_line(r) for r in records]


@dataclass(frozen=True)
class Session:
    """One command's collecting: the config, its run id, the stop flag and where messages go."""

    cfg: Config
    run_id: str
    stop: StopFlag
    say: Callable[[str], None]

    @classmethod
    def start(cls, cfg: Config, stop: StopFlag | None = None, say: Callable[[str], None] | None = None
              ) -> "Session":
        return cls(cfg, store.new_run_id(), stop or StopFlag(), say or to_stderr)

    def live_client(self, day: dt.date) -> HttpClient:
        """The network client; every answer is archived under ``day`` and this run."""
        hidden = secrets(self.cfg)
        return HttpClient(self.cfg.http, archive_mod.Archive(self.cfg.raw_dir, day, self.run_id, hidden), hidden,
                          interrupted=self.stop)

    def say_costs(self, names: Iterable[str]) -> None:
        """Once, after the warehouse was found usable and before any request: what running without a
        GitHub or Hub token will cost (jobs/tokens.py)."""
        from jobs import tokens

        for line in tokens.notices(self.cfg, names):
            self.say(line)
            log.info(line)

    def context(self, http: Any, day: dt.date) -> Context:
        """What a collector gets, with the warehouse's state as it is now."""
        return Context(settings=self.cfg.collector_settings(), http=http, day=day, run_id=self.run_id,
                       query=make_query(self.cfg), state=load_state(self.cfg), interrupted=self.stop)


@contextmanager
def _ending(rec: store.RunRecord, what: str, interrupted: str, failed: str = "{exc}"
            ) -> Iterator[dict[str, Any]]:
    """Record on ``rec`` how a collector's work was cut short: a signal, its source, or a bug (which
    must not lose the other sources' rows).  The messages are templates filled with ``exc`` and with
    what the body put in the dict it is given."""
    told: dict[str, Any] = {}
    try:
        yield told
    except Interrupted:
        rec.status, rec.error = "interrupted", interrupted.format(**told)
    except SourceError as exc:
        rec.status, rec.error = "failed", failed.format(exc=exc, **told)
    except Exception as exc:
        log.debug("unexpected failure in %s", what, exc_info=True)
        rec.status, rec.error = "failed", f"unexpected {type(exc).__name__}: {exc}"


def _close(rec: store.RunRecord, c: Collector, http: Any, before: dict[Any, int]) -> None:
    """Count the requests the collector made since ``before`` and mark the record's end."""
    after = http.requests
    rec.requests = {k[1]: after[k] - before.get(k, 0) for k in after
                    if k[0] in (rec.collector, c.source) and after[k] - before.get(k, 0)}
    rec.ended_at = dt.datetime.now(dt.UTC)


def _collect_one(s: Session, ctx: Context, name: str, mode: str) -> tuple[Batch | None, store.RunRecord]:
    c = collectors.get(name)
    rec = store.RunRecord(s.run_id, name, ctx.day, mode, dt.datetime.now(dt.UTC))
    batch: Batch | None = None
    before = dict(ctx.http.requests)
    if s.stop():
        rec.status, rec.error = "interrupted", "stopped before it started"
    else:
        with _ending(rec, name, "stopped by signal; nothing of it stored"):
            batch = c.collect(ctx)
            rec.status = "partial" if batch.failures else "ok"
            rec.error = f"skipped: {batch.skipped}" if batch.skipped else ""  # ok, idle on purpose
            if batch.failures:
                rec.error = "; ".join(batch.failures[:3]) + (
                    f" (+{len(batch.failures) - 3} more)" if len(batch.failures) > 3 else "")
    _close(rec, c, ctx.http, before)
    return batch, rec


def _collect_all(s: Session, ctx: Context, names: Iterable[str], mode: str) -> Outcome:
    """Each collector in turn with no database open, then one commit of all they learnt."""
    outcome = Outcome()
    items: list[store.Item] = []
    for name in names:
        batch, rec = _collect_one(s, ctx, name, mode)
        if batch is not None:
            outcome.batches[name] = batch
            for note in batch.notes:
                log.info("%s: %s", name, note)
        items.append((None if batch is None else rows_of(batch), rec))
        outcome.records.append(rec)
    save(s.cfg, items, outcome, s.say)
    outcome.lines = status_lines(outcome.records) + suspect_lines(outcome)
    return outcome


def collect(cfg: Config, day: dt.date, names: Iterable[str], mode: str = "collect",
            from_archive: dt.date | None = None, stop: StopFlag | None = None,
            say: Callable[[str], None] | None = None) -> Outcome:
    """Collect the named sources for ``day`` and store them; the daily job minus the site.

    With ``from_archive`` the sources are parsed again from that day's raw archive instead (replay).
    """
    if from_archive is not None:
        return replay(cfg, day, names, from_archive, stop=stop, say=say)
    s = Session.start(cfg, stop, say)
    daily = mode == "run"
    done_before = history.done_run_ids(cfg, day) if daily else set()
    with run_lock(cfg) as lock:
        if daily and lock.waited and history.done_run_ids(cfg, day) - done_before:
            # Another process (the scheduler, or a second manual run) collected this day while we
            # waited for the lock: never collect the same day twice in a row.
            return Outcome(skipped=True, lines=[f"{day}: collected by another ecotrend run while this one "
                                                "waited; nothing collected twice"])
        ctx = s.context(s.live_client(day), day)
        s.say_costs(names)
        return _collect_all(s, ctx, names, mode)


def replay(cfg: Config, day: dt.date, names: Iterable[str], archive_day: dt.date | None = None,
           stop: StopFlag | None = None, say: Callable[[str], None] | None = None) -> Outcome:
    """Parse the named sources again from the raw archive of ``archive_day`` (``day`` if None), no
    network, and store them for ``day`` as mode 'replay'."""
    s = Session.start(cfg, stop, say)
    chosen = list(names)
    sources = [collectors.get(n).source for n in chosen]
    with run_lock(cfg):
        dirs = {src: archive_mod.latest_run_dir(cfg.raw_dir, archive_day or day, src) for src in sources}
        return _collect_all(s, s.context(ReplayClient(dirs), day), chosen, "replay")


def _backfill_one(s: Session, ctx: Context, c: BackfillCollector, name: str, window: tuple[dt.date, dt.date],
                  outcome: Outcome) -> store.RunRecord:
    """One collector's backfill, each finished window committed on its own; returns its run record."""
    rec = store.RunRecord(s.run_id, name, ctx.day, "backfill", dt.datetime.now(dt.UTC))
    before = dict(ctx.http.requests)
    with _ending(rec, f"{name} backfill", "stopped by signal after {windows} windows",
                 "{exc} (after {windows} windows; rerun to resume)") as told:
        told["windows"] = 0
        for batch in c.backfill(ctx, *window):
            wrec = store.RunRecord(s.run_id, name, ctx.day, "backfill", rec.started_at, status="running")
            # config and stale runs are synced with the first window, not with every one
            save(s.cfg, [(rows_of(batch), wrec)], outcome, s.say, sync=(told["windows"] == 0))
            rec.rows_written += wrec.rows_written
            rec.suspects += wrec.suspects
            told["windows"] += 1
            rec.error = f"skipped: {batch.skipped}" if batch.skipped else rec.error
            if batch.failures:
                rec.status = "partial"
                rec.error = "; ".join(batch.failures[:3])
            if s.stop():
                raise Interrupted()
    _close(rec, c, ctx.http, before)
    save(s.cfg, [(None, rec)], outcome, s.say)
    return rec


def backfill(cfg: Config, since: dt.date, until: dt.date, names: Iterable[str], day: dt.date,
             stop: StopFlag | None = None, say: Callable[[str], None] | None = None,
             lock_wait: float | None = None) -> Outcome:
    """Deep history where a source can rebuild it; each finished window is committed on its own."""
    s = Session.start(cfg, stop, say)
    outcome = Outcome()
    with run_lock(cfg, lock_wait):
        http = s.live_client(day)
        able = [n for n in names if getattr(collectors.get(n), "backfill", None) is not None]
        for i, name in enumerate(able):
            ctx = s.context(http, day)
            if i == 0:
                s.say_costs(able)
            outcome.records.append(_backfill_one(s, ctx, collectors.get(name), name, (since, until), outcome))
            if s.stop():
                break
    outcome.lines = status_lines(outcome.records) + suspect_lines(outcome)
    return outcome


def suspect_lines(outcome: Outcome) -> list[str]:
    """The run notes' lines for facts flagged suspect (also logged as warnings)."""
    lines = [f"suspect: {line}" for line in outcome.suspects]
    for line in lines:
        log.warning("%s", line)
    return lines


def now_utc_day() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def elapsed(start: float) -> str:
    return f"{time.monotonic() - start:.1f}s"
