"""Fake Ollama library (prefix ``/ollama``): model pages at ``/library/<name>`` and ``/<user>/<name>``.

Each page shows the pull count as ollama.com does, in ``<span x-test-pull-count>`` rounded to about
three figures ("111.8M", "2.3K"; below 1,000 written out).  An unknown model answers 404 with an
HTML page.  Counts are a constant per model or a series by day (the value of the newest day up to
the fake's today).
"""
from __future__ import annotations

import datetime as dt
import html
import threading
from decimal import ROUND_HALF_UP, Decimal

from collectors.fake.server import Fault, Reply, Request, html_reply

PAGE = """<!DOCTYPE html>
<html class="h-full" lang="en"><head><meta charset="utf-8"><title>{name}</title></head>
<body><main>
<div class="flex flex-col"><h1 x-test-model-title title="{name}">{name}</h1>
<p id="summary-content">A simulated model page.</p>
<p class="flex space-x-5 text-[13px]">
  <span class="flex items-center"><svg></svg><span x-test-pull-count>{pulls}</span>
  <span class="hidden sm:flex">&nbsp;Downloads</span></span>
  <span class="flex items-center"><span x-test-updated>2 weeks ago</span></span>
</p></div>
</main></body></html>
"""
NOT_FOUND = ("<!DOCTYPE html><html><head><title>Not found</title></head><body><main><h1>404</h1>"
             "<p>Model not found</p></main></body></html>")


def shown(n: int) -> str:
    """The rounded figure a page shows: 111,803,422 → '111.8M', 2,345 → '2.3K', 999 → '999'."""
    for size, suffix in ((1_000_000_000, "B"), (1_000_000, "M"), (1_000, "K")):
        if n >= size:
            return f"{(Decimal(n) / size).quantize(Decimal('0.1'), ROUND_HALF_UP)}{suffix}"
    return str(n)


class OllamaData:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.pulls: dict[str, int | str | dict[dt.date, int]] = {}  # a str is shown as it is

    def set(self, name: str, pulls: int | str | dict[dt.date, int]) -> None:
        with self.lock:
            self.pulls[name] = pulls


PART = OllamaData


def _page(req: Request, name: str) -> Reply:
    d: OllamaData = req.server.world.part("ollama")
    today = req.server.world.today
    with d.lock:
        value = d.pulls.get(name)
    if isinstance(value, dict):
        past = [day for day in value if day <= today]
        value = value[max(past)] if past else None
    if value is None:
        return Reply(404, NOT_FOUND, {}, "text/html; charset=utf-8")
    text = value if isinstance(value, str) else shown(value)
    return html_reply(PAGE.format(name=html.escape(name), pulls=html.escape(text)))


def library(req: Request, fault: Fault | None, name: str) -> Reply:
    return _page(req, name)


def user_model(req: Request, fault: Fault | None, user: str, name: str) -> Reply:
    return _page(req, f"{user}/{name}")


ROUTES = [
    ("GET", r"/library/(?P<name>[a-z0-9._-]+)", library),
    ("GET", r"/(?P<user>[a-z0-9._-]+)/(?P<name>[a-z0-9._-]+)", user_model),
]
