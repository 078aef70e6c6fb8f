"""Chart builders: plain rows in, an ``alt.Chart`` out; no I/O, no queries.

Conventions shared by every time chart: the x axis is the UTC day (ISO strings), colours come from
the config, the line's dash tells the method (solid snapshot, dotted derived, dashed backfill),
diamonds mark reference figures quoted by the 2023 analysis, grey rules mark release events, the
legend selects a series, and dragging/scrolling zooms and pans the time axis.
"""
from __future__ import annotations

import datetime as dt
import itertools
import warnings
from collections.abc import Iterable, Sequence
from typing import Any

import altair as alt

Rows = Sequence[dict[str, Any]]

METHODS = ["snapshot", "derived", "backfill"]
METHOD_DASH = alt.Scale(domain=METHODS, range=[[1, 0], [2, 2], [7, 4]])


def _x(rows: Rows = ()) -> alt.X:
    """The UTC day axis, ticks suited to the span (days for weeks, months for a year, years beyond)."""
    days = sorted(r["day"] for r in rows)
    span = (dt.date.fromisoformat(days[-1]) - dt.date.fromisoformat(days[0])).days if days else 0
    if span <= 14:
        axis = alt.Axis(format="%d %b", tickCount={"interval": "day", "step": 1})
    elif span <= 70:
        axis = alt.Axis(format="%d %b", tickCount={"interval": "week", "step": 1})
    elif span <= 900:
        axis = alt.Axis(format="%b %Y", tickCount={"interval": "month", "step": 1 if span <= 400 else 3})
    else:
        axis = alt.Axis(format="%Y", tickCount={"interval": "year", "step": 1})
    axis.labelOverlap = True
    axis.grid = False
    return alt.X("day:T", title=None, scale=alt.Scale(type="utc"), axis=axis)


def _color(series: str, rows: Rows, colors: dict[str, str] | None, legend_title: str | None) -> alt.Color:
    present = list(dict.fromkeys(r[series] for r in rows))
    legend = alt.Legend(title=legend_title, orient="top", labelLimit=320, symbolStrokeWidth=3)
    if colors:
        domain = [k for k in colors if k in present] + [k for k in present if k not in colors]
        return alt.Color(f"{series}:N", scale=alt.Scale(domain=domain,
                                                        range=[colors.get(k, "#888888") for k in domain]),
                         legend=legend, sort=domain)
    return alt.Color(f"{series}:N", scale=alt.Scale(scheme="tableau10"), legend=legend)


def _in_span(events: Iterable[dict[str, Any]], rows: Rows) -> list[dict[str, Any]]:
    days = [r["day"] for r in rows]
    if not days:
        return []
    lo, hi = min(days), max(days)
    return [e for e in events if lo <= e["day"] <= hi]


def event_layers(events: Rows) -> list[alt.LayerChart]:
    """Release events as dotted grey rules labelled at the top of the plot."""
    if not events:
        return []
    rule = alt.Chart().mark_rule(color="#777777", strokeDash=[2, 3], strokeWidth=1).encode(
        x="day:T", tooltip=[alt.Tooltip("label:N", title="release"), alt.Tooltip("day:N", title="day")])
    text = alt.Chart().mark_text(angle=270, align="right", baseline="bottom", dx=-4, dy=-3, fontSize=10,
                                 color="#555555").encode(x="day:T", y=alt.value(0), text="label:N")
    return [alt.layer(rule, text, data=alt.Data(values=_slim(events, ["day", "label"])))]


def _field(t: alt.Tooltip) -> str:
    return str(t.to_dict().get("field", "")).split(":")[0]


def _slim(rows: Rows, fields: Iterable[str]) -> list[dict[str, Any]]:
    """Only the columns a chart encodes: page weight grows with every column of every row."""
    keep = list(dict.fromkeys(fields))
    return [{k: r.get(k) for k in keep} for r in rows]


