"""What the ``runs`` table says about each UTC day: done, failed attempts, last attempt.

The scheduler keeps no job store of its own: the warehouse's run log is the one truth about which
days have been collected, so a day is run once whatever the clock or the machine did.  Reads are
short read-only connections; nothing here holds the warehouse open.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from jobs.config import Config
from warehouse import db

DAILY_MODES = ("run", "collect")
CATCHUP_MODE = "catchup"
DONE_STATUSES = ("ok", "partial")
CATCHUP_DONE_STATUSES = ("ok", "partial", "gap")


@dataclass
class DayRecord:
    """One UTC day as the run log sees it."""

    done: bool = False
    failed_attempts: int = 0
    last_attempt: dt.datetime | None = None  # UTC, aware


RunRow = tuple[dt.date, str, str, str, dt.datetime | None]  # day, run_id, mode, status, ended_at


def summarise(rows: Iterable[RunRow]) -> dict[dt.date, DayRecord]:
    """Fold run-log rows into one record per day.

    A day is done when a daily run (``run``/``collect``) of it ended ``ok`` or ``partial``, or when
    a catch-up of it finished with every collector ``ok``, ``partial`` or ``gap``.  A run whose rows
    all failed is a failed attempt; an interrupted run is neither done nor a failure, so the next
    start simply runs the day again.
    """
    runs: dict[tuple[dt.date, str], list[tuple[str, str, dt.datetime | None]]] = {}
    for day, run_id, mode, status, ended in rows:
        runs.setdefault((day, run_id), []).append((mode, status, ended))
    out: dict[dt.date, DayRecord] = {}
    for (day, _run_id), items in runs.items():
        rec = out.setdefault(day, DayRecord())
        statuses = {s for _, s, _ in items}
        catchup = all(m == CATCHUP_MODE for m, _, _ in items)
        ends = [e.replace(tzinfo=dt.UTC) if e and e.tzinfo is None else e for _, _, e in items if e]
        if catchup:
            if statuses <= set(CATCHUP_DONE_STATUSES):
                rec.done = True
        elif statuses & set(DONE_STATUSES):
            rec.done = True
        if "interrupted" in statuses or "running" in statuses:
            continue
        if not rec.done and "failed" in statuses:
            rec.failed_attempts += 1
            last = max(ends) if ends else None
            if last and (rec.last_attempt is None or last > rec.last_attempt):
                rec.last_attempt = last
    return out


def load_rows(cfg: Config, since: dt.date, wait_seconds: float = 5.0) -> list[RunRow]:
    """Run-log rows of daily runs and catch-ups from ``since`` on ([] when no warehouse yet)."""
    modes = (*DAILY_MODES, CATCHUP_MODE)
    return db.read_query(cfg.database, f"""
        SELECT day, run_id, mode, status, ended_at FROM runs
        WHERE day >= ? AND mode IN ({', '.join('?' for _ in modes)})
        ORDER BY day, started_at""", [since, *modes], wait_seconds=wait_seconds)


def first_day(cfg: Config, wait_seconds: float = 5.0) -> dt.date | None:
    """The first day the run log knows of a daily run or catch-up; None on a fresh warehouse."""
    modes = (*DAILY_MODES, CATCHUP_MODE)
    rows = db.read_query(cfg.database, f"SELECT min(day) FROM runs WHERE mode IN "
                                       f"({', '.join('?' for _ in modes)})", list(modes),
                         wait_seconds=wait_seconds)
    return rows[0][0] if rows and rows[0][0] else None


def done_run_ids(cfg: Config, day: dt.date) -> set[str]:
    """Run ids of the daily runs of ``day`` that ended ok/partial (a run that waited for the lock
    compares these before and after, so it never collects a day another process just collected)."""
    try:
        rows = db.read_query(cfg.database, f"""
            SELECT DISTINCT run_id FROM runs WHERE day = ? AND mode IN ('run', 'collect')
            AND status IN ({', '.join(repr(s) for s in DONE_STATUSES)})""", [day], wait_seconds=5)
    except db.WarehouseLocked:
        return set()
    return {r[0] for r in rows}
