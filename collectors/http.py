"""One HTTP client for every collector: timeouts, retries, rate-limit waits, archiving, redaction.

A GET goes through four named steps, tried again until it has an answer: *send* it (held first by the
:class:`~collectors.pacing.Pacer` until the budget and the declared spacing allow), *classify* what came
back (a usable answer, a rate limit, a transient fault), *wait* out a limit (not a failure of the call),
or *retry* a transient fault with backoff.  Budgets, limits and waits are the pacer's
(``collectors/pacing.py``); the mapping of a final status to an error is shared with :class:`ReplayClient`.
"""
from __future__ import annotations

import importlib.metadata
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
from collectors.errors import NetworkUnavailable, NotFound, RateLimitExhausted, UpstreamError
from collectors.pacing import Budget, Limit, Pacer, classify_limit
from collectors.settings import HttpSettings

log = logging.getLogger("ecotrend.http")

RETRY_STATUSES = {500, 502, 503, 504}
NOT_FOUND_STATUSES = (404, 410, 451)
NETWORK_DOWN = "network unavailable"
TRUNCATED = (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError)
NO_CONNECTION_MARKERS = ("Name or service not known", "Temporary failure in name resolution", "nodename nor",
                         "No address associated", "Network is unreachable", "getaddrinfo failed",
                         "Failed to resolve", "No route to host", "Connection refused")


def version() -> str:
    """The installed package's version; a placeholder when running from an uninstalled checkout."""
    try:
        return importlib.metadata.version("ecotrend")
    except importlib.metadata.PackageNotFoundError:
        return "0+unknown"


def user_agent() -> str:
    return f"ecotrend/{version()} (+https://github.com/ecotrend/ecotrend)"


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


def _short(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.netloc}{parts.path}"


def full_url(url: str, params: dict | list | None = None) -> str:
    """``url`` with ``params`` encoded into its query, exactly as it is sent and archived."""
    return requests.Request("GET", url, params=params).prepare().url or url


def answer(resp: Response, ok: tuple[int, ...], url: str, detail: str | None = None) -> Response:
    """``resp`` when its status is one the caller accepts, else the error it stands for.

    ``detail`` (a redacted start of the body) follows the status in the message when given.
    """
    if resp.status in ok:
        return resp
    if resp.status in NOT_FOUND_STATUSES:
        raise NotFound(f"{_short(url)} answered {resp.status}", resp.status)
    suffix = f": {detail}" if detail is not None else ""
    raise UpstreamError(f"HTTP {resp.status} from {_short(url)}{suffix}", resp.status)


def fault_kind(exc: Exception) -> str:
    """What a failed send was: a truncated response, a timeout, no network at all, or another connection error."""
    if isinstance(exc, TRUNCATED):  # a body cut short of its Content-Length is a transient fault like a reset
        return "truncated response"
    text = str(exc)
    if isinstance(exc, requests.Timeout) or "timed out" in text.lower():
        return "timeout"
    if any(m in text for m in NO_CONNECTION_MARKERS):
        return NETWORK_DOWN
    return "connection error"


class _NoAnswer(Exception):
    """A send that got no usable answer (no connection, a timeout, a body cut short)."""

    def __init__(self, kind: str):
        super().__init__(kind)
        self.kind = kind


@dataclass
class _Call:
    """One GET across its attempts: where it goes, and what it has cost so far."""

    url: str
    host: str
    source: str
    resource: str
    headers: dict[str, str]
    allow_redirects: bool
    min_interval: float
    failures: int = 0  # failed attempts (5xx, no connection, a body cut short)
    limit_waits: int = 0  # refusals waited out: not failures of the call
    secondary_hits: int = 0


