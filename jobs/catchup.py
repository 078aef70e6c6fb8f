"""Catching up days the daily job missed (the machine slept, was off, or the run was killed).

A missed day can no longer be snapshotted.  Sources that can reconstruct history (collectors with
``backfill``: search ``created:`` windows, star history, package downloads) are backfilled over the
missed days; the others (Hugging Face's rolling counts are only ever a snapshot) are recorded as
gaps in the ``gaps`` table, which ``ecotrend status`` and the data-health page show.  Each missed
day also gets a ``catchup`` row per collector in ``runs``, so the scheduler knows the day is dealt
with and never handles it twice.
"""
from __future__ import annotations

import datetime as dt
import logging
import sys
from collections.abc import Callable

import collectors
from collectors.base import Batch
from jobs import runner
from jobs.config import Config
from jobs.history import CATCHUP_MODE
from jobs.lock import RunLock, lock_path
from warehouse import store

log = logging.getLogger("ecotrend.catchup")

GAP_REASON = "snapshot-only source: a missed day cannot be reconstructed"


def split(names: list[str] | None = None) -> tuple[list[str], list[str]]:
    """(collectors that can backfill, collectors that cannot)."""
    names = names if names is not None else collectors.names()
    able = [n for n in names if hasattr(collectors.get(n), "backfill")]
    return able, [n for n in names if n not in able]


def catch_up(cfg: Config, days: list[dt.date], today: dt.date, stop: runner.StopFlag | None = None,
             say: Callable[[str], None] | None = None, names: list[str] | None = None,
             lock_wait: float | None = None) -> runner.Outcome:
    """Backfill what can be rebuilt for ``days``, record the rest as gaps; return the outcome."""
    say = say or (lambda m: print(m, file=sys.stderr))
    stop = stop or runner.StopFlag()
    days = sorted(set(days))
    outcome = runner.Outcome()
    if not days:
        return outcome
    able, unable = split(names)
    by_name: dict[str, store.RunRecord] = {}
    if able:
        bf = runner.backfill(cfg, days[0], days[-1], able, today, stop=stop, say=say, lock_wait=lock_wait)
        outcome.records += bf.records
        outcome.spooled = bf.spooled
        by_name = {r.collector: r for r in bf.records}
    if stop() or outcome.interrupted:
        # Nothing recorded for the days: the next start catches them up again.
        outcome.lines = [f"catch-up of {len(days)} day(s) interrupted; the next start resumes it"]
        return outcome
    now = dt.datetime.now(dt.UTC)
    items: list[tuple[Batch | None, store.RunRecord]] = []
    for day in days:
        run_id = store.new_run_id(now) + f"-c{day:%Y%m%d}"
        gap_rows = []
        for name in able:
            bf_rec = by_name.get(name)
            status = bf_rec.status if bf_rec else "failed"
            error = (bf_rec.error if bf_rec else "backfill did not run") or "reconstructed by backfill"
            items.append((None, store.RunRecord(run_id, name, day, CATCHUP_MODE, now, now, status=status,
                                                error=error)))
        for name in unable:
            c = collectors.get(name)
            gap_rows.append({"day": day, "collector": name, "source": c.source, "reason": GAP_REASON,
                             "recorded_at": now.replace(tzinfo=None), "run_id": run_id})
            rec = store.RunRecord(run_id, name, day, CATCHUP_MODE, now, now, status="gap", error=GAP_REASON)
            batch = Batch(c.source, tables={"gaps": [gap_rows[-1]]})
            items.append((batch, rec))
    wait = cfg.storage.lock_wait_seconds if lock_wait is None else lock_wait
    with RunLock(lock_path(cfg.database), wait_seconds=wait):
        runner.save(cfg, items, outcome, say)
    span = f"{days[0]}" if len(days) == 1 else f"{days[0]}..{days[-1]}"
    outcome.lines = [(f"catch-up {span}: backfilled {', '.join(able) or 'nothing'}; "
                     f"gaps recorded for {', '.join(unable) or 'nothing'}")]
    outcome.lines += [runner._status_line(r) for r in outcome.records]
    log.info(outcome.lines[0])
    return outcome
