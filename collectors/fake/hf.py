"""Fake Hugging Face Hub API: ``/api/models`` lists with cursors, model info, renames, rate limits.

Shapes follow the Hub: a JSON list of models (only ``id``/``_id`` plus the ``expand`` fields when
``expand`` is given; ``expand=x`` and ``expand[]=x`` both accepted), ``link: <…>; rel="next"`` with an
opaque ``cursor`` until the last page, no total count (unless ``total_header`` is switched on),
``RateLimit``/``RateLimit-Policy`` headers over fixed 5-minute windows (429 when spent), and a
307 from a renamed model's old id to its new one.  ``downloads`` is the rolling 30-day count,
``downloadsAllTime`` the counter since creation; both may follow a per-day series so a test can
move ``world.today`` and see the counters move.
"""
from __future__ import annotations

import base64
import datetime as dt
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlencode

from collectors.fake.server import Fault, Reply, Request, json_reply

DEFAULT_FIELDS = ("likes", "downloads", "createdAt", "private", "pipeline_tag", "tags")


@dataclass
class FakeModel:
    id: str
    downloads: int = 0  # rolling 30 days
    all_time: int = 0
    likes: int = 0
    created: dt.date = dt.date(2023, 1, 1)
    tags: list[str] = field(default_factory=list)
    # optional per-day values (the latest day <= today wins): day -> (downloads_30d, all_time)
    series: dict[dt.date, tuple[int, int]] = field(default_factory=dict)

    @property
    def author(self) -> str:
        return self.id.split("/", 1)[0]

    def values(self, today: dt.date) -> tuple[int, int]:
        days = [d for d in self.series if d <= today]
        if days:
            return self.series[max(days)]
        return self.downloads, self.all_time

    def as_json(self, today: dt.date, fields: tuple[str, ...]) -> dict[str, Any]:
        d30, total = self.values(today)
        full = {"likes": self.likes, "downloads": d30, "downloadsAllTime": total,
                "createdAt": f"{self.created.isoformat()}T00:00:00.000Z", "private": False,
                "pipeline_tag": "text-generation", "tags": self.tags, "author": self.author,
                "library_name": "transformers"}
        out: dict[str, Any] = {"_id": f"{abs(hash(self.id)) % 16**24:024x}", "id": self.id}
        for f in fields:
            if f in full:
                out[f] = full[f]
        return out


class HfData:
    def __init__(self) -> None:
        self.models: dict[str, FakeModel] = {}
        self.renames: dict[str, str] = {}  # old id -> new id (307)
        self.page_max = 1000  # the Hub caps a page; tests lower it to force cursors
        self.total_header = False  # the Hub sends no total; switch on to test the shortcut
        self.quota = 100_000  # requests per 5-minute window (the real anonymous tier is 500)
        self.window = 300
        self.lock = threading.RLock()
        self._used: dict[int, int] = {}

    def add(self, model_id: str, downloads: int = 0, all_time: int = 0, likes: int = 0,
            base: tuple[str, str] | None = None, **kw: Any) -> FakeModel:
        """Add a model; ``base=(relation, base_id)`` tags it as a derivative the way the Hub does."""
        tags = list(kw.pop("tags", []))
        if base:
            relation, base_id = base
            tags += [f"base_model:{base_id}", f"base_model:{relation}:{base_id}"]
        m = FakeModel(model_id, downloads, all_time, likes, tags=tags, **kw)
        with self.lock:
            self.models[model_id] = m
        return m

    def rename(self, old: str, new: str) -> None:
        with self.lock:
            m = self.models.pop(old)
            m.id = new
            self.models[new] = m
            self.renames[old] = new

    def spend(self) -> tuple[dict[str, str], bool]:
        now = int(time.time())
        start = now - now % self.window
        with self.lock:
            used = self._used.get(start, 0)
            ok = used < self.quota
            if ok:
                used += 1
                self._used[start] = used
        headers = {"RateLimit": f'"api";r={max(0, self.quota - used)};t={start + self.window - now}',
                   "RateLimit-Policy": f'"fixed window";"api";q={self.quota};w={self.window}'}
        return headers, ok


