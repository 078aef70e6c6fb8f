"""The overview page (index.html): the headline comparison, repository counts and shares, flagship stars,
Hub and package downloads, usage (OpenRouter token share, Ollama pulls, Replicate runs), and the latest
GitHub Trending rows."""
from __future__ import annotations

import datetime as dt
import re
from typing import Any

from dashboards import charts, leads, usage
from dashboards.builder import LOG_SWITCH, SUBJECTS_TIP, Builder, complete_weeks
from dashboards.render import HOWTO, Page, esc, table

REGISTRY = {"pypi": "PyPI", "npm": "npm"}


def build(b: Builder) -> Page:
    page = Page("index.html", "Overview")
    page.add("<h1>How is LLaMA adoption moving against GPT?</h1>" if _llama_gpt(b) else
             "<h1>Overview</h1>")
    page.add('<p class="howto">Daily counts of GitHub repositories, stars, Hugging Face and package '
             'downloads for each open-model family configured in ecotrend.toml. Each chart links its data '
             'as CSV; <a href="health.html">Data health</a> says how fresh and complete they are.</p>')
    line = headline(b)
    if line:
        page.add(f'<p class="headline">{line}</p>')
        page.description = re.sub(r"<[^>]+>", "", line)
    page.add(f'<p class="howto">{esc(HOWTO)}</p>')
    page.add(LOG_SWITCH)
    _repositories(b, page)
    _share(b, page)
    _flagship_stars(b, page)
    _downloads(b, page)
    usage.section(b, page)
    _trending(b, page)
    return page


def _llama_gpt(b: Builder) -> bool:
    keys = [e["ecosystem"] for e in b.data.ecosystems[:2]]
    return keys == ["llama", "gpt"]


def headline(b: Builder) -> str:
    """The comparison in words, computed from the two first families' repository counts."""
    ecos = b.data.ecosystems[:2]
    plans = [b.data.plan(e["ecosystem"]) for e in ecos]
    if len(plans) < 2 or not all(p.query for p in plans):
        return ""
    a, c = plans
    series = {p.key: {r["day"]: r["value"] for r in b.data.recent_counts if r["ecosystem"] == p.key}
              for p in plans}
    common = sorted(set(series[a.key]) & set(series[c.key]))
    if not common:
        return (f"No repository counts yet for \u201c{esc(a.query)}\u201d and "
                f"\u201c{esc(c.query)}\u201d on the same day: run "
                f"<code>ecotrend collect --source github_search</code>.")
    day = common[-1]
    na, nc = series[a.key][day], series[c.key][day]
    text = (f"As of {esc(day)}, <b>{na:,.0f}</b> repositories match \u201c{esc(a.query)}\u201d "
            f"against <b>{nc:,.0f}</b> for \u201c{esc(c.query)}\u201d")
    text += _growth_since(series[a.key], series[c.key], common, day)
    total = na + nc
    if total:
        text += f" {esc(ecos[0]['label'])} holds {na / total:.0%} of the two."
    row = leads.lead(b, "repo_count", a.key, c.key)
    if row:
        text += " " + leads.sentence(b, row)
    return text


def _growth_since(sa: dict[str, float], sc: dict[str, float], common: list[str], day: str) -> str:
    """Both families' growth over about 14 days, or how to get the history it needs."""
    target = (dt.date.fromisoformat(day) - dt.timedelta(days=14)).isoformat()
    before = [d for d in common if d <= target]
    if before and (dt.date.fromisoformat(target) - dt.date.fromisoformat(before[-1])).days <= 3:
        d0 = before[-1]
        span = (dt.date.fromisoformat(day) - dt.date.fromisoformat(d0)).days
        return (f"; over the last {span} days each grew by <b>{_growth(sa[d0], sa[day])}</b> and "
                f"<b>{_growth(sc[d0], sc[day])}</b>.")
    return ("; 14-day growth needs two weeks of history "
            "(<code>ecotrend backfill --since 2023-01-01 --source github_search</code> fills it).")


