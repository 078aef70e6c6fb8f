"""The capability page (capability.html): best open-weights vs best proprietary model on each Arena
board, the open share of the top 10, each family's best score beside its adoption, and the latest board."""
from __future__ import annotations

from typing import Any

from dashboards import charts
from dashboards.builder import Builder
from dashboards.render import Page, esc, table
from warehouse.metrics import BY_NAME


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text.lower())


def headline(b: Builder, arena: str) -> str:
    """The latest board in words: who leads, by how much, how many of the top 10 are open."""
    rows = [r for r in b.data.capability if r["arena"] == arena]
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


def build(b: Builder) -> Page:
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
    arenas = list(dict.fromkeys(r["arena"] for r in b.data.capability))
    if not arenas:
        _empty(page, "Best open-weights vs best proprietary Arena score",
               "Arena boards (best_open_score, best_proprietary_score, open_in_top10)")
    for arena in arenas:
        _arena(b, page, arena, len(arenas) > 1)
    _families(b, page)
    _board(b, page)
    _statements(b, page)
    return page


def _arena(b: Builder, page: Page, arena: str, several: bool) -> None:
    """One arena's headline, its open-vs-proprietary gap and the open share of its top 10."""
    rows = [r for r in b.data.capability if r["arena"] == arena]
    suffix = f" ({arena} arena)" if several else ""
    cid = f"-{_slug(arena)}" if several else ""
    page.add(f'<p class="headline">{headline(b, arena)}</p>')
    csv_rows = [{k: r[k] for k in ("day", "arena", "best_open_score", "best_proprietary_score",
                                   "open_gap", "best_open_model", "best_proprietary_model",
                                   "leaderboard_models", "unmapped_license_models", "flags")}
                for r in rows]
    b.add_chart(page, f"gap{cid}", charts.capability_gap(rows, events=b.events), csv_rows,
                f"Best open-weights vs best proprietary Arena score{suffix}",
                "Highest score of an open-weights model (green) and of a proprietary model (dark) "
                "on each board; the shaded band is the gap (open_gap = best proprietary − best "
                "open). A figure an unmapped license could change carries the flag "
                "unmapped_license.")
    csv_rows = [{k: r[k] for k in ("day", "arena", "open_share_top10", "open_in_top10",
                                   "leaderboard_models", "flags")}
                for r in rows if r["open_share_top10"] is not None]
    if csv_rows:
        b.add_chart(page, f"top10{cid}", charts.open_share_top10(csv_rows, events=b.events),
                csv_rows, f"Open-weights share of the top 10{suffix}",
                "open_in_top10 / min(10, models on the board), per board (a step holds until "
                "the next board).")


def _empty(page: Page, title: str, what: str) -> None:
    page.add(f'<section class="card empty"><h2>{esc(title)}</h2><p>No data yet for {esc(what)}. '
             f'Fill it with <code>{esc(BY_NAME["best_open_score"].fill)}</code> (then the daily '
             f'<code>ecotrend run</code> adds new boards). The collector stays idle until '
             f'<code>[arena.licenses]</code> and the ecosystems\' <code>leaderboard_aliases</code> are '
             f'configured in ecotrend.toml.</p></section>')


def _families(b: Builder, page: Page) -> None:
    """Each family's best Arena score above its adoption (repositories), on one shared time axis."""
    title = "Each family's best Arena score beside its adoption"
    fam = b.data.capability_family
    if not fam:
        _empty(page, title, "family best scores (leaderboard_aliases matching board models)")
        return
    arena = max({r["arena"] for r in fam}, key=lambda a: (sum(1 for r in fam if r["arena"] == a), a))
    fam = [r for r in fam if r["arena"] == arena]
    first = min(r["day"] for r in fam)
    score_panel, adopt_panel = "best Arena score", "GitHub repositories (repo_count)"
    rows: list[dict[str, Any]] = []
    order = [e["ecosystem"] for e in b.data.ecosystems]
    keys = sorted({r["ecosystem"] for r in fam}, key=lambda k: order.index(k) if k in order else len(order))
    for key in keys:
        label = b.labels.get(key, key)
        rows += [{"day": r["day"], "ecosystem": key, "label": label, "panel": score_panel,
                  "value": r["best_score"], "detail": f"{r['best_model']} (rank {r['best_rank']:.0f})"
                  if r["best_rank"] is not None else r["best_model"], "method": "snapshot"}
                 for r in fam if r["ecosystem"] == key]
        rows += [{"day": r["day"], "ecosystem": key, "label": label, "panel": adopt_panel,
                  "value": r["value"], "detail": r["subjects"], "method": r["method"]}
                 for r in b.family_rows("repo_count", [key]) if r["day"] >= first]
    b.add_chart(page, "families", charts.family_panels(rows, colors=b.colors,
                                                      panels=[score_panel, adopt_panel]),
                rows, title,
                f"Left: the best score of the family's models on each board of the {arena} arena "
                f"(models matched by leaderboard_aliases; hover for the model and its rank). Right: "
                f"repositories matching the family's query over the same days. Every panel shares "
                f"the time axis; the scores share one scale so families compare, the repository "
                f"counts have a scale per family.")


