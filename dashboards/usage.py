"""The Usage section of the overview and of each family page: OpenRouter token share by family and the
open-weight share of all tokens (each chart carrying OpenRouter's citation with its as-of, as CC BY 4.0
asks), Ollama pulls and Replicate runs."""
from __future__ import annotations

from typing import Any

from dashboards import charts, leads
from dashboards.builder import SUBJECTS_TIP, Builder
from dashboards.render import Page, esc

# Metrics this section charts; a family page leaves them out of its metric-by-metric charts.
USAGE_METRICS = ("tokens_day", "token_share", "open_weight_token_share", "pulls", "runs", "runs_day")
OPENROUTER_METRICS = ("tokens_day", "token_share", "open_weight_token_share")  # each chart cites OpenRouter
CITATION = "Source: OpenRouter (openrouter.ai/rankings), as of {as_of}"
TOKENIZER_NOTE = ("Tokens are counted by each provider's own tokenizer: a token of one model is not the same "
                  "amount of text as a token of another, so compare a family with itself over time, and "
                  "shares within a day, rather than token counts across families.")
# What turns each source on: the keys of a family in ecotrend.toml, and the variable its key is read from.
ENABLES = {"openrouter": ("openrouter_authors or openrouter_models", "OPENROUTER_API_KEY"),
           "ollama": ("ollama_models", ""), "replicate": ("replicate_models", "REPLICATE_API_TOKEN")}
SOURCE_OF = {"token_share": "openrouter", "open_weight_token_share": "openrouter", "pulls": "ollama",
             "runs": "replicate"}
OR_TIPS = [charts.tip("tokens_day", "tokens that day", ",.0f"), charts.tip("as_of", "OpenRouter as of"),
           charts.tip("flags", "flags")]


def section(b: Builder, page: Page, key: str | None = None) -> None:
    """The section for every family (overview) or for one (its page)."""
    keys = [key] if key else [e["ecosystem"] for e in b.data.ecosystems]
    if key and not _wanted(b, key):
        page.add('<h2 id="usage">Usage</h2>')
        _empty(b, page, "Usage: OpenRouter tokens, Ollama pulls, Replicate runs", "token_share, pulls and runs",
               ("openrouter", "ollama", "replicate"), keys)
        return
    page.add('<h2 id="usage">Usage: OpenRouter tokens, Ollama pulls, Replicate runs</h2><p class="howto">'
             'Attention (stars, downloads) is not use. These count use: the share of all tokens served '
             'through OpenRouter, pulls of local models from the Ollama library, runs on Replicate.</p>')
    line = _lead_line(b, key)
    if line:
        page.add(f'<p class="headline">{line}</p>')
    _token_share(b, page, keys, key)
    _open_weight(b, page)
    for metric in ("pulls", "runs"):
        if key is None:
            _per_family(b, page, metric)
        elif SOURCE_OF[metric] in b.data.plan(key).usage or _model_rows(b, key, metric):
            _per_model(b, page, key, metric)


def _wanted(b: Builder, key: str) -> bool:
    """Whether a family configures a usage source or has usage figures."""
    return bool(b.data.plan(key).usage) or any(
        r["ecosystem"] == key and r["metric"] in USAGE_METRICS for r in [*b.data.daily, *b.data.subjects])


def citation(rows: list[dict[str, Any]]) -> str:
    """OpenRouter's citation with the latest as-of of the rows shown."""
    as_of = max((str(r["as_of"]) for r in rows if r.get("as_of")), default="")
    return CITATION.format(as_of=as_of or "unknown")


def _lead_line(b: Builder, key: str | None) -> str:
    """Since when a family has led token share: over every other family (overview) or against the family
    a page compares with."""
    if key is None:
        row = leads.leader(b, "token_share")
        return leads.leader_sentence(b, row) if row else ""
    other = leads.anchor(b, key)
    row = leads.lead(b, "token_share", key, other) if other else None
    return leads.sentence(b, row) if row else ""


def _token_share(b: Builder, page: Page, keys: list[str], key: str | None) -> None:
    title = "Share of all OpenRouter tokens, by family" if key is None else \
        f"{b.labels.get(key, key)}'s share of all OpenRouter tokens"
    rows = [{"day": r["day"], "ecosystem": r["ecosystem"], "label": b.labels.get(r["ecosystem"], r["ecosystem"]),
             "metric": "token_share", "value": r["token_share"], "method": "snapshot",
             "tokens_day": r["tokens_day"], "as_of": r["as_of"], "flags": r["flags"] or ""}
            for r in b.data.openrouter if r["ecosystem"] in keys and r["token_share"] is not None]
    if not rows:
        _empty(b, page, title, "token_share", ("openrouter",), keys)
        return
    first_two = [e["ecosystem"] for e in b.data.ecosystems[:2]]
    pair = (key, leads.anchor(b, key)) if key else tuple(first_two)
    notes = leads.notes(b, "token_share", *pair) if len(pair) == 2 and all(pair) else []
    colors = b.colors if key is None else {b.labels.get(key, key): b.eco_colors.get(key, "#888888")}
    b.add_chart(page, "usage-token-share", charts.timeseries(
        charts.mark_ties(rows), y_title="share of all OpenRouter tokens", colors=colors, events=b.events,
        value_format=".1%", tooltip=OR_TIPS, notes=notes),
        rows, title, f"{b.note_for('token_share')} {TOKENIZER_NOTE} A family's models outside the day's "
        "top 50 are in OpenRouter's 'other' row, so a share is a lower bound.",
        metrics=("token_share",), citation=citation(rows))


