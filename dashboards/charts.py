"""Chart builders: plain rows in, a Vega-Lite spec out; no I/O, no queries.

The time-series builders write the Vega-Lite JSON directly (plain dicts): building a few hundred
charts through Altair's object model cost most of a site build.  The capability page's three charts
are still built with Altair (``alt.Chart``); a page turns either into the same JSON.

Conventions shared by every time chart: the x axis is the UTC day (ISO strings; tooltips show
YYYY-MM-DD), colours come from the config, the line's dash tells the method (solid snapshot, dotted
derived, dashed backfill), diamonds mark reference figures quoted by the 2023 analysis, grey rules
mark release events, a line's name is written at its end (tied lines share one label), totals start
at zero, ranks read top-down, a one-day collapse is left out of the line and drawn as a hollow
point, a change in what a series adds up breaks the line and is named on the chart, the legend
selects a series, and dragging/scrolling zooms and pans the time axis.
"""
from __future__ import annotations

import datetime as dt
import itertools
import warnings
from collections.abc import Iterable, Sequence
from typing import Any

import altair as alt

Rows = Sequence[dict[str, Any]]
Spec = dict[str, Any]

METHODS = ["snapshot", "derived", "backfill"]
METHOD_DASH = alt.Scale(domain=METHODS, range=[[1, 0], [2, 2], [7, 4]])
DASHES = {"domain": METHODS, "range": [[1, 0], [2, 2], [7, 4]]}
# A day in a tooltip: the ISO date, formatted in UTC (the field is parsed as a date by the x axis).
DAY_TIP = {"field": "day", "type": "temporal", "timeUnit": "utcyearmonthdate", "format": "%Y-%m-%d",
           "title": "day"}
LABEL_GAP_PX = 12  # direct labels closer than this are nudged apart
NOTE_COLOR = "#8a5a00"


def tip(field: str, title: str, fmt: str | None = None, kind: str = "nominal") -> dict[str, Any]:
    """A tooltip entry; ``fmt`` a d3 number format (thousands separators) for quantities."""
    t: dict[str, Any] = {"field": field, "type": kind, "title": title}
    if fmt:
        t["format"], t["type"] = fmt, "quantitative"
    return t


def day_tip(title: str = "day") -> dict[str, Any]:
    return {**DAY_TIP, "title": title}


def _span(rows: Rows) -> int:
    days = sorted(r["day"] for r in rows)
    return (dt.date.fromisoformat(days[-1]) - dt.date.fromisoformat(days[0])).days if days else 0


def x_axis(rows: Rows = ()) -> dict[str, Any]:
    """The UTC day axis, ticks suited to the span (days for weeks, months for a year, years beyond)."""
    span = _span(rows)
    if span <= 14:
        axis = {"format": "%d %b", "tickCount": {"interval": "day", "step": 1}}
    elif span <= 70:
        axis = {"format": "%d %b", "tickCount": {"interval": "week", "step": 1}}
    elif span <= 900:
        axis = {"format": "%b %Y", "tickCount": {"interval": "month", "step": 1 if span <= 400 else 3}}
    else:
        axis = {"format": "%Y", "tickCount": {"interval": "year", "step": 1}}
    axis.update(labelOverlap=True, grid=False)
    return {"field": "day", "type": "temporal", "title": None, "scale": {"type": "utc"}, "axis": axis}


def _alt_x(rows: Rows = ()) -> alt.X:
    return alt.X.from_dict(x_axis(rows), validate=False)