PART = HfData


def data(req: Request) -> HfData:
    return req.server.world.part("hf", HfData)


def _fields(req: Request) -> tuple[str, ...]:
    expand = req.args("expand") + req.args("expand[]")
    return tuple(expand) if expand else DEFAULT_FIELDS


def _limited(headers: dict[str, str]) -> Reply:
    return json_reply({"error": "You have been rate-limited; you can retry this action in a few "
                                "minutes."}, 429, headers)


def _encode_cursor(offset: int) -> str:
    raw = json.dumps({"$offset": offset, "n": uuid.uuid4().hex[:6]}).encode()
    return base64.urlsafe_b64encode(raw).decode()


def _decode_cursor(cursor: str) -> int | None:
    try:
        return int(json.loads(base64.urlsafe_b64decode(cursor.encode()))["$offset"])
    except (ValueError, KeyError, TypeError):
        return None


def list_models(req: Request, fault: Fault | None) -> Reply:
    d = data(req)
    headers, ok = d.spend()
    if not ok:
        return _limited(headers)
    today = req.server.world.today
    author = req.arg("author")
    search = (req.arg("search") or "").lower()
    filters = req.args("filter")
    with d.lock:
        models = list(d.models.values())
    found = [m for m in models
             if (not author or m.author == author) and (not search or search in m.id.lower())
             and all(f in m.tags for f in filters)]
    if req.arg("sort") == "downloads":
        found.sort(key=lambda m: (-m.values(today)[0], m.id))
    else:
        found.sort(key=lambda m: m.id)
    try:
        limit = max(1, min(int(req.arg("limit", "1000") or 1000), d.page_max))
    except ValueError:
        return json_reply({"error": "Invalid limit"}, 400, headers)
    offset = 0
    if req.arg("cursor"):
        offset = _decode_cursor(req.arg("cursor") or "")  # type: ignore[assignment]
        if offset is None:
            return json_reply({"error": "Invalid cursor"}, 400, headers)
    page = found[offset: offset + limit]
    nxt = offset + limit
    if fault and fault.kind == "empty":
        page, nxt = [], offset  # an empty page whose cursor still goes on
    if d.total_header:
        headers["X-Total-Count"] = str(len(found))
    if nxt < len(found):
        params = [(k, v) for k, vals in req.query.items() if k != "cursor" for v in vals]
        params.append(("cursor", _encode_cursor(nxt)))
        headers["Link"] = f'<{req.base}/api/models?{urlencode(params)}>; rel="next"'
    return json_reply([m.as_json(today, _fields(req)) for m in page], 200, headers)


def model_info(req: Request, fault: Fault | None, repo: str) -> Reply:
    d = data(req)
    headers, ok = d.spend()
    if not ok:
        return _limited(headers)
    repo = unquote(repo)
    with d.lock:
        if repo in d.renames:
            new = d.renames[repo]
            query = urlencode([(k, v) for k, vals in req.query.items() for v in vals])
            headers["Location"] = f"{req.base}/api/models/{new}" + (f"?{query}" if query else "")
            return json_reply({"message": f"Repository moved to {new}"}, 307, headers)
        m = d.models.get(repo)
    if m is None:
        return json_reply({"error": "Repository not found"}, 404, headers)
    return json_reply(m.as_json(req.server.world.today, _fields(req)), 200, headers)


ROUTES = [
    ("GET", r"/api/models", list_models),
    # owner/name, or a legacy id from before namespaces ("gpt2"), which may answer 307 to its new name
    ("GET", r"/api/models/(?P<repo>[^/]+(?:(?:/|%2F)[^/]+)?)", model_info),
]