def _growth(before: float, after: float) -> str:
    if not before:
        return "n/a"
    return f"{(after - before) / before * 100:+.1f}%"


def _first_two(b: Builder) -> list[str]:
    return [e["ecosystem"] for e in b.data.ecosystems[:2]]


def _lead_notes(b: Builder, metric: str) -> list[dict[str, Any]]:
    keys = _first_two(b)
    return leads.notes(b, metric, *keys) if len(keys) == 2 else []


def _repositories(b: Builder, page: Page) -> None:
    rows = b.family_rows("repo_count")
    if rows:
        refs = b.ref_rows("repo_count")
        b.add_chart(page, "repo_count", charts.timeseries(
            charts.mark_ties(rows), y_title="repositories", colors=b.colors, events=b.events, refs=refs,
            tooltip=SUBJECTS_TIP, notes=_lead_notes(b, "repo_count")),
            rows + refs, b.title_for("repo_count"), b.note_for(
                "repo_count", "Each family is counted by its first configured query."), logable=True)
    else:
        b.empty(page, "repo_count")
    rows = b.family_rows("repos_created")
    if rows:
        b.add_chart(page, "repos_created", charts.timeseries(
            charts.mark_ties(rows), y_title="new repositories per week", colors=b.colors, events=b.events),
            rows, b.title_for("repos_created"), b.note_for("repos_created"), logable=True)
    else:
        b.empty(page, "repos_created")


def _share(b: Builder, page: Page) -> None:
    """The first family's share of the first two families' repositories."""
    if len(b.data.ecosystems) < 2:
        return
    a, c = b.data.ecosystems[0], b.data.ecosystems[1]
    fa, fc = f"repos_{a['ecosystem']}", f"repos_{c['ecosystem']}"
    rows = _share_rows(b.family_rows("repo_count", [a["ecosystem"]]), b.family_rows("repo_count", [c["ecosystem"]]),
                       fa, fc)
    title = f"{a['label']}'s share of {a['label']} + {c['label']} repositories"
    if rows:
        b.add_chart(page, "share", charts.share(rows, title_a=a["label"], title_b=c["label"], color=a["color"],
                                                field_a=fa, field_b=fc, events=b.events,
                                                notes=_lead_notes(b, "repo_count")),
                    rows, title, "repo_count of the first family divided by the sum of the first two "
                    "families' repo_count, on days both were counted.")
    else:
        page.empty_slot(title, "repo_count of both families", b.fill("repo_count"))


def _share_rows(a_rows: list[dict[str, Any]], b_rows: list[dict[str, Any]], fa: str, fb: str
                ) -> list[dict[str, Any]]:
    """Per day both were counted: the first family's share and both counts (columns named after the families)."""
    b_by_day = {r["day"]: r for r in b_rows}
    out = []
    for r in a_rows:
        b = b_by_day.get(r["day"])
        if b and r["value"] > 0 and b["value"] > 0:
            method = r["method"] if r["method"] == b["method"] else "backfill" \
                if "backfill" in (r["method"], b["method"]) else "derived"
            out.append({"day": r["day"], "value": round(r["value"] / (r["value"] + b["value"]), 6),
                        fa: r["value"], fb: b["value"], "method": method})
    return out


def _flagship_stars(b: Builder, page: Page) -> None:
    rows = [{"day": r["day"], "ecosystem": r["ecosystem"],
             "label": f"{b.labels.get(r['ecosystem'])} · {r['subject']}", "metric": "stars",
             "subject": r["subject"], "value": r["value"], "method": r["method"]}
            for r in b.data.flagship]
    title = "Stars of each family's flagship repository"
    if not rows:
        b.empty(page, "stars", title)
        return
    colors = {x["label"]: b.eco_colors.get(x["ecosystem"], "#888888") for x in rows}
    refs = [{**ref, "label": f"{ref['label']} · {ref['subject']}"}
            for ref in b.ref_rows("stars", primary_only=False)
            if any(x["subject"] == ref["subject"] for x in rows)]
    b.add_chart(page, "flagship_stars", charts.timeseries(
        charts.mark_ties(rows), y_title="stars", colors=colors, events=b.events, refs=refs),
        rows + refs, title,
        "stars of the first repository configured per family (stargazers_count, daily snapshot).", logable=True)