def _with_data(chart: alt.LayerChart, rows: list[dict[str, Any]]) -> alt.LayerChart:
    """Attach the rows last: every Altair method copies the chart, data included."""
    chart = chart.configure_view(stroke=None)
    chart.data = alt.Data(values=rows)
    return chart


def with_breaks(rows: Rows, series: str) -> list[dict[str, Any]]:
    """Add a null row after each missing stretch so the line breaks there instead of bridging it.

    Only regular series are broken: day by day, week by week (Mondays), or day by day after weeks.
    A step longer than that is a gap (a day a source failed), which must not read as a smooth change.
    Irregular series (a leaderboard published now and then) are drawn as they are.
    """
    by: dict[tuple[Any, Any], list[dict[str, Any]]] = {}
    for r in rows:
        by.setdefault((r[series], r.get("method")), []).append(r)
    out: list[dict[str, Any]] = []
    for (name, method), items in by.items():
        items.sort(key=lambda r: r["day"])
        days = [dt.date.fromisoformat(r["day"]) for r in items]
        diffs = [(b - a).days for a, b in itertools.pairwise(days)]
        usual = sum(1 for a, d in zip(days, diffs) if d == 1 or (d == 7 and a.weekday() == 0))
        regular = bool(diffs) and usual * 2 >= len(diffs)  # most steps are a day or a Monday week
        for i, r in enumerate(items):
            out.append(r)
            if not regular or i == len(diffs):
                continue
            a, b, diff = days[i], days[i + 1], diffs[i]
            weekly_step = diff == 7 and a.weekday() == 0 and b.weekday() == 0
            if diff > 1 and not weekly_step:
                step = 7 if a.weekday() == 0 and diff >= 14 and b.weekday() == 0 else 1
                out.append({"day": (a + dt.timedelta(days=step)).isoformat(), series: name, "value": None,
                            "method": method})
    return out


def timeseries(rows: Rows, *, y_title: str, series: str = "label", colors: dict[str, str] | None = None,
               events: Rows = (), refs: Rows = (), value_format: str = ",.0f", height: int = 260,
               legend_title: str | None = None, tooltip: Sequence[alt.Tooltip] = (),
               y_scale: alt.Scale | None = None) -> alt.LayerChart:
    """Lines per series over days; method as dash; reference diamonds; release rules; zoom and legend select."""
    pick = alt.selection_point(fields=[series], bind="legend")
    zoom = alt.selection_interval(bind="scales", encodings=["x"])
    color = _color(series, list(rows) + list(_in_span(refs, rows)), colors, legend_title)
    x = _x(rows)
    top = max((abs(r["value"]) for r in rows if r.get("value") is not None), default=0.0)
    axis_format = ("~s" if top >= 10_000 else ",~r") if value_format == ",.0f" else value_format
    y = alt.Y("value:Q", title=y_title, scale=y_scale or alt.Scale(zero=False), axis=alt.Axis(format=axis_format))
    tips = [alt.Tooltip(f"{series}:N", title="series"), alt.Tooltip("day:N", title="day"),
            alt.Tooltip("value:Q", title="value", format=value_format),
            alt.Tooltip("method:N", title="method"), *tooltip]
    data = _slim(with_breaks(rows, series), ["day", series, "value", "method", *(_field(t) for t in tooltip)])
    lines = alt.Chart().mark_line(strokeWidth=2, interpolate="linear").encode(
        x=x, y=y, color=color,
        strokeDash=alt.StrokeDash("method:N", scale=METHOD_DASH, legend=alt.Legend(title="method",
                                                                                  orient="top")),
        detail=f"{series}:N",
        opacity=alt.condition(pick, alt.value(1.0), alt.value(0.12)),
    ).add_params(pick, zoom)
    # Short histories (a few daily runs) get visible points: a one-point line draws nothing.
    short = len({r["day"] for r in rows}) <= 14
    hover = alt.Chart().mark_circle(size=45 if short else 70, opacity=0.9 if short else 0).encode(
        x=x, y=y, color=color, tooltip=tips)
    layers: list[Any] = [lines, hover]
    refs = _in_span(refs, rows)  # a 2023 figure beside a 2026-only series would squash the chart
    if refs:
        ref_data = _slim(refs, ["day", series, "value", "subject", "note"])
        layers.append(alt.Chart(alt.Data(values=ref_data)).mark_point(
            shape="diamond", filled=True, size=110, stroke="#111111", strokeWidth=1, opacity=1).encode(
            x=x, y=y, color=color,
            tooltip=[alt.Tooltip(f"{series}:N", title="series"), alt.Tooltip("day:N", title="day"),
                     alt.Tooltip("value:Q", title="value", format=value_format),
                     alt.Tooltip("subject:N", title="subject"), alt.Tooltip("note:N", title="source")]))
    layers += event_layers(_in_span(events, rows))
    return _with_data(alt.layer(*layers).properties(width="container", height=height), data)


