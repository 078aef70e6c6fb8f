"""What every page shares: the rows a chart draws, its titles and notes, and writing its CSV (and PNG/SVG).

A ``Builder`` holds the data read once and the site folder; each page module turns it into a ``Page``.
"""
from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from typing import Any

import altair as alt

from dashboards.data import SiteData
from dashboards.render import Page
from dashboards.settings import SiteSettings

SUBJECTS_TIP = [alt.Tooltip("subjects:N", title="subjects")]  # family lines: how many subjects reported
LOG_SWITCH = ('<p class="controls"><label><input type="checkbox" id="log-scale"> logarithmic y axis '
              '(symmetric log, so zeros stay visible)</label></p>')


def write(path: Path, text: str | bytes) -> None:
    """Write a file whole or not at all (a reader never sees half a page)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    if isinstance(text, bytes):
        tmp.write_bytes(text)
    else:
        tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def vl_version() -> str | None:
    import vl_convert as vlc

    want = ".".join(alt.SCHEMA_VERSION.lstrip("v").split(".")[:2])
    return want if want in vlc.get_vegalite_versions() else None


def to_csv(rows: list[dict[str, Any]]) -> str:
    cols: list[str] = []
    for r in rows:
        for k in r:
            if k not in cols:
                cols.append(k)
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()


def complete_weeks(rows: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    """Drop a partial week at either end of each series: a weekly sum of 3 days would read as a fall."""
    by: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by.setdefault(r[key], []).append(r)
    out = []
    for series in by.values():
        series.sort(key=lambda r: r["day"])
        if len(series) > 2 and series[0]["days"] < 7:
            series = series[1:]
        if len(series) > 2 and series[-1]["days"] < 7:
            series = series[:-1]
        out += series
    return out


class Builder:
    """The data read once, the families' labels and colours, and the files written so far."""

    def __init__(self, site: SiteSettings, data: SiteData, png: bool):
        self.site, self.data, self.png = site, data, png
        self.out = site.out_dir
        self.written: list[Path] = []
        self.labels = {e["ecosystem"]: e["label"] for e in data.ecosystems}
        self.colors = {e["label"]: e["color"] for e in data.ecosystems}
        self.eco_colors = {e["ecosystem"]: e["color"] for e in data.ecosystems}
        self.events = [dict(e) for e in data.events]

    def metric(self, metric: str) -> dict[str, Any]:
        return self.data.metrics.get(metric, {})

    def is_flow(self, metric: str) -> bool:
        return self.metric(metric).get("kind") == "flow"

    def family_rows(self, metric: str, ecosystems: list[str] | None = None) -> list[dict[str, Any]]:
        rows = []
        for r in self.data.daily:
            if r["metric"] == metric and (ecosystems is None or r["ecosystem"] in ecosystems):
                rows.append({"day": r["day"], "ecosystem": r["ecosystem"],
                             "label": self.labels.get(r["ecosystem"], r["ecosystem"]), "metric": metric,
                             "value": r["value"], "method": r["method"],
                             "subjects": f"{r['subjects_reporting']:.0f} of {r['subjects_expected'] or 0:.0f}",
                             "days": r["days"]})
        return complete_weeks(rows, "ecosystem") if self.is_flow(metric) else rows

    def ref_rows(self, metric: str, ecosystems: list[str] | None = None, primary_only: bool = True
                 ) -> list[dict[str, Any]]:
        return [{"day": r["day"], "ecosystem": r["ecosystem"], "label": self.labels.get(r["ecosystem"]),
                 "metric": metric, "subject": r["subject"], "value": r["value"], "method": "reference",
                 "note": f"{r['source']} (reference figure)"}
                for r in self.data.references
                if r["metric"] == metric and (ecosystems is None or r["ecosystem"] in ecosystems)
                and (r["is_primary"] or not primary_only)]

    def title_for(self, metric: str) -> str:
        m = self.metric(metric)
        return m.get("title") or m.get("description") or metric

    def fill(self, metric: str) -> str:
        """The command that fills a metric, named by its empty state."""
        return self.metric(metric).get("fill") or "ecotrend run"

    def y_title(self, metric: str) -> str:
        m = self.metric(metric)
        unit = m.get("unit") or metric
        if m.get("kind") == "flow":
            return f"{unit} per week"
        if m.get("kind") == "rolling":
            return f"{unit}, rolling 30 days"
        return unit

    def fmt(self, metric: str) -> str:
        """Tooltip number format: scores keep a decimal, counts are whole."""
        return ",.1f" if self.metric(metric).get("kind") in ("score", "ratio") else ",.0f"

    def note_for(self, metric: str, extra: str = "") -> str:
        m = self.metric(metric)
        bits = [f"{metric}: {m.get('description', '')}."]
        if m.get("kind") == "flow":
            bits.append("Weekly sums (weeks start Monday; a partial first or last week is left out).")
        elif m.get("kind") == "rolling":
            bits.append("A rolling 30-day count taken each day: never add days together.")
        elif metric in self.data.weekly:
            bits.append("Long span: one point per week (the week's last value), day by day over the last "
                        "three months.")
        if extra:
            bits.append(extra)
        return " ".join(bits)

    def add_chart(self, page: Page, chart_id: str, chart: alt.TopLevelMixin, rows: list[dict[str, Any]],
                  title: str, note: str, logable: bool = False) -> None:
        """A chart's slot on the page, its rows as CSV and, with ``png``, its PNG and SVG."""
        stem = f"{Path(page.file).stem}-{chart_id}"
        csv_name = f"data/{stem}.csv"
        write(self.out / csv_name, to_csv(rows))
        self.written.append(self.out / csv_name)
        spec = chart.to_dict(validate=False)
        spec["description"] = title  # the SVG's accessible name
        links = [("data (CSV)", csv_name)]
        if self.png:
            import vl_convert as vlc

            svg = vlc.vegalite_to_svg(dict(spec, width=900), vl_version=vl_version())
            for ext, content in (("svg", svg), ("png", vlc.svg_to_png(svg, scale=2))):
                path = self.out / "png" / f"{stem}.{ext}"
                write(path, content)
                self.written.append(path)
                links.append((ext.upper(), f"png/{stem}.{ext}"))
        page.chart_slot(chart_id, spec, title, note, links, logable=logable)

    def empty(self, page: Page, metric: str, title: str | None = None) -> None:
        page.empty_slot(title or self.title_for(metric), f"{metric}", self.fill(metric))
