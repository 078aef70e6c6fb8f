"""Every page in headless Chromium from file:// with the network blocked: charts draw, no console errors.

Uses Debian's /usr/bin/chromium through Playwright (no browser download). Skipped when Chromium is
missing, except with CI=true, where a missing browser is a failure.
"""
from __future__ import annotations

import datetime as dt
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import site_data

CHROMIUM = os.environ.get("ECOTREND_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
# A drawn data mark: a line, symbol, area or bar path with geometry (axes and event rules excluded).
MARKS = ("g.role-mark.mark-line path, g.role-mark.mark-symbol path, g.role-mark.mark-area path, "
         "g.role-mark.mark-rect path")


def _chromium_or_skip() -> str:
    path = CHROMIUM if os.path.exists(CHROMIUM) else shutil.which("chromium")
    if path:
        return path
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"Chromium not found at {CHROMIUM} and CI=true: the browser tests must run in CI")
    pytest.skip("Chromium not installed (apt-get install chromium); browser tests skipped locally")


@pytest.fixture(scope="module")
def browser():
    path = _chromium_or_skip()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("playwright is not installed and CI=true")
        pytest.skip("playwright not installed")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=path, args=ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture(scope="module")
def built_site(tmp_path_factory) -> Path:
    from jobs.site import build_site

    cfg = site_data.make_site_config(tmp_path_factory.mktemp("site"),
                                     banner="Demo data from the bundled fake upstream")
    site_data.populate(cfg, evil=True)
    build_site(cfg, today=dt.date(2023, 8, 8))
    return cfg.site_dir


def _open(browser, page_path: Path, blocked: list[str], errors: list[str]):
    return _open_at(browser, page_path, 1280, 900, blocked, errors)


def _pages(site: Path) -> list[Path]:
    return sorted(site.glob("*.html"))


def test_overview_headline_banner_and_lines(browser, built_site: Path):
    errors: list[str] = []
    blocked: list[str] = []
    page = _open(browser, built_site / "index.html", blocked, errors)
    try:
        headline = page.inner_text(".headline")
        assert "As of 2023-08-08" in headline
        assert "repositories match \u201cllama\u201d" in headline and "\u201cGPT-4\u201d" in headline
        assert "over the last 14 days each grew by" in headline
        assert page.inner_text(".banner") == "Demo data from the bundled fake upstream"
        assert "data as of 2023-08-08" in page.inner_text("header")
        # the repository-count chart: 2 families x (backfill + snapshot) line segments, and the
        # article's four reference diamonds
        lines = page.eval_on_selector_all("#repo_count svg g.role-mark.mark-line path", "e => e.length")
        assert lines >= 4
        diamonds = page.eval_on_selector_all("#repo_count svg g.role-mark.mark-symbol path", "e => e.length")
        assert diamonds >= 4 + 1  # transparent hover points plus the diamonds
        assert errors == [] and blocked == []
    finally:
        page.close()


def test_log_scale_toggle_redraws_without_errors(browser, built_site: Path):
    errors: list[str] = []
    blocked: list[str] = []
    page = _open(browser, built_site / "families.html", blocked, errors)
    try:
        before = page.inner_html("#m-repo_count svg")
        page.check("#log-scale")
        page.wait_for_function("window.ecotrendCharts.done", timeout=30_000)
        after = page.inner_html("#m-repo_count svg")
        assert before != after
        assert page.evaluate("window.ecotrendCharts.errors") == []
        assert errors == [] and blocked == []
    finally:
        page.close()


def test_escaped_text_runs_no_script(browser, built_site: Path):
    errors: list[str] = []
    page = browser.new_page()
    page.route("**/*", lambda r: r.continue_() if r.request.url.startswith("file://") else r.abort())
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto((built_site / "eco-llama.html").as_uri())
        page.wait_for_function("window.ecotrendCharts && window.ecotrendCharts.done", timeout=30_000)
        assert site_data.EVIL in page.inner_text("main")  # shown as text
        assert dialogs == [] and errors == []
    finally:
        page.close()


def test_demo_pages_render_offline(browser, demo_run):
    """`ecotrend demo` from the shipped config: every page draws its charts offline under the banner."""
    result, folder = demo_run
    assert result.returncode == 0, result.stderr[-2000:]
    pages = _pages(folder / "site")
    assert "index.html" in {p.name for p in pages}
    drawn = 0
    for path, page, blocked, errors in _each_page(browser, pages):
        try:
            assert page.evaluate("window.ecotrendCharts.errors") == [], path.name
            assert "simulated" in page.inner_text(".banner"), path.name
            drawn += page.eval_on_selector_all(
                f".chart[data-chart] svg :is({MARKS})",
                "els => els.filter(e => (e.getAttribute('d') || '').length > 2).length")
            assert errors == [], f"{path.name}: {errors}"
            assert blocked == [], f"{path.name} tried the network: {blocked}"
        finally:
            page.close()
    assert drawn > len(pages)


