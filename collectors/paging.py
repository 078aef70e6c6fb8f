"""Pagination written once: follow ``link: <…>; rel="next"`` (GitHub pages, Hub cursors, Space listings).

Every paginated call goes through :func:`pages`, which caps the number of pages and refuses a next link
that repeats a page already read, so a broken upstream can neither loop forever nor count twice.
"""
from __future__ import annotations

import re
from typing import Any, Callable, Iterator

from collectors.errors import UpstreamError
from collectors.http import Response

MAX_PAGES = 2000  # far beyond any real listing we read; a guard against a next link that never ends
LINK_RE = re.compile(r'<([^>]+)>\s*;\s*rel="([^"]+)"')


def parse_links(value: str | None) -> dict[str, str]:
    """``link: <url>; rel="next", <url>; rel="last"`` → {"next": url, "last": url}."""
    return {rel: url for url, rel in LINK_RE.findall(value or "")}


def pages(get: Callable[[str, Any], Response], url: str, params: Any = None, *, what: str,
          max_pages: int = MAX_PAGES) -> Iterator[Response]:
    """Yield each page's response: ``get(url, params)`` for the first, then the next links (which carry
    their own query) until there is none; an UpstreamError past ``max_pages`` or on a repeated page."""
    next_url: str | None = url
    seen: set[str] = set()
    while next_url:
        if len(seen) >= max_pages:
            raise UpstreamError(f"{what}: more than {max_pages} pages; the next link does not end")
        resp = get(next_url, params)
        yield resp
        seen.add(next_url)
        next_url = parse_links(resp.headers.get("link")).get("next")
        if next_url in seen:
            raise UpstreamError(f"{what}: the next link repeats a page")
        params = None
