"""Fake GitHub REST API: search with GitHub's shapes, limits announced in headers, faults.

Behaves like github.com where it hurts: ``total_count`` may exceed what can be listed but only the
first 1,000 results are reachable (a 422 past them); budgets per resource and identity are
announced in ``x-ratelimit-*`` headers and enforced (a spent budget answers 403 with remaining 0);
``/rate_limit`` is free; a 304 is free only for an authorised request.
"""
from __future__ import annotations

import bisect
import datetime as dt
import hashlib
import math
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from collectors.fake.server import Fault, Reply, Request, json_reply

SEARCH_CAP = 1000


@dataclass
class FakeRepo:
    id: int
    full_name: str
    description: str = ""
    topics: list[str] = field(default_factory=list)
    created: dt.date = dt.date(2023, 1, 1)
    stars: int = 0

    @property
    def text(self) -> str:
        return f"{self.full_name.split('/')[-1]} {self.description} {' '.join(self.topics)}".lower()


@dataclass
class Limits:
    """Per resource: (limit with a token, limit without, window in seconds)."""

    search: tuple[int, int, int] = (30, 10, 60)
    core: tuple[int, int, int] = (5000, 60, 3600)

    def for_resource(self, resource: str) -> tuple[int, int, int]:
        return getattr(self, resource, self.core)


class GithubData:
    def __init__(self) -> None:
        self.repos: list[FakeRepo] = []
        self.limits = Limits()
        self.lock = threading.RLock()
        self._index: dict[str, tuple[list[dt.date], list[FakeRepo]]] = {}
        self._used: dict[tuple[str, str, int], int] = {}
        self.next_id = 1000

    # -- data -----------------------------------------------------------------------------------
    def add_repo(self, name: str, created: dt.date, description: str = "", topics: list[str] | None = None,
                 stars: int = 0) -> FakeRepo:
        with self.lock:
            self.next_id += 1
            repo = FakeRepo(self.next_id, name, description, topics or [], created, stars)
            self.repos.append(repo)
            self._index.clear()
            return repo

    def add_series(self, keyword: str, per_day: dict[dt.date, int], owner_prefix: str | None = None) -> int:
        """Create repos mentioning ``keyword`` in their names: per_day[d] of them created on d."""
        n = 0
        prefix = owner_prefix or re.sub(r"[^a-z0-9]+", "-", keyword.lower()).strip("-") or "kw"
        with self.lock:
            for day in sorted(per_day):
                for i in range(per_day[day]):
                    n += 1
                    self.next_id += 1
                    self.repos.append(FakeRepo(self.next_id, f"user{self.next_id}/{prefix}-{day:%Y%m%d}-{i}",
                                               f"A {keyword} project", [], day,
                                               (self.next_id * 7919) % 5000))
            self._index.clear()
        return n

    def matching(self, terms: list[str]) -> tuple[list[dt.date], list[FakeRepo]]:
        key = "\x00".join(sorted(t.lower() for t in terms))
        with self.lock:
            hit = self._index.get(key)
            if hit is None:
                repos = [r for r in self.repos if all(t.lower() in r.text for t in terms)]
                repos.sort(key=lambda r: (r.created, r.id))
                hit = ([r.created for r in repos], repos)
                self._index[key] = hit
            return hit

    def search(self, terms: list[str], lo: dt.date | None, hi: dt.date | None, today: dt.date) -> list[FakeRepo]:
        dates, repos = self.matching(terms)
        hi = min(hi, today) if hi else today
        a = bisect.bisect_left(dates, lo) if lo else 0
        b = bisect.bisect_right(dates, hi)
        return repos[a:b]

    # -- rate limits ----------------------------------------------------------------------------
    def spend(self, req: Request, resource: str, cost: int = 1) -> tuple[dict[str, str], bool]:
        """Charge a request; return (headers announcing the budget, allowed?)."""
        auth = req.headers.get("authorization", "")
        ident = "t:" + hashlib.sha256(auth.encode()).hexdigest()[:12] if auth else "anon"
        with_token, without, window = self.limits.for_resource(resource)
        limit = with_token if auth else without
        now = int(time.time())
        start = now - now % window
        k = (ident, resource, start)
        with self.lock:
            used = self._used.get(k, 0)
            allowed = used + cost <= limit
            if allowed:
                used += cost
                self._used[k] = used
        headers = {"x-ratelimit-limit": str(limit), "x-ratelimit-remaining": str(max(0, limit - used)),
                   "x-ratelimit-reset": str(start + window), "x-ratelimit-used": str(used),
                   "x-ratelimit-resource": resource}
        return headers, allowed

    def budget(self, req: Request, resource: str) -> dict[str, int]:
        auth = req.headers.get("authorization", "")
        ident = "t:" + hashlib.sha256(auth.encode()).hexdigest()[:12] if auth else "anon"
        with_token, without, window = self.limits.for_resource(resource)
        limit = with_token if auth else without
        now = int(time.time())
        start = now - now % window
        used = self._used.get((ident, resource, start), 0)
        return {"limit": limit, "remaining": max(0, limit - used), "reset": start + window, "used": used}


