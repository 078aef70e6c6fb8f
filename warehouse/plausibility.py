"""Plausibility of levels: a fall no level makes overnight is stored flagged ``suspect``.

A level (kind ``level`` in the catalogue: repository counts, stars, all-time downloads, dependents…)
is compared with the last value of its series that is not suspect.  When that value is at least
``min_level`` and the new one is zero or lower by more than ``max_fall_share``, the new fact is
suspect — kept out of family totals (its subject counts as not reporting) — unless the next fact of
the series confirms the fall (it is itself that far below the same reference): a real fall is a
fact, a one-day collapse is not.  The flag is a function of the series' facts, so a commit re-judges
only the stretch of each touched series from its last settled fact, and an as-of snapshot re-judges
its own copy.  Facts collected before the checks existed (``plausibility_since``) are never flagged.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
from contextlib import suppress
from collections.abc import Sequence
from dataclasses import dataclass

import duckdb
import pyarrow as pa

from warehouse.facts import SUSPECT_SQL
from warehouse.settings import PlausibilitySettings

LOOKBACK_DAYS = 62  # how far back a touched series' last settled fact is looked for before scanning all
HAS_SUSPECT = SUSPECT_SQL.format(col="f.flags")
ADD_FLAG = "CASE WHEN facts.flags = '' THEN 'suspect' ELSE facts.flags || ',suspect' END"
DROP_FLAG = "array_to_string(list_filter(string_split(facts.flags, ','), lambda x: x <> 'suspect'), ',')"


@dataclass(frozen=True)
class Change:
    """A fact whose flag changes: now suspect (with the reference it fell from) or cleared."""

    series_id: int
    day: dt.date
    suspect: bool
    value: float
    reference: float | None


def falls(reference: float, value: float, rules: PlausibilitySettings) -> bool:
    return reference > 0 and reference >= rules.min_level and (
        value <= 0 or value < reference * (1 - rules.max_fall_share))


def judge(values: Sequence[float], fixed: Sequence[bool], rules: PlausibilitySettings
          ) -> list[tuple[bool, float | None]]:
    """(suspect, reference) for each fact of one series in day order, the first one settled."""
    out: list[tuple[bool, float | None]] = []
    ref: float | None = None
    for i, v in enumerate(values):
        if fixed[i] or ref is None or not falls(ref, v, rules):
            out.append((False, ref))
            ref = v
        elif i + 1 < len(values) and falls(ref, values[i + 1], rules):
            out.append((False, ref))  # the next day confirms the new level
            ref = v
        else:
            out.append((True, ref))
    return out


def remember(con: duckdb.DuckDBPyConnection, rules: PlausibilitySettings) -> None:
    """Keep the rules applied in the warehouse, so a snapshot re-judges by the same ones."""
    con.execute("""INSERT INTO state VALUES ('warehouse', 'plausibility', ?, current_timestamp)
                   ON CONFLICT (source, key) DO UPDATE SET value = excluded.value""",
                [json.dumps(dataclasses.asdict(rules), sort_keys=True)])


def stored_rules(con: duckdb.DuckDBPyConnection) -> PlausibilitySettings:
    row = con.execute("SELECT value FROM state WHERE source = 'warehouse' AND key = 'plausibility'").fetchall()
    return PlausibilitySettings(**json.loads(row[0][0])) if row else PlausibilitySettings()


def _since(con: duckdb.DuckDBPyConnection) -> dt.datetime:
    row = con.execute("SELECT value FROM state WHERE source = 'warehouse' AND key = 'plausibility_since'"
                      ).fetchall()
    return dt.datetime.fromisoformat(row[0][0]) if row else dt.datetime(1970, 1, 1)


def _starts(con: duckdb.DuckDBPyConnection, written: pa.Table) -> pa.Table:
    """Per touched level series: the day from which to re-judge it (NULL: from its first fact)."""
    con.register("_written", written.select(["series_id", "day"]))
    try:
        return con.sql(f"""
            WITH k AS (SELECT w.series_id, min(w.day) AS lo FROM _written w
                       JOIN series s ON s.series_id = w.series_id AND s.method <> 'reference'
                       JOIN metrics c ON c.metric = s.metric AND c.kind = 'level' GROUP BY w.series_id),
            b AS (SELECT CAST(min(lo) - INTERVAL {LOOKBACK_DAYS} DAY AS DATE) AS bound FROM k),
            p AS (SELECT k.series_id, k.lo, max(f.day) AS prev_day FROM k CROSS JOIN b
                  LEFT JOIN facts f ON f.series_id = k.series_id AND f.day < k.lo AND f.day >= b.bound
                  GROUP BY ALL)
            SELECT p.series_id, max(f.day) AS start FROM p CROSS JOIN b
            LEFT JOIN facts f ON f.series_id = p.series_id AND f.day < p.prev_day AND f.day >= b.bound
                             AND NOT {HAS_SUSPECT}
            GROUP BY p.series_id""").to_arrow_table()
    finally:
        con.unregister("_written")


def _window(con: duckdb.DuckDBPyConnection, starts: pa.Table, rules: PlausibilitySettings) -> list[tuple]:
    """The facts to re-judge, of the series where something may be suspect (a fall or a flag)."""
    con.register("_starts", starts)
    try:
        return con.execute(f"""
            WITH w AS (
                SELECT f.series_id, f.day, f.value, {HAS_SUSPECT} AS sus,
                       (f.collected_at IS NULL OR f.collected_at <= $since) AS fixed,
                       lag(f.value) OVER (PARTITION BY f.series_id ORDER BY f.day) AS prev
                FROM facts f JOIN _starts t ON t.series_id = f.series_id
                WHERE f.day >= coalesce(t.start, DATE '0001-01-01')
                  AND f.day >= (SELECT CASE WHEN bool_or(start IS NULL) THEN DATE '0001-01-01'
                                            ELSE min(start) END FROM _starts)),
            cand AS (SELECT DISTINCT series_id FROM w
                     WHERE sus OR (NOT fixed AND prev > 0 AND prev >= $min
                                   AND (value <= 0 OR value < prev * (1 - $share))))
            SELECT w.series_id, w.day, w.value, w.sus, w.fixed FROM w SEMI JOIN cand USING (series_id)
            ORDER BY w.series_id, w.day""",
                           {"since": _since(con), "min": rules.min_level, "share": rules.max_fall_share}
                           ).fetchall()
    finally:
        con.unregister("_starts")


def _changes(rows: list[tuple], rules: PlausibilitySettings) -> list[Change]:
    out: list[Change] = []
    i = 0
    while i < len(rows):
        j = i
        while j < len(rows) and rows[j][0] == rows[i][0]:
            j += 1
        series = rows[i:j]
        verdicts = judge([r[2] for r in series], [r[4] for r in series], rules)
        out += [Change(r[0], r[1], sus, r[2], ref) for r, (sus, ref) in zip(series, verdicts) if sus != r[3]]
        i = j
    return out


def check(con: duckdb.DuckDBPyConnection, written: pa.Table, rules: PlausibilitySettings,
          everything: bool = False) -> list[Change]:
    """Re-judge the level series ``written`` (series_id, day) touched — or every one — and store the
    flags that change (in the caller's transaction)."""
    if everything:
        starts = con.sql("""SELECT s.series_id, CAST(NULL AS DATE) AS start FROM series s
                            JOIN metrics c ON c.metric = s.metric AND c.kind = 'level'
                            WHERE s.method <> 'reference'""").to_arrow_table()
    else:
        starts = _starts(con, written)
    if starts.num_rows == 0:
        return []
    changes = _changes(_window(con, starts, rules), rules)
    if changes:
        _apply(con, changes)
    return changes


def _apply(con: duckdb.DuckDBPyConnection, changes: list[Change]) -> None:
    table = pa.table({"series_id": pa.array([c.series_id for c in changes], pa.int32()),
                      "day": pa.array([c.day for c in changes], pa.date32()),
                      "suspect": pa.array([c.suspect for c in changes], pa.bool_())})
    con.register("_changes", table)
    try:
        con.execute(f"""UPDATE facts SET flags = CASE WHEN c.suspect THEN {ADD_FLAG} ELSE {DROP_FLAG} END
                        FROM _changes c WHERE facts.series_id = c.series_id AND facts.day = c.day
                          AND facts.day BETWEEN ? AND ?""",
                    [min(c.day for c in changes), max(c.day for c in changes)])
    finally:
        with suppress(duckdb.Error):  # in an aborted transaction; keep the real error
            con.unregister("_changes")


def describe(con: duckdb.DuckDBPyConnection, changes: Sequence[Change]) -> list[str]:
    """One line per fact newly flagged suspect."""
    new = [c for c in changes if c.suspect]
    if not new:
        return []
    names = dict((r[0], r[1:]) for r in con.execute(
        "SELECT series_id, source, metric, subject FROM series WHERE list_contains(?, series_id)",
        [sorted({c.series_id for c in new})]).fetchall())
    return [f"{c.day} {names[c.series_id][0]} {names[c.series_id][1]} {names[c.series_id][2]}: "
            f"{figure(c.value)} after {figure(c.reference)} (suspect, kept out of family totals until confirmed)"
            for c in new]


def figure(v: float | None) -> str:
    """A value as the run names it: a count in full (123456789, not 1.23457e+08), a fraction as is."""
    if v is None:
        return "?"
    return f"{v:.0f}" if float(v).is_integer() else f"{v:g}"
