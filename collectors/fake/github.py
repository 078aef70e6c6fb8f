"""Fake GitHub REST API: search with GitHub's shapes, limits announced in headers, faults.

Behaves like github.com where it hurts: ``total_count`` may exceed what can be listed but only the
first 1,000 results are reachable (a 422 past them); budgets per resource and identity are
announced in ``x-ratelimit-*`` headers and enforced (a spent budget answers 403 with remaining 0);
``/rate_limit`` is free; a 304 is free only for an authorised request.

Repositories (``/repos/{owner}/{repo}``) answer with an ``etag`` and a 304 to a matching
``If-None-Match``; a renamed or transferred repository answers its old name with a 301 to
``/repositories/{id}``.  Star history (``/repos/{o}/{r}/stargazers/history``, API version
2026-03-10) serves weekly buckets of seven daily counts, newest first, 30 weeks a page; a missing
or other API version answers 404/400 as GitHub does, and ``star_history_mode`` makes the whole
endpoint absent the way an older GitHub Enterprise Server is.
"""
from __future__ import annotations

import bisect
import datetime as dt
import hashlib
import heapq
import json
import math
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from collectors.fake.server import Fault, Reply, Request, json_reply

SEARCH_CAP = 1000
STAR_HISTORY_VERSION = "2026-03-10"
STAR_HISTORY_MAX_PER_PAGE = 30


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
class RepoInfo:
    """A repository served by /repos/{owner}/{repo}: its counters and its star history."""

    id: int
    full_name: str
    created: dt.date = dt.date(2023, 1, 1)
    stars: int = 0
    forks: int = 0
    subscribers: int = 0
    open_issues: int = 0
    # stars given on each day and still held (what /stargazers/history reports)
    star_days: dict[dt.date, int] = field(default_factory=dict)
    status: int = 200  # 404 (deleted/private) or 451 (blocked) makes it unavailable

    def body(self, base: str) -> dict[str, Any]:
        owner, name = self.full_name.split("/", 1)
        return {"id": self.id, "node_id": f"R_{self.id}", "name": name, "full_name": self.full_name,
                "owner": {"login": owner, "id": self.id * 3, "type": "Organization"},
                "private": False, "html_url": f"https://github.com/{self.full_name}",
                "url": f"{base}/repos/{self.full_name}", "created_at": f"{self.created}T08:00:00Z",
                "stargazers_count": self.stars, "watchers_count": self.stars,
                "subscribers_count": self.subscribers, "forks_count": self.forks, "forks": self.forks,
                "open_issues_count": self.open_issues, "open_issues": self.open_issues,
                "archived": False, "topics": [], "default_branch": "main"}


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
        self._used: dict[tuple[str, str, int, int], int] = {}
        self.next_id = 1000
        self.infos: dict[int, RepoInfo] = {}
        self.names: dict[str, int] = {}  # current name (lower-case) -> id
        self.moved: dict[str, int] = {}  # former name (lower-case) -> id, answered with a 301
        # "available" | "404" (endpoint absent: older GitHub Enterprise) | "400" (API version unknown)
        self.star_history_mode = "available"
        # pages (page >= 2) still to serve "unstably": their first item repeats the previous page's
        # last one, as when a repository moves between pages while a listing is paged through
        self.listing_glitch = 0

    # -- data -----------------------------------------------------------------------------------
    def add_repo(self, name: str, created: dt.date, description: str = "", topics: list[str] | None = None,
                 stars: int = 0) -> FakeRepo:
        with self.lock:
            self.next_id += 1
            repo = FakeRepo(self.next_id, name, description, topics or [], created, stars)
            self.repos.append(repo)
            self._index.clear()
            return repo

    def remove(self, keyword: str) -> int:
        """Drop every repository mentioning ``keyword`` (a search glitch: the query suddenly finds none)."""
        with self.lock:
            before = len(self.repos)
            self.repos = [r for r in self.repos if keyword not in f"{r.full_name} {r.description}"]
            self._index.clear()
            return before - len(self.repos)

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

    def created_counts(self, terms: list[str], lo: dt.date, hi: dt.date) -> dict[dt.date, int]:
        """Repositories matching ``terms`` created on each day of [lo, hi] (zeros included)."""
        out = {lo + dt.timedelta(days=i): 0 for i in range((hi - lo).days + 1)}
        for r in self.search(terms, lo, hi, hi):
            out[r.created] += 1
        return out

    # -- repositories ---------------------------------------------------------------------------
    def add_repository(self, full_name: str, *, stars: int | None = None, forks: int = 0,
                       subscribers: int = 0, open_issues: int = 0, created: dt.date = dt.date(2023, 1, 1),
                       star_days: dict[dt.date, int] | None = None) -> RepoInfo:
        """Serve ``full_name`` at /repos/...; ``stars`` defaults to the sum of ``star_days``."""
        with self.lock:
            self.next_id += 1
            days = dict(star_days or {})
            info = RepoInfo(self.next_id, full_name, created, sum(days.values()) if stars is None else stars,
                            forks, subscribers, open_issues, days)
            self.infos[info.id] = info
            self.names[full_name.lower()] = info.id
            return info

    def repository(self, full_name: str) -> RepoInfo:
        return self.infos[self.names[full_name.lower()]]

    def rename_repository(self, old: str, new: str) -> RepoInfo:
        """A rename or transfer: the old name answers 301 to /repositories/{id} from now on."""
        with self.lock:
            rid = self.names.pop(old.lower())
            info = self.infos[rid]
            info.full_name = new
            self.names[new.lower()] = rid
            self.moved[old.lower()] = rid
            return info

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
        ident, limit, start, window = self._window(req, resource)
        k = (ident, resource, start, window)
        with self.lock:
            used = self._used.get(k, 0)
            allowed = used + cost <= limit
            if allowed:
                used += cost
                self._used[k] = used
        return _headers(limit, used, start + window, resource), allowed

    def budget_headers(self, req: Request, resource: str) -> dict[str, str]:
        """The x-ratelimit-* headers of the current window, without charging anything."""
        b = self.budget(req, resource)
        return _headers(b["limit"], b["used"], b["reset"], resource)

    def _window(self, req: Request, resource: str) -> tuple[str, int, int, int]:
        """(who asks — a token's hash or anon, the limit that applies, the window's start, its length)."""
        auth = req.headers.get("authorization", "")
        ident = "t:" + hashlib.sha256(auth.encode()).hexdigest()[:12] if auth else "anon"
        with_token, without, window = self.limits.for_resource(resource)
        now = int(time.time())
        return ident, with_token if auth else without, now - now % window, window

    def budget(self, req: Request, resource: str) -> dict[str, int]:
        ident, limit, start, window = self._window(req, resource)
        used = self._used.get((ident, resource, start, window), 0)
        return {"limit": limit, "remaining": max(0, limit - used), "reset": start + window, "used": used}


