"""Fake github.com web pages (prefix ``/web``): "Used by" dependents pages and Trending.

Serves the saved pages in ``collectors/fake/pages/`` (real markup structure; also the test fixtures,
under ``tests/fixtures/github_web``).  Which page answers which address lives in :class:`WebData`
(``world.part("web")``): tests point a repository at another saved page, e.g. one whose markup
changed, or at inline HTML.  The defaults cover the repositories of the shipped config.
"""
from __future__ import annotations

import threading
from importlib import resources
from urllib.parse import urlencode

from collectors.fake.server import Fault, Reply, Request, html_reply

NOT_FOUND_PAGE = ("<!DOCTYPE html><html><head><title>Page not found · GitHub</title></head><body>"
                  "<main><h1>404</h1><p>This is not the web page you are looking for.</p></main></body></html>")


def page(name: str) -> str:
    """A saved page by file name (package data, so it ships with the product)."""
    return resources.files("collectors.fake.pages").joinpath(name).read_text(encoding="utf-8")


def page_names() -> list[str]:
    return sorted(p.name for p in resources.files("collectors.fake.pages").iterdir()
                  if p.name.endswith(".html"))


class WebData:
    """Address → saved page.  ``dependents[repo][package_id or ""]``; ``trending[since]``."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.dependents: dict[str, dict[str, str]] = {
            "abetlen/llama-cpp-python": {"": "dependents-first-page.html"},
            "ggml-org/llama.cpp": {
                "": "dependents-several-packages.html",
                "UGFja2FnZS0zNDk4MjcxNjU=": "dependents-several-packages.html",
                "UGFja2FnZS01MjY4MDQ4Mw==": "dependents-several-packages-llama.html",
            },
            "openai/openai-python": {"": "dependents-openai-python.html"},
            "openai/openai-node": {"": "dependents-openai-node.html"},
            "meta-llama/llama": {"": "dependents-none.html"},
        }
        self.trending: dict[str, str] = {"daily": "trending-daily.html", "weekly": "trending-weekly.html"}
        self.inline: dict[str, str] = {}  # page name → HTML, for pages a test makes up
        self.renamed: dict[str, str] = {}  # old owner/repo → new: answered with a 301, like github.com

    def set_dependents(self, repo: str, page_name: str, package_id: str = "") -> None:
        with self.lock:
            self.dependents.setdefault(repo, {})[package_id] = page_name

    def add_page(self, name: str, html: str) -> None:
        with self.lock:
            self.inline[name] = html

    def render(self, name: str) -> str:
        with self.lock:
            if name in self.inline:
                return self.inline[name]
        return page(name)


PART = WebData


def data(req: Request) -> WebData:
    return req.server.world.part("web", WebData)


def dependents(req: Request, fault: Fault | None, owner: str, repo: str) -> Reply:
    d = data(req)
    with d.lock:
        new = d.renamed.get(f"{owner}/{repo}")
        if new:
            query = f"?{urlencode(req.query, doseq=True)}" if req.query else ""
            return Reply(301, b"", {"Location": f"{req.base}/{new}/network/dependents{query}"}, "text/html")
        pages = d.dependents.get(f"{owner}/{repo}")
        name = pages.get(req.arg("package_id", "") or "") if pages else None
    if name is None:
        return html_reply(NOT_FOUND_PAGE, 404)
    return html_reply(d.render(name))


def trending(req: Request, fault: Fault | None) -> Reply:
    d = data(req)
    with d.lock:
        name = d.trending.get(req.arg("since", "daily") or "daily")
    if name is None:
        return html_reply(NOT_FOUND_PAGE, 404)
    return html_reply(d.render(name))


ROUTES = [
    ("GET", r"/trending", trending),
    ("GET", r"/(?P<owner>[A-Za-z0-9-]+)/(?P<repo>[A-Za-z0-9._-]+)/network/dependents", dependents),
]
