"""The HTTP client in process: limits told apart, waits on an injected clock, retries counted, fail-fast
when the network is gone, and replay from the archive.  Real HTTP on loopback, no real sleeping."""
from __future__ import annotations

import datetime as dt
import importlib.metadata
import socket
import subprocess
import sys
import threading
import time

import pytest

from collectors.archive import Archive, latest_run_dir
from collectors.errors import Interrupted, NetworkUnavailable, NotFound, RateLimitExhausted, UpstreamError
from collectors.fake.github import Limits
from collectors.http import HttpClient, ReplayClient, user_agent
from collectors.pacing import Limit, Pacer, classify_limit, parse_budget
from collectors.settings import HttpSettings
from tests.conftest import ROOT

NOW = 1_700_000_000.0


class FakeTime:
    """A clock that moves only when slept on."""

    def __init__(self, start: float = NOW):
        self.now = start
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def repo(fake, world):
    """One repository on the fake GitHub, under a core budget whose reset is far off (never paced)."""
    gh = world.part("github")
    gh.limits = Limits(search=(1000, 1000, 60), core=(10**6, 10**6, 10**9))
    gh.add_repository("o/r", stars=5)
    return f"{fake.url}/github/repos/o/r"


def client(t: FakeTime, **http) -> HttpClient:
    return HttpClient(HttpSettings(**{"retries": 2, "backoff_seconds": 0.5, "timeout_seconds": 5, **http}),
                      sleep=t.sleep, clock=t.clock)


def closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# -- classification of limits ----------------------------------------------------------------------
@pytest.mark.parametrize("status", [403, 429])
def test_spent_primary_budget_waits_for_its_reset(status):
    headers = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(NOW) + 30)}
    assert classify_limit(status, headers, b"", NOW, 60) == Limit("primary rate limit reached", 31, False)
    past = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(NOW) - 5)}
    assert classify_limit(status, past, b"", NOW, 60).wait == 1


