"""A fake upstream on loopback that answers like GitHub, the Hub and the registries — faults included.

Each upstream lives under its own prefix (``/github``, ``/web``, ``/hf``, ``/pypistats``, ``/npm``, …)
and is one module in this package with a ``ROUTES`` list of ``(method, regex, handler)``; a handler
takes a :class:`Request` and returns a :class:`Reply`.  Faults are queued per path pattern (and,
with a ``query`` param, a pattern on the query string, e.g. ``page=2``) and consumed in order,
in-process (``server.inject(...)``) or over HTTP (``POST /_fake/faults``), so a test can
run the real CLI in a subprocess against it.
"""
from __future__ import annotations

import hashlib
import json
import re
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import parse_qs, urlsplit

from collectors.fake.world import World

ERROR_PAGE_502 = (b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body>"
                  b"<h1>Unicorn!</h1><p>We had issues producing the response to your request.</p>"
                  b"</body></html>")


@dataclass
class Request:
    method: str
    upstream: str  # the prefix, e.g. "github"
    path: str  # after the prefix, e.g. "/search/repositories"
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes
    base: str  # e.g. "http://127.0.0.1:8123/github"
    server: "FakeUpstream"

    def arg(self, name: str, default: str | None = None) -> str | None:
        vals = self.query.get(name)
        return vals[-1] if vals else default

    def args(self, name: str) -> list[str]:
        return self.query.get(name, [])

    @property
    def authorised(self) -> bool:
        return self.headers.get("authorization", "").lower().startswith(("bearer ", "token "))


@dataclass
class Reply:
    status: int = 200
    body: bytes | str | Any = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json; charset=utf-8"

    def payload(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode("utf-8")
        return json.dumps(self.body).encode("utf-8")


def json_reply(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status, data, dict(headers or {}))


def html_reply(text: str, status: int = 200) -> Reply:
    return Reply(status, text, {}, "text/html; charset=utf-8")


@dataclass
class Fault:
    kind: str
    path: str = ".*"  # regex searched in "/{upstream}{path}"
    times: int = 1
    params: dict[str, Any] = field(default_factory=dict)


FAULT_KINDS = {
    "primary_limit", "primary_limit_429", "retry_after", "secondary", "http_500", "http_502",
    "slow", "truncated", "incomplete", "reset", "html", "not_found", "redirect_loop", "oversized",
    "missing_field", "empty", "hf_rate_limit", "bare_row", "zero_field",
}


class FakeUpstream:
    """A ThreadingHTTPServer on 127.0.0.1 serving the fake upstreams over a shared :class:`World`."""

    def __init__(self, world: World | None = None, port: int = 0, host: str = "127.0.0.1"):
        from collectors.fake import routes

        self.world = world or World()
        self.routes = routes.load()
        self.faults: list[Fault] = []
        self.stats: Counter[str] = Counter()
        self.log: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self.httpd = ThreadingHTTPServer((host, port), _handler_for(self))
        self.httpd.daemon_threads = True
        self.thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "FakeUpstream":
        # a short poll: stop() returns within it (the default half second adds up over a test suite)
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": POLL_SECONDS},
                                       name="fake-upstream", daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> "FakeUpstream":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- faults ---------------------------------------------------------------------------------
    def inject(self, kind: str, path: str = ".*", times: int = 1, **params: Any) -> None:
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind}")
        with self._lock:
            self.faults.append(Fault(kind, path, times, params))

    def clear_faults(self) -> None:
        with self._lock:
            self.faults.clear()

    def take_fault(self, full_path: str, query: str = "") -> Fault | None:
        """The first queued fault whose path regex matches (and ``query`` param regex, if it has one)."""
        with self._lock:
            for f in self.faults:
                if re.search(f.path, full_path) and re.search(str(f.params.get("query", "")), query):
                    f.times -= 1
                    if f.times <= 0:
                        self.faults.remove(f)
                    return f
        return None

    def count(self, pattern: str = ".*", status: int | None = None) -> int:
        """How many requests matched ``pattern`` (and status), for call-count assertions."""
        with self._lock:
            return sum(1 for e in self.log if re.search(pattern, e["path"])
                       and (status is None or e["status"] == status))

    # -- config helper ----------------------------------------------------------------------------
    def config_urls(self) -> dict[str, dict[str, str]]:
        """The config sections that point ecotrend at this server."""
        return {
            "github": {"api_url": f"{self.url}/github", "web_url": f"{self.url}/web"},
            "huggingface": {"endpoint": f"{self.url}/hf"},
            "pypi": {"api_url": f"{self.url}/pypistats/api"},
            "npm": {"api_url": f"{self.url}/npm"},
            "modelscope": {"api_url": f"{self.url}/modelscope"},
            "arena": {"endpoint": f"{self.url}/hfspaces"},
            "openrouter": {"api_url": f"{self.url}/openrouter"},
            "ollama": {"web_url": f"{self.url}/ollama"},
            "replicate": {"api_url": f"{self.url}/replicate"},
        }


