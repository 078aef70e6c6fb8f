"""``ecotrend schedule``: the daily job at ``[schedule] time``/``timezone``, run once per UTC day.

Two triggers feed one check.  An APScheduler cron trigger fires at the configured local time
(``coalesce=True``, ``max_instances=1`` and a misfire grace of hours, not APScheduler's one second
that silently skips a late nightly job), and an interval tick every few minutes asks the run log
what is due.  The tick is what makes the schedule robust: APScheduler may fire late or not at all
after the machine slept, and a local-time schedule meets DST gaps (02:30 does not exist on the
spring-forward night) and repeats (01:30 happens twice on the autumn night).  "What is due" is
derived from the ``runs`` table alone (:func:`plan`), so no job store is kept anywhere, least of
all in the warehouse file, whose lock a job store would hold for the scheduler's whole life.
"""
from __future__ import annotations

import datetime as dt
import logging
import signal
import sys
import threading
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from jobs.config import Config
from jobs.history import DayRecord

log = logging.getLogger("ecotrend.schedule")

TICK_MINUTES = 5
MISFIRE_GRACE_SECONDS = 6 * 3600
MAX_CATCHUP_DAYS = 92  # older holes are left to an explicit `ecotrend backfill`
RETRY_AFTER = dt.timedelta(minutes=30)  # a failed day is tried again after this...
MAX_ATTEMPTS = 3  # ...at most this many times (an offline laptop must not hammer every tick)


def _hhmm(value: str) -> dt.time:
    h, m = value.split(":")
    return dt.time(int(h), int(m))


def fire_time(local_day: dt.date, at: str, tz: dt.tzinfo) -> dt.datetime:
    """The UTC instant the schedule fires on a local calendar day.

    A time inside a DST gap fires at the same wall-clock reading shifted forward by the gap
    (01:30 on Europe/London's spring-forward night is 02:30 BST = 01:30 UTC); a repeated time
    fires at its first occurrence (``fold=0``).
    """
    local = dt.datetime.combine(local_day, _hhmm(at), tzinfo=tz)
    return local.astimezone(dt.UTC)


def due_at(day: dt.date, at: str, tz: dt.tzinfo) -> dt.datetime:
    """When UTC day ``day`` falls due: the first firing that lands on that UTC date.

    Exactly one instant per UTC day, increasing with the day.  Where a DST change leaves a UTC day
    without any firing (a schedule near midnight UTC), the day falls due at its own start.
    """
    fires = [fire_time(day + dt.timedelta(days=k), at, tz) for k in (-1, 0, 1)]
    inside = [f for f in fires if f.date() == day]
    return min(inside) if inside else dt.datetime.combine(day, dt.time(0), tzinfo=dt.UTC)


@dataclass
class Plan:
    """What a check decided: run today's job, and which earlier days to catch up."""

    today: dt.date | None = None
    missed: list[dt.date] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)  # why a due day is not attempted now
    error: str = ""  # the check itself could not finish
    exit_code: int = 0  # what `schedule --once` exits with: the run's (3 when a source failed), 1 if it could not run

    def __bool__(self) -> bool:
        return self.today is not None or bool(self.missed)


def _may_try(rec: DayRecord, now: dt.datetime, retry_after: dt.timedelta, max_attempts: int) -> str | None:
    """None when a not-done day may be attempted now; else why not."""
    if rec.failed_attempts >= max_attempts:
        return f"failed {rec.failed_attempts} times; left for a manual run"
    if rec.last_attempt is not None and now - rec.last_attempt < retry_after:
        return f"failed at {rec.last_attempt:%H:%M} UTC; next try after {retry_after}"
    return None