def share(rows: Rows, *, title_a: str, title_b: str, color: str, events: Rows = ()) -> alt.LayerChart:
    """A's share of A+B (0–1) per day, with the 50 % line."""
    zoom = alt.selection_interval(bind="scales", encodings=["x"])
    base = alt.Chart()
    x = _x(rows)
    y = alt.Y("value:Q", title=f"{title_a} share of {title_a} + {title_b}", scale=alt.Scale(domain=[0, 1]),
              axis=alt.Axis(format="%"))
    line = base.mark_line(strokeWidth=2, color=color).encode(
        x=x, y=y, strokeDash=alt.StrokeDash("method:N", scale=METHOD_DASH,
                                               legend=alt.Legend(title="method", orient="top"))
    ).add_params(zoom)
    hover = base.mark_circle(size=70, opacity=0).encode(x=x, y=y, tooltip=[
        alt.Tooltip("day:N", title="day"), alt.Tooltip("value:Q", title="share", format=".1%"),
        alt.Tooltip("a:Q", title=title_a, format=",.0f"), alt.Tooltip("b:Q", title=title_b, format=",.0f"),
        alt.Tooltip("method:N", title="method")])
    half = alt.Chart(alt.Data(values=[{"y": 0.5}])).mark_rule(color="#999999", strokeDash=[4, 4]).encode(y="y:Q")
    layers = [line, hover, half, *event_layers(_in_span(events, rows))]
    data = _slim(rows, ["day", "value", "a", "b", "method"])
    return _with_data(alt.layer(*layers).properties(width="container", height=220), data)


def aligned(rows: Rows, *, y_title: str, colors: dict[str, str]) -> alt.LayerChart:
    """Each family against days since its own first release (x = 0 is the release)."""
    pick = alt.selection_point(fields=["label"], bind="legend")
    zoom = alt.selection_interval(bind="scales", encodings=["x"])
    base = alt.Chart()
    x = alt.X("since:Q", title="days since the family's first release", axis=alt.Axis(tickCount=10))
    y = alt.Y("value:Q", title=y_title, axis=alt.Axis(format="~s"), scale=alt.Scale(zero=False))
    color = _color("label", rows, colors, None)
    lines = base.mark_line(strokeWidth=2).encode(
        x=x, y=y, color=color, opacity=alt.condition(pick, alt.value(1.0), alt.value(0.12)),
        strokeDash=alt.StrokeDash("method:N", scale=METHOD_DASH, legend=alt.Legend(title="method",
                                                                                  orient="top")),
        detail="label:N").add_params(pick, zoom)
    hover = base.mark_circle(size=70, opacity=0).encode(x=x, y=y, color=color, tooltip=[
        alt.Tooltip("label:N", title="family"), alt.Tooltip("day:N", title="day"),
        alt.Tooltip("since:Q", title="days since release"),
        alt.Tooltip("value:Q", title="value", format=",.0f"), alt.Tooltip("method:N", title="method")])
    zero = alt.Chart(alt.Data(values=[{"since": 0}])).mark_rule(color="#777777", strokeDash=[2, 3]).encode(
        x="since:Q")
    data = _slim(rows, ["since", "day", "label", "value", "method"])
    return _with_data(alt.layer(lines, hover, zero).properties(width="container", height=260), data)


