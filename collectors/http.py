"""One HTTP client for every collector: timeouts, retries, rate-limit budgets, archiving, redaction.

GitHub announces budgets in ``x-ratelimit-*`` headers per resource (core, search, ...); the Hugging
Face Hub in IETF ``RateLimit``/``RateLimit-Policy`` headers.  Both feed the same per-resource budget:
a spent budget is waited out when its reset is within ``[http] max_wait_seconds``, otherwise the
source stops with :class:`RateLimitExhausted`.  Short (per-minute) windows are paced evenly rather
than burst, so search calls are spread over the minute the way the upstream announces.
"""
from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import urlsplit

import requests

from collectors.archive import Archive, ArchivedResponse, load_run, redact, request_key
from collectors.settings import HttpSettings
from collectors.errors import Interrupted, NetworkUnavailable, NotFound, RateLimitExhausted, UpstreamError

log = logging.getLogger("ecotrend.http")

RETRY_STATUSES = {500, 502, 503, 504}
PACE_WINDOW_SECONDS = 120  # windows at most this long are paced evenly; longer ones may burst


def user_agent() -> str:
    from jobs import __version__

    return f"ecotrend/{__version__} (+https://github.com/ecotrend/ecotrend)"


@dataclass
class Response:
    """What a collector sees of an answer: status, headers (lower-case), body, final URL."""

    status: int
    headers: dict[str, str]
    body: bytes
    url: str
    redirected_from: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            snippet = re.sub(r"\s+", " ", self.text[:60])
            raise UpstreamError(f"expected JSON from {_short(self.url)}, got '{snippet}…'",
                                self.status) from None


@dataclass
class Budget:
    limit: int | None = None
    remaining: int | None = None
    reset: float | None = None  # epoch seconds
    last_call: float = 0.0


def _short(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.netloc}{parts.path}"


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
        m_r = re.search(r"\br=(\d+)", headers["ratelimit"])
        m_t = re.search(r"\bt=(\d+)", headers["ratelimit"])
        m_name = re.match(r'\s*"([^"]+)"', headers["ratelimit"])
        m_q = re.search(r"\bq=(\d+)", headers.get("ratelimit-policy", ""))
        if m_r:
            return (m_name.group(1) if m_name else None,
                    Budget(limit=int(m_q.group(1)) if m_q else None, remaining=int(m_r.group(1)),
                           reset=now + int(m_t.group(1)) if m_t else None))
    return None