POLL_SECONDS = 0.02


def _handler_for(server: FakeUpstream) -> type[BaseHTTPRequestHandler]:
    """A request handler class bound to ``server``."""
    return type("Handler", (_Handler,), {"upstream": server})


class _Handler(BaseHTTPRequestHandler):
    """Answers one connection's requests for the :class:`FakeUpstream` in ``upstream``."""

    upstream: FakeUpstream
    protocol_version = "HTTP/1.1"
    # Buffer the reply so headers and body leave in one segment: written separately, each
    # keep-alive request stalled ~40 ms on the client's delayed ACK.
    wbufsize = 1 << 16

    def log_message(self, *a: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_HEAD(self) -> None:
        self._serve("HEAD")

    def _serve(self, method: str) -> None:
        server = self.upstream
        parts = urlsplit(self.path)
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        full_path = parts.path
        if full_path.startswith("/_fake/"):
            return self._control(method, full_path, body)
        req = self._request(method, full_path, parts.query, body)
        fault = server.take_fault(full_path, parts.query)
        if fault and fault.kind == "zero_field":
            # the answer changed (a count fell to 0), so no ETag the client kept can match it
            req.headers.pop("if-none-match", None)
        if fault and fault.kind == "reset":
            return self._reset(full_path, req)
        if fault and fault.kind == "slow":
            _hold(fault)
        reply = _fault_reply(fault, req) if fault else None
        if reply is None:
            reply = _route(server, req, fault)
        self._send(reply, full_path, req, method)

    def _request(self, method: str, full_path: str, query: str, body: bytes) -> Request:
        m = re.match(r"^/([a-z]+)(/.*)?$", full_path)
        upstream, sub = (m.group(1), m.group(2) or "/") if m else ("", full_path)
        host = self.headers.get("host") or self.upstream.url.split("//", 1)[1]
        return Request(method, upstream, sub, parse_qs(query, keep_blank_values=True),
                       {k.lower(): v for k, v in self.headers.items()}, body,
                       f"http://{host}/{upstream}", self.upstream)

    def _reset(self, full_path: str, req: Request) -> None:
        """Drop the connection without an answer."""
        self._record(full_path, 0, req)
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _send(self, reply: Reply, full_path: str, req: Request, method: str) -> None:
        payload = reply.payload()
        self._record(full_path, reply.status, req)
        self.send_response(reply.status)
        headers = {"Content-Type": reply.content_type, **reply.headers}
        oversize = headers.pop("X-Fake-Oversize", None)
        headers["Content-Length"] = str(int(oversize)) if oversize else str(len(payload))
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        if method == "HEAD":
            return
        try:
            if oversize:
                self._write_filler(int(oversize))
            else:
                self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _write_filler(self, size: int) -> None:
        chunk = b" " * 65536
        sent = 0
        while sent < size:
            self.wfile.write(chunk)
            sent += len(chunk)

    def _record(self, full_path: str, status: int, req: Request) -> None:
        server = self.upstream
        with server._lock:
            server.stats[f"{req.upstream}:{status}"] += 1
            server.log.append({"path": full_path, "status": status, "auth": req.authorised,
                               "query": req.query})

    def _control(self, method: str, path: str, body: bytes) -> None:
        data = json.loads(body or b"{}") if method == "POST" else {}
        payload = json.dumps(_control_reply(self.upstream, method, path, data)).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def _control_reply(server: FakeUpstream, method: str, path: str, data: dict[str, Any]) -> dict[str, Any]:
    """Act on one ``/_fake/...`` control request: queue or clear faults, move the day, report stats."""
    if path == "/_fake/faults" and method == "POST":
        server.inject(data["kind"], data.get("path", ".*"), int(data.get("times", 1)),
                      **data.get("params", {}))
        return {"ok": True}
    if path == "/_fake/clear" and method == "POST":
        server.clear_faults()
        return {"ok": True}
    if path == "/_fake/today" and method == "POST":
        server.world.set_today(data["day"])
        return {"ok": True, "today": data["day"]}
    if path == "/_fake/stats":
        return {"stats": dict(server.stats), "requests": len(server.log)}
    return {"error": "unknown control"}


def _route(server: FakeUpstream, req: Request, fault: Fault | None) -> Reply:
    for method, pattern, handler in server.routes.get(req.upstream, []):
        if method != req.method and not (method == "GET" and req.method == "HEAD"):
            continue
        m = re.fullmatch(pattern, req.path)
        if m:
            reply = handler(req, fault, **m.groupdict())
            return _after_fault(fault, reply)
    return json_reply({"message": "Not Found"}, 404)


def _after_fault(fault: Fault | None, reply: Reply) -> Reply:
    """Faults that change a real answer rather than replace it."""
    if not fault:
        return reply
    if fault.kind == "truncated":
        payload = reply.payload()
        reply.body = payload[: max(1, len(payload) // 2)]
    elif fault.kind == "missing_field" and isinstance(reply.body, dict):
        for name in str(fault.params.get("field", "")).split(","):
            reply.body.pop(name, None)
        if fault.params.get("rename_to"):
            reply.body[fault.params["rename_to"]] = None
    elif fault.kind == "zero_field" and isinstance(reply.body, dict):
        _zero_field(reply, str(fault.params.get("field", "")))
    elif fault.kind == "bare_row" and isinstance(reply.body, str):
        # the first row as a new repository shows it: no star count, no language
        reply.body = re.sub(r'<a[^>]*href="[^"]*/stargazers"[^>]*>.*?</a>', "", reply.body, count=1, flags=re.S)
        reply.body = re.sub(r'<span itemprop="programmingLanguage">[^<]*</span>', "", reply.body, count=1)
    elif fault.kind == "oversized":
        reply.headers["X-Fake-Oversize"] = str(int(fault.params.get("bytes", 60_000_000)))
    return reply


def _zero_field(reply: Reply, dotted: str) -> None:
    """Set a field of a JSON object answer to 0: ``total_count``, or a dotted path (``Data.Downloads``).
    The answer is a new one: its ETag, if it has one, is that of the changed body."""
    *parents, last = dotted.split(".")
    obj: Any = reply.body
    for key in parents:
        obj = obj.get(key) if isinstance(obj, dict) else None
    if isinstance(obj, dict) and last in obj:
        obj[last] = 0
    if "etag" in reply.headers:
        reply.headers["etag"] = f'W/"{hashlib.sha256(reply.payload()).hexdigest()[:32]}"'


def _hold(fault: Fault) -> None:
    """A slow answer: ``seconds`` (default 3), or until the ``release`` event a test passed is set."""
    seconds = float(fault.params.get("seconds", 3))
    release = fault.params.get("release")
    if isinstance(release, threading.Event):
        release.wait(seconds)
    else:
        time.sleep(seconds)


def _fault_reply(fault: Fault, req: Request) -> Reply | None:
    """Faults that replace the answer; None for those applied to the real answer."""
    now = int(time.time())
    p = fault.params
    if fault.kind in ("primary_limit", "primary_limit_429"):
        reset = now + int(p.get("reset_in", 2))
        return json_reply({"message": "API rate limit exceeded for user ID 1. If you reach out to "
                                      "GitHub Support for help, please include the request ID.",
                           "documentation_url": "https://docs.github.com/rest/overview/rate-limits"},
                          403 if fault.kind == "primary_limit" else 429,
                          {"x-ratelimit-limit": str(p.get("limit", 30)), "x-ratelimit-remaining": "0",
                           "x-ratelimit-reset": str(reset), "x-ratelimit-used": str(p.get("limit", 30)),
                           "x-ratelimit-resource": p.get("resource", "search")})
    if fault.kind == "retry_after":
        return json_reply({"message": "You have exceeded a secondary rate limit. Please wait a few "
                                      "minutes before you try again."}, int(p.get("status", 429)),
                          {"retry-after": str(p.get("seconds", 1))})
    if fault.kind == "secondary":
        return json_reply({"message": "You have exceeded a secondary rate limit and have been "
                                      "temporarily blocked from content creation. Please retry your "
                                      "request again later."}, 403)
    if fault.kind == "hf_rate_limit":
        t = int(p.get("reset_in", 1))
        return json_reply({"error": "Rate limit exceeded"}, 429,
                          {"RateLimit": f'"api";r=0;t={t}', "RateLimit-Policy": '"fixed window";"api";q=500;w=300'})
    if fault.kind in ("http_500", "http_502"):
        status = 500 if fault.kind == "http_500" else 502
        return Reply(status, ERROR_PAGE_502, {}, "text/html; charset=utf-8")
    if fault.kind == "html":
        return html_reply("<!DOCTYPE html><html><body><h1>Service maintenance</h1></body></html>")
    if fault.kind == "not_found":
        return json_reply({"message": "Not Found"}, 404)
    if fault.kind == "redirect_loop":
        from urllib.parse import urlencode

        query = urlencode([(k, v) for k, vals in req.query.items() for v in vals])
        return Reply(301, b"", {"Location": f"{req.base}{req.path}" + (f"?{query}" if query else "")})
    return None


def serve_forever(world: World, port: int, ready: Callable[[str], None] | None = None) -> None:
    srv = FakeUpstream(world, port=port)
    if ready:
        ready(srv.url)
    try:
        srv.httpd.serve_forever()
    finally:
        srv.httpd.server_close()
