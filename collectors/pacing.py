"""Budgets and waits: what an upstream announces about its rate limits, and how long a call must wait.

GitHub announces budgets in ``x-ratelimit-*`` headers per resource (core, search, ...); the Hugging
Face Hub in IETF ``RateLimit``/``RateLimit-Policy`` headers; GitHub's free ``/rate_limit`` is noted
directly.  All feed one :class:`Budget` per (host, resource), kept by one :class:`Pacer`.  A source that
announces nothing declares a spacing instead (``min_interval``), kept by the same pacer.

A spent budget is waited out when its reset is within ``[http] max_wait_seconds``, otherwise the source
stops with :class:`RateLimitExhausted`.  Short (per-minute) windows are paced evenly rather than burst,
so search calls are spread over the minute the way the upstream announces.

A refused call (403/429) is told apart by :func:`classify_limit`: a primary limit (budget spent, wait
for its reset) or a secondary one (wait as ``retry-after`` says, or a doubling pause without it).
"""
from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from typing import Callable

from collectors.errors import Interrupted, RateLimitExhausted

log = logging.getLogger("ecotrend.http")

PACE_WINDOW_SECONDS = 120  # windows at most this long are paced evenly; longer ones may burst


@dataclass
class Budget:
    limit: int | None = None
    remaining: int | None = None
    reset: float | None = None  # epoch seconds
    last_call: float = 0.0


@dataclass(frozen=True)
class Limit:
    """A refused call: why, how long to wait before asking again, and whether it is a secondary limit."""

    why: str
    wait: float
    secondary: bool


def _ietf(value: str, key: str) -> int | None:
    """One ``key=<int>`` parameter of an IETF RateLimit header, e.g. ``r`` or ``t``."""
    m = re.search(rf"\b{key}=(\d+)", value)
    return int(m.group(1)) if m else None


def parse_budget(headers: dict[str, str], now: float) -> tuple[str | None, Budget] | None:
    """Read a budget from GitHub's x-ratelimit-* or the IETF RateLimit headers; None when absent."""
    if "x-ratelimit-remaining" in headers:
        try:
            b = Budget(limit=int(headers.get("x-ratelimit-limit", "0")) or None,
                       remaining=int(headers["x-ratelimit-remaining"]),
                       reset=float(headers.get("x-ratelimit-reset", "0")) or None)
        except ValueError:
            return None
        return headers.get("x-ratelimit-resource"), b
    if "ratelimit" in headers:
        # e.g. RateLimit: "api";r=489;t=189   RateLimit-Policy: "fixed window";"api";q=500;w=300
        value = headers["ratelimit"]
        remaining, reset_in = _ietf(value, "r"), _ietf(value, "t")
        m_name = re.match(r'\s*"([^"]+)"', value)
        if remaining is not None:
            return (m_name.group(1) if m_name else None,
                    Budget(limit=_ietf(headers.get("ratelimit-policy", ""), "q"), remaining=remaining,
                           reset=now + reset_in if reset_in is not None else None))
    return None


def classify_limit(status: int, headers: dict[str, str], body: bytes, now: float,
                   secondary_wait: float, secondary_hits: int = 0) -> Limit | None:
    """Tell a primary limit from a secondary one; None when a 403/429 is not a limit at all.

    ``secondary_wait`` is the pause when no ``retry-after`` is given, doubled for each earlier hit.
    """
    if status not in (403, 429):
        return None
    if headers.get("x-ratelimit-remaining") == "0":
        reset = float(headers.get("x-ratelimit-reset", "0") or 0)
        return Limit("primary rate limit reached", max(0.0, reset - now) + 1, secondary=False)
    retry_after = headers.get("retry-after")
    if retry_after:
        try:
            wait = float(retry_after)
        except ValueError:
            wait = secondary_wait
        return Limit("secondary rate limit (retry-after)", wait, secondary=True)
    if status == 429 and "ratelimit" in headers:
        reset_in = _ietf(headers["ratelimit"], "t")
        return Limit("rate limit reached", float(reset_in) if reset_in is not None else secondary_wait,
                     secondary=False)
    text = body[:2000].decode("utf-8", errors="replace").lower()
    if status == 429 or "secondary rate limit" in text or "abuse" in text:
        # No retry-after: wait at least a minute (configurable for tests), doubling each time.
        return Limit("secondary rate limit without retry-after", secondary_wait * (2 ** secondary_hits),
                     secondary=True)
    return None


