"""Family totals kept as a table: ``family_daily`` (shown by the view ``ecosystem_daily``).

Each commit recomputes only the (day, ecosystem, metric) groups its facts touched; a group's
``subjects_expected`` counts the members that have ever reported the metric, so when a commit brings
a new subject to a (family, metric), every day of that pair is recomputed.  A change of memberships
or of the metric catalogue rebuilds the table whole.  The query is migrations.FAMILY_DAILY_SQL.
"""
from __future__ import annotations

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

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


PAIRS = "AND (m.ecosystem, s.metric) IN (SELECT (ecosystem, metric) FROM {table})"
DAY_RANGE = "AND f.day BETWEEN $lo AND $hi"
DAYS = DAY_RANGE + " AND f.day IN (SELECT day FROM _days)"


def rebuild(con: duckdb.DuckDBPyConnection) -> None:
    """Recompute every family total (in the caller's transaction)."""
    con.execute("DELETE FROM family_daily")
    con.execute(f"INSERT INTO family_daily ({FAMILY_DAILY_COLUMNS}) "
                + FAMILY_DAILY_SQL.format(pairs="", days="") + " ORDER BY b.day, e.ecosystem, e.metric")


def refresh(con: duckdb.DuckDBPyConnection, series_ids: pa.Array, days: pa.Array) -> None:
    """Recompute the groups of the family members among ``series_ids`` on ``days`` (a batch's series
    and days; a group between them that holds no fact of the batch comes out the same), and every
    day of a pair whose expected subjects changed (in the caller's transaction)."""
    if len(series_ids) == 0 or len(days) == 0:
        return
    con.register("_ids", pa.table({"series_id": pc.unique(series_ids)}))
    try:
        pairs = con.sql(f"""WITH ms AS ({MEMBER_SERIES})
                            SELECT DISTINCT ecosystem, metric FROM ms SEMI JOIN _ids USING (series_id)
                         """).to_arrow_table()
    finally:
        con.unregister("_ids")
    if pairs.num_rows == 0:
        return
    whole = _expected_changed(con, pairs)
    if whole.num_rows:  # those are recomputed on every day below; the rest only on the days given
        whole_keys = set(zip(whole["ecosystem"].to_pylist(), whole["metric"].to_pylist()))
        pairs = pairs.filter(pa.array([k not in whole_keys for k in zip(pairs["ecosystem"].to_pylist(),
                                                                        pairs["metric"].to_pylist())]))
    day_list = pc.unique(days)
    lo, hi = pc.min(day_list).as_py(), pc.max(day_list).as_py()
    con.register("_pairs", pairs)
    con.register("_whole", whole)
    con.register("_days", pa.table({"day": day_list}))
    try:
        con.execute("""DELETE FROM family_daily
                       WHERE (ecosystem, metric) IN (SELECT (ecosystem, metric) FROM _whole)
                          OR (day BETWEEN $lo AND $hi AND day IN (SELECT day FROM _days)
                              AND (ecosystem, metric) IN (SELECT (ecosystem, metric) FROM _pairs))""",
                    {"lo": lo, "hi": hi})
        insert = f"INSERT INTO family_daily ({FAMILY_DAILY_COLUMNS}) "
        if pairs.num_rows:
            contiguous = (hi - lo).days + 1 == len(day_list)
            con.execute(insert + FAMILY_DAILY_SQL.format(pairs=PAIRS.format(table="_pairs"),
                                                         days=DAY_RANGE if contiguous else DAYS),
                        {"lo": lo, "hi": hi})
        if whole.num_rows:
            con.execute(insert + FAMILY_DAILY_SQL.format(pairs=PAIRS.format(table="_whole"), days=""))
    finally:
        for name in ("_pairs", "_whole", "_days"):
            con.unregister(name)


def _expected_changed(con: duckdb.DuckDBPyConnection, pairs: pa.Table) -> pa.Table:
    """The pairs whose expected subjects differ from the stored totals' (a new member series), or that
    have no total yet: every day of them is recomputed."""
    con.register("_pairs", pairs)
    try:
        return con.sql(f"""
            WITH ms AS ({MEMBER_SERIES}),
            expected AS (SELECT ms.ecosystem, ms.metric, count(DISTINCT ms.subject) AS n
                         FROM ms SEMI JOIN _pairs p ON p.ecosystem = ms.ecosystem AND p.metric = ms.metric
                         GROUP BY ALL),
            stored AS (SELECT d.ecosystem, d.metric, any_value(d.subjects_expected) AS n
                       FROM family_daily d SEMI JOIN _pairs p ON p.ecosystem = d.ecosystem AND p.metric = d.metric
                       GROUP BY ALL)
            SELECT p.ecosystem, p.metric FROM _pairs p
            LEFT JOIN expected e ON e.ecosystem = p.ecosystem AND e.metric = p.metric
            LEFT JOIN stored s ON s.ecosystem = p.ecosystem AND s.metric = p.metric
            WHERE s.n IS DISTINCT FROM e.n""").to_arrow_table()
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