def _open_weight(b: Builder, page: Page) -> None:
    title = "Share of OpenRouter tokens served by open-weight models"
    rows = [{"day": r["day"], "label": "open-weight models", "metric": "open_weight_token_share",
             "value": r["open_weight_token_share"], "method": "snapshot", "tokens_day": r["tokens_day"],
             "as_of": r["as_of"], "flags": r["flags"] or ""}
            for r in b.data.openrouter if r["subject"] == "open_weight" and r["open_weight_token_share"] is not None]
    if not rows:
        _empty(b, page, title, "open_weight_token_share", ("openrouter",), [])
        return
    b.add_chart(page, "usage-open-weight", charts.timeseries(
        rows, y_title="share of all OpenRouter tokens", colors={"open-weight models": charts.OPEN_COLOR},
        events=b.events, value_format=".1%", tooltip=OR_TIPS, labels=False),
        rows, title, f"{b.note_for('open_weight_token_share')} {TOKENIZER_NOTE} The flag unknown_weights marks "
        "days some listed model was missing from OpenRouter's model list (the share is then a lower bound).",
        metrics=("open_weight_token_share",), citation=citation(rows))


def _per_family(b: Builder, page: Page, metric: str) -> None:
    rows = b.family_rows(metric)
    title = f"{b.title_for(metric)}, per family"
    if not rows:
        _empty(b, page, title, metric, (SOURCE_OF[metric],), [e["ecosystem"] for e in b.data.ecosystems])
        return
    b.add_chart(page, f"usage-{metric}", charts.timeseries(
        charts.mark_ties(rows), y_title=b.y_title(metric), colors=b.colors, events=b.events,
        tooltip=SUBJECTS_TIP), rows, title,
        b.note_for(metric, "A family's figure is the sum over its configured models."), logable=True,
        metrics=(metric,))


def _model_rows(b: Builder, key: str, metric: str) -> list[dict[str, Any]]:
    return [{"day": r["day"], "label": r["subject"], "subject": r["subject"], "metric": metric,
             "value": r["value"], "method": r["method"], "flags": r["flags"] or ""}
            for r in b.data.subjects if r["ecosystem"] == key and r["metric"] == metric]


def _per_model(b: Builder, page: Page, key: str, metric: str) -> None:
    rows = _model_rows(b, key, metric)
    title = f"{b.title_for(metric)}, per model"
    if not rows:
        _empty(b, page, title, metric, (SOURCE_OF[metric],), [key])
        return
    b.add_chart(page, f"usage-{metric}", charts.timeseries(
        charts.mark_ties(rows), y_title=b.y_title(metric), events=b.events, legend_title=None,
        tooltip=[charts.tip("flags", "flags")]), rows, title,
        b.note_for(metric, "One line per configured model (top 10 by latest value)."), logable=True,
        metrics=(metric,))


def _empty(b: Builder, page: Page, title: str, what: str, sources: tuple[str, ...], keys: list[str]) -> None:
    """A dashed box naming what enables the figures: the family keys, the key variable, the command."""
    tokens = dict(b.site.token_envs)
    needs = []
    for src in sources:
        cfg_keys, default_var = ENABLES[src]
        have = [b.labels.get(k, k) for k in keys if src in b.data.plan(k).usage]
        text = f"<code>{esc(cfg_keys)}</code> on a family in ecotrend.toml" + (
            f" (configured for {esc(', '.join(have))})" if have else " (none configured)")
        var = tokens.get(src, default_var)
        if var:
            text += f" and the key in <code>{esc(var)}</code>"
        needs.append(f"{esc(src)}: {text}")
    fills = " and ".join(f"<code>{esc(b.fill(m))}</code>" for m in dict.fromkeys(
        "token_share" if s == "openrouter" else {"ollama": "pulls", "replicate": "runs"}[s] for s in sources))
    page.add(f'<section class="card empty"><h2>{esc(title)}</h2><p>No data yet for {esc(what)}. It needs '
             f'{"; ".join(needs)}. Fill it with {fills}.</p></section>')
