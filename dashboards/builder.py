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

from dashboards.charts import Spec, tip
from dashboards.data import SiteData
from dashboards.images import ImageRenderer
from dashboards.render import Page
from dashboards.settings import SiteSettings

SUBJECTS_TIP = [tip("subjects", "subjects reporting")]  # family lines: how many subjects reported
LOG_SWITCH = ('<p class="controls"><label><input type="checkbox" id="log-scale"> logarithmic y axis '
              '(zeros cannot be drawn on it and are left out)</label></p>')
# Where each metric's figures come from: the source line of every export.
SOURCES = {"github": "GitHub (REST search and repository API, star history, github.com pages)",
           "huggingface": "Hugging Face Hub API", "pypi": "pypistats.org (PyPI, without mirrors)",
           "npm": "npm downloads API", "arena": "LMArena leaderboard (Hugging Face Space and dataset)",
           "modelscope": "ModelScope API", "openrouter": "OpenRouter rankings Data API (CC BY 4.0)",
           "ollama": "Ollama library pages (ollama.com)", "replicate": "Replicate API (run_count)"}
METRIC_SOURCES = {"downloads_day": ("pypi", "npm"), "model_count": ("huggingface",),
                  "derivative_models": ("huggingface",), "downloads_30d": ("huggingface",),
                  "downloads_all_time": ("huggingface", "modelscope"), "likes": ("huggingface", "modelscope"),
                  "best_open_score": ("arena",), "best_proprietary_score": ("arena",), "open_gap": ("arena",),
                  "open_in_top10": ("arena",), "leaderboard_models": ("arena",), "best_score": ("arena",),
                  "best_rank": ("arena",), "tokens_day": ("openrouter",), "token_share": ("openrouter",),
                  "open_weight_token_share": ("openrouter",), "pulls": ("ollama",), "runs": ("replicate",),
                  "runs_day": ("replicate",)}
# With --png every chart of these pages is also written as PNG and SVG: the comparisons a reader pastes
# into a report or slides.  Every other page gets files for its first chart only (its og:image); the
# rest of their charts are saved from the page itself (save as PNG / SVG, with the same provenance).
IMAGE_PAGES = frozenset({"index.html", "families.html", "capability.html"})


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


def to_csv(rows: list[dict[str, Any]], provenance: list[str] = ()) -> str:
    """Rows as CSV, preceded by provenance lines starting with '#' (title, data as of, source and,
    for simulated data, the banner): read them with e.g. ``pandas.read_csv(path, comment="#")``."""
    cols: list[str] = []
    for r in rows:
        for k in r:
            if k not in cols:
                cols.append(k)
    buf = io.StringIO()
    for line in provenance:
        buf.write("# " + " ".join(str(line).split()) + "\n")
    w = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()


def export_spec(spec: Spec, title: str, lines: list[str], width: int = 900) -> Spec:
    """The spec as exported (PNG, SVG): fixed width, the title and the provenance lines written on it."""
    out = dict(spec, width=width) if spec.get("width") == "container" else dict(spec)
    out["title"] = {"text": title, "subtitle": [ln for ln in lines if ln], "anchor": "start", "fontSize": 15,
                    "subtitleFontSize": 11, "subtitleColor": "#444444", "offset": 12}
    out.pop("usermeta", None)
    return out


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
        self.as_of_line = ""  # set by the site before the pages are built
        # --png: each chart's export spec is handed to the renderer as the chart is built
        self.images = ImageRenderer(self.out, vl_version()) if png else None

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
                             "parts": f"{r['subjects_reporting']:.0f} of {r['subjects_expected'] or 0:.0f} "
                                      "subjects reporting", "days": r["days"]})
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

    def y_scale(self, metric: str) -> dict[str, Any]:
        """Counts start at zero; scores do not; a rank reads top-down (1 at the top)."""
        kind = self.metric(metric).get("kind")
        if self.metric(metric).get("unit") == "rank":
            return {"reverse": True, "zero": False, "nice": False}
        return {"zero": False} if kind in ("score", "ratio") else {"zero": True}

    def logable(self, metric: str) -> bool:
        return self.metric(metric).get("kind") not in ("score", "ratio") and self.metric(metric).get("unit") != "rank"

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

    def provenance(self, title: str, metrics: tuple[str, ...] = ()) -> list[str]:
        """The lines every export of a chart carries: title, data as of, source, simulated-data banner."""
        sources = [SOURCES[src] for m in metrics for src in METRIC_SOURCES.get(m, ("github",))]
        source = "; ".join(dict.fromkeys(sources)) or "the ecotrend warehouse"
        lines = [title, self.as_of_line, f"Source: {source}, collected by ecotrend ({self.site.title})"]
        if self.site.demo_banner:
            lines.append(f"SIMULATED DATA: {self.site.demo_banner}")
        return lines

    def add_chart(self, page: Page, chart_id: str, chart: Spec | alt.TopLevelMixin, rows: list[dict[str, Any]],
                  title: str, note: str, logable: bool = False, metrics: tuple[str, ...] = (),
                  citation: str = "") -> None:
        """A chart's slot on the page, its rows as CSV (provenance first) and, with ``png``, its PNG and
        SVG when the page is one of ``IMAGE_PAGES`` or this is the page's first chart (rendered meanwhile
        in worker processes, see ``images``).  A ``citation`` the data's license asks for is written on
        the chart (below it), in the CSV's provenance lines and on its PNG and SVG."""
        stem = f"{Path(page.file).stem}-{chart_id}"
        csv_name = f"data/{stem}.csv"
        lines = self.provenance(title, metrics or tuple(m for m in self.data.metrics if m in chart_id))
        if citation:
            lines.insert(3, citation)
        write(self.out / csv_name, to_csv(rows, lines))
        self.written.append(self.out / csv_name)
        spec = chart if isinstance(chart, dict) else chart.to_dict(validate=False)
        spec["description"] = title  # the SVG's accessible name
        if citation:
            spec["title"] = {"text": citation, "orient": "bottom", "anchor": "end", "fontSize": 11,
                             "fontWeight": "normal", "color": "#444444"}
        spec["usermeta"] = {"export": {"file": stem, "title": title, "lines": lines[1:]}}
        links = [("data (CSV)", csv_name)]
        if self.images is not None and (page.file in IMAGE_PAGES or not page.specs):
            self.images.add(stem, export_spec(spec, title, lines[1:]))
            for ext in ("svg", "png"):
                self.written.append(self.out / "png" / f"{stem}.{ext}")
                links.append((ext.upper(), f"png/{stem}.{ext}"))
        page.chart_slot(chart_id, spec, title, note, links, logable=logable)

    def empty(self, page: Page, metric: str, title: str | None = None) -> None:
        page.empty_slot(title or self.title_for(metric), f"{metric}", self.fill(metric))
