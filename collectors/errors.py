"""Errors a collector raises; each carries one line a user can act on."""
from __future__ import annotations


class SourceError(Exception):
    """A failure that ends one source (or one subject) for this run; str() is the one line shown."""


class NetworkUnavailable(SourceError):
    """No connection could be made at all (DNS, refused, unreachable)."""


class RateLimitExhausted(SourceError):
    """The announced budget is spent and its reset is further away than we may wait."""

    def __init__(self, message: str, resume_at: float | None = None):
        super().__init__(message)
        self.resume_at = resume_at


class UpstreamError(SourceError):
    """The upstream answered, but not with something usable (5xx after retries, bad JSON, a loop)."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


class NotFound(UpstreamError):
    """A configured subject does not exist upstream (404, 410, 451)."""


class ParseError(SourceError):
    """A payload or page lacks what it must hold: markup or schema changed. Nothing is stored."""


class Interrupted(Exception):
    """SIGTERM/SIGINT arrived; the run stops at the next safe point."""