def requests_per_day(rows: Rows) -> alt.Chart:
    """Budget-costing requests per day, stacked by collector."""
    return alt.Chart(alt.Data(values=list(rows))).mark_bar().encode(
        x=alt.X("day:T", title=None, scale=alt.Scale(type="utc")),
        y=alt.Y("requests:Q", title="requests (304s and /rate_limit excluded)", stack="zero"),
        color=alt.Color("collector:N", scale=alt.Scale(scheme="tableau10"),
                        legend=alt.Legend(orient="top", title=None)),
        tooltip=[alt.Tooltip("day:N"), alt.Tooltip("collector:N"), alt.Tooltip("requests:Q", format=",.0f")],
    ).properties(width="container", height=200).configure_view(stroke=None)


OPEN_COLOR, CLOSED_COLOR, GAP_COLOR = "#2ca02c", "#3b3b3b", "#f2b134"
SCORE_SERIES = ["best open-weights", "best proprietary"]


def capability_gap(rows: Rows, *, events: Rows = ()) -> alt.LayerChart:
    """Best open-weights against best proprietary Arena score per board, the gap between them shaded."""
    zoom = alt.selection_interval(bind="scales", encodings=["x"])
    x = _x(rows)
    title = "Arena score of the best model"
    area = alt.Chart().mark_area(color=GAP_COLOR, opacity=0.35, interpolate="linear").encode(
        x=x, y=alt.Y("best_open_score:Q", title=title, scale=alt.Scale(zero=False)),
        y2="best_proprietary_score:Q",
    ).transform_filter("isValid(datum.best_open_score) && isValid(datum.best_proprietary_score)")
    folded = alt.Chart().transform_fold(
        ["best_open_score", "best_proprietary_score"], as_=["which", "score"]
    ).transform_filter("isValid(datum.score)").transform_calculate(
        series=f"datum.which === 'best_open_score' ? '{SCORE_SERIES[0]}' : '{SCORE_SERIES[1]}'",
        model="datum.which === 'best_open_score' ? datum.best_open_model : datum.best_proprietary_model")
    y = alt.Y("score:Q", title=title, scale=alt.Scale(zero=False), axis=alt.Axis(format=",~r"))
    color = alt.Color("series:N", scale=alt.Scale(domain=SCORE_SERIES, range=[OPEN_COLOR, CLOSED_COLOR]),
                      legend=alt.Legend(title=None, orient="top", symbolStrokeWidth=3))
    lines = folded.mark_line(strokeWidth=2).encode(x=x, y=y, color=color).add_params(zoom)
    points = folded.mark_circle(size=40, opacity=0.9).encode(x=x, y=y, color=color, tooltip=[
        alt.Tooltip("day:N", title="board of"), alt.Tooltip("series:N", title="series"),
        alt.Tooltip("model:N", title="model"), alt.Tooltip("score:Q", title="score", format=",.1f"),
        alt.Tooltip("open_gap:Q", title="gap (proprietary − open)", format=",.1f"),
        alt.Tooltip("leaderboard_models:Q", title="models on the board", format=",.0f"),
        alt.Tooltip("flags:N", title="flags")])
    layers = [area, lines, points, *event_layers(_in_span(events, rows))]
    data = _slim(rows, ["day", "best_open_score", "best_proprietary_score", "open_gap", "best_open_model",
                        "best_proprietary_model", "leaderboard_models", "flags"])
    return _with_data(alt.layer(*layers).properties(width="container", height=280), data)