class HttpClient:
    """The shared session.  ``get`` returns a :class:`Response` or raises a SourceError subclass."""

    replaying = False  # True on ReplayClient: answers come from the raw archive, not the network

    def archived_urls(self, source: str) -> list[str]:
        """The URLs a replayed day holds for ``source``; none on the network."""
        return []

    def __init__(self, http_cfg: HttpSettings | None = None, archive: Archive | None = None,
                 secrets: list[str] | None = None,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.time,
                 interrupted: Callable[[], bool] = lambda: False):
        self.cfg = http_cfg or HttpSettings()
        self.archive = archive
        self.secrets = [s for s in (secrets or []) if s]
        self.sleep = sleep
        self.clock = clock
        self.interrupted = interrupted
        self.session = requests.Session()
        self.session.headers["User-Agent"] = user_agent()
        self.session.max_redirects = 10
        self.budgets: dict[tuple[str, str], Budget] = {}
        self.requests: Counter[tuple[str, str]] = Counter()
        self.unreachable: set[str] = set()  # hosts that could not be reached at all this run
        self._token_hosts: dict[str, str] = {}
        self._lock = threading.Lock()

    # -- budgets -------------------------------------------------------------------------------
    def budget(self, host: str, resource: str) -> Budget:
        return self.budgets.setdefault((host, resource), Budget())

    def note_budget(self, host: str, resource: str, limit: int | None, remaining: int | None,
                    reset: float | None) -> None:
        """Record a budget learnt elsewhere (e.g. GitHub's free /rate_limit)."""
        b = self.budget(host, resource)
        b.limit, b.remaining, b.reset = limit, remaining, reset

    def _wait(self, seconds: float, why: str, source: str) -> None:
        max_wait = self.cfg.max_wait_seconds
        if seconds > max_wait:
            raise RateLimitExhausted(
                f"{why}; it resets in {int(seconds)}s, more than http.max_wait_seconds={int(max_wait)}",
                resume_at=self.clock() + seconds)
        if seconds > 0:
            log.info("%s: %s; waiting %.0fs", source, why, seconds)
            self._sleep_interruptibly(seconds)

    def _sleep_interruptibly(self, seconds: float) -> None:
        end = self.clock() + seconds
        while True:
            left = end - self.clock()
            if left <= 0:
                return
            if self.interrupted():
                raise Interrupted()
            self.sleep(min(left, 1.0))

    def _pace(self, host: str, resource: str, source: str) -> None:
        b = self.budgets.get((host, resource))
        if not b or b.remaining is None or b.reset is None:
            return
        now = self.clock()
        left = b.reset - now
        if b.remaining <= 0 and left > 0:
            self._wait(left + 1, f"{resource} rate limit spent", source)
            b.remaining = None
            return
        if 0 < left <= PACE_WINDOW_SECONDS and b.remaining > 0:
            interval = left / b.remaining
            gap = b.last_call + interval - now
            if gap > 0:  # pacing is always waited out: it is at most one window long
                self._sleep_interruptibly(gap)

    def _space(self, host: str, resource: str, min_interval: float) -> None:
        """At least ``min_interval`` seconds since the last call to (host, resource)."""
        last = self.budget(host, resource).last_call
        if min_interval > 0 and last:
            gap = last + min_interval - self.clock()
            if gap > 0:
                self._sleep_interruptibly(gap)

    # -- requests ------------------------------------------------------------------------------
    def get(self, url: str, *, source: str, resource: str = "core", params: dict | list | None = None,
            headers: dict[str, str] | None = None, token: str | None = None,
            allow_redirects: bool = True, ok: tuple[int, ...] = (200,), archive: bool = True,
            min_interval: float = 0.0) -> Response:
        """GET ``url``; ``min_interval`` spaces calls to one (host, resource) that announces no budget."""
        prepared = requests.Request("GET", url, params=params, headers=headers or {}).prepare()
        full_url = prepared.url
        host = urlsplit(full_url).netloc
        req_headers = dict(headers or {})
        if token:
            # a token is bound to the first host it is sent to: a next link or a configured address
            # pointing elsewhere never receives it
            bound = self._token_hosts.setdefault(token, host)
            if bound == host:
                req_headers["Authorization"] = f"Bearer {token}"
            else:
                log.warning("%s: not sending the token to %s (it belongs to %s)", source, host, bound)
        retries = self.cfg.retries
        backoff = self.cfg.backoff_seconds
        timeout = self.cfg.timeout_seconds
        attempt = 0
        limit_waits = 0
        secondary_hits = 0
        while True:
            if self.interrupted():
                raise Interrupted()
            self._pace(host, resource, source)
            self._space(host, resource, min_interval)
            attempt += 1
            with self._lock:
                self.requests[(source, resource)] += 1
            self.budget(host, resource).last_call = self.clock()
            try:
                raw = self.session.get(full_url, headers=req_headers, timeout=timeout,
                                       allow_redirects=allow_redirects, stream=True)
                body = self._read_body(raw, full_url)
            except requests.TooManyRedirects:
                raise UpstreamError(f"redirect loop at {_short(full_url)}") from None
            except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError,
                    requests.exceptions.ContentDecodingError) as exc:
                # a body cut short of its Content-Length is a transient fault like a reset
                kind = "truncated response" if isinstance(exc, (requests.exceptions.ChunkedEncodingError,
                                                                requests.exceptions.ContentDecodingError)) \
                    else self._conn_kind(exc)
                # Once a host proved unreachable, the network is likely down: fail fast instead of
                # spending the whole backoff again on every request and every other source.
                if kind == "network unavailable" and self.unreachable and host not in self.unreachable:
                    self.unreachable.add(host)
                    raise NetworkUnavailable(f"network unavailable ({_short(full_url)})") from None
                if kind == "network unavailable" and host in self.unreachable:
                    raise NetworkUnavailable(f"network unavailable ({_short(full_url)})") from None
                if attempt <= retries:
                    delay = backoff * (2 ** (attempt - 1))
                    log.warning("%s: %s at %s; retry %d/%d in %.1fs", source, kind, _short(full_url),
                                attempt, retries, delay)
                    self.sleep(delay)
                    continue
                if kind == "network unavailable":
                    self.unreachable.add(host)
                    raise NetworkUnavailable(f"network unavailable ({_short(full_url)})") from None
                raise UpstreamError(f"{kind} at {_short(full_url)} after {attempt} attempts") from None
            resp_headers = {k.lower(): v for k, v in raw.headers.items()}
            now = self.clock()
            parsed = parse_budget(resp_headers, now)
            if parsed:
                _, b = parsed
                tgt = self.budget(host, resource)
                tgt.limit, tgt.remaining, tgt.reset = b.limit, b.remaining, b.reset
            status = raw.status_code
            if status == 304:
                with self._lock:
                    self.requests[(source, resource + "_304")] += 1
            if status in (403, 429):
                decision = self._limit_decision(status, resp_headers, body, now, secondary_hits)
                if decision is not None:
                    why, wait, kind = decision
                    if kind == "secondary":
                        secondary_hits += 1
                        if secondary_hits > retries:
                            raise RateLimitExhausted(f"{why}; still limited after {retries} waits")
                    limit_waits += 1
                    if limit_waits > retries + 3:
                        raise RateLimitExhausted(f"{why}; gave up after {limit_waits - 1} waits")
                    self._wait(wait, why, source)
                    self.budget(host, resource).remaining = None
                    attempt -= 1  # limits are not failures of the request
                    continue
            if status in RETRY_STATUSES and attempt <= retries:
                delay = backoff * (2 ** (attempt - 1))
                log.warning("%s: HTTP %d from %s; retry %d/%d in %.1fs", source, status,
                            _short(full_url), attempt, retries, delay)
                self.sleep(delay)
                continue
            resp = Response(status, resp_headers, body, raw.url,
                            [h.url for h in raw.history])
            if archive and self.archive is not None:
                self.archive.write(source, "GET", full_url, status, resp_headers, body, raw.url)
            if status in ok:
                return resp
            if status in (404, 410, 451):
                raise NotFound(f"{_short(full_url)} answered {status}", status)
            snippet = re.sub(r"\s+", " ", redact(resp.text[:80], self.secrets))
            raise UpstreamError(f"HTTP {status} from {_short(full_url)}: {snippet}", status)

    def _read_body(self, raw: requests.Response, url: str) -> bytes:
        cap = self.cfg.max_response_bytes
        declared = raw.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > cap:
            raw.close()
            raise UpstreamError(f"response from {_short(url)} is {declared} bytes, over the "
                                f"{cap}-byte cap")
        chunks, size = [], 0
        for chunk in raw.iter_content(65536):
            size += len(chunk)
            if size > cap:
                raw.close()
                raise UpstreamError(f"response from {_short(url)} exceeds the {cap}-byte cap")
            chunks.append(chunk)
        return b"".join(chunks)

    @staticmethod
    def _conn_kind(exc: Exception) -> str:
        text = str(exc)
        if isinstance(exc, requests.Timeout) or "timed out" in text.lower():
            return "timeout"
        markers = ("Name or service not known", "Temporary failure in name resolution", "nodename nor",
                   "No address associated", "Network is unreachable", "getaddrinfo failed",
                   "Failed to resolve", "No route to host", "Connection refused")
        if any(m in text for m in markers):
            return "network unavailable"
        return "connection error"

    def _limit_decision(self, status: int, headers: dict[str, str], body: bytes, now: float,
                        secondary_hits: int = 0) -> tuple[str, float, str] | None:
        """Tell a primary limit from a secondary one; None when a 403 is not a limit at all."""
        text = body[:2000].decode("utf-8", errors="replace").lower()
        if headers.get("x-ratelimit-remaining") == "0":
            reset = float(headers.get("x-ratelimit-reset", "0") or 0)
            return ("primary rate limit reached", max(0.0, reset - now) + 1, "primary")
        retry_after = headers.get("retry-after")
        if retry_after:
            try:
                wait = float(retry_after)
            except ValueError:
                wait = self.cfg.secondary_wait_seconds
            return ("secondary rate limit (retry-after)", wait, "secondary")
        if status == 429 and "ratelimit" in headers:
            m_t = re.search(r"\bt=(\d+)", headers["ratelimit"])
            wait = float(m_t.group(1)) if m_t else self.cfg.secondary_wait_seconds
            return ("rate limit reached", wait, "primary")
        if status == 429 or "secondary rate limit" in text or "abuse" in text:
            # No retry-after: wait at least a minute (configurable for tests), doubling each time.
            base = self.cfg.secondary_wait_seconds
            return ("secondary rate limit without retry-after", base * (2 ** secondary_hits), "secondary")
        return None