def plan(now: dt.datetime, at: str, tz: dt.tzinfo, days: dict[dt.date, DayRecord],
         first_day: dt.date | None, max_catchup_days: int = MAX_CATCHUP_DAYS,
         retry_after: dt.timedelta = RETRY_AFTER, max_attempts: int = MAX_ATTEMPTS) -> Plan:
    """Decide what is due at ``now`` (aware) from the run log's view of each UTC day.

    A day is due when its scheduled instant (:func:`due_at`) has passed and the run log has no
    finished run of it.  Today's due day is run; earlier due days cannot be snapshotted any more
    and are caught up (backfilled where sources can, recorded as gaps where they cannot).  Days
    before the run log's first day are not the scheduler's business (nothing was scheduled then).
    """
    now = now.astimezone(dt.UTC)
    today = now.date()
    start = today if first_day is None else max(first_day, today - dt.timedelta(days=max_catchup_days))
    out = Plan()
    day = min(start, today)
    while day <= today:
        rec = days.get(day, DayRecord())
        if not rec.done and due_at(day, at, tz) <= now:
            why = _may_try(rec, now, retry_after, max_attempts)
            if why:
                out.waiting.append(f"{day}: {why}")
            elif day == today:
                out.today = day
            else:
                out.missed.append(day)
        day += dt.timedelta(days=1)
    return out


def next_due(now: dt.datetime, at: str, tz: dt.tzinfo) -> dt.datetime:
    """The next scheduled instant after ``now`` (for the log line at start)."""
    day = now.astimezone(dt.UTC).date()
    while due_at(day, at, tz) <= now:
        day += dt.timedelta(days=1)
    return due_at(day, at, tz)


class Daemon:
    """The check both triggers call: read the run log, run what is due, one check at a time."""

    def __init__(self, cfg: Config, stop: Any, clock: Callable[[], dt.datetime] | None = None,
                 run_day: Callable[[dt.date], int] | None = None,
                 catch_up: Callable[[list[dt.date], dt.date], Any] | None = None,
                 say: Callable[[str], None] | None = None):
        self.cfg = cfg
        self.stop = stop
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self.tz = zoneinfo.ZoneInfo(cfg.schedule.timezone)
        self.at = cfg.schedule.time
        self.say = say or (lambda m: print(m, file=sys.stderr, flush=True))
        self._run_day = run_day or self._default_run_day
        self._catch_up = catch_up or self._default_catch_up
        self.busy = threading.Lock()
        self.checks = 0

    def _default_run_day(self, day: dt.date) -> int:
        from jobs import commands

        return commands.cmd_run(self.cfg, day, stop=self.stop)

    def _default_catch_up(self, days: list[dt.date], today: dt.date) -> Any:
        from jobs import catchup

        return catchup.catch_up(self.cfg, days, today, stop=self.stop, say=self.say)

    def current_plan(self) -> Plan:
        from jobs import history

        now = self.clock()
        first = history.first_day(self.cfg)
        since = (now.astimezone(dt.UTC).date() - dt.timedelta(days=MAX_CATCHUP_DAYS + 1))
        days = history.summarise(history.load_rows(self.cfg, since))
        return plan(now, self.at, self.tz, days, first)

    def check(self, trigger: str = "tick") -> Plan | None:
        """Run today's job if due, then catch up missed days; None when a check is already running."""
        from jobs.lock import RunLocked
        from warehouse.db import WarehouseError

        if not self.busy.acquire(blocking=False):
            log.debug("%s: a check is already running", trigger)
            return None
        try:
            self.checks += 1
            if self.stop():
                return Plan()
            try:
                p = self.current_plan()
            except WarehouseError as exc:
                log.warning("%s: cannot read the run log (%s); looking again at the next tick", trigger, exc)
                return Plan(error=f"cannot read the run log: {exc}")
            for why in p.waiting:
                log.info("%s: %s", trigger, why)
            self._run_due(p, trigger)
            return p
        except RunLocked as exc:
            self.say(f"ecotrend schedule: {exc}; looking again at the next tick")
            return Plan(waiting=[str(exc)], exit_code=1)
        except Exception as exc:  # the scheduler must outlive one bad check
            log.debug("%s: check failed", trigger, exc_info=True)  # the traceback goes to the log file
            self.say(f"ecotrend schedule: check failed: {type(exc).__name__}: {exc}")
            return Plan(error=f"check failed: {type(exc).__name__}: {exc}")
        finally:
            self.busy.release()


    def _run_due(self, p: Plan, trigger: str) -> None:
        """Today's job, then the missed days; the plan keeps the worst exit code, and a failed catch-up
        alerts like a failed run does."""
        if p.today is not None and not self.stop():
            log.info("%s: %s is due; running the daily job", trigger, p.today)
            p.exit_code = max(p.exit_code, self._run_day(p.today) or 0)
        if p.missed and not self.stop():
            log.info("%s: catching up %d missed day(s): %s", trigger, len(p.missed),
                     ", ".join(str(d) for d in p.missed))
            today = self.clock().astimezone(dt.UTC).date()
            outcome = self._catch_up(p.missed, today)
            if getattr(outcome, "failed", False):
                from jobs import alerts

                p.exit_code = max(p.exit_code, 3)
                alerts.maybe_alert(self.cfg, outcome, today)


