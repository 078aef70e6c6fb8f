"""Building the static site: read once, build each page, write pages, CSVs, shared assets (and PNG/SVG).

Layout of ``site/``: ``index.html`` (overview), ``families.html``, ``capability.html``, ``eco-<key>.html``
per ecosystem, ``health.html``; ``assets/`` holds the Vega bundle, CSS and JS written once and shared by
every page (referenced relatively, so pages work from ``file://`` with no network); ``data/`` holds each
chart's rows as CSV; ``png/`` charts as PNG and SVG when built with ``--png`` (every chart of the
overview, families and capability pages, the first chart of the others: ``builder.IMAGE_PAGES``).  Each
page is built by a module of its own (overview, families, family, capability, health) from what
``builder`` shares; ``images`` renders the PNG and SVG files.
"""
from __future__ import annotations

import datetime as dt
import importlib.metadata
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import altair as alt

from dashboards import capability, families, family, health, images, overview
from dashboards.builder import Builder, vl_version, write
from dashboards.data import SiteData, read_site_data
from dashboards.render import SITE_CSS, SITE_JS, Page, shell
from dashboards.settings import BoardStatement, SiteFamily, SiteSettings
from warehouse.settings import StorageSettings
from warehouse.store import EventRow


def version() -> str:
    """The installed package's version, named in every page's footer."""
    try:
        return importlib.metadata.version("ecotrend")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def bundle_name() -> str:
    import vl_convert as vlc

    vl = vl_version() or "default"
    return f"vega-{vlc.get_vega_version()}-vl{vl}-embed{vlc.get_vega_embed_version()}.js"


def write_assets(out: Path, pending: Any = None) -> str:
    """Write the Vega/Vega-Lite/Vega-Embed bundle (once per version), the link-preview card, CSS and JS;
    return the bundle name.  ``pending``: a future of the first two (``images.start_assets``)."""
    name = bundle_name()
    assets = out / "assets"
    bundle, card = assets / name, assets / "og-card.png"
    if not (bundle.exists() and card.exists()):
        made = pending.result() if pending is not None else images.site_assets(vl_version(), OG_CARD)
        if not bundle.exists():
            write(bundle, made[0])
        if not card.exists():  # the link preview of a page without a chart image of its own
            write(card, made[1])
    for old in assets.glob("vega-*.js"):
        if old.name != name:
            old.unlink()
    for fname, text in (("site.css", SITE_CSS), ("site.js", SITE_JS)):
        p = assets / fname
        if not p.exists() or p.read_text(encoding="utf-8") != text:
            write(p, text)
    return name


OG_CARD = {"width": 560, "height": 260, "background": "#f7f8fa", "data": {"values": [
    {"y": 0, "t": "ecotrend", "s": 40}, {"y": 1, "t": "open-model adoption, day by day", "s": 20},
    {"y": 2, "t": "GitHub · Hugging Face · PyPI · npm · Arena", "s": 16}]},
    "mark": {"type": "text", "align": "left", "x": 20, "color": "#1d2330"},
    "encoding": {"y": {"field": "y", "type": "ordinal", "axis": None}, "text": {"field": "t"},
                 "size": {"field": "s", "type": "quantitative", "scale": None}},
    "config": {"view": {"stroke": None}}}


def _as_of_line(data: SiteData) -> str:
    fresh = data.freshness or {}
    if fresh.get("last_day"):
        line = f"data as of {fresh['last_day']} (last collected {fresh['collected_at'] or '?'} UTC)"
    else:
        line = "no data collected yet"
    if data.as_of:
        line = f"as it stood on {data.cutoff.isoformat()}: " + line
    return line


def _pages(b: Builder) -> list[Page]:
    # Altair validates every object against the Vega-Lite schema as it is built, data rows
    # included, which would cost most of the build; tests validate each builder's spec instead.
    with alt.utils.schemapi.debug_mode(False):
        pages = [overview.build(b), families.build(b), capability.build(b)]
        pages += [family.build(b, e) for e in b.data.ecosystems]
        pages.append(health.build(b))
    return pages


def _write_pages(b: Builder, pages: list[Page], pending: Any = None) -> list[Path]:
    bundle = write_assets(b.out, pending)
    nav = [("Overview", "index.html"), ("All families", "families.html"), ("Capability", "capability.html")]
    nav += [(e["label"], f"eco-{e['ecosystem']}.html") for e in b.data.ecosystems]
    nav.append(("Data health", "health.html"))
    as_of = b.as_of_line
    built = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    footer = f"ecotrend {version()} · built {built} · works offline: every script is in assets/"
    out_pages = []
    for page in pages:
        first = next(iter(page.specs), None)
        if b.png and first:
            page.image = f"png/{Path(page.file).stem}-{first}.png"
        text = shell(page, site_title=b.site.title, nav=nav, as_of_line=as_of,
                     banner=b.site.demo_banner, bundle=bundle, footer=footer)
        path = b.out / page.file
        write(path, text)
        out_pages.append(path)
    return out_pages


def _prune(out: Path, keep: set[Path]) -> None:
    """Remove pages, CSVs and images an earlier build wrote that this one did not."""
    stale = list(out.glob("eco-*.html"))
    for sub in ("data", "png"):
        if (out / sub).is_dir():
            stale += [p for p in (out / sub).iterdir() if p.is_file()]
    for p in stale:
        if p not in keep:
            p.unlink()


def build_site(site: SiteSettings, storage: StorageSettings, plans: Sequence[SiteFamily],
               events: Sequence[EventRow], today: dt.date, as_of: dt.date | None = None,
               png: bool = False, statements: Sequence[BoardStatement] = ()) -> list[Path]:
    """Build the whole site into ``site.out_dir`` from the warehouse at ``storage``; ``plans`` and
    ``events`` are the configured families and release events (see ``SiteFamily``).  Return the pages."""
    out = Path(site.out_dir)
    # a new site folder needs the script bundle and the preview card: made in a worker meanwhile
    assets = out / "assets"
    pending = None if (assets / bundle_name()).exists() and (assets / "og-card.png").exists() else \
        images.start_assets(vl_version(), OG_CARD)
    data = read_site_data(storage, plans, events, today, as_of, statements)
    b = Builder(site, data, png)
    b.as_of_line = _as_of_line(data)
    b.out.mkdir(parents=True, exist_ok=True)
    try:
        pages = _pages(b)  # with png the charts' images are rendered meanwhile, in worker processes
        written = _write_pages(b, pages, pending)
        if b.images is not None:
            b.images.finish()
            b.written.append(b.out / "png" / images.IMAGE_MANIFEST)
    finally:
        if b.images is not None:
            b.images.close()
    _prune(b.out, set(written) | set(b.written))
    return written
