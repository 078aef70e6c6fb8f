"""The data-health page (health.html): the same questions ``ecotrend status`` answers, for the site."""
from __future__ import annotations

from typing import Any

from dashboards import charts
from dashboards.builder import Builder
from dashboards.render import Page, esc, table


def build(b: Builder) -> Page:
    h = b.data.health
    page = Page("health.html", "Data health")
    page.add("<h1>Data health: what to trust</h1>")
    page.add('<p class="howto">Last run of each collector, how fresh each source is, failures, days '
             'without a daily run, requests spent, and how many of each family\'s subjects reported on '
             'the latest day. The same figures as <code>ecotrend status</code>.</p>')
    if not h or not (h.get("runs") or h.get("sources")):
        page.empty_slot("Runs", "any run", "ecotrend run")
        return page
    _runs(b, page, h)
    _gaps(page, h)
    if h["budget"]:
        b.add_chart(page, "budget", charts.requests_per_day(h["budget"]), h["budget"],
                    "Requests per day (last 60 days)",
                    "Requests that cost upstream budget, from the runs table; free 304 answers and "
                    "rate-limit checks are left out.")
    _coverage(b, page, h["coverage"])
    page.add('<section class="card"><h2>Rows per metric</h2>' + table(
        ["source", "metric", "method", "rows", "first day", "last day"],
        [(r["source"], r["metric"], r["method"], r["rows"], r["first_day"], r["last_day"])
         for r in h["metrics"]], numeric=(3,)) + "</section>")
    return page


def _runs(b: Builder, page: Page, h: dict[str, Any]) -> None:
    """Each collector's last run, each source's freshness, the recent failures."""
    cls = [["", "", "", "ok" if r["status"] == "ok" else "bad", "", "", ""] for r in h["runs"]]
    page.add('<section class="card"><h2>Last run per collector</h2>' + table(
        ["collector", "day", "mode", "status", "rows", "requests", "error"],
        [(r["collector"], r["day"], r["mode"], r["status"], r["rows_written"], r["requests"], r["error"] or "")
         for r in h["runs"]], numeric=(4, 5), classes=cls) + "</section>")
    cls = [["", "", "bad" if (r["days_behind"] or 0) > 1 else "ok", ""] for r in h["sources"]]
    ref = h.get("reference_day") or "—"
    page.add(f'<section class="card"><h2>Freshness per source</h2><p class="note">Days behind the latest '
             f'daily run ({esc(ref)}), the same figures as <code>ecotrend status</code>; a registry '
             f'that publishes a day late is 1 day behind.</p>' + table(
                 ["source", "last day", "days behind", "rows"],
                 [(r["source"], r["last_day"], r["days_behind"], r["rows"]) for r in h["sources"]],
                 numeric=(2, 3), classes=cls) + "</section>")
    if h["failures"]:
        page.add('<section class="card"><h2>Recent failures</h2>' + table(
            ["day", "collector", "status", "error"],
            [(r["day"], r["collector"], r["status"], r["error"] or "") for r in h["failures"]]) + "</section>")
    else:
        page.add('<section class="card"><h2>Recent failures</h2><p class="ok">None recorded.</p></section>')
    if h.get("suspects"):
        page.add('<section class="card"><h2>Values flagged suspect</h2><p class="note">An implausible overnight '
                 'fall ([plausibility]): kept out of family totals and headlines until a later day confirms '
                 'it (the same list as <code>ecotrend status</code>).</p>' + table(
                     ["day", "source", "metric", "subject", "value"],
                     [(r["day"], r["source"], r["metric"], r["subject"], r["value"]) for r in h["suspects"]],
                     numeric=(4,)) + "</section>")


def _gaps(page: Page, h: dict[str, Any]) -> None:
    gaps = h["gaps"]
    gap_text = (f'<p class="bad">{len(gaps)} day(s) without a daily run: {esc(", ".join(gaps[-30:]))}</p>'
                if gaps else '<p class="ok">No gaps between the first and the last daily run.</p>')
    if h.get("unrebuilt"):
        gap_text += ("<p>Days a catch-up could not rebuild (the source keeps no history for them):</p>"
                     + table(["day", "collector", "source", "reason"],
                             [(r["day"], r["collector"], r["source"], r["reason"] or "")
                              for r in h["unrebuilt"]]))
    page.add(f'<section class="card"><h2>Gaps</h2>{gap_text}</section>')


def _coverage(b: Builder, page: Page, cov: list[dict[str, Any]]) -> None:
    """How many of each family's subjects reported on its latest day."""
    if not cov:
        return

    def frac(r: dict[str, Any]) -> str:
        return f"{r['subjects_reporting']} of {r['subjects_expected'] or '?'}"
    cls = [["", "", "", "bad" if (r["subjects_expected"] or 0) > r["subjects_reporting"] else "ok", ""]
           for r in cov]
    page.add('<section class="card"><h2>Coverage on the latest day</h2><p class="note">Subjects '
             'that reported / subjects the family counts; a missing subject shows here, not as a '
             'fall in the chart.</p>' + table(
                 ["family", "metric", "day", "subjects reporting", "method"],
                 [(b.labels.get(r["ecosystem"], r["ecosystem"]), r["metric"], r["day"], frac(r),
                   r["method"]) for r in cov], classes=cls) + "</section>")
