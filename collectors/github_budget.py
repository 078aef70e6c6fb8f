"""Planning GitHub calls: ask the free /rate_limit, compare with what a run needs, word deferrals."""
from __future__ import annotations

import datetime as dt

from collectors import github_common as gh
from collectors.base import Context
from collectors.errors import RateLimitExhausted


def when(epoch: float | None) -> str:
    """An epoch as 'HH:MM UTC' (with the date when it is not today)."""
    if not epoch:
        return "its reset"
    t = dt.datetime.fromtimestamp(epoch, dt.UTC)
    now = dt.datetime.now(dt.UTC)
    return t.strftime("%H:%M UTC" if t.date() == now.date() else "%Y-%m-%d %H:%M UTC")


def deferral(head: str, they: str, exc: RateLimitExhausted) -> str:
    """A spent budget's line: what it leaves for the next run (``head``), why, and when ``they`` may resume."""
    return f"{head}: {exc}; {they} can resume at {when(exc.resume_at)}"


def plan(ctx: Context, who: str, needs: dict[str, int]) -> tuple[dict[str, dict[str, int]], list[str]]:
    """Ask /rate_limit (free) once; return its resources and a line per resource that falls short.

    Falling short is not an error: the HTTP client paces and waits out resets within
    ``http.max_wait_seconds``; what still does not fit is reported as deferred by the collector.
    """
    resources = gh.rate_limit(ctx, who)
    lines = []
    for res, n in needs.items():
        b = resources.get(res)
        if not isinstance(b, dict) or n <= 0:
            continue
        remaining, limit = int(b.get("remaining", 0)), int(b.get("limit", 0))
        if remaining < n:
            lines.append(f"{res}: about {n} calls needed, {remaining} of {limit} left until "
                         f"{when(b.get('reset'))}")
    for line in lines:
        ctx.log.warning("%s: %s", who, line)
    return resources, lines