def build_scheduler(daemon: Daemon, tick_minutes: float = TICK_MINUTES) -> Any:
    """A BlockingScheduler with an in-memory job store: the cron job and the tick."""
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.jobstores.memory import MemoryJobStore
    from apscheduler.schedulers.blocking import BlockingScheduler
    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.interval import IntervalTrigger

    at = _hhmm(daemon.at)
    defaults = {"coalesce": True, "max_instances": 1, "misfire_grace_time": MISFIRE_GRACE_SECONDS}
    sched = BlockingScheduler(
        jobstores={"default": MemoryJobStore()},  # never in the warehouse file
        executors={"default": ThreadPoolExecutor(2)},
        job_defaults=defaults, timezone=daemon.tz)
    sched.add_job(daemon.check, CronTrigger(hour=at.hour, minute=at.minute, timezone=daemon.tz),
                  args=["daily"], id="daily", name="daily job", **defaults)
    sched.add_job(daemon.check, IntervalTrigger(minutes=tick_minutes, timezone=daemon.tz),
                  args=["tick"], id="tick", name="due-day tick", **defaults)
    return sched


def serve(cfg: Config, once: bool = False, clock: Callable[[], dt.datetime] | None = None,
          tick_minutes: float = TICK_MINUTES) -> int:
    """Run the scheduler until SIGTERM/SIGINT (or one check with ``once``); return an exit code."""
    from jobs.runner import StopFlag

    stop = StopFlag()
    daemon = Daemon(cfg, stop, clock=clock)
    if once:
        stop.install()
        try:
            p = daemon.check("once")
        finally:
            stop.restore()
        if p is None or p.error:
            return 1  # said on stderr already
        if not p:
            print("nothing due" if not p.waiting else f"nothing run now: {'; '.join(p.waiting)}")
        return 130 if stop() else p.exit_code
    sched = build_scheduler(daemon, tick_minutes)

    def on_signal(signum: int, frame: Any) -> None:
        if stop():
            raise KeyboardInterrupt
        daemon.say(f"ecotrend schedule: {signal.Signals(signum).name}; stopping at the next safe point")
        stop.event.set()
        sched.shutdown(wait=False)

    old = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    nxt = next_due(daemon.clock(), daemon.at, daemon.tz)
    daemon.say(f"ecotrend schedule: daily at {cfg.schedule.time} {cfg.schedule.timezone}, checking the run "
               f"log every {tick_minutes:g} min; next run due {nxt:%Y-%m-%d %H:%M} UTC")
    # The start is a wake-up too: check at once for a missed or due day.
    sched.add_job(daemon.check, args=["start"], id="start", name="start-up check")
    try:
        sched.start()
    finally:
        for s, h in old.items():
            signal.signal(s, h)
    # A check in flight stops at its next safe point (the HTTP client sees the flag); wait for it,
    # so the run is recorded as interrupted before the process ends.
    if daemon.busy.acquire(timeout=120):
        daemon.busy.release()
    return 0
