"""Per-subject attempts within one source: a failing subject is noted and the rest go on.

A spent rate limit (``RateLimitExhausted``), or the network lost after some subjects were fetched
(``NetworkUnavailable``), stops the source's remaining calls but keeps what was already fetched: those
figures are complete and correct, and the run reports the source as partial.  No network from the
first call ends the source at once, as every call would fail; so does an error of a kind the
collector names ``fatal`` (e.g. a scraped page whose markup changed, which every page shares).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from collectors.base import Batch
from collectors.errors import NetworkUnavailable, RateLimitExhausted, SourceError

T = TypeVar("T")

# (what stopped the source, the subjects it left for the next run, first the one that met it) → the stop line
StopLine = Callable[[SourceError, list[str]], str]


class Attempts:
    def __init__(self, batch: Batch, fatal: tuple[type[SourceError], ...] = ()):
        self.batch = batch
        self.fatal = fatal
        self.tried = 0
        self.ok = 0
        self.skipped = 0
        self.limit: RateLimitExhausted | NetworkUnavailable | None = None  # what stopped the source
        self.deferred: list[str] = []  # ``what`` of each subject the spent limit left for the next run

    def run(self, what: str, fn: Callable[[], T]) -> T | None:
        """fn() or None (the failure recorded in the batch, or skipped after a spent limit)."""
        if self.limit is not None:
            self.skipped += 1
            self.deferred.append(what)
            return None
        self.tried += 1
        try:
            out = fn()
        except SourceError as exc:
            if isinstance(exc, self.fatal) or (isinstance(exc, NetworkUnavailable) and self.ok == 0):
                raise
            if isinstance(exc, (RateLimitExhausted, NetworkUnavailable)):
                self.limit = exc
                self.deferred.append(what)
            else:
                self.batch.failures.append(f"{what}: {exc}")
            return None
        self.ok += 1
        return out

    def finish(self, noun: str, stop_line: StopLine | None = None) -> None:
        """Raise when nothing succeeded; else note a stop for a rate limit (``stop_line`` words it
        when the source has its own wording)."""
        if self.limit is not None:
            if self.ok == 0:
                raise self.limit
            self.batch.failures.append(
                stop_line(self.limit, self.deferred) if stop_line else
                f"stopped: {self.limit}; {self.skipped + 1} {noun} left for the next run")
        elif self.tried and self.ok == 0:
            first = self.batch.failures[0]
            raise SourceError(first if self.tried == 1 else f"all {self.tried} {noun} failed; first: {first}")