def open_share_top10(rows: Rows, *, events: Rows = ()) -> alt.LayerChart:
    """Share of the board's 10 best-scored models that have open weights (0–1), per board."""
    zoom = alt.selection_interval(bind="scales", encodings=["x"])
    x = _x(rows)
    y = alt.Y("open_share_top10:Q", title="open-weights share of the top 10", scale=alt.Scale(domain=[0, 1]),
              axis=alt.Axis(format="%"))
    base = alt.Chart().transform_filter("isValid(datum.open_share_top10)")
    area = base.mark_area(color=OPEN_COLOR, opacity=0.18, interpolate="step-after").encode(x=x, y=y)
    line = base.mark_line(color=OPEN_COLOR, strokeWidth=2, interpolate="step-after").encode(
        x=x, y=y).add_params(zoom)
    points = base.mark_circle(size=40, color=OPEN_COLOR, opacity=0.9).encode(x=x, y=y, tooltip=[
        alt.Tooltip("day:N", title="board of"), alt.Tooltip("open_share_top10:Q", title="share", format=".0%"),
        alt.Tooltip("open_in_top10:Q", title="open-weights in the top 10", format=",.0f"),
        alt.Tooltip("leaderboard_models:Q", title="models on the board", format=",.0f"),
        alt.Tooltip("flags:N", title="flags")])
    half = alt.Chart(alt.Data(values=[{"y": 0.5}])).mark_rule(color="#999999", strokeDash=[4, 4]).encode(y="y:Q")
    layers = [area, line, points, half, *event_layers(_in_span(events, rows))]
    data = _slim(rows, ["day", "open_share_top10", "open_in_top10", "leaderboard_models", "flags"])
    return _with_data(alt.layer(*layers).properties(width="container", height=200), data)


def family_panels(rows: Rows, *, colors: dict[str, str], panels: Sequence[str]) -> alt.HConcatChart:
    """Small multiples: one row per family, one column per panel (the first, e.g. best Arena score, on
    one y scale shared by every family so families compare; the second, e.g. adoption, on a scale per
    family); the time axis is shared by every panel."""
    labels = list(dict.fromkeys(r["label"] for r in rows))
    color = alt.Color("label:N", scale=alt.Scale(domain=labels, range=[colors.get(k, "#888888") for k in labels]),
                      legend=None)
    x = _x(rows)
    x.scale = alt.Scale(type="utc", padding=6)  # a board on the first or last day stays whole
    rows_named = alt.Facet("label:N", title=None, sort=labels,
                           header=alt.Header(labelAngle=0, labelAlign="left", labelFontWeight="bold"))
    rows_plain = alt.Facet("label:N", title=None, sort=labels, header=alt.Header(labels=False))
    tips = [alt.Tooltip("label:N", title="family"), alt.Tooltip("panel:N", title="panel"),
            alt.Tooltip("day:N", title="day"), alt.Tooltip("value:Q", title="value", format=",.1f"),
            alt.Tooltip("detail:N", title="detail"), alt.Tooltip("method:N", title="method")]
    columns = []
    zoom = alt.selection_interval(bind="scales", encodings=["x"])
    for i, panel in enumerate(panels):
        y = alt.Y("value:Q", title=None, scale=alt.Scale(zero=False, padding=6),
                  axis=alt.Axis(format=",~r", tickCount=4))
        line = alt.Chart().mark_line(strokeWidth=2).encode(x=x, y=y, color=color, detail="method:N")
        points = alt.Chart().mark_circle(size=30 if i == 0 else 45, opacity=0.85 if i == 0 else 0).encode(
            x=x, y=y, color=color, tooltip=tips)
        cell = alt.layer(line.add_params(zoom), points).transform_filter(
            alt.datum.panel == panel).properties(width=440, height=90)
        facet = alt.FacetChart(spec=cell, facet=alt.FacetMapping(row=rows_named if i == 0 else rows_plain),
                               title=alt.TitleParams(panel, fontSize=12, fontWeight="normal"))
        columns.append(facet.resolve_scale(y="shared" if i == 0 else "independent"))
    data = _slim(rows, ["day", "label", "panel", "value", "detail", "method"])
    with warnings.catch_warnings():  # one zoom shared by both columns is what is meant
        warnings.filterwarnings("ignore", message="Automatically deduplicated selection parameter")
        chart = alt.hconcat(*columns).resolve_scale(x="shared").configure_view(stroke="#e3e6ec")
    chart.data = alt.Data(values=data)
    return chart