def test_retry_after_is_a_secondary_limit():
    assert classify_limit(429, {"retry-after": "7"}, b"", NOW, 60) == Limit(
        "secondary rate limit (retry-after)", 7, True)
    assert classify_limit(403, {"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, b"", NOW, 60).wait == 60


def test_ietf_ratelimit_on_429_waits_for_its_window():
    headers = {"ratelimit": '"api";r=0;t=12', "ratelimit-policy": '"fixed window";"api";q=500;w=300'}
    assert classify_limit(429, headers, b"", NOW, 60) == Limit("rate limit reached", 12, False)
    assert classify_limit(429, {"ratelimit": '"api";r=0'}, b"", NOW, 60) == Limit("rate limit reached", 60, False)


def test_secondary_limit_without_retry_after_doubles():
    waits = [classify_limit(429, {}, b"", NOW, 60, hits) for hits in range(3)]
    assert [(w.why, w.wait, w.secondary) for w in waits] == [
        ("secondary rate limit without retry-after", 60, True),
        ("secondary rate limit without retry-after", 120, True),
        ("secondary rate limit without retry-after", 240, True)]
    body = b'{"message": "You have exceeded a secondary rate limit. Please wait."}'
    assert classify_limit(403, {}, body, NOW, 10).wait == 10
    assert classify_limit(403, {}, b"abuse detection mechanism", NOW, 10).secondary


@pytest.mark.parametrize("status,headers,body", [
    (403, {}, b'{"message": "Resource not accessible by integration"}'),  # a refusal, not a limit
    (403, {"x-ratelimit-remaining": "12"}, b"forbidden"),
    (500, {"retry-after": "3"}, b""),
    (200, {"x-ratelimit-remaining": "0"}, b"{}"),
])
def test_not_every_refusal_is_a_limit(status, headers, body):
    assert classify_limit(status, headers, body, NOW, 60) is None


def test_budgets_read_from_either_header_family():
    name, b = parse_budget({"x-ratelimit-limit": "30", "x-ratelimit-remaining": "29",
                            "x-ratelimit-reset": "1700000060", "x-ratelimit-resource": "search"}, NOW)
    assert (name, b.limit, b.remaining, b.reset) == ("search", 30, 29, 1_700_000_060)
    name, b = parse_budget({"ratelimit": '"api";r=489;t=189',
                            "ratelimit-policy": '"fixed window";"api";q=500;w=300'}, NOW)
    assert (name, b.limit, b.remaining, b.reset) == ("api", 500, 489, NOW + 189)
    assert parse_budget({"x-ratelimit-remaining": "lots"}, NOW) is None
    assert parse_budget({"content-type": "text/html"}, NOW) is None


# -- pacing on an injected clock -------------------------------------------------------------------
def test_spent_budget_is_waited_out_then_forgotten():
    t = FakeTime()
    pacer = Pacer(60, clock=t.clock, sleep=t.sleep)
    pacer.note("api", "search", 30, 0, NOW + 10)
    pacer.before_call("api", "search", "github")
    assert sum(t.slept) == pytest.approx(11) and max(t.slept) <= 1.0  # in slices, so it can be interrupted
    assert pacer.budget("api", "search").remaining is None
    assert pacer.budget("api", "search").last_call == t.now


def test_spent_budget_past_max_wait_stops_at_once():
    t = FakeTime()
    pacer = Pacer(60, clock=t.clock, sleep=t.sleep)
    pacer.note("api", "search", 30, 0, NOW + 600)
    with pytest.raises(RateLimitExhausted, match="more than http.max_wait_seconds=60") as err:
        pacer.before_call("api", "search", "github")
    assert err.value.resume_at == NOW + 601
    assert t.slept == []


def test_short_windows_are_paced_evenly_long_ones_burst():
    t = FakeTime()
    pacer = Pacer(60, clock=t.clock, sleep=t.sleep)
    pacer.note("api", "search", 4, 4, NOW + 4)  # 4 calls left in 4 s: one a second
    pacer.before_call("api", "search", "github")
    assert t.slept == []
    pacer.before_call("api", "search", "github")
    assert sum(t.slept) == pytest.approx(1.0)
    pacer.note("api", "core", 5000, 10, t.now + 3600)  # an hour-long window is not spread out
    pacer.before_call("api", "core", "github")
    pacer.before_call("api", "core", "github")
    assert sum(t.slept) == pytest.approx(1.0)


def test_declared_spacing_per_host_and_resource():
    t = FakeTime()
    pacer = Pacer(60, clock=t.clock, sleep=t.sleep)
    pacer.before_call("pypi", "api", "pypi", min_interval=2)
    assert t.slept == []
    t.now += 0.5
    pacer.before_call("pypi", "api", "pypi", min_interval=2)
    assert sum(t.slept) == pytest.approx(1.5)
    pacer.before_call("other", "api", "pypi", min_interval=2)
    pacer.before_call("pypi", "web", "pypi", min_interval=2)
    assert sum(t.slept) == pytest.approx(1.5)


def test_waits_are_interruptible():
    t = FakeTime()
    pacer = Pacer(60, clock=t.clock, sleep=t.sleep, interrupted=lambda: len(t.slept) >= 2)
    pacer.note("api", "search", 30, 0, NOW + 10)
    with pytest.raises(Interrupted):
        pacer.before_call("api", "search", "github")
    assert t.slept == [1.0, 1.0]


# -- retries, limits and their counts against the fake upstream ------------------------------------
def test_5xx_is_retried_with_backoff(fake, repo):
    t = FakeTime(time.time())
    http = client(t)
    fake.inject("http_502", r"/repos/o/r", times=2)
    assert http.get(repo, source="github").json()["stargazers_count"] == 5
    assert t.slept == [0.5, 1.0]
    assert http.requests[("github", "core")] == fake.count(r"/repos/o/r") == 3


def test_5xx_past_the_retries_is_an_upstream_error(fake, repo):
    t = FakeTime(time.time())
    http = client(t)
    fake.inject("http_502", r"/repos/o/r", times=3)
    with pytest.raises(UpstreamError, match=r"HTTP 502 from 127\.0\.0\.1:\d+/github/repos/o/r: <!DOCTYPE") as err:
        http.get(repo, source="github")
    assert err.value.status == 502
    assert fake.count(r"/repos/o/r") == 3 and t.slept == [0.5, 1.0]


def test_limit_waits_are_not_failed_attempts(fake, repo):
    """A call refused by a limit, then failing once, still has its one retry."""
    t = FakeTime(time.time())
    http = client(t, retries=1)
    fake.inject("retry_after", r"/repos/o/r", times=1, seconds=3)
    fake.inject("http_500", r"/repos/o/r", times=1)
    assert http.get(repo, source="github").status == 200
    assert sum(t.slept) == pytest.approx(3 + 0.5)
    assert fake.count(r"/repos/o/r") == 3


def test_primary_limit_is_waited_out_until_its_reset(fake, repo):
    t = FakeTime(time.time())
    http = client(t)
    fake.inject("primary_limit", r"/repos/o/r", times=1, reset_in=5)
    assert http.get(repo, source="github").status == 200
    assert 5 <= sum(t.slept) <= 7  # until the announced reset, plus a second
    assert fake.count(r"/repos/o/r", status=403) == 1 and fake.count(r"/repos/o/r") == 2


def test_primary_limit_past_max_wait_stops_without_asking_again(fake, repo):
    t = FakeTime(time.time())
    http = client(t, max_wait_seconds=5)
    fake.inject("primary_limit_429", r"/repos/o/r", times=1, reset_in=600)
    with pytest.raises(RateLimitExhausted, match="primary rate limit reached; .*max_wait_seconds=5"):
        http.get(repo, source="github")
    with pytest.raises(RateLimitExhausted, match="rate limit spent"):  # the spent budget is remembered
        http.get(repo, source="github")
    assert fake.count(r"/repos/o/r") == 1 and t.slept == []


def test_secondary_limit_without_retry_after_waits_doubling(fake, repo):
    t = FakeTime(time.time())
    http = client(t, secondary_wait_seconds=10)
    fake.inject("secondary", r"/repos/o/r", times=2)
    assert http.get(repo, source="github").status == 200
    assert sum(t.slept) == pytest.approx(10 + 20)


def test_secondary_limit_past_the_retries_stops(fake, repo):
    t = FakeTime(time.time())
    http = client(t, retries=1, secondary_wait_seconds=1)
    fake.inject("secondary", r"/repos/o/r", times=5)
    with pytest.raises(RateLimitExhausted, match="secondary rate limit without retry-after; still limited "
                                                 "after 1 waits"):
        http.get(repo, source="github")
    assert fake.count(r"/repos/o/r") == 2


def test_limit_waits_are_bounded(fake, repo):
    t = FakeTime(time.time())
    http = client(t, retries=0)
    fake.inject("primary_limit", r"/repos/o/r", times=10, reset_in=0)
    with pytest.raises(RateLimitExhausted, match="primary rate limit reached; gave up after 3 waits"):
        http.get(repo, source="github")
    assert fake.count(r"/repos/o/r") == 4


def test_ietf_limit_is_waited_for_its_window(fake, repo):
    t = FakeTime(time.time())
    http = client(t)
    fake.inject("hf_rate_limit", r"/repos/o/r", times=1, reset_in=3)
    assert http.get(repo, source="github").status == 200
    assert sum(t.slept) == pytest.approx(3)


def test_not_modified_is_counted(fake, repo):
    http = client(FakeTime(time.time()))
    etag = http.get(repo, source="github").headers["etag"]
    r = http.get(repo, source="github", headers={"If-None-Match": etag}, ok=(200, 304))
    assert r.status == 304
    assert http.requests[("github", "core")] == 2 and http.requests[("github", "core_304")] == 1


def test_oversized_response_is_refused_not_retried(fake, repo):
    http = client(FakeTime(time.time()), max_response_bytes=1_000_000)
    fake.inject("oversized", r"/repos/o/r", times=1, bytes=5_000_000)
    with pytest.raises(UpstreamError, match="over the 1000000-byte cap"):
        http.get(repo, source="github")
    assert fake.count(r"/repos/o/r") == 1


def test_timeout_is_retried_and_not_taken_for_a_dead_network(fake, repo):
    t = FakeTime(time.time())
    http = client(t, timeout_seconds=0.3, retries=1)
    fake.inject("slow", r"/repos/o/r", times=1, seconds=1)
    assert http.get(repo, source="github").status == 200
    assert t.slept == [0.5] and http.unreachable == set()


def test_interrupted_before_sending(fake, repo):
    http = HttpClient(HttpSettings(), interrupted=lambda: True)
    with pytest.raises(Interrupted):
        http.get(repo, source="github")
    assert fake.count(r"/repos/o/r") == 0


# -- no network: one host's retries, then fail fast --------------------------------------------------
def test_unreachable_network_fails_fast_after_the_first_host():
    t = FakeTime()
    http = client(t)
    first, second = closed_port(), closed_port()
    with pytest.raises(NetworkUnavailable, match=rf"^network unavailable \(127\.0\.0\.1:{first}/x\)$"):
        http.get(f"http://127.0.0.1:{first}/x", source="github")
    assert t.slept == [0.5, 1.0]  # the first unreachable host gets its retries
    with pytest.raises(NetworkUnavailable, match=rf"\(127\.0\.0\.1:{second}/y\)"):
        http.get(f"http://127.0.0.1:{second}/y", source="npm")
    with pytest.raises(NetworkUnavailable):
        http.get(f"http://127.0.0.1:{first}/z", source="pypi")
    assert t.slept == [0.5, 1.0]  # and then no more
    assert http.unreachable == {f"127.0.0.1:{first}", f"127.0.0.1:{second}"}
    assert http.requests[("github", "core")] == 3 and http.requests[("npm", "core")] == 1


# -- answers, archive and redaction -----------------------------------------------------------------
def serve_once(raw: bytes) -> str:
    """A one-shot server on loopback answering a single request with ``raw``; its URL."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)

    def serve() -> None:
        conn, _ = srv.accept()
        conn.recv(65536)
        conn.sendall(raw)
        conn.close()
        srv.close()

    threading.Thread(target=serve, daemon=True).start()
    return f"http://127.0.0.1:{srv.getsockname()[1]}/thing"


def test_error_snippet_is_redacted():
    secret = "ghp_SECRETsecretSECRET"
    body = f"bad credentials   for\n{secret}".encode()
    url = serve_once(b"HTTP/1.1 400 Bad Request\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
    http = HttpClient(HttpSettings(retries=0), secrets=[secret])
    with pytest.raises(UpstreamError) as err:
        http.get(url, source="github")
    assert str(err.value).endswith("/thing: bad credentials for [REDACTED]")
    assert err.value.status == 400


def test_replay_answers_as_the_live_run_did(fake, repo, tmp_path):
    day = dt.date(2023, 7, 19)
    archive = Archive(tmp_path, day, "run1")
    live = HttpClient(HttpSettings(retries=0), archive=archive)
    missing = repo.replace("/o/r", "/o/gone")
    first = live.get(repo, source="github", params={"page": 1})
    with pytest.raises(NotFound) as live_404:
        live.get(missing, source="github")
    fake.inject("http_502", r"/repos/o/r", times=1)
    with pytest.raises(UpstreamError):
        live.get(repo, source="github")
    assert len(list(tmp_path.rglob("*.json.gz"))) == 3  # every final answer is archived, errors too

    replay = ReplayClient({"github": latest_run_dir(tmp_path, day, "github")})
    assert replay.replaying and not live.replaying
    again = replay.get(repo, source="github", params={"page": 1}, min_interval=60)
    assert (again.status, again.body, again.url) == (first.status, first.body, first.url)
    with pytest.raises(NotFound) as replay_404:
        replay.get(missing, source="github")
    assert str(replay_404.value) == str(live_404.value)
    with pytest.raises(UpstreamError, match=r"^HTTP 502 from 127\.0\.0\.1:\d+/github/repos/o/r$"):
        replay.get(repo, source="github")
    with pytest.raises(UpstreamError, match="^not in the archive: "):
        replay.get(repo, source="github", params={"page": 2})
    assert replay.requests[("github", "core")] == 3
    assert sorted(replay.archived_urls("github")) == sorted([first.url, missing, repo])
    assert replay.archived_urls("npm") == []


# -- identity ---------------------------------------------------------------------------------------
def test_user_agent_names_the_installed_version_without_importing_jobs():
    assert user_agent().startswith(f"ecotrend/{importlib.metadata.version('ecotrend')} (+https://")
    code = "import sys, collectors.http as h; h.HttpClient(); print('jobs' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=str(ROOT),
                         env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, timeout=60)
    assert out.stdout.strip() == "False", out.stderr
