"""Family totals kept as a table: ``family_daily`` (shown by the view ``ecosystem_daily``).

Each commit recomputes only the (day, ecosystem, metric) groups its facts touched; a group's
``subjects_expected`` counts the members that have ever reported the metric, so when a commit brings
a new subject to a (family, metric), every day of that pair is recomputed.  A change of memberships
or of the metric catalogue rebuilds the table whole.  The query is migrations.FAMILY_DAILY_SQL.
"""
from __future__ import annotations

import duckdb
import pyarrow as pa

from warehouse.migrations import FAMILY_DAILY_COLUMNS, FAMILY_DAILY_SQL

MEMBER_SERIES = """
WITH mem AS (
    SELECT ecosystem, source, subject FROM memberships WHERE role IN ('primary', 'member')
    GROUP BY ecosystem, source, subject
)
SELECT s.series_id, m.ecosystem, s.metric, s.subject
FROM series s JOIN mem m ON m.source = s.source AND m.subject = s.subject
WHERE s.method IN ('snapshot', 'derived', 'backfill')"""

SCOPE_JOIN = "JOIN _scope t ON t.ecosystem = ms.ecosystem AND t.metric = ms.metric AND t.day = f.day"


def rebuild(con: duckdb.DuckDBPyConnection) -> None:
    """Recompute every family total (in the caller's transaction)."""
    con.execute("DELETE FROM family_daily")
    con.execute(f"INSERT INTO family_daily ({FAMILY_DAILY_COLUMNS}) "
                + FAMILY_DAILY_SQL.format(scope="", bound="") + " ORDER BY o.day, o.ecosystem, o.metric")


def refresh(con: duckdb.DuckDBPyConnection, touched: pa.Table) -> None:
    """Recompute the groups that facts at ``touched`` (series_id, day) belong to."""
    if touched.num_rows == 0:
        return
    con.register("_touched", touched.select(["series_id", "day"]))
    try:
        con.execute(f"""CREATE OR REPLACE TEMP TABLE _scope AS
                        WITH ms AS ({MEMBER_SERIES})
                        SELECT DISTINCT ms.ecosystem, ms.metric, t.day
                        FROM _touched t JOIN ms ON ms.series_id = t.series_id""")
    finally:
        con.unregister("_touched")
    try:
        _widen(con)
        lo, hi = con.execute("SELECT min(day), max(day) FROM _scope").fetchone()
        if lo is None:
            return
        con.execute("""DELETE FROM family_daily USING _scope t
                       WHERE family_daily.day BETWEEN ? AND ? AND family_daily.ecosystem = t.ecosystem
                         AND family_daily.metric = t.metric AND family_daily.day = t.day""", [lo, hi])
        con.execute(f"INSERT INTO family_daily ({FAMILY_DAILY_COLUMNS}) "
                    + FAMILY_DAILY_SQL.format(scope=SCOPE_JOIN, bound="AND f.day BETWEEN $lo AND $hi"),
                    {"lo": lo, "hi": hi})
    finally:
        con.execute("DROP TABLE IF EXISTS _scope")


def _widen(con: duckdb.DuckDBPyConnection) -> None:
    """Add every day of the (ecosystem, metric) pairs whose expected subjects changed (a new member
    series) or that have no total yet."""
    changed = con.execute(f"""
        WITH ms AS ({MEMBER_SERIES}),
        pairs AS (SELECT DISTINCT ecosystem, metric FROM _scope),
        expected AS (SELECT ms.ecosystem, ms.metric, count(DISTINCT ms.subject) AS n
                     FROM ms SEMI JOIN pairs p ON p.ecosystem = ms.ecosystem AND p.metric = ms.metric
                     GROUP BY ALL),
        stored AS (SELECT d.ecosystem, d.metric, any_value(d.subjects_expected) AS n
                   FROM family_daily d SEMI JOIN pairs p ON p.ecosystem = d.ecosystem AND p.metric = d.metric
                   GROUP BY ALL)
        SELECT p.ecosystem, p.metric FROM pairs p
        LEFT JOIN expected e ON e.ecosystem = p.ecosystem AND e.metric = p.metric
        LEFT JOIN stored s ON s.ecosystem = p.ecosystem AND s.metric = p.metric
        WHERE s.n IS DISTINCT FROM e.n""").fetchall()
    if not changed:
        return
    con.register("_pairs", pa.table({"ecosystem": [r[0] for r in changed], "metric": [r[1] for r in changed]}))
    try:
        con.execute(f"""
            INSERT INTO _scope
            WITH ms AS ({MEMBER_SERIES})
            SELECT ms.ecosystem, ms.metric, f.day FROM facts f
            JOIN ms ON ms.series_id = f.series_id
            SEMI JOIN _pairs p ON p.ecosystem = ms.ecosystem AND p.metric = ms.metric
            UNION SELECT d.ecosystem, d.metric, d.day FROM family_daily d
            SEMI JOIN _pairs p ON p.ecosystem = d.ecosystem AND p.metric = d.metric
            EXCEPT SELECT ecosystem, metric, day FROM _scope""")
    finally:
        con.unregister("_pairs")


def catalogue_changed(con: duckdb.DuckDBPyConnection, table: pa.Table, name: str, columns: str) -> bool:
    """Whether ``table`` (registered as _new) differs from the stored table ``name`` (code constant)."""
    con.register("_new", table)
    try:
        return bool(con.execute(f"""
            SELECT 1 FROM ((SELECT {columns} FROM {name} EXCEPT SELECT {columns} FROM _new)
                           UNION ALL (SELECT {columns} FROM _new EXCEPT SELECT {columns} FROM {name})) LIMIT 1
            """).fetchall())
    finally:
        con.unregister("_new")