PART = GithubData


def data(req: Request) -> GithubData:
    return req.server.world.part("github", GithubData)


def limited(headers: dict[str, str]) -> Reply:
    return json_reply({"message": "API rate limit exceeded for this client.",
                       "documentation_url": "https://docs.github.com/rest/overview/rate-limits"},
                      403, headers)


CREATED_RE = re.compile(r"^created:(.+)$")


def _parse_day(s: str) -> dt.date:
    return dt.date.fromisoformat(s[:10])


def parse_query(q: str) -> tuple[list[str], dt.date | None, dt.date | None]:
    """Split a search query into terms and a created: range (inclusive days)."""
    terms: list[str] = []
    lo = hi = None
    for tok in re.findall(r'"[^"]*"|\S+', q):
        m = CREATED_RE.match(tok)
        if not m:
            if ":" in tok and not tok.startswith('"'):
                continue  # other qualifiers (in:, sort:) do not narrow the fake
            terms.append(tok.strip('"'))
            continue
        spec = m.group(1)
        if ".." in spec:
            a, b = spec.split("..", 1)
            lo = None if a in ("*", "") else _parse_day(a)
            hi = None if b in ("*", "") else _parse_day(b)
        elif spec.startswith(">="):
            lo = _parse_day(spec[2:])
        elif spec.startswith(">"):
            lo = _parse_day(spec[1:]) + dt.timedelta(days=1)
        elif spec.startswith("<="):
            hi = _parse_day(spec[2:])
        elif spec.startswith("<"):
            hi = _parse_day(spec[1:]) - dt.timedelta(days=1)
        else:
            lo = hi = _parse_day(spec)
    return terms, lo, hi


def _item(r: FakeRepo) -> dict[str, Any]:
    owner, name = r.full_name.split("/", 1)
    return {"id": r.id, "node_id": f"R_{r.id}", "name": name, "full_name": r.full_name,
            "owner": {"login": owner, "id": r.id * 3}, "private": False, "description": r.description,
            "topics": r.topics, "created_at": f"{r.created.isoformat()}T12:00:00Z",
            "stargazers_count": r.stars, "watchers_count": r.stars, "forks_count": r.stars // 10,
            "language": "Python"}


def search_repositories(req: Request, fault: Fault | None) -> Reply:
    d = data(req)
    headers, ok = d.spend(req, "search")
    if not ok:
        return limited(headers)
    q = req.arg("q", "") or ""
    if not q.strip():
        return json_reply({"message": "Validation Failed",
                           "errors": [{"resource": "Search", "field": "q", "code": "missing"}]}, 422, headers)
    try:
        per_page = min(100, max(1, int(req.arg("per_page", "30"))))
        page = max(1, int(req.arg("page", "1")))
    except ValueError:
        return json_reply({"message": "Validation Failed"}, 422, headers)
    terms, lo, hi = parse_query(q)
    found = d.search(terms, lo, hi, req.server.world.today)
    total = len(found)
    if (page - 1) * per_page >= SEARCH_CAP:
        return json_reply({"message": "Only the first 1000 search results are available",
                           "documentation_url": "https://docs.github.com/v3/search/"}, 422, headers)
    sort = req.arg("sort")
    order = req.arg("order", "desc")
    if sort in ("stars", "forks", "updated"):
        keyf = {"stars": lambda r: (r.stars, r.id), "forks": lambda r: (r.stars // 10, r.id),
                "updated": lambda r: (r.created, r.id)}[sort]
        ordered = sorted(found, key=keyf, reverse=(order != "asc"))
    else:
        ordered = sorted(found, key=lambda r: (-r.stars, r.id))  # "best match"
    reachable = ordered[:SEARCH_CAP]
    items = reachable[(page - 1) * per_page: page * per_page]
    incomplete = False
    if fault and fault.kind == "incomplete":
        incomplete = True
        total = int(total * float(fault.params.get("ratio", 0.9)))
    last_page = max(1, math.ceil(min(total, SEARCH_CAP) / per_page))
    links = []
    base = f"{req.base}/search/repositories"
    from urllib.parse import urlencode

    def link(p: int, rel: str) -> str:
        params = {k: v[-1] for k, v in req.query.items()}
        params["page"] = str(p)
        return f'<{base}?{urlencode(params)}>; rel="{rel}"'
    if page < last_page:
        links.append(link(page + 1, "next"))
        links.append(link(last_page, "last"))
    if page > 1:
        links.append(link(1, "first"))
        links.append(link(page - 1, "prev"))
    if links:
        headers["link"] = ", ".join(links)
    return json_reply({"total_count": total, "incomplete_results": incomplete,
                       "items": [_item(r) for r in items]}, 200, headers)


def rate_limit(req: Request, fault: Fault | None) -> Reply:
    d = data(req)
    resources = {name: d.budget(req, name) for name in ("core", "search", "graphql")}
    resources["graphql"] = resources["core"]
    return json_reply({"resources": resources, "rate": resources["core"]})


ROUTES = [
    ("GET", r"/search/repositories", search_repositories),
    ("GET", r"/rate_limit", rate_limit),
]
