"""Shared plumbing for scraped github.com pages: polite fetching, parsing numbers, failing loudly.

Pages have no API contract, so every scraper keeps its CSS selectors in one module-level dict and
raises :class:`ParseError` ("markup changed") when a page that must hold a number does not: a
stored zero would look like a collapse in the charts.  The HTTP client archives every page before
it is parsed, so a fixed selector can re-parse the day with ``ecotrend collect --from-archive``.
"""
from __future__ import annotations

import re
from decimal import Decimal
from urllib.parse import urlsplit

from bs4 import BeautifulSoup

from collectors.base import Context
from collectors.errors import ParseError, UpstreamError
from collectors.http import Response

RESOURCE = "web"  # request counts and any announced budget are kept under this resource name
HTML_HEADERS = {"Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"}

_NUMBER_RE = re.compile(r"^(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?\s*([kKmMbB])?$")
_SCALE = {"k": 1_000, "m": 1_000_000, "b": 1_000_000_000}


def collapse(text: str | None) -> str:
    """Whitespace runs (newlines, NBSP, thin spaces) → one space, trimmed."""
    return re.sub(r"\s+", " ", (text or "").replace("\u00a0", " ").replace("\u202f", " ")).strip()


def parse_count(text: str) -> tuple[int, bool]:
    """'16,739' → (16739, False); '1.2k' → (1200, True); '2.5M' → (2500000, True).

    Decimal arithmetic, so abbreviations convert exactly; the flag says the page showed a rounded
    figure.  Anything else raises ValueError.
    """
    s = collapse(text)
    m = _NUMBER_RE.match(s)
    if not m:
        raise ValueError(f"not a count: '{s}'")
    whole, frac, suffix = m.groups()
    if frac is not None and suffix is None:
        raise ValueError(f"not a whole count: '{s}'")
    value = Decimal(whole.replace(",", "") + (f".{frac}" if frac else ""))
    if suffix:
        value *= _SCALE[suffix.lower()]
    if value != value.to_integral_value():
        raise ValueError(f"not a whole count: '{s}'")  # e.g. '1.2345k'
    return int(value), suffix is not None


def soup(resp: Response) -> BeautifulSoup:
    return BeautifulSoup(resp.body, "html.parser")


def short(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def markup_changed(collector: str, url: str, what: str, selector: str, day: str) -> ParseError:
    """The one line a user sees when a page lacks what it must hold."""
    return ParseError(
        f"markup changed: {short(url)} has no {what} (selector '{selector}'); nothing stored. The page is "
        f"in the raw archive: fix SELECTORS in collectors/{collector}.py, then "
        f"`ecotrend collect --from-archive {day} --source {collector}`")


def get_page(ctx: Context, url: str, *, source: str, params: dict | None = None) -> Response:
    """One page through the shared client: identified User-Agent, paced, 429 honoured, archived."""
    resp = ctx.http.get(url, source=source, resource=RESOURCE, params=params, headers=dict(HTML_HEADERS),
                        min_interval=ctx.settings.github.web_pause_seconds)
    if b"</html>" not in resp.body[-512:].lower():
        # a page cut short still parses, with rows or counts missing: never count from it
        raise UpstreamError(f"truncated page: {short(resp.url)} ends before </html>; nothing stored")
    return resp