PART = GithubData


def _headers(limit: int, used: int, reset: int, resource: str) -> dict[str, str]:
    """GitHub's x-ratelimit-* headers for a window."""
    return {"x-ratelimit-limit": str(limit), "x-ratelimit-remaining": str(max(0, limit - used)),
            "x-ratelimit-reset": str(reset), "x-ratelimit-used": str(used), "x-ratelimit-resource": resource}


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
        pick = heapq.nsmallest if order == "asc" else heapq.nlargest
        reachable = pick(SEARCH_CAP, found, key=keyf)  # only the first 1,000 can be reached
    else:
        reachable = heapq.nsmallest(SEARCH_CAP, found, key=lambda r: (-r.stars, r.id))  # "best match"
    items = reachable[(page - 1) * per_page: page * per_page]
    if page > 1 and items and d.listing_glitch > 0:
        with d.lock:
            d.listing_glitch -= 1
        items = [reachable[(page - 1) * per_page - 1], *items[1:]]
    incomplete = False
    if fault and fault.kind == "incomplete":
        incomplete = True
        total = int(total * float(fault.params.get("ratio", 0.9)))
    last_page = max(1, math.ceil(min(total, SEARCH_CAP) / per_page))
    links = []
    base = f"{req.base}/search/repositories"

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


def _etag(body: dict[str, Any]) -> str:
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:32]
    return f'W/"{digest}"'


def _moved(req: Request, rid: int, rest: str) -> Reply:
    d = data(req)
    headers, ok = d.spend(req, "core")
    if not ok:
        return limited(headers)
    query = urlencode([(k, v) for k, vals in req.query.items() for v in vals])
    url = f"{req.base}/repositories/{rid}{rest or ''}" + (f"?{query}" if query else "")
    return json_reply({"message": "Moved Permanently", "url": url,
                       "documentation_url": "https://docs.github.com/rest/guides/best-practices-for-using-"
                                            "the-rest-api#follow-redirects"},
                      301, {**headers, "location": url})


def _unavailable(req: Request, info: RepoInfo | None) -> Reply | None:
    d = data(req)
    if info is not None and info.status == 200:
        return None
    headers, ok = d.spend(req, "core")
    if not ok:
        return limited(headers)
    if info is not None and info.status == 451:
        return json_reply({"message": "Repository access blocked",
                           "block": {"reason": "dmca", "created_at": "2023-08-01T00:00:00Z",
                                     "html_url": "https://github.com/github/dmca"}}, 451, headers)
    return json_reply({"message": "Not Found",
                       "documentation_url": "https://docs.github.com/rest/repos/repos#get-a-repository"},
                      404, headers)


