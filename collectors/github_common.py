"""Shared GitHub plumbing: headers, the free /rate_limit look-up, pages and the repository search."""
from __future__ import annotations

from typing import Any, Callable, Iterator
from urllib.parse import urlsplit

from collectors.base import Context
from collectors import paging
from collectors.errors import ParseError, SourceError

API_VERSION = "2022-11-28"


def headers(extra: dict[str, str] | None = None, version: str = API_VERSION) -> dict[str, str]:
    h = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": version}
    h.update(extra or {})
    return h


def token(ctx: Context) -> str | None:
    return ctx.settings.github.token()


def paginate(ctx: Context, url: str, *, source: str, resource: str = "core", params: dict | None = None,
             extra_headers: dict[str, str] | None = None, version: str = API_VERSION
             ) -> Iterator[tuple[Any, Any]]:
    """Yield (response, parsed JSON) for each page, following ``link: rel="next"``."""
    def get(page_url: str, page_params: Any) -> Any:
        return ctx.http.get(page_url, source=source, resource=resource, params=page_params,
                            headers=headers(extra_headers, version), token=token(ctx))
    for resp in paging.pages(get, url, params, what=url):
        yield resp, resp.json()


def rate_limit(ctx: Context, source: str) -> dict[str, dict[str, int]]:
    """Ask GET /rate_limit (costs nothing) and seed the client's budgets; {} when unavailable."""
    api = ctx.settings.github.api_url
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


def is_count(v: Any) -> bool:
    """An integer (JSON ``true`` is not one)."""
    return isinstance(v, int) and not isinstance(v, bool)


def parse_search(data: Any, q: str) -> tuple[int, list[dict[str, Any]], bool]:
    """A repository search answer → (total_count, items, incomplete_results).  A total that is not an
    integer, or items that are not a list, is a ParseError: never a stored zero."""
    total = data.get("total_count") if isinstance(data, dict) else None
    if not is_count(total) or not isinstance(data.get("items"), list):
        raise ParseError(f"search answer for '{q}' has no integer total_count or no items")
    return total, data["items"], bool(data.get("incomplete_results"))


def search(ctx: Context, q: str, source: str, per_page: int = 1, extra: dict | None = None,
           on_call: Callable[[], None] | None = None) -> tuple[int, list[dict[str, Any]], bool]:
    """One repository search, asked once more when ``incomplete_results`` → (total_count, items,
    still_incomplete)."""
    params: dict[str, Any] = {"q": q, "per_page": per_page, **(extra or {})}
    for attempt in (1, 2):
        if on_call:
            on_call()
        resp = ctx.http.get(f"{ctx.settings.github.api_url}/search/repositories", source=source,
                            resource="search", params=params, headers=headers(), token=token(ctx))
        total, items, incomplete = parse_search(resp.json(), q)
        if not incomplete:
            break
        ctx.log.info("%s: '%s' came back incomplete (attempt %d)", source, q, attempt)
    return total, items, incomplete
