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
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import duckdb

import collectors
from collectors import archive as archive_mod
from collectors.base import Batch, Context, Membership
from collectors.errors import Interrupted, SourceError
from collectors.http import HttpClient, ReplayClient
from jobs import history
from jobs.config import Config
from jobs.lock import RunLock, lock_path
from warehouse import db, store

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


def save(cfg: Config, items: list[tuple[Batch | None, store.RunRecord]], outcome: Outcome,
         say: Callable[[str], None], sync: bool = True) -> None:
    """Commit, or spool when the warehouse stays locked past its bound. Never drops rows."""
    try:
        con = store.open_writer(cfg.storage, say=say)
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
        store.commit(con, items)
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


def collect(cfg: Config, day: dt.date, names: Iterable[str], mode: str = "collect",
            from_archive: dt.date | None = None, stop: StopFlag | None = None,
            say: Callable[[str], None] | None = None, lock_wait: float | None = None,
            write: bool = True) -> Outcome:
    """Collect the named sources for ``day`` and store them; the daily job minus the site."""
    say = say or (lambda m: print(m, file=sys.stderr))
    stop = stop or StopFlag()
    names = list(names)
    run_id = store.new_run_id()
    outcome = Outcome()
    wait = cfg.storage.lock_wait_seconds if lock_wait is None else lock_wait
    done_before = history.done_run_ids(cfg, day) if mode == "run" and write else set()
    with RunLock(lock_path(cfg.database), wait_seconds=wait) as lock:
        if lock.waited and mode == "run" and write and history.done_run_ids(cfg, day) - done_before:
            # Another process (the scheduler, or a second manual run) collected this day while we
            # waited for the lock: never collect the same day twice in a row.
            outcome.skipped = True
            outcome.lines = [(f"{day}: collected by another ecotrend run while this one waited; "
                              "nothing collected twice")]
            return outcome
        state = load_state(cfg)
        if from_archive is not None:
            dirs = {}
            for n in names:
                src = collectors.get(n).source
                dirs[src] = archive_mod.latest_run_dir(cfg.raw_dir, from_archive, src)
            http: Any = ReplayClient(dirs)
            mode = "replay"
        else:
            arch = archive_mod.Archive(cfg.raw_dir, day, run_id, secrets(cfg))
            http = HttpClient(cfg.http, arch, secrets(cfg), interrupted=stop)
        ctx = Context(settings=cfg.collector_settings(), http=http, day=day, run_id=run_id, query=make_query(cfg),
                      state=state, interrupted=stop)
        items: list[tuple[Batch | None, store.RunRecord]] = []
        for name in names:
            c = collectors.get(name)
            rec = store.RunRecord(run_id, name, day, mode, dt.datetime.now(dt.UTC))
            batch: Batch | None = None
            before = dict(http.requests)
            if stop():
                rec.status, rec.error = "interrupted", "stopped before it started"
            else:
                try:
                    batch = c.collect(ctx)
                    rec.status = "partial" if batch.failures else "ok"
                    rec.error = f"skipped: {batch.skipped}" if batch.skipped else ""  # ok, idle on purpose
                    if batch.failures:
                        rec.error = "; ".join(batch.failures[:3]) + (
                            f" (+{len(batch.failures) - 3} more)" if len(batch.failures) > 3 else "")
                except Interrupted:
                    rec.status, rec.error = "interrupted", "stopped by signal; nothing of it stored"
                except SourceError as exc:
                    rec.status, rec.error = "failed", str(exc)
                except Exception as exc:  # a bug must not lose the other sources' rows
                    log.debug("unexpected failure in %s", name, exc_info=True)
                    rec.status, rec.error = "failed", f"unexpected {type(exc).__name__}: {exc}"
            after = http.requests
            keys = {k for k in after if k[0] in (name, c.source)}
            rec.requests = {k[1]: after[k] - before.get(k, 0) for k in keys if after[k] - before.get(k, 0)}
            rec.ended_at = dt.datetime.now(dt.UTC)
            if batch is not None:
                outcome.batches[name] = batch
                for note in batch.notes:
                    log.info("%s: %s", name, note)
            items.append((batch, rec))
            outcome.records.append(rec)
        if write:
            save(cfg, items, outcome, say)
    outcome.lines = [_status_line(r) for r in outcome.records]
    return outcome


def backfill(cfg: Config, since: dt.date, until: dt.date, names: Iterable[str], day: dt.date,
             stop: StopFlag | None = None, say: Callable[[str], None] | None = None,
             lock_wait: float | None = None) -> Outcome:
    """Deep history where a source can rebuild it; each finished window is committed on its own."""
    say = say or (lambda m: print(m, file=sys.stderr))
    stop = stop or StopFlag()
    run_id = store.new_run_id()
    outcome = Outcome()
    wait = cfg.storage.lock_wait_seconds if lock_wait is None else lock_wait
    with RunLock(lock_path(cfg.database), wait_seconds=wait):
        arch = archive_mod.Archive(cfg.raw_dir, day, run_id, secrets(cfg))
        http = HttpClient(cfg.http, arch, secrets(cfg), interrupted=stop)
        for name in names:
            c = collectors.get(name)
            fn = getattr(c, "backfill", None)
            if fn is None:
                continue
            rec = store.RunRecord(run_id, name, day, "backfill", dt.datetime.now(dt.UTC))
            ctx = Context(settings=cfg.collector_settings(), http=http, day=day, run_id=run_id, query=make_query(cfg),
                          state=load_state(cfg), interrupted=stop)
            before = dict(http.requests)
            windows = 0
            try:
                for batch in fn(ctx, since, until):
                    wrec = store.RunRecord(run_id, name, day, "backfill", rec.started_at, status="running")
                    # config and stale runs are synced with the first window, not with every one
                    save(cfg, [(batch, wrec)], outcome, say, sync=(windows == 0))
                    rec.rows_written += wrec.rows_written
                    windows += 1
                    rec.error = f"skipped: {batch.skipped}" if batch.skipped else rec.error
                    if batch.failures:
                        rec.status = "partial"
                        rec.error = "; ".join(batch.failures[:3])
                    if stop():
                        raise Interrupted()
            except Interrupted:
                rec.status, rec.error = "interrupted", f"stopped by signal after {windows} windows"
            except SourceError as exc:
                rec.status, rec.error = "failed", f"{exc} (after {windows} windows; rerun to resume)"
            except Exception as exc:
                log.debug("unexpected failure in %s backfill", name, exc_info=True)
                rec.status, rec.error = "failed", f"unexpected {type(exc).__name__}: {exc}"
            after = http.requests
            rec.requests = {k[1]: after[k] - before.get(k, 0) for k in after
                            if k[0] in (name, c.source) and after[k] - before.get(k, 0)}
            rec.ended_at = dt.datetime.now(dt.UTC)
            save(cfg, [(None, rec)], outcome, say)
            outcome.records.append(rec)
            if stop():
                break
    outcome.lines = [_status_line(r) for r in outcome.records]
    return outcome


def now_utc_day() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def elapsed(start: float) -> str:
    return f"{time.monotonic() - start:.1f}s"