class Pacer:
    """The budgets of one client, per (host, resource), and every wait they call for, on one clock.

    ``clock`` and ``sleep`` are injectable (tests run on a fake clock without sleeping); long waits are
    slept in slices of at most a second so that ``interrupted`` is honoured promptly.
    """

    def __init__(self, max_wait_seconds: float, clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep, interrupted: Callable[[], bool] = lambda: False):
        self.max_wait_seconds = max_wait_seconds
        self.clock = clock
        self.sleep = sleep
        self.interrupted = interrupted
        self.budgets: dict[tuple[str, str], Budget] = {}

    # -- what is known ----------------------------------------------------------------------------
    def budget(self, host: str, resource: str) -> Budget:
        return self.budgets.setdefault((host, resource), Budget())

    def note(self, host: str, resource: str, limit: int | None, remaining: int | None,
             reset: float | None) -> None:
        """Record a budget announced by the upstream (headers, or e.g. GitHub's /rate_limit)."""
        b = self.budget(host, resource)
        b.limit, b.remaining, b.reset = limit, remaining, reset

    def learn(self, host: str, resource: str, headers: dict[str, str]) -> None:
        """Record the budget an answer's headers announce, if any, under the resource asked for."""
        parsed = parse_budget(headers, self.clock())
        if parsed:
            _, b = parsed
            self.note(host, resource, b.limit, b.remaining, b.reset)

    # -- waits ------------------------------------------------------------------------------------
    def before_call(self, host: str, resource: str, source: str, min_interval: float = 0.0) -> None:
        """Hold a call until it may go: not interrupted, within the announced budget, spaced as declared."""
        self.check_interrupted()
        self._pace(host, resource, source)
        self._space(host, resource, min_interval)
        self.budget(host, resource).last_call = self.clock()

    def wait_out(self, host: str, resource: str, limit: Limit, source: str) -> None:
        """Wait out a refused call; the budget is unknown again afterwards."""
        self.wait(limit.wait, limit.why, source)
        self.budget(host, resource).remaining = None

    def wait(self, seconds: float, why: str, source: str) -> None:
        """Wait ``seconds`` for a limit, or stop the source when that is longer than we may wait."""
        if seconds > self.max_wait_seconds:
            raise RateLimitExhausted(
                f"{why}; it resets in {int(seconds)}s, more than http.max_wait_seconds={int(self.max_wait_seconds)}",
                resume_at=self.clock() + seconds)
        if seconds > 0:
            log.info("%s: %s; waiting %.0fs", source, why, seconds)
            self.pause(seconds)

    def pause(self, seconds: float) -> None:
        """Sleep ``seconds`` on the clock, in slices, stopping with :class:`Interrupted` when asked."""
        end = self.clock() + seconds
        while True:
            left = end - self.clock()
            if left <= 0:
                return
            self.check_interrupted()
            self.sleep(min(left, 1.0))

    def check_interrupted(self) -> None:
        if self.interrupted():
            raise Interrupted()

    def _pace(self, host: str, resource: str, source: str) -> None:
        b = self.budgets.get((host, resource))
        if not b or b.remaining is None or b.reset is None:
            return
        now = self.clock()
        left = b.reset - now
        if b.remaining <= 0 and left > 0:
            self.wait(left + 1, f"{resource} rate limit spent", source)
            b.remaining = None
            return
        if 0 < left <= PACE_WINDOW_SECONDS and b.remaining > 0:
            gap = b.last_call + left / b.remaining - now
            if gap > 0:  # pacing is always waited out: it is at most one window long
                self.pause(gap)

    def _space(self, host: str, resource: str, min_interval: float) -> None:
        """At least ``min_interval`` seconds since the last call to (host, resource)."""
        last = self.budget(host, resource).last_call
        if min_interval > 0 and last:
            gap = last + min_interval - self.clock()
            if gap > 0:
                self.pause(gap)