class ReplayClient:
    """Serves a day's archived responses in place of the network (``collect --from-archive``)."""

    replaying = True

    def archived_urls(self, source: str) -> list[str]:
        return [rec.url for recs in self.by_source.get(source, {}).values() for rec in recs[:1]]

    def __init__(self, run_dirs: dict[str, Any]):
        self.by_source = {src: load_run(d) for src, d in run_dirs.items() if d is not None}
        self._served: Counter[tuple[str, str]] = Counter()
        self.requests: Counter[tuple[str, str]] = Counter()
        self.budgets: dict = {}

    def note_budget(self, *a: Any, **k: Any) -> None:
        pass

    def budget(self, host: str, resource: str) -> Budget:
        return Budget()

    def get(self, url: str, *, source: str, resource: str = "core", params: dict | list | None = None,
            headers: dict[str, str] | None = None, token: str | None = None,
            allow_redirects: bool = True, ok: tuple[int, ...] = (200,), archive: bool = True,
            min_interval: float = 0.0) -> Response:
        full_url = requests.Request("GET", url, params=params).prepare().url
        key = request_key("GET", full_url)
        records: list[ArchivedResponse] = self.by_source.get(source, {}).get(key, [])
        if not records:
            raise UpstreamError(f"not in the archive: {_short(full_url)}")
        i = self._served[(source, key)]
        self._served[(source, key)] += 1
        rec = records[min(i, len(records) - 1)]
        self.requests[(source, resource)] += 1
        resp = Response(rec.status, rec.headers, rec.body, rec.final_url,
                        [rec.url] if rec.final_url != rec.url else [])
        if rec.status in ok:
            return resp
        if rec.status in (404, 410, 451):
            raise NotFound(f"{_short(full_url)} answered {rec.status}", rec.status)
        raise UpstreamError(f"HTTP {rec.status} from {_short(full_url)}", rec.status)
