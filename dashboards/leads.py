"""Lead changes in words and on charts, from the ``crossovers`` view: since when one family has stayed
ahead of another on a metric (complete days only; see warehouse/migrations.py).  The view keeps to levels
and flows; token share (a ratio) is led the same way from ``SiteData.share_leads``.  ``tokens_day`` leads
are not said: tokens are counted by each model's own tokenizer, and on any one day the order of two
families' tokens is the order of their shares, which is what is said instead."""
from __future__ import annotations

from typing import Any

from dashboards.builder import Builder
from dashboards.render import esc, table
from warehouse.metrics import noun


SHARE = "token_share"
UNSAID = ("tokens_day",)  # see the module's docstring


def _rows(b: Builder) -> list[dict[str, Any]]:
    return [r for r in b.data.crossovers if r["metric"] not in UNSAID] + b.data.share_leads


def lead(b: Builder, metric: str, a: str, c: str) -> dict[str, Any] | None:
    """The crossover row of whichever of ``a`` and ``c`` leads on ``metric`` (None: neither stays ahead)."""
    for r in _rows(b):
        if r["metric"] == metric and {r["ecosystem"], r["other"]} == {a, c}:
            return r
    return None


def leader(b: Builder, metric: str) -> dict[str, Any] | None:
    """The family ahead of every other family with figures on ``metric``, since the latest of those leads
    began (None: no family stays ahead of all)."""
    rows = [r for r in _rows(b) if r["metric"] == metric]
    families = {r["ecosystem"] for r in rows} | {r["other"] for r in rows}
    for key in sorted({r["ecosystem"] for r in rows}):
        mine = [r for r in rows if r["ecosystem"] == key]
        if {r["other"] for r in mine} == families - {key}:
            last = max(mine, key=lambda r: r["since"])
            return {**last, "others": len(mine),
                    "since_first_day": all(r["since_first_day"] and r["since"] == last["since"] for r in mine)}
    return None


def leader_sentence(b: Builder, row: dict[str, Any]) -> str:
    """'Qwen has had the largest share of OpenRouter tokens of the 8 families since DAY: 21.3% on DAY.'"""
    a = b.labels.get(row["ecosystem"], row["ecosystem"])
    return (f"{esc(a)} has had the largest share of OpenRouter tokens of the {row['others'] + 1} families "
            f"charted since <b>{esc(row['since'])}</b>"
            + (" (the first day all were counted)" if row["since_first_day"] else "")
            + f": {row['value']:.1%} of all tokens on {esc(row['day'])}.")


def sentence(b: Builder, row: dict[str, Any]) -> str:
    """'LLaMA has had more GitHub repositories than GPT since 2023-03-14' (HTML, escaped)."""
    a, c = b.labels.get(row["ecosystem"], row["ecosystem"]), b.labels.get(row["other"], row["other"])
    if row["metric"] == SHARE:
        return (f"{esc(a)} has had a larger share of OpenRouter tokens than {esc(c)} since "
                f"<b>{esc(row['since'])}</b>" + (" (the first day both were counted)" if row["since_first_day"]
                                                  else "")
                + f": {row['value']:.1%} against {row['other_value']:.1%} on {esc(row['day'])}.")
    text = (f"{esc(a)} has had more {esc(noun(row['metric']))} than {esc(c)} since <b>{esc(row['since'])}</b>"
            + (" (the first day both were counted)" if row["since_first_day"] else ""))
    return text + f": {row['value']:,.0f} against {row['other_value']:,.0f} on {esc(row['day'])}."


def notes(b: Builder, metric: str, a: str, c: str) -> list[dict[str, Any]]:
    """The day a lead began, as a note for a chart ('LLaMA ahead of GPT from here')."""
    row = lead(b, metric, a, c)
    if not row or row["since_first_day"]:
        return []
    ahead, behind = b.labels.get(row["ecosystem"]), b.labels.get(row["other"])
    return [{"day": row["since"], "text": f"{ahead} ahead of {behind} from {row['since']}"}]


def _noun(metric: str) -> str:
    return "share of OpenRouter tokens" if metric == SHARE else noun(metric)


def anchor(b: Builder, key: str) -> str | None:
    """The family a family is compared with in words: the first configured family, or the second for it."""
    keys = [e["ecosystem"] for e in b.data.ecosystems]
    others = [k for k in keys if k != key]
    return others[0] if others else None


def table_for(b: Builder, key: str) -> str:
    """Per metric: whom the family has stayed ahead of, and who ahead of it, since when."""
    per: dict[str, tuple[list[str], list[str]]] = {}
    for r in _rows(b):
        if key not in (r["ecosystem"], r["other"]):
            continue
        ahead, behind = per.setdefault(r["metric"], ([], []))
        if r["ecosystem"] == key:
            ahead.append(f"{b.labels.get(r['other'], r['other'])} (since {r['since']})")
        else:
            behind.append(f"{b.labels.get(r['ecosystem'], r['ecosystem'])} (since {r['since']})")
    if not per:
        return ""
    order = list(b.data.metrics)
    rows = [(_noun(m), ", ".join(per[m][0]) or "—", ", ".join(per[m][1]) or "—")
            for m in sorted(per, key=lambda m: order.index(m) if m in order else len(order))]
    return ('<section class="card"><h2>Who leads since when</h2><p class="note">From the view crossovers: '
            'the first day from which one family has stayed above the other through the latest day both '
            'report (days a subject was missing are left out).</p>'
            + table(["metric", "ahead of", "behind"], rows) + "</section>")