def _repo_or_history(req: Request, info: RepoInfo | None, rest: str | None) -> Reply:
    gone = _unavailable(req, info)
    if gone is not None:
        return gone
    assert info is not None
    if rest:
        return star_history(req, info)
    d = data(req)
    body = info.body(req.base)
    etag = _etag(body)
    sent = [t.strip() for t in req.headers.get("if-none-match", "").split(",") if t.strip()]
    if etag in sent or "*" in sent:
        # A 304 to an authorised conditional request costs nothing; an anonymous one still counts.
        if req.authorised:
            headers = d.budget_headers(req, "core")
        else:
            headers, ok = d.spend(req, "core")
            if not ok:
                return limited(headers)
        return Reply(304, b"", {**headers, "etag": etag, "cache-control": "private, max-age=60"})
    headers, ok = d.spend(req, "core")
    if not ok:
        return limited(headers)
    return json_reply(body, 200, {**headers, "etag": etag, "cache-control": "private, max-age=60"})


def get_repo(req: Request, fault: Fault | None, owner: str, repo: str, rest: str | None = None) -> Reply:
    d = data(req)
    name = f"{owner}/{repo}".lower()
    with d.lock:
        rid = d.names.get(name)
        moved = d.moved.get(name) if rid is None else None
    if moved is not None:
        return _moved(req, moved, rest or "")
    return _repo_or_history(req, d.infos.get(rid) if rid is not None else None, rest)


def get_repo_by_id(req: Request, fault: Fault | None, rid: str, rest: str | None = None) -> Reply:
    d = data(req)
    return _repo_or_history(req, d.infos.get(int(rid)), rest)


def week_start(day: dt.date) -> dt.date:
    """GitHub's activity weeks start on Sunday (UTC)."""
    return day - dt.timedelta(days=(day.weekday() + 1) % 7)


def star_weeks(info: RepoInfo, today: dt.date) -> list[dict[str, Any]]:
    """All weekly buckets from the week holding today back to the first star, newest first."""
    first = min([info.created, *info.star_days])
    weeks = []
    ws = week_start(today)
    while ws >= week_start(first):
        days = [info.star_days.get(ws + dt.timedelta(days=i), 0) if ws + dt.timedelta(days=i) <= today else 0
                for i in range(7)]
        epoch = int(dt.datetime.combine(ws, dt.time(), dt.UTC).timestamp())
        weeks.append({"week": epoch, "total": sum(days), "days": days})
        ws -= dt.timedelta(days=7)
    return weeks


def star_history(req: Request, info: RepoInfo) -> Reply:
    d = data(req)
    headers, ok = d.spend(req, "core")
    if not ok:
        return limited(headers)
    version = req.headers.get("x-github-api-version", "")
    mode = d.star_history_mode
    if mode == "404" or (mode == "available" and version in ("", "2022-11-28")):
        return json_reply({"message": "Not Found",
                           "documentation_url": "https://docs.github.com/rest"}, 404, headers)
    if mode == "400" or version != STAR_HISTORY_VERSION:
        return json_reply({"message": f"Unsupported 'X-GitHub-Api-Version' header: '{version}'. "
                                      "Supported versions: 2022-11-28",
                           "documentation_url": "https://docs.github.com/rest/overview/api-versions"},
                          400, headers)
    try:
        per_page = min(STAR_HISTORY_MAX_PER_PAGE, max(1, int(req.arg("per_page", "30"))))
        page = max(1, int(req.arg("page", "1")))
    except ValueError:
        return json_reply({"message": "Validation Failed"}, 422, headers)
    weeks = star_weeks(info, req.server.world.today)
    last_page = max(1, math.ceil(len(weeks) / per_page))
    path = req.path

    def link(p: int, rel: str) -> str:
        params = {k: v[-1] for k, v in req.query.items()}
        params["page"] = str(p)
        params["per_page"] = str(per_page)
        return f'<{req.base}{path}?{urlencode(params)}>; rel="{rel}"'
    links = []
    if page < last_page:
        links += [link(page + 1, "next"), link(last_page, "last")]
    if page > 1:
        links += [link(1, "first"), link(page - 1, "prev")]
    if links:
        headers["link"] = ", ".join(links)
    return json_reply(weeks[(page - 1) * per_page: page * per_page], 200, headers)


ROUTES = [
    ("GET", r"/search/repositories", search_repositories),
    ("GET", r"/rate_limit", rate_limit),
    ("GET", r"/repos/(?P<owner>[^/]+)/(?P<repo>[^/]+?)(?P<rest>/stargazers/history)?", get_repo),
    ("GET", r"/repositories/(?P<rid>\d+)(?P<rest>/stargazers/history)?", get_repo_by_id),
]