class HttpClient:
    """The shared session.  ``get`` returns a :class:`Response` or raises a SourceError subclass."""

    replaying = False  # True on ReplayClient: answers come from the raw archive, not the network

    def __init__(self, http_cfg: HttpSettings | None = None, archive: Archive | None = None,
                 secrets: list[str] | None = None,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.time,
                 interrupted: Callable[[], bool] = lambda: False):
        self.cfg = http_cfg or HttpSettings()
        self.archive = archive
        self.secrets = [s for s in (secrets or []) if s]
        self.pacer = Pacer(self.cfg.max_wait_seconds, clock=clock, sleep=sleep, interrupted=interrupted)
        self.session = requests.Session()
        self.session.headers["User-Agent"] = user_agent()
        self.session.max_redirects = 10
        self.requests: Counter[tuple[str, str]] = Counter()
        self.unreachable: set[str] = set()  # hosts that could not be reached at all this run
        self._token_hosts: dict[str, str] = {}
        self._lock = threading.Lock()

    def archived_urls(self, source: str) -> list[str]:
        """The URLs a replayed day holds for ``source``; none on the network."""
        return []

    def budget(self, host: str, resource: str) -> Budget:
        return self.pacer.budget(host, resource)

    def note_budget(self, host: str, resource: str, limit: int | None, remaining: int | None,
                    reset: float | None) -> None:
        """Record a budget learnt elsewhere (e.g. GitHub's free /rate_limit)."""
        self.pacer.note(host, resource, limit, remaining, reset)

    # -- requests ------------------------------------------------------------------------------
    def get(self, url: str, *, source: str, resource: str = "core", params: dict | list | None = None,
            headers: dict[str, str] | None = None, token: str | None = None,
            allow_redirects: bool = True, ok: tuple[int, ...] = (200,), archive: bool = True,
            min_interval: float = 0.0) -> Response:
        """GET ``url``; ``min_interval`` spaces calls to one (host, resource) that announces no budget."""
        target = full_url(url, params)
        host = urlsplit(target).netloc
        call = _Call(target, host, source, resource, self._headers(headers, token, host, source),
                     allow_redirects, min_interval)
        while True:
            resp = self._attempt(call)
            if resp is not None:
                break
        if archive and self.archive is not None:
            self.archive.write(source, "GET", target, resp.status, resp.headers, resp.body, resp.url)
        return answer(resp, ok, target, re.sub(r"\s+", " ", redact(resp.text[:80], self.secrets)))

    def _headers(self, headers: dict[str, str] | None, token: str | None, host: str, source: str) -> dict[str, str]:
        """The request's headers, with the token when ``host`` is the one it was first sent to.

        A next link or a configured address pointing elsewhere never receives it.
        """
        out = dict(headers or {})
        if token:
            bound = self._token_hosts.setdefault(token, host)
            if bound == host:
                out["Authorization"] = f"Bearer {token}"
            else:
                log.warning("%s: not sending the token to %s (it belongs to %s)", source, host, bound)
        return out

    def _attempt(self, call: _Call) -> Response | None:
        """Send once and classify; the final response, or None when the call is to be made again."""
        self.pacer.before_call(call.host, call.resource, call.source, call.min_interval)
        self._count(call.source, call.resource)
        try:
            resp = self._send(call)
        except _NoAnswer as fault:
            self._no_answer(call, fault.kind)
            return None
        self.pacer.learn(call.host, call.resource, resp.headers)
        if resp.status == 304:
            self._count(call.source, call.resource + "_304")
        limit = classify_limit(resp.status, resp.headers, resp.body, self.pacer.clock(),
                               self.cfg.secondary_wait_seconds, call.secondary_hits)
        if limit is not None:
            self._wait_for(call, limit)
            return None
        if resp.status in RETRY_STATUSES and self._retry(call, f"HTTP {resp.status} from {_short(call.url)}"):
            return None
        return resp

    def _send(self, call: _Call) -> Response:
        """One request on the wire; :class:`_NoAnswer` when no whole answer came back."""
        try:
            raw = self.session.get(call.url, headers=call.headers, timeout=self.cfg.timeout_seconds,
                                   allow_redirects=call.allow_redirects, stream=True)
            body = self._read_body(raw, call.url)
        except requests.TooManyRedirects:
            raise UpstreamError(f"redirect loop at {_short(call.url)}") from None
        except (requests.ConnectionError, requests.Timeout, *TRUNCATED) as exc:
            raise _NoAnswer(fault_kind(exc)) from None
        return Response(raw.status_code, {k.lower(): v for k, v in raw.headers.items()}, body, raw.url,
                        [h.url for h in raw.history])

    def _no_answer(self, call: _Call, kind: str) -> None:
        """Retry a send that got no answer, or give up on it.

        Once a host proved unreachable, the network is likely down: fail fast instead of spending the
        whole backoff again on every request and every other source.
        """
        fail_fast = kind == NETWORK_DOWN and bool(self.unreachable)
        if not fail_fast and self._retry(call, f"{kind} at {_short(call.url)}"):
            return
        if kind == NETWORK_DOWN:
            self.unreachable.add(call.host)
            raise NetworkUnavailable(f"network unavailable ({_short(call.url)})") from None
        raise UpstreamError(f"{kind} at {_short(call.url)} after {call.failures} attempts") from None

    def _retry(self, call: _Call, what: str) -> bool:
        """Count a failed attempt and back off before the next; False when no retry is left."""
        call.failures += 1
        retries = self.cfg.retries
        if call.failures > retries:
            return False
        delay = self.cfg.backoff_seconds * (2 ** (call.failures - 1))
        log.warning("%s: %s; retry %d/%d in %.1fs", call.source, what, call.failures, retries, delay)
        self.pacer.sleep(delay)
        return True

    def _wait_for(self, call: _Call, limit: Limit) -> None:
        """Wait out a rate limit, within bounds: it is not a failed attempt, but waits are not endless."""
        retries = self.cfg.retries
        if limit.secondary:
            call.secondary_hits += 1
            if call.secondary_hits > retries:
                raise RateLimitExhausted(f"{limit.why}; still limited after {retries} waits")
        call.limit_waits += 1
        if call.limit_waits > retries + 3:
            raise RateLimitExhausted(f"{limit.why}; gave up after {call.limit_waits - 1} waits")
        self.pacer.wait_out(call.host, call.resource, limit, call.source)

    def _count(self, source: str, key: str) -> None:
        with self._lock:
            self.requests[(source, key)] += 1

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