def color_enc(series: str, rows: Rows, colors: dict[str, str] | None, legend_title: str | None) -> dict[str, Any]:
    """Colour per series; the legend wraps in columns (the page narrows them to fit its width)."""
    present = list(dict.fromkeys(r[series] for r in rows))
    longest = max((len(str(p)) for p in present), default=8)
    legend = {"title": legend_title, "orient": "top", "labelLimit": 260, "symbolStrokeWidth": 3,
              "columns": max(1, min(len(present), 900 // (longest * 7 + 40)))}
    if colors:
        domain = [k for k in colors if k in present] + [k for k in present if k not in colors]
        return {"field": series, "type": "nominal", "legend": legend, "sort": domain,
                "scale": {"domain": domain, "range": [colors.get(k, "#888888") for k in domain]}}
    return {"field": series, "type": "nominal", "scale": {"scheme": "tableau10"}, "legend": legend}


def _in_span(events: Iterable[dict[str, Any]], rows: Rows) -> list[dict[str, Any]]:
    days = [r["day"] for r in rows]
    if not days:
        return []
    lo, hi = min(days), max(days)
    return [e for e in events if lo <= e["day"] <= hi]


def event_layer(events: Rows) -> list[Spec]:
    """Release events as dotted grey rules, labelled at the top on the rule's right (never cut off at
    the left edge)."""
    if not events:
        return []
    x = {"field": "day", "type": "temporal"}
    rule = {"mark": {"type": "rule", "color": "#777777", "strokeDash": [2, 3], "strokeWidth": 1},
            "encoding": {"x": x, "tooltip": [tip("label", "release"), day_tip()]}}
    text = {"mark": {"type": "text", "angle": 270, "align": "right", "baseline": "top", "dx": -4, "dy": 3,
                     "fontSize": 10, "color": "#555555"},
            "encoding": {"x": x, "y": {"value": 0}, "text": {"field": "label", "type": "nominal"}}}
    return [{"data": {"values": _slim(events, ["day", "label"])}, "layer": [rule, text]}]


def note_layer(notes: Rows) -> list[Spec]:
    """Notes written on the chart at a day (a series changing what it adds up, a lead taken): a rule
    in brown with its text at the bottom."""
    if not notes:
        return []
    x = {"field": "day", "type": "temporal"}
    rule = {"mark": {"type": "rule", "color": NOTE_COLOR, "strokeDash": [6, 3], "strokeWidth": 1.5},
            "encoding": {"x": x, "tooltip": [tip("text", "note"), day_tip()]}}
    text = {"mark": {"type": "text", "angle": 270, "align": "left", "baseline": "top", "dx": 4, "dy": 3,
                     "fontSize": 10, "color": NOTE_COLOR, "fontWeight": "bold"},
            "encoding": {"x": x, "y": {"value": "height"}, "text": {"field": "text", "type": "nominal"}}}
    return [{"data": {"values": _slim(notes, ["day", "text"])}, "layer": [rule, text]}]


def _alt_event_layers(events: Rows) -> list[alt.LayerChart]:
    return [alt.LayerChart.from_dict(layer, validate=False) for layer in event_layer(events)]


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


def _suspect(prev: dict[str, Any] | None, row: dict[str, Any], nxt: dict[str, Any] | None) -> str:
    """Why a point is left out of its line ('' when it is not): flagged suspect, a one-day fall to
    zero between two non-zero days, or one day on which fewer subjects reported than on both sides."""
    if "suspect" in str(row.get("flags") or ""):
        return "flagged suspect"
    if prev is None or nxt is None or row.get("value") is None:
        return ""
    if row["value"] == 0 and (prev.get("value") or 0) > 0 and (nxt.get("value") or 0) > 0:
        return "a one-day drop to 0 (the days around it are not 0)"
    parts = row.get("parts")
    if parts and prev.get("parts") == nxt.get("parts") != parts:
        return f"{parts} that day, {prev['parts']} on the days around it"
    return ""


def honest(rows: Rows, series: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """Split rows into (line rows, points left out of the line, composition notes).

    Each series is read in day order.  A suspect point (see ``_suspect``) leaves the line, which
    breaks there, and is drawn apart.  Where ``parts`` (what a series adds up, e.g. "npm + PyPI")
    changes for good, the line gets a new segment (``seg``) and a note names the change.
    """
    by: dict[Any, list[dict[str, Any]]] = {}
    for r in rows:
        by.setdefault(r[series], []).append(r)
    line: list[dict[str, Any]] = []
    out: list[dict[str, Any]] = []
    notes: dict[tuple[str, str], list[str]] = {}
    for name, items in by.items():
        items = sorted(items, key=lambda r: r["day"])
        kept = []
        for i, r in enumerate(items):
            why = _suspect(items[i - 1] if i else None, r, items[i + 1] if i + 1 < len(items) else None)
            if why:
                out.append({**r, "why": why})
            else:
                kept.append(r)
        seg = 0
        for prev, r in zip([None, *kept], kept):
            if prev is not None and r.get("parts") != prev.get("parts"):
                seg += 1
                text = _change_text(prev.get("parts"), r.get("parts"))
                notes.setdefault((r["day"], text), []).append(str(name))
            line.append({**r, "seg": seg} if seg else r)
    note_rows = [{"day": d, "text": t, "series": ", ".join(s)} for (d, t), s in sorted(notes.items())]
    return line, out, note_rows


def _change_text(before: Any, after: Any) -> str:
    """'PyPI figures begin' for a part that appears, 'x figures end' for one that goes, else 'a → b'."""
    a = {p.strip() for p in str(before or "").split("+") if p.strip()}
    b = {p.strip() for p in str(after or "").split("+") if p.strip()}
    if a and b and not a.isdisjoint(b) and "of" not in str(after):
        bits = [f"{p} figures begin" for p in sorted(b - a)] + [f"{p} figures end" for p in sorted(a - b)]
        if bits:
            return "; ".join(bits)
    return f"{before} → {after}"


def _short(text: str, limit: int = 26) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def end_labels(rows: Rows, series: str, height: int, top: float) -> list[dict[str, Any]]:
    """A label at the end of each line; lines ending on the same value share one label ("A = B"), and
    labels closer than LABEL_GAP_PX (on a zero-based axis of ``height`` px up to ``top``) are nudged."""
    last: dict[Any, dict[str, Any]] = {}
    for r in rows:
        if r.get("value") is not None and (r[series] not in last or r["day"] >= last[r[series]]["day"]):
            last[r[series]] = r
    if len(last) < 2:
        return []
    groups: dict[tuple[str, float], list[str]] = {}
    for name, r in last.items():
        groups.setdefault((r["day"], r["value"]), []).append(str(name))
    labels = sorted(({"day": d, "value": v, "text": _short(" = ".join(names)), "at": v}
                     for (d, v), names in groups.items()), key=lambda x: x["value"])
    step = LABEL_GAP_PX * (top or 1) / max(height, 1)
    for lower, upper in itertools.pairwise(labels):
        if upper["day"] == lower["day"] and upper["value"] - lower["value"] < step:
            upper["value"] = lower["value"] + step
    return labels


def _axis_format(rows: Rows, value_format: str) -> str:
    top = max((abs(r["value"]) for r in rows if r.get("value") is not None), default=0.0)
    return ("~s" if top >= 10_000 else ",~r") if value_format == ",.0f" else value_format


def _line_layers(series: str, color: dict[str, Any], x: dict[str, Any], y: dict[str, Any], tips: list[Any],
                 segmented: bool, short: bool) -> list[Spec]:
    """The lines (legend pick, x zoom) and the transparent hover points carrying the tooltips."""
    detail = [{"field": series, "type": "nominal"}] + ([{"field": "seg", "type": "nominal"}] if segmented else [])
    lines = {"mark": {"type": "line", "strokeWidth": 2, "interpolate": "linear"},
             "params": [{"name": "pick", "select": {"type": "point", "fields": [series]}, "bind": "legend"},
                        {"name": "zoom", "select": {"type": "interval", "encodings": ["x"]}, "bind": "scales"}],
             "encoding": {"x": x, "y": y, "color": color,
                          "strokeDash": {"field": "method", "type": "nominal", "scale": DASHES,
                                         "legend": {"title": "method", "orient": "top"}},
                          "detail": detail,
                          "opacity": {"condition": {"param": "pick", "value": 1.0}, "value": 0.12}}}
    # Short histories (a few daily runs) get visible points: a one-point line draws nothing.
    hover = {"mark": {"type": "circle", "size": 45 if short else 70, "opacity": 0.9 if short else 0},
             "encoding": {"x": x, "y": y, "color": color, "tooltip": tips}}
    return [lines, hover]


def _side_layers(series: str, color: dict[str, Any], x: dict[str, Any], y: dict[str, Any],
                 left_out: list[dict[str, Any]], labels: list[dict[str, Any]], value_tip: dict[str, Any]
                 ) -> list[Spec]:
    """Points left out of the line (hollow, with the reason) and the labels at the lines' ends."""
    layers: list[Spec] = []
    if left_out:
        layers.append({"data": {"values": _slim(left_out, ["day", series, "value", "method", "why"])},
                       "mark": {"type": "point", "shape": "circle", "filled": False, "size": 60, "strokeWidth": 1.5},
                       "encoding": {"x": x, "y": y, "color": color, "tooltip": [
                           tip(series, "series"), day_tip(), value_tip, tip("why", "left out of the line")]}})
    if labels:
        layers.append({"data": {"values": _slim(labels, ["day", "value", "text", "at"])},
                       "mark": {"type": "text", "align": "right", "baseline": "bottom", "dx": -3, "dy": -4,
                                "fontSize": 11, "fontWeight": "bold", "color": "#333333"},
                       "encoding": {"x": x, "y": y, "text": {"field": "text", "type": "nominal"},
                                    "tooltip": [tip("text", "series"), day_tip(),
                                                {**value_tip, "field": "at"}]}})
    return layers


def _ref_layer(refs: Rows, series: str, color: dict[str, Any], x: dict[str, Any], y: dict[str, Any],
               value_tip: dict[str, Any]) -> list[Spec]:
    if not refs:
        return []
    return [{"data": {"values": _slim(refs, ["day", series, "value", "subject", "note"])},
             "mark": {"type": "point", "shape": "diamond", "filled": True, "size": 110, "stroke": "#111111",
                      "strokeWidth": 1, "opacity": 1},
             "encoding": {"x": x, "y": y, "color": color,
                          "tooltip": [tip(series, "series"), day_tip(), value_tip, tip("subject", "subject"),
                                      tip("note", "source")]}}]


def timeseries(rows: Rows, *, y_title: str, series: str = "label", colors: dict[str, str] | None = None,
               events: Rows = (), refs: Rows = (), value_format: str = ",.0f", height: int = 260,
               legend_title: str | None = None, tooltip: Sequence[dict[str, Any]] = (),
               y_scale: dict[str, Any] | None = None, notes: Rows = (), labels: bool = True) -> Spec:
    """Lines per series over days (see the module's conventions); ``notes`` are written on the chart."""
    line_rows, left_out, changes = honest(rows, series)
    refs = _in_span(refs, rows)  # a 2023 figure beside a 2026-only series would squash the chart
    color = color_enc(series, list(rows) + list(refs), colors, legend_title)
    x = x_axis(rows)
    scale = y_scale or {"zero": True}
    y = {"field": "value", "type": "quantitative", "title": y_title, "scale": scale,
         "axis": {"format": _axis_format(rows, value_format)}}
    value_tip = tip("value", y_title, value_format)
    tips = [tip(series, "series"), day_tip(), value_tip, tip("method", "method"), *tooltip]
    if any("tied" in r for r in line_rows):
        tips.append(tip("tied", "same value"))
    extra = [t["field"] for t in tooltip]
    data = _slim(with_breaks(line_rows, series), ["day", series, "value", "method", "seg", "tied", *extra])
    if not any(r.get("seg") for r in data):
        data = [{k: v for k, v in r.items() if k != "seg"} for r in data]
    top = max((r["value"] for r in line_rows if r.get("value") is not None), default=0.0)
    ends = end_labels(line_rows, series, height, top) if labels and not scale.get("reverse") else []
    short = len({r["day"] for r in rows}) <= 14
    layers = _line_layers(series, color, x, y, tips, any("seg" in r for r in data), short)
    layers += _side_layers(series, color, x, y, left_out, ends, value_tip)
    layers += _ref_layer(refs, series, color, x, y, value_tip)
    layers += event_layer(_in_span(events, rows))
    layers += note_layer([*changes, *_in_span(notes, rows)])
    return {"width": "container", "height": height, "config": {"view": {"stroke": None}},
            "data": {"values": data}, "layer": layers}


def mark_ties(rows: Rows, series: str = "label") -> list[dict[str, Any]]:
    """Name, on each row, the other series with exactly the same value that day (``tied``)."""
    by: dict[tuple[str, Any], list[str]] = {}
    for r in rows:
        if r.get("value") is not None:
            by.setdefault((r["day"], r["value"]), []).append(str(r[series]))
    out = []
    for r in rows:
        same = [s for s in by.get((r["day"], r.get("value")), []) if s != str(r[series])]
        out.append({**r, "tied": ", ".join(same)} if same else r)
    return out


def share(rows: Rows, *, title_a: str, title_b: str, color: str, field_a: str, field_b: str,
          events: Rows = (), notes: Rows = ()) -> Spec:
    """A's share of A+B (0–1) per day, with the labelled 50 % line (parity)."""
    x = x_axis(rows)
    y = {"field": "value", "type": "quantitative", "title": f"{title_a} share of {title_a} + {title_b}",
         "scale": {"domain": [0, 1]}, "axis": {"format": "%"}}
    line = {"mark": {"type": "line", "strokeWidth": 2, "color": color},
            "params": [{"name": "zoom", "select": {"type": "interval", "encodings": ["x"]}, "bind": "scales"}],
            "encoding": {"x": x, "y": y, "strokeDash": {"field": "method", "type": "nominal", "scale": DASHES,
                                                        "legend": {"title": "method", "orient": "top"}}}}
    hover = {"mark": {"type": "circle", "size": 70, "opacity": 0},
             "encoding": {"x": x, "y": y, "tooltip": [
                 day_tip(), tip("value", "share", ".1%"), tip(field_a, f"{title_a} repositories", ",.0f"),
                 tip(field_b, f"{title_b} repositories", ",.0f"), tip("method", "method")]}}
    half = {"data": {"values": [{"y": 0.5, "text": f"50 %: {title_a} and {title_b} equal"}]},
            "layer": [{"mark": {"type": "rule", "color": "#999999", "strokeDash": [4, 4]},
                       "encoding": {"y": {"field": "y", "type": "quantitative"}}},
                      {"mark": {"type": "text", "align": "left", "baseline": "bottom", "dx": 4, "dy": -3,
                                "fontSize": 10, "color": "#666666"},
                       "encoding": {"y": {"field": "y", "type": "quantitative"}, "x": {"value": 0},
                                    "text": {"field": "text", "type": "nominal"}}}]}
    layers = [line, hover, half, *event_layer(_in_span(events, rows)), *note_layer(_in_span(notes, rows))]
    data = _slim(rows, ["day", "value", field_a, field_b, "method"])
    return {"width": "container", "height": 220, "config": {"view": {"stroke": None}},
            "data": {"values": data}, "layer": layers}


def aligned(rows: Rows, *, y_title: str, colors: dict[str, str]) -> Spec:
    """Each family against days since its own first release (x = 0 is the release)."""
    x = {"field": "since", "type": "quantitative", "title": "days since the family's first release",
         "axis": {"tickCount": 10}}
    y = {"field": "value", "type": "quantitative", "title": y_title, "axis": {"format": "~s"},
         "scale": {"zero": True}}
    color = color_enc("label", rows, colors, None)
    lines = {"mark": {"type": "line", "strokeWidth": 2},
             "params": [{"name": "pick", "select": {"type": "point", "fields": ["label"]}, "bind": "legend"},
                        {"name": "zoom", "select": {"type": "interval", "encodings": ["x"]}, "bind": "scales"}],
             "encoding": {"x": x, "y": y, "color": color,
                          "opacity": {"condition": {"param": "pick", "value": 1.0}, "value": 0.12},
                          "strokeDash": {"field": "method", "type": "nominal", "scale": DASHES,
                                         "legend": {"title": "method", "orient": "top"}},
                          "detail": {"field": "label", "type": "nominal"}}}
    hover = {"mark": {"type": "circle", "size": 70, "opacity": 0},
             "encoding": {"x": x, "y": y, "color": color, "tooltip": [
                 tip("label", "family"), day_tip(), tip("since", "days since release", ",.0f"),
                 tip("value", y_title, ",.0f"), tip("method", "method")]}}
    zero = {"data": {"values": [{"since": 0}]}, "mark": {"type": "rule", "color": "#777777", "strokeDash": [2, 3]},
            "encoding": {"x": {"field": "since", "type": "quantitative"}}}
    data = _slim(rows, ["since", "day", "label", "value", "method"])
    return {"width": "container", "height": 260, "config": {"view": {"stroke": None}},
            "data": {"values": data}, "layer": [lines, hover, zero]}


def requests_per_day(rows: Rows) -> Spec:
    """Budget-costing requests per day, stacked by collector: one bar a day, a day axis."""
    span = _span(rows)
    x = {"field": "day", "type": "temporal", "timeUnit": "utcyearmonthdate", "title": None,
         "axis": {"format": "%d %b", "labelOverlap": True, "grid": False,
                  "tickCount": {"interval": "day", "step": 1 if span <= 14 else 7}},
         "bandPosition": 0}
    return {"width": "container", "height": 200, "config": {"view": {"stroke": None}},
            "data": {"values": list(rows)}, "mark": {"type": "bar", "width": {"band": 0.85}},
            "encoding": {"x": x,
                         "y": {"field": "requests", "type": "quantitative", "stack": "zero",
                               "title": "requests (304s and /rate_limit excluded)"},
                         "color": {"field": "collector", "type": "nominal", "scale": {"scheme": "tableau10"},
                                   "legend": {"orient": "top", "title": None, "columns": 4}},
                         "tooltip": [day_tip(), tip("collector", "collector"),
                                     tip("requests", "requests", ",.0f")]}}


def stars_cumulated(rows: Rows, *, colors: dict[str, str] | None = None, events: Rows = ()) -> Spec:
    """Stars held today, cumulated by the day each was given (star history), one line per repository."""
    return timeseries(rows, y_title="stars (cumulated star history)", series="label", colors=colors,
                      events=events, tooltip=[tip("gained", "gained that week", ",.0f")])



OPEN_COLOR, CLOSED_COLOR, GAP_COLOR = "#2ca02c", "#3b3b3b", "#f2b134"
SCORE_SERIES = ["best open-weights", "best proprietary"]


def capability_gap(rows: Rows, *, events: Rows = ()) -> alt.LayerChart:
    """Best open-weights against best proprietary Arena score per board, the gap between them shaded."""
    zoom = alt.selection_interval(bind="scales", encodings=["x"])
    x = _alt_x(rows)
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
        alt.Tooltip(**DAY_TIP | {"title": "board of"}), alt.Tooltip("series:N", title="series"),
        alt.Tooltip("model:N", title="model"), alt.Tooltip("score:Q", title="score", format=",.1f"),
        alt.Tooltip("open_gap:Q", title="gap (proprietary − open)", format=",.1f"),
        alt.Tooltip("leaderboard_models:Q", title="models on the board", format=",.0f"),
        alt.Tooltip("flags:N", title="flags")])
    layers = [area, lines, points, *_alt_event_layers(_in_span(events, rows))]
    data = _slim(rows, ["day", "best_open_score", "best_proprietary_score", "open_gap", "best_open_model",
                        "best_proprietary_model", "leaderboard_models", "flags"])
    return _with_data(alt.layer(*layers).properties(width="container", height=280), data)


def open_share_top10(rows: Rows, *, events: Rows = ()) -> alt.LayerChart:
    """Share of the board's 10 best-scored models that have open weights (0–1), per board."""
    zoom = alt.selection_interval(bind="scales", encodings=["x"])
    x = _alt_x(rows)
    y = alt.Y("open_share_top10:Q", title="open-weights share of the top 10", scale=alt.Scale(domain=[0, 1]),
              axis=alt.Axis(format="%"))
    base = alt.Chart().transform_filter("isValid(datum.open_share_top10)")
    area = base.mark_area(color=OPEN_COLOR, opacity=0.18, interpolate="step-after").encode(x=x, y=y)
    line = base.mark_line(color=OPEN_COLOR, strokeWidth=2, interpolate="step-after").encode(
        x=x, y=y).add_params(zoom)
    points = base.mark_circle(size=40, color=OPEN_COLOR, opacity=0.9).encode(x=x, y=y, tooltip=[
        alt.Tooltip(**DAY_TIP | {"title": "board of"}), alt.Tooltip("open_share_top10:Q", title="share", format=".0%"),
        alt.Tooltip("open_in_top10:Q", title="open-weights in the top 10", format=",.0f"),
        alt.Tooltip("leaderboard_models:Q", title="models on the board", format=",.0f"),
        alt.Tooltip("flags:N", title="flags")])
    half = alt.Chart(alt.Data(values=[{"y": 0.5}])).mark_rule(color="#999999", strokeDash=[4, 4]).encode(y="y:Q")
    layers = [area, line, points, half, *_alt_event_layers(_in_span(events, rows))]
    data = _slim(rows, ["day", "open_share_top10", "open_in_top10", "leaderboard_models", "flags"])
    return _with_data(alt.layer(*layers).properties(width="container", height=200), data)


def family_panels(rows: Rows, *, colors: dict[str, str], panels: Sequence[str]) -> alt.HConcatChart:
    """Small multiples: one row per family, one column per panel (the first, e.g. best Arena score, on
    one y scale shared by every family so families compare; the second, e.g. adoption, on a scale per
    family); the time axis is shared by every panel."""
    labels = list(dict.fromkeys(r["label"] for r in rows))
    color = alt.Color("label:N", scale=alt.Scale(domain=labels, range=[colors.get(k, "#888888") for k in labels]),
                      legend=None)
    x = _alt_x(rows)
    x.scale = alt.Scale(type="utc", padding=6)  # a board on the first or last day stays whole
    rows_named = alt.Facet("label:N", title=None, sort=labels,
                           header=alt.Header(labelAngle=0, labelAlign="left", labelFontWeight="bold"))
    rows_plain = alt.Facet("label:N", title=None, sort=labels, header=alt.Header(labels=False))
    tips = [alt.Tooltip("label:N", title="family"), alt.Tooltip("panel:N", title="panel"),
            alt.Tooltip(**DAY_TIP), alt.Tooltip("value:Q", title="value", format=",.1f"),
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
