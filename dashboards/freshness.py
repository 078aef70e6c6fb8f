"""Freshness, days behind and "not collected yet": one definition for ``ecotrend status``, the data-health
page and every empty state (jobs imports it; it imports nothing of the project).

Each function takes ``rows(sql, params)``: a query answered as a list of dicts whose days are ISO
strings (``dashboards.data.Reader.rows`` and the status command's reader both are).

- **Reference day**: the latest day a daily run (`run` or `collect`, status ok or partial) covered, up to
  the cutoff; without any daily run, the latest day any source reported.  It comes from the warehouse,
  not the clock, so a site built on the day and `status` asked weeks later say the same thing; how long
  ago that run was is a question about the clock, which `status` answers apart (`last_run_days_ago`).
- **Days behind** of a source: the reference day minus the last day the source reported.
- **Collected**: a metric with at least one observation (any source, subject or method but `reference`)
  up to the cutoff; "not collected yet" is every catalogue metric without one.  A metric collected but
  not per family (the Arena board's figures) is collected: the capability page charts it.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any

import duckdb

RowsFn = Callable[[str, list[Any]], list[dict[str, Any]]]
FAR = "9999-12-31"  # no cutoff
# Facts summed per series first (a small table), then joined to the series' names: no row-level join of
# every fact.  A warehouse not yet migrated to series ids is read through the ``observations`` view.
PER_SERIES = """(SELECT s.source, s.metric, s.method, f.rows, f.first_day, f.last_day FROM (
    SELECT series_id, count(*) AS rows, min(day) AS first_day, max(day) AS last_day FROM facts
    WHERE day <= CAST(? AS DATE) GROUP BY series_id) f JOIN series s ON s.series_id = f.series_id)"""
PER_ROW = """(SELECT source, metric, method, 1 AS rows, day AS first_day, day AS last_day FROM observations
    WHERE day <= CAST(? AS DATE))"""


def _spans(rows: RowsFn, select: str, cutoff: dt.date | str | None) -> list[dict[str, Any]]:
    """``select`` (with ``{t}`` for the per-series table) over the facts up to the cutoff."""
    try:
        return rows(select.format(t=PER_SERIES), [_cut(cutoff)])
    except duckdb.CatalogException:
        return rows(select.format(t=PER_ROW), [_cut(cutoff)])


def _cut(cutoff: dt.date | str | None) -> str:
    return cutoff.isoformat() if isinstance(cutoff, dt.date) else (cutoff or FAR)


def reference_day(rows: RowsFn, cutoff: dt.date | str | None = None) -> str | None:
    """The day freshness is measured against (see the module's docstring)."""
    got = rows("""SELECT CAST(max(day) AS VARCHAR) AS day FROM runs
                  WHERE mode IN ('run', 'collect') AND status IN ('ok', 'partial') AND day <= CAST(? AS DATE)""",
               [_cut(cutoff)])
    if got and got[0]["day"]:
        return str(got[0]["day"])
    got = _spans(rows, "SELECT CAST(max(last_day) AS VARCHAR) AS day FROM {t} WHERE method <> 'reference'", cutoff)
    return str(got[0]["day"]) if got and got[0]["day"] else None


def source_freshness(rows: RowsFn, cutoff: dt.date | str | None = None) -> list[dict[str, Any]]:
    """Per source: last day reported, rows, days behind the reference day."""
    ref = reference_day(rows, cutoff)
    fresh = _spans(rows, """SELECT source, CAST(max(last_day) AS VARCHAR) AS last_day, CAST(sum(rows) AS BIGINT)
                            AS rows FROM {t} WHERE method <> 'reference' GROUP BY source ORDER BY source""", cutoff)
    for r in fresh:
        r["days_behind"] = (dt.date.fromisoformat(ref) - dt.date.fromisoformat(r["last_day"])).days if ref else None
    return fresh


def metrics_collected(rows: RowsFn, cutoff: dt.date | str | None = None) -> dict[str, dict[str, Any]]:
    """Per metric with data: rows, first and last day (reference figures left out)."""
    got = _spans(rows, """SELECT metric, CAST(sum(rows) AS BIGINT) AS rows, CAST(min(first_day) AS VARCHAR)
                          AS first_day, CAST(max(last_day) AS VARCHAR) AS last_day
                          FROM {t} WHERE method <> 'reference' GROUP BY metric""", cutoff)
    return {r["metric"]: r for r in got}


def not_collected(catalogue: Iterable[str], collected: dict[str, Any]) -> list[str]:
    """The catalogue's metrics without a single observation yet, in catalogue order."""
    return [m for m in catalogue if m not in collected]


def days_ago(day: str | None, today: dt.date) -> int | None:
    return (today - dt.date.fromisoformat(day)).days if day else None
