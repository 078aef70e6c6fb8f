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
from collections.abc import Callable

import collectors
from jobs import runner
from jobs.config import Config
from jobs.history import CATCHUP_MODE
from warehouse import store

log = logging.getLogger("ecotrend.catchup")

GAP_REASON = "snapshot-only source: a missed day cannot be reconstructed"


def split(names: list[str] | None = None) -> tuple[list[str], list[str]]:
    """(collectors that can backfill, collectors that cannot)."""
    names = names if names is not None else collectors.names()
    able = [n for n in names if hasattr(collectors.get(n), "backfill")]
    return able, [n for n in names if n not in able]


def _catchup_items(days: list[dt.date], able: list[str], unable: list[str],
                   backfilled: dict[str, store.RunRecord], now: dt.datetime) -> list[store.Item]:
    """Per missed day a ``catchup`` run: each able collector with its backfill's outcome, each other
    one as a gap (a ``gaps`` row and a run of status ``gap``)."""
    items: list[store.Item] = []
    for day in days:
        run_id = store.new_run_id(now) + f"-c{day:%Y%m%d}"
        for name in able:
            bf_rec = backfilled.get(name)
            status = bf_rec.status if bf_rec else "failed"
            error = (bf_rec.error if bf_rec else "backfill did not run") or "reconstructed by backfill"
            items.append((None, store.RunRecord(run_id, name, day, CATCHUP_MODE, now, now, status=status,
                                                error=error)))
        for name in unable:
            source = collectors.get(name).source
            gap = {"day": day, "collector": name, "source": source, "reason": GAP_REASON,
                   "recorded_at": now.replace(tzinfo=None), "run_id": run_id}
            rec = store.RunRecord(run_id, name, day, CATCHUP_MODE, now, now, status="gap", error=GAP_REASON)
            items.append((store.Rows(source, tables={"gaps": [gap]}), rec))
    return items


def catch_up(cfg: Config, days: list[dt.date], today: dt.date, stop: runner.StopFlag | None = None,
             say: Callable[[str], None] | None = None, names: list[str] | None = None,
             lock_wait: float | None = None) -> runner.Outcome:
    """Backfill what can be rebuilt for ``days``, record the rest as gaps; return the outcome."""
    tell = say or runner.to_stderr
    flag = stop or runner.StopFlag()
    missed = sorted(set(days))
    outcome = runner.Outcome()
    if not missed:
        return outcome
    able, unable = split(names)
    backfilled: dict[str, store.RunRecord] = {}
    if able:
        bf = runner.backfill(cfg, missed[0], missed[-1], able, today, stop=flag, say=tell, lock_wait=lock_wait)
        outcome.records += bf.records
        outcome.spooled = bf.spooled
        backfilled = {r.collector: r for r in bf.records}
    if flag() or outcome.interrupted:
        # Nothing recorded for the days: the next start catches them up again.
        outcome.lines = [f"catch-up of {len(missed)} day(s) interrupted; the next start resumes it"]
        return outcome
    items = _catchup_items(missed, able, unable, backfilled, dt.datetime.now(dt.UTC))
    with runner.run_lock(cfg, lock_wait):
        runner.save(cfg, items, outcome, tell)
    span = f"{missed[0]}" if len(missed) == 1 else f"{missed[0]}..{missed[-1]}"
    outcome.lines = [(f"catch-up {span}: backfilled {', '.join(able) or 'nothing'}; "
                     f"gaps recorded for {', '.join(unable) or 'nothing'}")]
    outcome.lines += runner.status_lines(outcome.records)
    log.info(outcome.lines[0])
    return outcome