def _statements(b: Builder, page: Page) -> None:
    """Each published statement about a board beside the board live that day, differences said plainly."""
    for st, rows in zip(b.data.statements, b.data.statement_boards):
        title = f"What was said on {st.day}, and what the board said"
        if not rows:
            page.add(f'<section class="card empty"><h2>{esc(title)}</h2><p>{esc(st.source)} is set beside '
                     f'the {esc(st.arena)} arena board live on {esc(st.day)}, which is not stored yet: '
                     f'<code>ecotrend backfill --source arena --since {esc(st.day[:8])}01</code> brings '
                     f'it.</p></section>')
            continue
        cells, differ = _statement_rows(st, rows)
        verdict = ("The board agrees on every point." if not differ else
                   "Where they differ: " + "; ".join(differ) + ".")
        page.add(f'<section class="card"><h2>{esc(title)}</h2><p class="note">{esc(st.source)} against the '
                 f'{esc(st.arena)} arena board of {esc(rows[0]["day"])}, the one live on {esc(st.day)}; open '
                 f'weights and commercial use from [arena.licenses]. {esc(verdict)}</p>'
                 + table(["", f"said on {st.day}", f"the board of {rows[0]['day']}"], cells) + "</section>")


def _statement_rows(st: Any, rows: list[dict[str, Any]]) -> tuple[list[tuple[str, str, str]], list[str]]:
    """(the table's rows, the points where board and statement differ)."""
    scored = [r for r in rows if r["score"] is not None]
    top, rest = scored[:st.top_proprietary], scored[st.top_proprietary:]
    open_top = [r["model"] for r in top if r["open_weights"]]
    closed_rest = [r["model"] for r in rest if r["open_weights"] is False]
    non_com = sum(1 for r in rows if r["commercial_use"] is False)
    unscored = [r for r in rows if r["score"] is None]
    board = [f"{len(rows)} ({len(scored)} with a score)",
             "all proprietary" if not open_top else
             f"{st.top_proprietary - len(open_top)} proprietary; open: {', '.join(open_top)}",
             ", ".join(closed_rest) or "none", str(non_com)]
    said = [str(st.models), "all proprietary", ", ".join(st.closed_in_rest) or "none", str(st.non_commercial)]
    labels = ["models on the board", f"top {st.top_proprietary} by score",
              "proprietary among the rest (with a score)", "not licensed for commercial use"]
    differ = [f"{label}: said {a}, the board {b_}" for label, a, b_ in zip(labels, said, board)
              if (a != b_ if label != labels[0] else st.models != len(rows))]
    closed_unscored = [r["model"] for r in unscored if r["open_weights"] is False]
    if unscored and open_top:
        differ.append(f"{len(unscored)} models had no score yet"
                      + (f", the proprietary {', '.join(closed_unscored)} among them" if closed_unscored else ""))
    return list(zip(labels, said, board)), differ


def _board(b: Builder, page: Page) -> None:
    board = b.data.board
    title = "The latest board"
    if not board:
        _empty(page, title, "the leaderboard table")
        return
    for arena in dict.fromkeys(r["arena"] for r in board):
        rows = [r for r in board if r["arena"] == arena]

        def yes_no(v: Any) -> str:
            return "unmapped" if v is None else ("yes" if v else "no")
        cells, classes = [], []
        for r in rows:
            cells.append((r["model"], r["organization"] or "", r["license"] or "(none)",
                          yes_no(r["open_weights"]), yes_no(r["commercial_use"]), r["score"],
                          r["rank"], b.labels.get(r["ecosystem"], "") if r["ecosystem"] else ""))
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
