"""One page per family (eco-<key>.html): each metric's family total and its subjects one by one, the
family's models on Hugging Face and ModelScope, its usage (OpenRouter token share, Ollama pulls, Replicate
runs), and every subject it tracks."""
from __future__ import annotations

import re
from typing import Any

from dashboards import charts, leads, usage
from dashboards.builder import LOG_SWITCH, SUBJECTS_TIP, Builder, complete_weeks
from dashboards.render import HOWTO, Page, esc, table
from dashboards.settings import SiteFamily

# A family's models on either hub; with ModelScope models configured they are charted by hub.
HUB_ITEMS = {("huggingface", "item"), ("modelscope", "item")}
HUB_METRICS = ("downloads_all_time", "likes")
HUBS = {"huggingface": "Hugging Face", "modelscope": "ModelScope"}
SUBJECT_TIPS = [charts.tip("source", "source"), charts.tip("role", "role"), charts.tip("flags", "flags")]


def build(b: Builder, eco: dict[str, Any]) -> Page:
    plan = b.data.plan(eco["ecosystem"])
    page = Page(f"eco-{plan.key}.html", eco["label"])
    swatch = f'<span class="swatch" style="background:{esc(eco["color"])}"></span>'
    page.add(f"<h1>{swatch}{esc(eco['label'])}</h1>")
    facts = [f"first release {esc(eco['first_release'])}" if eco["first_release"] else "no first release configured"]
    evs = [e for e in b.data.events if e["ecosystem"] == plan.key]
    if evs:
        facts.append("release events: " + ", ".join(f"{esc(e['label'])} ({esc(e['day'])})" for e in evs))
    page.add(f'<p class="howto">{"; ".join(facts)}. {esc(HOWTO)}</p>')
    other = leads.anchor(b, plan.key)
    row = leads.lead(b, "repo_count", plan.key, other) if other else None
    if row:
        page.add(f'<p class="headline">{leads.sentence(b, row)}</p>')
        page.description = re.sub(r"<[^>]+>", "", leads.sentence(b, row))
    page.add(LOG_SWITCH)
    page.add(leads.table_for(b, plan.key))
    for metric in b.data.metrics:
        if metric in usage.USAGE_METRICS:
            continue  # charted in the Usage section
        _metric(b, page, eco, plan, metric)
        if metric == "stars_gained":
            _star_history(b, page, plan)
    if plan.modelscope_models:
        _hubs(b, page, plan)
    usage.section(b, page, plan.key)
    _subjects_tracked(b, page, plan.key)
    return page


def _subject_rows(b: Builder, plan: SiteFamily, metric: str) -> list[dict[str, Any]]:
    """The family's top subjects for a metric (its hub models are in the hub section instead)."""
    subs = [{"day": r["day"], "label": r["subject"] if r["source"] != "modelscope"
             else f"ModelScope · {r['subject']}", "subject": r["subject"], "source": r["source"],
             "role": r["role"], "metric": metric, "value": r["value"], "method": r["method"],
             "flags": r["flags"] or "", "days": r["days"]}
            for r in b.data.subjects if r["ecosystem"] == plan.key and r["metric"] == metric
            and not (plan.modelscope_models and (r["source"], r["role"]) in HUB_ITEMS and metric in HUB_METRICS)]
    return complete_weeks(subs, "subject") if b.is_flow(metric) else subs


