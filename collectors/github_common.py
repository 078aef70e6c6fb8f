"""Shared GitHub plumbing: headers, the free /rate_limit look-up, and Link pagination."""
from __future__ import annotations

import re
from typing import Any, Callable, Iterator
from urllib.parse import urlsplit

from collectors.base import Context
from collectors.errors import ParseError, SourceError, UpstreamError

API_VERSION = "2022-11-28"
MAX_PAGES = 2000  # a guard against a next link that never ends
LINK_RE = re.compile(r'<([^>]+)>\s*;\s*rel="([^"]+)"')


def headers(extra: dict[str, str] | None = None, version: str = API_VERSION) -> dict[str, str]:
    h = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": version}
    h.update(extra or {})
    return h


def token(ctx: Context) -> str | None:
    return ctx.config.token("github")


def parse_links(value: str | None) -> dict[str, str]:
    """``link: <url>; rel="next", <url>; rel="last"`` → {"next": url, "last": url}."""
    return {rel: url for url, rel in LINK_RE.findall(value or "")}


def paginate(ctx: Context, url: str, *, source: str, resource: str = "core", params: dict | None = None,
             extra_headers: dict[str, str] | None = None, version: str = API_VERSION
             ) -> Iterator[tuple[Any, Any]]:
    """Yield (response, parsed JSON) for each page, following ``link: rel="next"``."""
    next_url: str | None = url
    next_params = params
    seen: set[str] = set()
    while next_url:
        if len(seen) >= MAX_PAGES:
            raise UpstreamError(f"more than {MAX_PAGES} pages at {url}; the next link does not end")
        resp = ctx.http.get(next_url, source=source, resource=resource, params=next_params,
                            headers=headers(extra_headers, version), token=token(ctx))
        yield resp, resp.json()
        seen.add(next_url)
        next_url = parse_links(resp.headers.get("link")).get("next")
        if next_url in seen:
            raise UpstreamError(f"the next link repeats a page at {url}")
        next_params = None  # the next link carries its own query


def rate_limit(ctx: Context, source: str) -> dict[str, dict[str, int]]:
    """Ask GET /rate_limit (costs nothing) and seed the client's budgets; {} when unavailable."""
    api = ctx.config.github.api_url
    try:
        resp = ctx.http.get(f"{api}/rate_limit", source=source, resource="rate_limit",
                            headers=headers(), token=token(ctx), archive=False)
        data = resp.json()
    except SourceError:
        return {}
    resources = data.get("resources", {}) if isinstance(data, dict) else {}
    host = urlsplit(api).netloc
    for name, b in resources.items():
        if isinstance(b, dict) and {"limit", "remaining", "reset"} <= set(b):
            ctx.http.note_budget(host, name, int(b["limit"]), int(b["remaining"]), float(b["reset"]))
    return resources


def search(ctx: Context, q: str, source: str, per_page: int = 1, extra: dict | None = None,
           on_call: Callable[[], None] | None = None) -> tuple[int, list[dict[str, Any]], bool]:
    """One repository search, asked once more when ``incomplete_results`` → (total_count, items,
    still_incomplete).  A total that is not an integer, or items that are not a list, is a ParseError:
    never a stored zero."""
    params: dict[str, Any] = {"q": q, "per_page": per_page, **(extra or {})}
    for attempt in (1, 2):
        if on_call:
            on_call()
        resp = ctx.http.get(f"{ctx.config.github.api_url}/search/repositories", source=source,
                            resource="search", params=params, headers=headers(), token=token(ctx))
        data = resp.json()
        total = data.get("total_count") if isinstance(data, dict) else None
        if not isinstance(total, int) or isinstance(total, bool) or not isinstance(data.get("items"), list):
            raise ParseError(f"search answer for '{q}' has no integer total_count or no items")
        if not data.get("incomplete_results"):
            return total, data["items"], False
        ctx.log.info("%s: '%s' came back incomplete (attempt %d)", source, q, attempt)
    return total, data["items"], True