def test_capability_page_draws_the_gap_the_top10_share_and_family_panels(browser, built_site: Path):
    errors: list[str] = []
    blocked: list[str] = []
    dialogs: list[str] = []
    page = _open(browser, built_site / "capability.html", blocked, errors)
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    try:
        assert page.evaluate("window.ecotrendCharts.errors") == []
        # the shaded gap (an area with geometry) and the two score lines
        assert page.eval_on_selector_all(
            "#gap svg g.role-mark.mark-area path", "els => els.filter(e => (e.getAttribute('d') || '').length > 2)"
            ".length") >= 1
        assert page.eval_on_selector_all("#gap svg g.role-mark.mark-line path", "e => e.length") >= 2
        assert page.eval_on_selector_all("#top10 svg g.role-mark.mark-line path", "e => e.length") >= 1
        # one panel per family and measure: 3 families x (score, repositories) lines
        assert page.eval_on_selector_all("#families svg g.role-mark.mark-line path", "e => e.length") >= 5
        main = page.inner_text("main")
        assert "<script>alert('m')</script>" in main  # the model name shown as text
        assert "unmapped" in page.inner_text("table")
        assert dialogs == [] and errors == [] and blocked == []
    finally:
        page.close()


VIEWPORTS = [(1280, 900), (390, 844)]


def _open_at(browser, page_path: Path, width: int, height: int, blocked: list[str], errors: list[str]):
    page = browser.new_page(viewport={"width": width, "height": height}, accept_downloads=True)

    def route(r):
        if r.request.url.startswith("file://"):
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()
    page.route("**/*", route)
    page.on("console", lambda m: errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
    page.goto(page_path.as_uri())
    page.wait_for_function("window.ecotrendCharts && window.ecotrendCharts.done", timeout=60_000)
    return page


def _each_page(browser, paths: list[Path], width: int = 1280, height: int = 900
               ) -> Iterator[tuple[Path, Any, list[str], list[str]]]:
    """Each page in turn, once its charts are done: (path, page, blocked requests, console errors)."""
    for path in paths:
        blocked: list[str] = []
        errors: list[str] = []
        yield path, _open_at(browser, path, width, height, blocked, errors), blocked, errors


@pytest.mark.parametrize("width,height", VIEWPORTS)
def test_every_page_draws_every_chart_offline_and_fits_the_viewport(browser, built_site: Path, width: int,
                                                                    height: int):
    """At 1,280 px and at a phone's 390 px: every chart drawn, no horizontal overflow, no console error,
    nothing asked of the network."""
    pages = _pages(built_site)
    assert {p.name for p in pages} >= {"index.html", "families.html", "capability.html", "health.html",
                                       "eco-llama.html", "eco-gpt.html", "eco-qwen.html"}
    drawn = 0
    for path, page, blocked, errors in _each_page(browser, pages, width, height):
        try:
            assert page.evaluate("window.ecotrendCharts.errors") == [], path.name
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"{path.name} at {width} px overflows by {overflow} px"
            ids = page.eval_on_selector_all(".chart[data-chart]", "els => els.map(e => e.id)")
            assert ids, f"{path.name} has no chart"
            for chart_id in ids:
                n = page.eval_on_selector_all(
                    f"#{chart_id} svg :is({MARKS})",
                    "els => els.filter(e => (e.getAttribute('d') || '').length > 2).length")
                assert n > 0, f"{path.name} at {width} px: chart {chart_id} drew no marks"
                drawn += 1
            assert errors == [], f"{path.name} at {width} px: {errors}"
            assert blocked == [], f"{path.name} tried the network: {blocked}"
        finally:
            page.close()
    assert drawn >= 20


def test_line_chart_tooltip_shows_an_iso_date(browser, built_site: Path):
    errors: list[str] = []
    blocked: list[str] = []
    page = _open_at(browser, built_site / "index.html", 1280, 900, blocked, errors)
    try:
        box = page.locator("#repo_count svg").bounding_box()
        found = ""
        for frac in (0.9, 0.8, 0.7, 0.6, 0.5):  # sweep along the plot until a point is under the pointer
            for y in range(int(box["y"] + 40), int(box["y"] + box["height"] - 30), 6):
                page.mouse.move(box["x"] + box["width"] * frac, y)
                tip = page.locator("#vg-tooltip-element")
                if tip.count() and tip.is_visible() and "series" in tip.inner_text():
                    found = tip.inner_text()
                    break
            if found:
                break
        assert re.search(r"\bday\s+20\d\d-\d\d-\d\d\b", found), found
        assert errors == [] and blocked == []
    finally:
        page.close()


def test_save_as_svg_and_png_carry_title_and_as_of(browser, built_site: Path):
    errors: list[str] = []
    blocked: list[str] = []
    page = _open_at(browser, built_site / "index.html", 1280, 900, blocked, errors)
    try:
        with page.expect_download() as got:
            page.click('button.save[data-chart="repo_count"][data-format="svg"]')
        download = got.value
        assert download.suggested_filename == "index-repo_count.svg"
        svg = Path(download.path()).read_text(encoding="utf-8")
        assert "GitHub repositories matching the family" in svg and "data as of 2023-08-08" in svg
        assert "SIMULATED DATA: Demo data from the bundled fake upstream" in svg
        with page.expect_download() as got:
            page.click('button.save[data-chart="repo_count"][data-format="png"]')
        assert got.value.suggested_filename == "index-repo_count.png"
        assert Path(got.value.path()).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert errors == [] and blocked == []
    finally:
        page.close()
