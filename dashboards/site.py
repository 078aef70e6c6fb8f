"""Building the static site: read once, build charts, write pages, CSVs, shared assets (and PNG/SVG).

Layout of ``site/``: ``index.html`` (overview), ``families.html``, ``eco-<key>.html`` per ecosystem,
``health.html``; ``assets/`` holds the Vega bundle, CSS and JS written once and shared by every page
(referenced relatively, so pages work from ``file://`` with no network); ``data/`` holds each chart's
rows as CSV; ``png/`` each chart as PNG and SVG when built with ``--png``.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import os
from pathlib import Path
from typing import Any

import altair as alt

from dashboards import charts
from dashboards.data import SiteData, read_site_data
from dashboards.render import HOWTO, SITE_CSS, SITE_JS, Page, esc, shell, table
from jobs import __version__
from jobs.config import Config, Ecosystem

# What fills each metric, named in empty states.
FILL_COMMAND = {
    "repo_count": "ecotrend collect --source github_search",
    "repos_created": "ecotrend backfill --since 2023-01-01 --source github_search",
    "stars": "ecotrend collect --source github_repos",
    "forks": "ecotrend collect --source github_repos",
    "watchers": "ecotrend collect --source github_repos",
    "open_issues": "ecotrend collect --source github_repos",
    "stars_gained": "ecotrend backfill --since 2023-01-01 --source github_stars",
    "dependents_repos": "ecotrend collect --source github_dependents",
    "dependents_packages": "ecotrend collect --source github_dependents",
    "trending_repos": "ecotrend collect --source github_trending",
    "model_count": "ecotrend collect --source hf_models",
    "derivative_models": "ecotrend collect --source hf_models",
    "downloads_30d": "ecotrend collect --source hf_models",
    "downloads_all_time": "ecotrend collect --source hf_models",
    "likes": "ecotrend collect --source hf_models",
    "downloads_day": "ecotrend backfill --since 2023-01-01 --source pypi --source npm",
}
for _m in ("best_open_score", "best_proprietary_score", "open_gap", "open_in_top10", "leaderboard_models",
           "best_score", "best_rank"):
    FILL_COMMAND[_m] = "ecotrend backfill --since 2023-05-01 --source arena"

TITLES = {
    "repo_count": "GitHub repositories matching the family's query",
    "repos_created": "New GitHub repositories per week",
    "stars": "Stars of the family's flagship repositories",
    "forks": "Forks of the flagship repositories",
    "watchers": "Watchers (subscribers) of the flagship repositories",
    "open_issues": "Open issues and pull requests",
    "stars_gained": "Stars gained per week (still held; unstars invisible)",
    "dependents_repos": "Repositories depending on the family's packages (GitHub 'Used by')",
    "dependents_packages": "Packages depending on the family's packages (GitHub 'Used by')",
    "trending_repos": "Rows on GitHub Trending matching the family",
    "model_count": "Models on the Hugging Face Hub",
    "derivative_models": "Derivative models on the Hub (fine-tunes, quantizations, adapters, merges)",
    "downloads_30d": "Hugging Face downloads, rolling 30-day window",
    "downloads_all_time": "Hugging Face downloads, all time",
    "likes": "Hugging Face likes",
    "downloads_day": "Downloads per week",
    "best_score": "Best Arena score of the family's models",
    "best_rank": "Arena rank of the family's best-scored model (1 = top)",
    "best_open_score": "Best Arena score of an open-weights model",
    "best_proprietary_score": "Best Arena score of a proprietary model",
    "open_gap": "Arena score gap: best proprietary minus best open-weights",
    "open_in_top10": "Open-weights models in the Arena top 10",
    "leaderboard_models": "Models with a score on the Arena board",
}

LOG_SWITCH = ('<p class="controls"><label><input type="checkbox" id="log-scale"> logarithmic y axis '
              '(symmetric log, so zeros stay visible)</label></p>')

# A family's models on either hub; with ModelScope models configured they are charted by hub.
HUB_ITEMS = {("huggingface", "item"), ("modelscope", "item")}

ALIGNED_METRICS = ["repo_count", "stars", "derivative_models", "downloads_30d"]


def _expected(eco: Ecosystem) -> set[str]:
    """Metrics the config asks for this family (shown as empty states until collected)."""
    out: set[str] = set()
    if eco.github_queries:
        out |= {"repo_count", "repos_created"}
    if eco.github_repos:
        out |= {"stars", "forks", "watchers", "open_issues", "stars_gained"}
    if eco.trending_keywords:
        out.add("trending_repos")
    if eco.hf_authors or eco.hf_searches or eco.hf_models:
        out |= {"model_count", "downloads_30d", "downloads_all_time", "likes"}
    if eco.hf_base_models:
        out.add("derivative_models")
    if eco.pypi_packages or eco.npm_packages:
        out.add("downloads_day")
    return out


def _write(path: Path, text: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    if isinstance(text, bytes):
        tmp.write_bytes(text)
    else:
        tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _vl_version() -> str | None:
    import vl_convert as vlc

    want = ".".join(alt.SCHEMA_VERSION.lstrip("v").split(".")[:2])
    return want if want in vlc.get_vegalite_versions() else None


def write_assets(out: Path) -> str:
    """Write the Vega/Vega-Lite/Vega-Embed bundle (once per version), CSS and JS; return the bundle name."""
    import vl_convert as vlc

    vl = _vl_version() or "default"
    name = f"vega-{vlc.get_vega_version()}-vl{vl}-embed{vlc.get_vega_embed_version()}.js"
    assets = out / "assets"
    bundle = assets / name
    if not bundle.exists():
        _write(bundle, vlc.javascript_bundle(vl_version=_vl_version()))
        for old in assets.glob("vega-*.js"):
            if old.name != name:
                old.unlink()
    for fname, text in (("site.css", SITE_CSS), ("site.js", SITE_JS)):
        p = assets / fname
        if not p.exists() or p.read_text(encoding="utf-8") != text:
            _write(p, text)
    return name


def _csv(rows: list[dict[str, Any]]) -> str:
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


class SiteBuilder:
    """Turns SiteData into pages; all file writing of the site happens here."""

    def __init__(self, cfg: Config, data: SiteData, today: dt.date, png: bool):
        self.cfg, self.data, self.today, self.png = cfg, data, today, png
        self.out = cfg.site_dir
        self.written: list[Path] = []
        self.labels = {e["ecosystem"]: e["label"] for e in data.ecosystems}
        self.colors = {e["label"]: e["color"] for e in data.ecosystems}
        self.eco_colors = {e["ecosystem"]: e["color"] for e in data.ecosystems}
        self.events = [{**e, "label": e["label"]} for e in data.events]
        self.pages: list[Page] = []

    # -- helpers ------------------------------------------------------------------------------------
    def is_flow(self, metric: str) -> bool:
        return self.data.metrics.get(metric, {}).get("kind") == "flow"

    def family_rows(self, metric: str, ecosystems: list[str] | None = None) -> list[dict[str, Any]]:
        rows = []
        for r in self.data.daily:
            if r["metric"] == metric and (ecosystems is None or r["ecosystem"] in ecosystems):
                rows.append({"day": r["day"], "ecosystem": r["ecosystem"],
                             "label": self.labels.get(r["ecosystem"], r["ecosystem"]), "metric": metric,
                             "value": r["value"], "method": r["method"],
                             "subjects": f"{r['subjects_reporting']:.0f} of {r['subjects_expected'] or 0:.0f}",
                             "days": r["days"]})
        return _complete_weeks(rows, "ecosystem") if self.is_flow(metric) else rows

    def ref_rows(self, metric: str, ecosystems: list[str] | None = None, primary_only: bool = True
                 ) -> list[dict[str, Any]]:
        return [{"day": r["day"], "ecosystem": r["ecosystem"], "label": self.labels.get(r["ecosystem"]),
                 "metric": metric, "subject": r["subject"], "value": r["value"], "method": "reference",
                 "note": f"{r['source']} (reference figure)"}
                for r in self.data.references
                if r["metric"] == metric and (ecosystems is None or r["ecosystem"] in ecosystems)
                and (r["is_primary"] or not primary_only)]

    def title_for(self, metric: str) -> str:
        m = self.data.metrics.get(metric, {})
        return TITLES.get(metric) or m.get("description") or metric

    def y_title(self, metric: str) -> str:
        m = self.data.metrics.get(metric, {})
        unit = m.get("unit") or metric
        if m.get("kind") == "flow":
            return f"{unit} per week"
        if m.get("kind") == "rolling":
            return f"{unit}, rolling 30 days"
        return unit

    def fmt(self, metric: str) -> str:
        """Tooltip number format: scores keep a decimal, counts are whole."""
        return ",.1f" if self.data.metrics.get(metric, {}).get("kind") in ("score", "ratio") else ",.0f"

    def note_for(self, metric: str, extra: str = "") -> str:
        m = self.data.metrics.get(metric, {})
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
        stem = f"{Path(page.file).stem}-{chart_id}"
        csv_name = f"data/{stem}.csv"
        _write(self.out / csv_name, _csv(rows))
        self.written.append(self.out / csv_name)
        spec = chart.to_dict(validate=False)
        spec["description"] = title  # the SVG's accessible name
        links = [("data (CSV)", csv_name)]
        if self.png:
            import vl_convert as vlc

            svg = vlc.vegalite_to_svg(dict(spec, width=900), vl_version=_vl_version())
            for ext, content in (("svg", svg), ("png", vlc.svg_to_png(svg, scale=2))):
                path = self.out / "png" / f"{stem}.{ext}"
                _write(path, content)
                self.written.append(path)
                links.append((ext.upper(), f"png/{stem}.{ext}"))
        page.chart_slot(chart_id, spec, title, note, links, logable=logable)

    def empty(self, page: Page, metric: str, title: str | None = None) -> None:
        page.empty_slot(title or self.title_for(metric), f"{metric}",
                        FILL_COMMAND.get(metric, "ecotrend run"))

    # -- pages --------------------------------------------------------------------------------------
    def headline(self) -> str:
        """The comparison in words, computed from the two first families' repository counts."""
        ecos = self.cfg.ecosystems[:2]
        if len(ecos) < 2 or not all(e.github_queries for e in ecos):
            return ""
        a, b = ecos
        series = {e.key: {r["day"]: r["value"] for r in self.data.recent_counts if r["ecosystem"] == e.key}
                  for e in ecos}
        common = sorted(set(series[a.key]) & set(series[b.key]))
        if not common:
            return (f"No repository counts yet for \u201c{esc(a.github_queries[0])}\u201d and "
                    f"\u201c{esc(b.github_queries[0])}\u201d on the same day: run "
                    f"<code>ecotrend collect --source github_search</code>.")
        day = common[-1]
        na, nb = series[a.key][day], series[b.key][day]
        text = (f"As of {esc(day)}, <b>{na:,.0f}</b> repositories match \u201c{esc(a.github_queries[0])}\u201d "
                f"against <b>{nb:,.0f}</b> for \u201c{esc(b.github_queries[0])}\u201d")
        target = (dt.date.fromisoformat(day) - dt.timedelta(days=14)).isoformat()
        before = [d for d in common if d <= target]
        if before and (dt.date.fromisoformat(target) - dt.date.fromisoformat(before[-1])).days <= 3:
            d0 = before[-1]
            ga = _growth(series[a.key][d0], na)
            gb = _growth(series[b.key][d0], nb)
            span = (dt.date.fromisoformat(day) - dt.date.fromisoformat(d0)).days
            text += f"; over the last {span} days each grew by <b>{ga}</b> and <b>{gb}</b>."
        else:
            text += ("; 14-day growth needs two weeks of history "
                     "(<code>ecotrend backfill --since 2023-01-01 --source github_search</code> fills it).")
        total = na + nb
        if total:
            text += f" {esc(a.label)} holds {na / total:.0%} of the two."
        return text

    def overview(self) -> Page:
        page = Page("index.html", "Overview")
        page.add("<h1>How is LLaMA adoption moving against GPT?</h1>" if self._llama_gpt() else
                 "<h1>Overview</h1>")
        page.add('<p class="howto">Daily counts of GitHub repositories, stars, Hugging Face and package '
                 'downloads for each open-model family configured in ecotrend.toml. Each chart links its data '
                 'as CSV; <a href="health.html">Data health</a> says how fresh and complete they are.</p>')
        line = self.headline()
        if line:
            page.add(f'<p class="headline">{line}</p>')
        page.add(f'<p class="howto">{esc(HOWTO)}</p>')
        page.add(LOG_SWITCH)
        ecos = [e["ecosystem"] for e in self.data.ecosystems]
        rows = self.family_rows("repo_count")
        if rows:
            self.add_chart(page, "repo_count", charts.timeseries(
                rows, y_title="repositories", colors=self.colors, events=self.events,
                refs=self.ref_rows("repo_count"), tooltip=[alt.Tooltip("subjects:N", title="subjects")]),
                rows + self.ref_rows("repo_count"), self.title_for("repo_count"), self.note_for(
                    "repo_count", "Each family is counted by its first configured query."), logable=True)
        else:
            self.empty(page, "repo_count")
        rows = self.family_rows("repos_created")
        if rows:
            self.add_chart(page, "repos_created", charts.timeseries(
                rows, y_title="new repositories per week", colors=self.colors, events=self.events),
                rows, self.title_for("repos_created"), self.note_for("repos_created"), logable=True)
        else:
            self.empty(page, "repos_created")
        if len(ecos) >= 2:
            a, b = self.data.ecosystems[0], self.data.ecosystems[1]
            rows = _share_rows(self.family_rows("repo_count", [a["ecosystem"]]),
                               self.family_rows("repo_count", [b["ecosystem"]]))
            title = f"{a['label']}'s share of {a['label']} + {b['label']} repositories"
            if rows:
                self.add_chart(page, "share", charts.share(rows, title_a=a["label"], title_b=b["label"],
                                                           color=a["color"], events=self.events),
                               rows, title, "repo_count of the first family divided by the sum of the first two "
                               "families' repo_count, on days both were counted.")
            else:
                page.empty_slot(title, "repo_count of both families", FILL_COMMAND["repo_count"])
        rows = [{"day": r["day"], "ecosystem": r["ecosystem"],
                 "label": f"{self.labels.get(r['ecosystem'])} · {r['subject']}", "metric": "stars",
                 "subject": r["subject"], "value": r["value"], "method": r["method"]}
                for r in self.data.flagship]
        if rows:
            colors = {x["label"]: self.eco_colors.get(x["ecosystem"], "#888888") for x in rows}
            refs = [{**ref, "label": f"{ref['label']} · {ref['subject']}"}
                    for ref in self.ref_rows("stars", primary_only=False)
                    if any(x["subject"] == ref["subject"] for x in rows)]
            self.add_chart(page, "flagship_stars", charts.timeseries(
                rows, y_title="stars", colors=colors, events=self.events, refs=refs),
                rows + refs, "Stars of each family's flagship repository",
                "stars of the first repository configured per family (stargazers_count, daily snapshot).",
                logable=True)
        else:
            self.empty(page, "stars", "Stars of each family's flagship repository")
        for metric in ("downloads_30d", "derivative_models"):
            rows = self.family_rows(metric)
            if rows:
                self.add_chart(page, metric, charts.timeseries(
                    rows, y_title=self.y_title(metric), colors=self.colors, events=self.events,
                    tooltip=[alt.Tooltip("subjects:N", title="subjects")]),
                    rows, self.title_for(metric), self.note_for(metric), logable=True)
            else:
                self.empty(page, metric)
        rows = self.package_rows()
        if rows:
            self.add_chart(page, "package_downloads", charts.timeseries(
                rows, y_title="downloads per week", colors=self.colors, events=self.events,
                tooltip=[alt.Tooltip("breakdown:N", title="by registry")]),
                rows, "Package downloads per week (PyPI + npm)",
                "downloads_day of the family's PyPI and npm packages (PyPI without mirrors), summed per "
                "week; a partial first or last week is left out.", logable=True)
        else:
            self.empty(page, "downloads_day", "Package downloads per week (PyPI + npm)")
        if self.data.trending:
            page.add('<section class="card"><h2>GitHub Trending, latest day</h2>'
                     '<p class="note">As scraped from github.com/trending.</p>' + table(
                         ["day", "period", "rank", "repository", "description", "language", "stars",
                          "in period"],
                         [(t["day"], t["period"], t["rank"], t["repo"], t["description"], t["language"],
                           t["stars"], t["period_stars"]) for t in self.data.trending if t["rank"] <= 10],
                         numeric=(2, 6, 7)) + "</section>")
        return page

    def _llama_gpt(self) -> bool:
        keys = [e["ecosystem"] for e in self.data.ecosystems[:2]]
        return keys == ["llama", "gpt"]

    def package_rows(self, ecosystems: list[str] | None = None) -> list[dict[str, Any]]:
        merged: dict[tuple[str, str], dict[str, Any]] = {}
        for r in self.data.packages:
            if ecosystems is not None and r["ecosystem"] not in ecosystems:
                continue
            key = (r["day"], r["ecosystem"])
            m = merged.setdefault(key, {"day": r["day"], "ecosystem": r["ecosystem"],
                                        "label": self.labels.get(r["ecosystem"]), "metric": "downloads_day",
                                        "value": 0.0, "method": r["method"], "parts": [], "days": 0})
            m["value"] += r["value"]
            m["days"] = max(m["days"], r["days"])
            m["parts"].append(f"{r['source']} {r['value']:,.0f}")
        out = []
        for m in merged.values():
            m["breakdown"] = ", ".join(m.pop("parts"))
            out.append(m)
        return _complete_weeks(sorted(out, key=lambda x: (x["ecosystem"], x["day"])), "ecosystem")

    def families(self) -> Page:
        page = Page("families.html", "All families")
        page.add("<h1>All families side by side</h1>")
        page.add(f'<p class="howto">{esc(HOWTO)}</p>')
        page.add(LOG_SWITCH)
        missing = []
        for metric in self.data.metrics:
            rows = self.family_rows(metric)
            if not rows:
                missing.append(metric)
                continue
            self.add_chart(page, f"m-{metric}", charts.timeseries(
                rows, y_title=self.y_title(metric), colors=self.colors, events=self.events,
                value_format=self.fmt(metric), refs=self.ref_rows(metric),
                tooltip=[alt.Tooltip("subjects:N", title="subjects")]),
                rows, self.title_for(metric), self.note_for(metric), logable=True)
        page.add("<h2>Aligned to release</h2><p class=\"howto\">Each family's line starts at its own first "
                 "release (x = days since first_release in the config), so growth in the first months can "
                 "be compared directly.</p>")
        releases = {e["ecosystem"]: e["first_release"] for e in self.data.ecosystems if e["first_release"]}
        for metric in ALIGNED_METRICS:
            rows = []
            for r in self.family_rows(metric):
                rel = releases.get(r["ecosystem"])
                if rel:
                    since = (dt.date.fromisoformat(r["day"]) - dt.date.fromisoformat(rel)).days
                    if since >= 0:
                        rows.append({**r, "since": float(since)})
            if rows:
                self.add_chart(page, f"aligned-{metric}", charts.aligned(rows, y_title=self.y_title(metric),
                                                                         colors=self.colors),
                               rows, f"{self.title_for(metric)}, aligned to release",
                               self.note_for(metric), logable=True)
        if missing:
            items = "".join(f"<li><b>{esc(m)}</b>: <code>{esc(FILL_COMMAND.get(m, 'ecotrend run'))}</code></li>"
                            for m in missing)
            page.add(f'<section class="card empty"><h2>Not collected yet</h2><p>No data yet for these '
                     f'metrics; the command that fills each:</p><ul>{items}</ul></section>')
        return page

    def ecosystem_page(self, eco: Ecosystem) -> Page:
        page = Page(f"eco-{eco.key}.html", eco.label)
        swatch = f'<span class="swatch" style="background:{esc(eco.color)}"></span>'
        page.add(f"<h1>{swatch}{esc(eco.label)}</h1>")
        facts = [f"first release {esc(eco.first_release)}" if eco.first_release else "no first release configured"]
        evs = [e for e in self.data.events if e["ecosystem"] == eco.key]
        if evs:
            facts.append("release events: " + ", ".join(f"{esc(e['label'])} ({esc(e['day'])})" for e in evs))
        page.add(f'<p class="howto">{"; ".join(facts)}. {esc(HOWTO)}</p>')
        expected = _expected(eco)
        colors = {eco.label: eco.color}
        for metric in self.data.metrics:
            fam = self.family_rows(metric, [eco.key])
            subs = [{"day": r["day"], "label": r["subject"] if r["source"] != "modelscope"
                     else f"ModelScope · {r['subject']}", "subject": r["subject"], "source": r["source"],
                     "role": r["role"], "metric": metric, "value": r["value"], "method": r["method"],
                     "flags": r["flags"] or "", "days": r["days"]}
                    for r in self.data.subjects if r["ecosystem"] == eco.key and r["metric"] == metric
                    and not (eco.modelscope_models and (r["source"], r["role"]) in HUB_ITEMS
                             and metric in ("downloads_all_time", "likes"))]  # in the hub section instead
            if self.is_flow(metric):
                subs = _complete_weeks(subs, "subject")
            if not fam and not subs:
                shown_by_hub = any(r["ecosystem"] == eco.key and r["metric"] == metric for r in self.data.hub_models)
                if metric in expected and not shown_by_hub:
                    self.empty(page, metric)
                continue
            events = [e for e in self.events if e["ecosystem"] in (eco.key, None)]
            if fam:
                self.add_chart(page, f"m-{metric}", charts.timeseries(
                    fam, y_title=self.y_title(metric), colors=colors, events=events,
                    value_format=self.fmt(metric), refs=self.ref_rows(metric, [eco.key]),
                    tooltip=[alt.Tooltip("subjects:N", title="subjects")]),
                    fam, f"{self.title_for(metric)}: family total", self.note_for(metric))
            if subs and (len({s["subject"] for s in subs}) > 1 or not fam):
                refs = [{**ref, "label": ref["subject"]} for ref in self.ref_rows(metric, [eco.key], False)]
                self.add_chart(page, f"s-{metric}", charts.timeseries(
                    subs, y_title=self.y_title(metric), events=events, refs=refs, legend_title=None,
                    value_format=self.fmt(metric),
                    tooltip=[alt.Tooltip("source:N"), alt.Tooltip("role:N"), alt.Tooltip("flags:N")]),
                    subs + refs, f"{self.title_for(metric)}: one line per subject",
                    self.note_for(metric, "Top subjects by latest value; 'tracked' and 'item' subjects are "
                                          "shown here but never enter the family total."))
        if eco.modelscope_models:
            self.hub_section(page, eco)
        rows = [r for r in self.data.subject_table if r["ecosystem"] == eco.key]
        if rows:
            page.add('<section class="card"><h2>Subjects tracked</h2><p class="note">Latest stored value of '
                     'each metric per subject (role primary/member: counted in the family total; tracked/item: '
                     'shown apart).</p>' + table(
                         ["source", "subject", "canonical name", "role", "kind", "metric", "latest value", "day"],
                         [(r["source"], r["subject"], r["canonical"] if r["canonical"] != r["subject"] else "",
                           r["role"], r["kind"], r["metric"] or "—", r["value"], r["day"] or "")
                          for r in rows], numeric=(6,)) + "</section>")
        return page

    def capability_headline(self, arena: str) -> str:
        """The latest board in words: who leads, by how much, how many of the top 10 are open."""
        rows = [r for r in self.data.capability if r["arena"] == arena]
        if not rows:
            return ""
        r = rows[-1]
        text = f"On the Arena board of {esc(r['day'])} ({esc(arena)})"
        if r["best_open_score"] is not None and r["best_proprietary_score"] is not None:
            lead = "proprietary" if r["open_gap"] >= 0 else "open-weights"
            text += (f", the best proprietary model, <b>{esc(r['best_proprietary_model'] or '?')}</b> "
                     f"({r['best_proprietary_score']:,.0f}), and the best open-weights model, "
                     f"<b>{esc(r['best_open_model'] or '?')}</b> ({r['best_open_score']:,.0f}), are "
                     f"<b>{abs(r['open_gap']):,.0f}</b> points apart ({lead} ahead)")
        if r["open_in_top10"] is not None and r["leaderboard_models"]:
            text += (f"; <b>{r['open_in_top10']:,.0f}</b> of the top {min(10, r['leaderboard_models']):,.0f} "
                     f"have open weights")
        text += "."
        if r["unmapped_license_models"]:
            text += (f' <span class="bad">{r["unmapped_license_models"]:,.0f} model(s) carry a license not in '
                     f"[arena.licenses] (unmapped): figures they could change are flagged.</span>")
        return text

    def capability(self) -> Page:
        page = Page("capability.html", "Capability")
        page.add("<h1>Capability: best open-weights vs best proprietary model on the Arena</h1>")
        page.add('<p class="howto">Scores from the published LMArena (Chatbot Arena) leaderboards, one point '
                 'per dated board. Whether a model has open weights and allows commercial use comes from '
                 '<code>[arena.licenses]</code> in the config; a license nobody mapped is shown as '
                 '<span class="bad">unmapped</span>, never guessed. Families are matched by each ecosystem\'s '
                 '<code>leaderboard_aliases</code>. The score was an online Elo until 2023-11 and a '
                 'Bradley-Terry rating from 2023-12-20: compare the gap and the top 10 within a board rather '
                 'than raw scores across that date. Hover for models and exact values; drag or scroll to pan '
                 'and zoom the time axis, double-click to reset.</p>')
        arenas = list(dict.fromkeys(r["arena"] for r in self.data.capability))
        if not arenas:
            self.capability_empty(page, "Best open-weights vs best proprietary Arena score",
                                  "Arena boards (best_open_score, best_proprietary_score, open_in_top10)")
        for arena in arenas:
            rows = [r for r in self.data.capability if r["arena"] == arena]
            suffix = f" ({arena} arena)" if len(arenas) > 1 else ""
            cid = f"-{_slug(arena)}" if len(arenas) > 1 else ""
            page.add(f'<p class="headline">{self.capability_headline(arena)}</p>')
            csv_rows = [{k: r[k] for k in ("day", "arena", "best_open_score", "best_proprietary_score",
                                           "open_gap", "best_open_model", "best_proprietary_model",
                                           "leaderboard_models", "unmapped_license_models", "flags")}
                        for r in rows]
            self.add_chart(page, f"gap{cid}", charts.capability_gap(rows, events=self.events), csv_rows,
                           f"Best open-weights vs best proprietary Arena score{suffix}",
                           "Highest score of an open-weights model (green) and of a proprietary model (dark) "
                           "on each board; the shaded band is the gap (open_gap = best proprietary − best "
                           "open). A figure an unmapped license could change carries the flag "
                           "unmapped_license.")
            csv_rows = [{k: r[k] for k in ("day", "arena", "open_share_top10", "open_in_top10",
                                           "leaderboard_models", "flags")}
                        for r in rows if r["open_share_top10"] is not None]
            if csv_rows:
                self.add_chart(page, f"top10{cid}", charts.open_share_top10(csv_rows, events=self.events),
                               csv_rows, f"Open-weights share of the top 10{suffix}",
                               "open_in_top10 / min(10, models on the board), per board (a step holds until "
                               "the next board).")
        self.capability_families(page)
        self.capability_board(page)
        return page

    def capability_empty(self, page: Page, title: str, what: str) -> None:
        page.add(f'<section class="card empty"><h2>{esc(title)}</h2><p>No data yet for {esc(what)}. '
                 f'Fill it with <code>{esc(FILL_COMMAND["best_open_score"])}</code> (then the daily '
                 f'<code>ecotrend run</code> adds new boards). The collector stays idle until '
                 f'<code>[arena.licenses]</code> and the ecosystems\' <code>leaderboard_aliases</code> are '
                 f'configured in ecotrend.toml.</p></section>')

    def capability_families(self, page: Page) -> None:
        """Each family's best Arena score above its adoption (repositories), on one shared time axis."""
        title = "Each family's best Arena score beside its adoption"
        fam = self.data.capability_family
        if not fam:
            self.capability_empty(page, title, "family best scores (leaderboard_aliases matching board models)")
            return
        arena = max({r["arena"] for r in fam}, key=lambda a: (sum(1 for r in fam if r["arena"] == a), a))
        fam = [r for r in fam if r["arena"] == arena]
        first = min(r["day"] for r in fam)
        score_panel, adopt_panel = "best Arena score", "GitHub repositories (repo_count)"
        rows: list[dict[str, Any]] = []
        order = [e["ecosystem"] for e in self.data.ecosystems]
        keys = sorted({r["ecosystem"] for r in fam}, key=lambda k: order.index(k) if k in order else len(order))
        for key in keys:
            label = self.labels.get(key, key)
            rows += [{"day": r["day"], "ecosystem": key, "label": label, "panel": score_panel,
                      "value": r["best_score"], "detail": f"{r['best_model']} (rank {r['best_rank']:.0f})"
                      if r["best_rank"] is not None else r["best_model"], "method": "snapshot"}
                     for r in fam if r["ecosystem"] == key]
            rows += [{"day": r["day"], "ecosystem": key, "label": label, "panel": adopt_panel,
                      "value": r["value"], "detail": r["subjects"], "method": r["method"]}
                     for r in self.family_rows("repo_count", [key]) if r["day"] >= first]
        self.add_chart(page, "families", charts.family_panels(rows, colors=self.colors,
                                                                panels=[score_panel, adopt_panel]),
                       rows, title,
                       f"Left: the best score of the family's models on each board of the {arena} arena "
                       f"(models matched by leaderboard_aliases; hover for the model and its rank). Right: "
                       f"repositories matching the family's query over the same days. Every panel shares "
                       f"the time axis; the scores share one scale so families compare, the repository "
                       f"counts have a scale per family.")

    def capability_board(self, page: Page) -> None:
        board = self.data.board
        title = "The latest board"
        if not board:
            self.capability_empty(page, title, "the leaderboard table")
            return
        for arena in dict.fromkeys(r["arena"] for r in board):
            rows = [r for r in board if r["arena"] == arena]

            def yes_no(v: Any) -> str:
                return "unmapped" if v is None else ("yes" if v else "no")
            cells, classes = [], []
            for r in rows:
                cells.append((r["model"], r["organization"] or "", r["license"] or "(none)",
                              yes_no(r["open_weights"]), yes_no(r["commercial_use"]), r["score"],
                              r["rank"], self.labels.get(r["ecosystem"], "") if r["ecosystem"] else ""))
                bad = "bad" if r["open_weights"] is None else ""
                classes.append(["", "", bad, bad or ("ok" if r["open_weights"] else ""),
                                "bad" if r["commercial_use"] is None else "", "", "", ""])
            unmapped = sorted({r["license"] or "(none)" for r in rows if r["open_weights"] is None})
            note = (f"{len(rows)} models on the board of {rows[0]['day']} ({arena} arena, "
                    f"{rows[0]['origin']}). Open weights and commercial use from [arena.licenses].")
            if unmapped:
                note += (f" Unmapped license(s), not guessed: {', '.join(unmapped)} "
                         f"(add them to [arena.licenses]).")
            page.add(f'<section class="card"><h2>{esc(title)}: {esc(arena)} arena, {esc(rows[0]["day"])}</h2>'
                     f'<p class="note">{esc(note)}</p>' + table(
                         ["model", "organization", "license", "open weights", "commercial use", "score",
                          "rank", "family"], cells, numeric=(5, 6), classes=classes) + "</section>")

    def hub_section(self, page: Page, eco: Ecosystem) -> None:
        """ModelScope next to Hugging Face: the family's configured models on both hubs."""
        title = "Downloads on Hugging Face and ModelScope, all time"
        rows = [r for r in self.data.hub_models if r["ecosystem"] == eco.key]
        if not rows:
            page.add(f'<section class="card empty"><h2>{esc(title)}</h2><p>No data yet for the family\'s '
                     f'ModelScope models ({esc(", ".join(eco.modelscope_models))}). Fill it with '
                     f'<code>ecotrend collect --source modelscope</code> (and '
                     f'<code>ecotrend collect --source hf_models</code> for the Hugging Face side).</p>'
                     f'</section>')
            return
        hub = {"huggingface": "Hugging Face", "modelscope": "ModelScope"}
        downloads = [{"day": r["day"], "label": f"{hub[r['source']]} · {r['subject']}", "hub": hub[r["source"]],
                      "subject": r["subject"], "metric": r["metric"], "value": r["value"], "method": r["method"]}
                     for r in rows if r["metric"] == "downloads_all_time"]
        if downloads:
            self.add_chart(page, "hubs", charts.timeseries(
                downloads, y_title="downloads since the model was published", legend_title=None,
                tooltip=[alt.Tooltip("hub:N", title="hub")]),
                downloads, title,
                "downloads_all_time of the family's configured models on each hub, labelled by hub: Hugging "
                "Face downloadsAllTime (hf_models) and ModelScope Data.Downloads (modelscope). Each hub "
                "counts its own downloads; the two are shown apart, never added.", logable=True)
        latest: dict[tuple[str, str], dict[str, Any]] = {}
        for r in rows:
            m = latest.setdefault((r["source"], r["subject"]), {"day": r["last_day"]})
            m[r["metric"]] = r["value"]
            m["day"] = max(m["day"], r["last_day"])
        page.add('<section class="card"><h2>The family\'s models on each hub, latest</h2><p class="note">'
                 'Hugging Face likes and ModelScope stars are both stored as likes.</p>' + table(
                     ["hub", "model", "downloads, all time", "likes / stars", "day"],
                     [(hub[src], subj, v.get("downloads_all_time"), v.get("likes"), v["day"])
                      for (src, subj), v in sorted(latest.items(), key=lambda kv: (kv[0][0] != "huggingface",
                                                                                   kv[0][1]))],
                     numeric=(2, 3)) + "</section>")

    def health(self) -> Page:
        h = self.data.health
        page = Page("health.html", "Data health")
        page.add("<h1>Data health: what to trust</h1>")
        page.add('<p class="howto">Last run of each collector, how fresh each source is, failures, days '
                 'without a daily run, requests spent, and how many of each family\'s subjects reported on '
                 'the latest day. The same figures as <code>ecotrend status</code>.</p>')
        if not h or not (h.get("runs") or h.get("sources")):
            page.empty_slot("Runs", "any run", "ecotrend run")
            return page
        cls = [["", "", "", "ok" if r["status"] == "ok" else "bad", "", "", ""] for r in h["runs"]]
        page.add('<section class="card"><h2>Last run per collector</h2>' + table(
            ["collector", "day", "mode", "status", "rows", "requests", "error"],
            [(r["collector"], r["day"], r["mode"], r["status"], r["rows_written"], r["requests"], r["error"] or "")
             for r in h["runs"]], numeric=(4, 5), classes=cls) + "</section>")
        cls = [["", "", "bad" if r["days_behind"] > 1 else "ok", ""] for r in h["sources"]]
        page.add(f'<section class="card"><h2>Freshness per source</h2><p class="note">Days behind '
                 f'{esc(self.data.cutoff.isoformat())}.</p>' + table(
                     ["source", "last day", "days behind", "rows"],
                     [(r["source"], r["last_day"], r["days_behind"], r["rows"]) for r in h["sources"]],
                     numeric=(2, 3), classes=cls) + "</section>")
        if h["failures"]:
            page.add('<section class="card"><h2>Recent failures</h2>' + table(
                ["day", "collector", "status", "error"],
                [(r["day"], r["collector"], r["status"], r["error"] or "") for r in h["failures"]]) + "</section>")
        else:
            page.add('<section class="card"><h2>Recent failures</h2><p class="ok">None recorded.</p></section>')
        gaps = h["gaps"]
        gap_text = (f'<p class="bad">{len(gaps)} day(s) without a daily run: {esc(", ".join(gaps[-30:]))}</p>'
                    if gaps else '<p class="ok">No gaps between the first and the last daily run.</p>')
        if h.get("unrebuilt"):
            gap_text += ("<p>Days a catch-up could not rebuild (the source keeps no history for them):</p>"
                         + table(["day", "collector", "source", "reason"],
                                 [(r["day"], r["collector"], r["source"], r["reason"] or "")
                                  for r in h["unrebuilt"]]))
        page.add(f'<section class="card"><h2>Gaps</h2>{gap_text}</section>')
        if h["budget"]:
            self.add_chart(page, "budget", charts.requests_per_day(h["budget"]), h["budget"],
                           "Requests per day (last 60 days)",
                           "Requests that cost upstream budget, from the runs table; free 304 answers and "
                           "rate-limit checks are left out.")
        cov = h["coverage"]
        if cov:
            def frac(r: dict[str, Any]) -> str:
                return f"{r['subjects_reporting']} of {r['subjects_expected'] or '?'}"
            cls = [["", "", "", "bad" if (r["subjects_expected"] or 0) > r["subjects_reporting"] else "ok", ""]
                   for r in cov]
            page.add('<section class="card"><h2>Coverage on the latest day</h2><p class="note">Subjects '
                     'that reported / subjects the family counts; a missing subject shows here, not as a '
                     'fall in the chart.</p>' + table(
                         ["family", "metric", "day", "subjects reporting", "method"],
                         [(self.labels.get(r["ecosystem"], r["ecosystem"]), r["metric"], r["day"], frac(r),
                           r["method"]) for r in cov], classes=cls) + "</section>")
        page.add('<section class="card"><h2>Rows per metric</h2>' + table(
            ["source", "metric", "method", "rows", "first day", "last day"],
            [(r["source"], r["metric"], r["method"], r["rows"], r["first_day"], r["last_day"])
             for r in h["metrics"]], numeric=(3,)) + "</section>")
        return page

    # -- writing ------------------------------------------------------------------------------------
    def build(self) -> list[Path]:
        self.out.mkdir(parents=True, exist_ok=True)
        bundle = write_assets(self.out)
        # Altair validates every object against the Vega-Lite schema as it is built, data rows
        # included, which would cost most of the build; tests validate each builder's spec instead.
        with alt.utils.schemapi.debug_mode(False):
            pages = [self.overview(), self.families(), self.capability()]
            pages += [self.ecosystem_page(e) for e in self.cfg.ecosystems]
            pages.append(self.health())
        nav = [("Overview", "index.html"), ("All families", "families.html"), ("Capability", "capability.html")]
        nav += [(e.label, f"eco-{e.key}.html") for e in self.cfg.ecosystems]
        nav.append(("Data health", "health.html"))
        fresh = self.data.freshness or {}
        if fresh.get("last_day"):
            as_of = f"data as of {fresh['last_day']} (last collected {fresh['collected_at'] or '?'} UTC)"
        else:
            as_of = "no data collected yet"
        if self.data.as_of:
            as_of = f"as it stood on {self.data.cutoff.isoformat()}: " + as_of
        built = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        footer = f"ecotrend {__version__} · built {built} · works offline: every script is in assets/"
        banner = self.cfg.site.demo_banner
        out_pages = []
        for page in pages:
            text = shell(page, site_title=self.cfg.site.title, nav=nav, as_of_line=as_of,
                         banner=banner, bundle=bundle, footer=footer)
            path = self.out / page.file
            _write(path, text)
            out_pages.append(path)
        self._prune(set(out_pages) | set(self.written))
        return out_pages

    def _prune(self, keep: set[Path]) -> None:
        """Remove pages, CSVs and images an earlier build wrote that this one did not."""
        stale = list(self.out.glob("eco-*.html"))
        for sub in ("data", "png"):
            if (self.out / sub).is_dir():
                stale += [p for p in (self.out / sub).iterdir() if p.is_file()]
        for p in stale:
            if p not in keep:
                p.unlink()


def _complete_weeks(rows: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
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


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text.lower())


def _growth(before: float, after: float) -> str:
    if not before:
        return "n/a"
    return f"{(after - before) / before * 100:+.1f}%"


def _share_rows(a_rows: list[dict[str, Any]], b_rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    b_by_day = {r["day"]: r for r in b_rows}
    out = []
    for r in a_rows:
        b = b_by_day.get(r["day"])
        if b and r["value"] > 0 and b["value"] > 0:
            method = r["method"] if r["method"] == b["method"] else "backfill" \
                if "backfill" in (r["method"], b["method"]) else "derived"
            out.append({"day": r["day"], "value": round(r["value"] / (r["value"] + b["value"]), 6),
                        "a": r["value"], "b": b["value"], "method": method})
    return out


def build_site(cfg: Config, today: dt.date, as_of: dt.date | None = None, png: bool = False) -> list[Path]:
    """Build the whole site into ``[site] out_dir``; return the HTML pages written."""
    data = read_site_data(cfg, today, as_of)
    return SiteBuilder(cfg, data, today, png).build()