def _downloads(b: Builder, page: Page) -> None:
    """Hub downloads and derivatives per family, then package downloads per week."""
    for metric in ("downloads_30d", "derivative_models"):
        rows = b.family_rows(metric)
        if rows:
            b.add_chart(page, metric, charts.timeseries(
                charts.mark_ties(rows), y_title=b.y_title(metric), colors=b.colors, events=b.events,
                tooltip=SUBJECTS_TIP),
                rows, b.title_for(metric), b.note_for(metric), logable=True)
        else:
            b.empty(page, metric)
    rows = _package_rows(b)
    title = "Package downloads per week (PyPI + npm)"
    if rows:
        b.add_chart(page, "package_downloads", charts.timeseries(
            charts.mark_ties(rows), y_title="downloads per week", colors=b.colors, events=b.events,
            tooltip=[charts.tip("breakdown", "by registry")]),
            rows, title,
            "downloads_day of the family's PyPI and npm packages (PyPI without mirrors), summed per "
            "week; a partial first or last week is left out. Where a registry's figures begin or end "
            "(pypistats keeps about 180 days, npm goes further back) the line breaks and the chart says "
            "so: the jump there is a change in what is added up, not in downloads.", logable=True,
            metrics=("downloads_day",))
    else:
        b.empty(page, "downloads_day", title)


def _package_rows(b: Builder) -> list[dict[str, Any]]:
    """Each family's package downloads per week, the registries added up (and named in a tooltip)."""
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    for r in b.data.packages:
        key = (r["day"], r["ecosystem"])
        m = merged.setdefault(key, {"day": r["day"], "ecosystem": r["ecosystem"],
                                    "label": b.labels.get(r["ecosystem"]), "metric": "downloads_day",
                                    "value": 0.0, "method": r["method"], "parts": [], "days": 0})
        m["value"] += r["value"]
        m["days"] = max(m["days"], r["days"])
        m["parts"].append((REGISTRY.get(r["source"], r["source"]), r["value"]))
    out = []
    for m in merged.values():
        parts = sorted(m.pop("parts"))
        m["breakdown"] = ", ".join(f"{name} {value:,.0f}" for name, value in parts)
        m["parts"] = " + ".join(name for name, _ in parts)  # what the line adds up (a change is noted)
        out.append(m)
    return complete_weeks(sorted(out, key=lambda x: (x["ecosystem"], x["day"])), "ecosystem")


def _families_of(b: Builder, row: dict[str, Any]) -> str:
    """The families whose trending_keywords (and not trending_exclude) match a Trending row."""
    found = [b.labels.get(p.key, p.label) for p in b.data.plans.values()
             if p.trending_match is not None and p.trending_match(row)]
    return ", ".join(found) or "—"


def _trending(b: Builder, page: Page) -> None:
    if not b.data.trending:
        return
    page.add('<section class="card"><h2>GitHub Trending, latest day</h2>'
             '<p class="note">As scraped from github.com/trending; "family" names the families whose '
             'trending_keywords match the row (counted in trending_repos).</p>' + table(
                 ["day", "period", "rank", "family", "repository", "description", "language", "stars",
                  "in period"],
                 [(t["day"], t["period"], t["rank"], _families_of(b, t), t["repo"], t["description"],
                   t["language"], t["stars"], t["period_stars"]) for t in b.data.trending if t["rank"] <= 10],
                 numeric=(2, 7, 8)) + "</section>")
