"""The per-subject failure policy every collector uses (collectors/attempts.py), in-process."""
from __future__ import annotations

import pytest

from collectors.attempts import Attempts
from collectors.base import Batch
from collectors.errors import NetworkUnavailable, ParseError, RateLimitExhausted, SourceError, UpstreamError


def _raise(exc: Exception):
    def fn():
        raise exc
    return fn


def test_a_failing_subject_is_noted_and_the_rest_go_on():
    batch = Batch("x")
    tries = Attempts(batch)
    assert tries.run("a", lambda: 1) == 1
    assert tries.run("b", _raise(UpstreamError("HTTP 502"))) is None
    assert tries.run("c", lambda: 3) == 3
    tries.finish("things")
    assert batch.failures == ["b: HTTP 502"]


@pytest.mark.parametrize("stop", [RateLimitExhausted("search rate limit spent"),
                                  NetworkUnavailable("network unavailable (api.github.com/search)")])
def test_a_spent_limit_or_a_lost_network_keeps_what_was_fetched(stop):
    batch = Batch("x")
    tries = Attempts(batch)
    assert tries.run("a", lambda: 1) == 1
    assert tries.run("b", _raise(stop)) is None
    assert tries.run("c", lambda: 3) is None  # not asked: the source stopped
    tries.finish("things")
    assert batch.failures == [f"stopped: {stop}; 2 things left for the next run"]
    assert tries.deferred == ["b", "c"]


@pytest.mark.parametrize("stop", [RateLimitExhausted("spent"), NetworkUnavailable("network unavailable (h)")])
def test_nothing_fetched_fails_the_source(stop):
    tries = Attempts(Batch("x"))
    if isinstance(stop, NetworkUnavailable):
        with pytest.raises(NetworkUnavailable):  # from the first call: every other call would fail too
            tries.run("a", _raise(stop))
        return
    tries.run("a", _raise(stop))
    with pytest.raises(RateLimitExhausted):
        tries.finish("things")


def test_every_subject_failing_fails_the_source_with_the_first_reason():
    batch = Batch("x")
    tries = Attempts(batch)
    tries.run("a", _raise(UpstreamError("HTTP 500")))
    tries.run("b", _raise(UpstreamError("HTTP 503")))
    with pytest.raises(SourceError, match="all 2 things failed; first: a: HTTP 500"):
        tries.finish("things")


def test_a_fatal_error_ends_the_source_at_once():
    tries = Attempts(Batch("x"), fatal=(ParseError,))
    tries.run("a", lambda: 1)
    with pytest.raises(ParseError):
        tries.run("b", _raise(ParseError("markup changed")))
