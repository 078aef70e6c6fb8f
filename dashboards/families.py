"""The all-families page (families.html): every metric with the families side by side, then the main
ones aligned to each family's first release."""
from __future__ import annotations

import datetime as dt

from dashboards import charts, freshness, usage
from dashboards.builder import LOG_SWITCH, SUBJECTS_TIP, Builder
from dashboards.render import HOWTO, Page, esc

ALIGNED_METRICS = ["repo_count", "stars", "derivative_models", "downloads_30d"]


def build(b: Builder) -> Page:
    page = Page("families.html", "All families")
    page.add("<h1>All families side by side</h1>")
    page.add(f'<p class="howto">{esc(HOWTO)}</p>')
    page.add(LOG_SWITCH)
    apart = []
    for metric in b.data.metrics:
        rows = b.family_rows(metric)
        if not rows:
            if metric in b.data.collected:
                apart.append(metric)
            continue
        b.add_chart(page, f"m-{metric}", charts.timeseries(
            charts.mark_ties(rows), y_title=b.y_title(metric), colors=b.colors, events=b.events,
            value_format=b.fmt(metric), refs=b.ref_rows(metric), tooltip=SUBJECTS_TIP, y_scale=b.y_scale(metric)),
            rows, b.title_for(metric), b.note_for(metric), logable=b.logable(metric),
            citation=usage.citation(b.data.openrouter) if metric in usage.OPENROUTER_METRICS else "")
    _aligned(b, page)
    if apart:
        items = ", ".join(f"<b>{esc(m)}</b>" for m in apart)
        page.add(f'<section class="card"><h2>Collected, not per family</h2><p>{items}: figures of a whole '
                 f'board or source rather than of a family: the <a href="capability.html">Capability</a> page '
                 f'charts them.</p></section>')
    missing = freshness.not_collected(b.data.metrics, b.data.collected)
    if missing:
        items = "".join(f"<li><b>{esc(m)}</b>: <code>{esc(b.fill(m))}</code></li>" for m in missing)
        page.add(f'<section class="card empty"><h2>Not collected yet</h2><p>No data yet for these '
                 f'metrics; the command that fills each:</p><ul>{items}</ul></section>')
    return page


def _aligned(b: Builder, page: Page) -> None:
    """Each family's line from its own first release (x = days since first_release)."""
    page.add("<h2>Aligned to release</h2><p class=\"howto\">Each family's line starts at its own first "
             "release (x = days since first_release in the config), so growth in the first months can "
             "be compared directly.</p>")
    releases = {e["ecosystem"]: e["first_release"] for e in b.data.ecosystems if e["first_release"]}
    for metric in ALIGNED_METRICS:
        rows = []
        for r in b.family_rows(metric):
            rel = releases.get(r["ecosystem"])
            if rel:
                since = (dt.date.fromisoformat(r["day"]) - dt.date.fromisoformat(rel)).days
                if since >= 0:
                    rows.append({**r, "since": float(since)})
        if rows:
            b.add_chart(page, f"aligned-{metric}", charts.aligned(rows, y_title=b.y_title(metric), colors=b.colors),
                        rows, f"{b.title_for(metric)}, aligned to release", b.note_for(metric), logable=True)
