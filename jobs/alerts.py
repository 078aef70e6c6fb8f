"""``[alerts] command``: a user's command run with a run summary on stdin when a run has failures.

The command is the user's own shell line (``mail -s ecotrend me@example.org``, a webhook ``curl``,
``logger -t ecotrend``); it gets the summary on stdin and ECOTREND_DAY / ECOTREND_FAILED in its
environment.  An alert that fails is logged and never changes the run's own exit code.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import subprocess
from typing import TYPE_CHECKING

from jobs.config import Config

if TYPE_CHECKING:
    from jobs.runner import Outcome

log = logging.getLogger("ecotrend.alerts")

TIMEOUT_SECONDS = 60


def summary(outcome: Outcome, day: dt.date, config_path: str) -> str:
    """The text an alert receives: what failed, one line each, then every source's status."""
    bad = [r for r in outcome.records if r.status not in ("ok",)]
    head = (f"ecotrend run of {day}: {len(bad)} of {len(outcome.records)} sources not ok "
            f"(config {config_path})")
    lines = [head]
    lines += [f"  {r.collector}: {r.status} — {r.error}" for r in bad]
    if outcome.suspects:
        lines += ["", f"{len(outcome.suspects)} value(s) flagged suspect (an implausible fall, kept out of "
                      "family totals until a later day confirms it):"]
        lines += [f"  {line}" for line in outcome.suspects]
    lines += ["", "all sources:"] + [f"  {line}" for line in outcome.lines]
    if outcome.spooled:
        lines.append(f"rows spooled to {outcome.spooled} (merged on the next run)")
    return "\n".join(lines) + "\n"


def maybe_alert(cfg: Config, outcome: Outcome, day: dt.date) -> bool | None:
    """Run the alert command when the run had failures or flagged a value suspect; True/False = it ran
    ok/failed, None = not run."""
    command = (cfg.alerts.command or "").strip()
    # A run stopped by SIGTERM (a service being stopped) is not a failure worth a message.
    failed = [r.collector for r in outcome.records if r.status in ("failed", "partial")]
    if not command or not (failed or outcome.suspects):
        return None
    text = summary(outcome, day, str(cfg.path))
    env = {**os.environ, "ECOTREND_DAY": day.isoformat(), "ECOTREND_FAILED": ",".join(failed),
           "ECOTREND_SUSPECT": str(len(outcome.suspects))}
    try:
        # The command is the user's own shell line from their config file, as cron would run it.
        proc = subprocess.run(command, check=False, shell=True, input=text, text=True, env=env, cwd=cfg.base_dir,
                              capture_output=True, timeout=TIMEOUT_SECONDS)
    except (OSError, subprocess.TimeoutExpired) as exc:
        log.error("alert command failed: %s", exc)
        return False
    if proc.returncode != 0:
        err = (proc.stderr or "").strip().splitlines()
        log.error("alert command exited %d%s", proc.returncode, f": {err[-1]}" if err else "")
        return False
    log.info("alert sent for %s (%s)", day, ", ".join(failed))
    return True