def _metric(b: Builder, page: Page, eco: dict[str, Any], plan: SiteFamily, metric: str) -> None:
    """A metric's family total and, when it has several (or only) subjects, one line per subject."""
    fam = b.family_rows(metric, [plan.key])
    subs = _subject_rows(b, plan, metric)
    if not fam and not subs:
        shown_by_hub = any(r["ecosystem"] == plan.key and r["metric"] == metric for r in b.data.hub_models)
        if metric in plan.expected and not shown_by_hub:
            b.empty(page, metric)
        return
    events = [e for e in b.events if e["ecosystem"] in (plan.key, None)]
    other = leads.anchor(b, plan.key)
    notes = leads.notes(b, metric, plan.key, other) if other else []
    if fam:
        b.add_chart(page, f"m-{metric}", charts.timeseries(
            fam, y_title=b.y_title(metric), colors={eco["label"]: eco["color"]}, events=events,
            value_format=b.fmt(metric), refs=b.ref_rows(metric, [plan.key]), tooltip=SUBJECTS_TIP,
            y_scale=b.y_scale(metric), notes=notes),
            fam, f"{b.title_for(metric)}: family total", b.note_for(metric), logable=b.logable(metric))
    if subs and (len({s["subject"] for s in subs}) > 1 or not fam):
        refs = [{**ref, "label": ref["subject"]} for ref in b.ref_rows(metric, [plan.key], False)]
        b.add_chart(page, f"s-{metric}", charts.timeseries(
            charts.mark_ties(subs), y_title=b.y_title(metric), events=events, refs=refs, legend_title=None,
            value_format=b.fmt(metric), tooltip=SUBJECT_TIPS, y_scale=b.y_scale(metric)),
            subs + refs, f"{b.title_for(metric)}: one line per subject",
            b.note_for(metric, "Top subjects by latest value; 'tracked' and 'item' subjects are "
                               "shown here but never enter the family total."), logable=b.logable(metric),
            metrics=(metric,))


def _star_history(b: Builder, page: Page, plan: SiteFamily) -> None:
    """Stars the way people know them: each repository's star history cumulated, on one chart."""
    rows = [{"day": r["day"], "label": r["subject"], "subject": r["subject"], "metric": "stars_gained",
             "value": r["value"], "gained": r["gained"], "method": r["method"]}
            for r in b.data.star_history if r["ecosystem"] == plan.key]
    if not rows:
        return
    b.add_chart(page, "star-history", charts.stars_cumulated(charts.mark_ties(rows), events=b.events), rows,
                "Stars over time: each repository's star history, cumulated",
                "The running sum of stars_gained per repository: on each day, how many of today's "
                "stargazers had starred by then. Unstars are invisible, so this is not the star count a "
                "past day showed (the snapshot 'stars' is); a repository's line starts with its history.",
                logable=True, metrics=("stars_gained",))


def _hubs(b: Builder, page: Page, plan: SiteFamily) -> None:
    """ModelScope next to Hugging Face: the family's configured models on both hubs."""
    title = "Downloads on Hugging Face and ModelScope, all time"
    rows = [r for r in b.data.hub_models if r["ecosystem"] == plan.key]
    if not rows:
        page.add(f'<section class="card empty"><h2>{esc(title)}</h2><p>No data yet for the family\'s '
                 f'ModelScope models ({esc(", ".join(plan.modelscope_models))}). Fill it with '
                 f'<code>ecotrend collect --source modelscope</code> (and '
                 f'<code>ecotrend collect --source hf_models</code> for the Hugging Face side).</p>'
                 f'</section>')
        return
    downloads = [{"day": r["day"], "label": f"{HUBS[r['source']]} · {r['subject']}", "hub": HUBS[r["source"]],
                  "subject": r["subject"], "metric": r["metric"], "value": r["value"], "method": r["method"]}
                 for r in rows if r["metric"] == "downloads_all_time"]
    if downloads:
        b.add_chart(page, "hubs", charts.timeseries(
            downloads, y_title="downloads since the model was published", legend_title=None,
            tooltip=[charts.tip("hub", "hub")]),
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
                 [(HUBS[src], subj, v.get("downloads_all_time"), v.get("likes"), v["day"])
                  for (src, subj), v in sorted(latest.items(), key=lambda kv: (kv[0][0] != "huggingface",
                                                                               kv[0][1]))],
                 numeric=(2, 3)) + "</section>")


def _subjects_tracked(b: Builder, page: Page, key: str) -> None:
    rows = [r for r in b.data.subject_table if r["ecosystem"] == key]
    if not rows:
        return
    page.add('<section class="card"><h2>Subjects tracked</h2><p class="note">Latest stored value of '
             'each metric per subject (role primary/member: counted in the family total; tracked/item: '
             'shown apart).</p>' + table(
                 ["source", "subject", "canonical name", "role", "kind", "metric", "latest value", "day"],
                 [(r["source"], r["subject"], r["canonical"] if r["canonical"] != r["subject"] else "",
                   r["role"], r["kind"], r["metric"] or "—", r["value"], r["day"] or "")
                  for r in rows], numeric=(6,)) + "</section>")