class ReplayClient:
    """Serves a day's archived responses in place of the network (``collect --from-archive``).

    It never waits nor retries: the archive holds each call's final answer, mapped to the same errors.
    """

    replaying = True

    def __init__(self, run_dirs: dict[str, Any]):
        self.by_source = {src: load_run(d) for src, d in run_dirs.items() if d is not None}
        self._served: Counter[tuple[str, str]] = Counter()
        self.requests: Counter[tuple[str, str]] = Counter()

    def archived_urls(self, source: str) -> list[str]:
        return [rec.url for recs in self.by_source.get(source, {}).values() for rec in recs[:1]]

    def note_budget(self, *a: Any, **k: Any) -> None:
        pass

    def budget(self, host: str, resource: str) -> Budget:
        return Budget()

    def get(self, url: str, *, source: str, resource: str = "core", params: dict | list | None = None,
            headers: dict[str, str] | None = None, token: str | None = None,
            allow_redirects: bool = True, ok: tuple[int, ...] = (200,), archive: bool = True,
            min_interval: float = 0.0) -> Response:
        target = full_url(url, params)
        rec = self._next_record(source, target)
        self.requests[(source, resource)] += 1
        resp = Response(rec.status, rec.headers, rec.body, rec.final_url,
                        [rec.url] if rec.final_url != rec.url else [])
        return answer(resp, ok, target)

    def _next_record(self, source: str, url: str) -> ArchivedResponse:
        """The archived answers to one URL in the order they were made; the last one again past them."""
        key = request_key("GET", url)
        records = self.by_source.get(source, {}).get(key, [])
        if not records:
            raise UpstreamError(f"not in the archive: {_short(url)}")
        i = self._served[(source, key)]
        self._served[(source, key)] += 1
        return records[min(i, len(records) - 1)]
