"""The read half of the dashboards: a few aggregating queries, answered as plain rows.

Everything a page needs is read in one short read-only session and handed on as lists of dicts
whose days are ISO strings and whose numbers are floats (a ``date`` charts as NaN in Vega-Lite and a
``Decimal`` does not serialise).  ``--as-of DAY`` reads a snapshot: the tables are copied, filtered
to what had been collected by the end of DAY, into an in-memory database where the warehouse's own
view definitions are re-created, so ``ecosystem_daily`` aggregates exactly as it does live.  One value
per day and subject comes from the view ``best_observations``; families and release events from the
tables a run syncs from the config (before any run, from the families jobs passes).
"""
from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import duckdb

from dashboards import freshness
from dashboards.settings import BoardStatement, SiteFamily
from warehouse import db, facts, store
from warehouse.metrics import METHOD_RANK_SQL, METRICS
from warehouse.settings import StorageSettings
from warehouse.store import EventRow

# Longer spans are charted week by week so a chart gets a few hundred rows, never thousands.
DAILY_SPAN_LIMIT = 400
RECENT_DAYS = 90  # ...except the most recent days, kept day by day so daily runs stay visible
TOP_SUBJECTS = 10
PACKAGE_SOURCES = ("pypi", "npm")
# Token share leadership, computed as the view ``crossovers`` computes leads (which keeps to levels and
# flows): per ordered pair of families, the first day from which one's share stayed above the other's
# through the latest day both report.  Shares of one day share one denominator, so they compare.
SHARE_LEADS = """
WITH usable AS (
    SELECT day, ecosystem, metric, value FROM ecosystem_daily
    WHERE metric = 'token_share' AND value IS NOT NULL AND day <= $cutoff
      AND subjects_reporting >= coalesce(subjects_expected, subjects_reporting)),
pairs AS (
    SELECT a.metric, a.ecosystem, b.ecosystem AS other, a.day, a.value, b.value AS other_value
    FROM usable a JOIN usable b ON b.metric = a.metric AND b.day = a.day AND b.ecosystem <> a.ecosystem),
spans AS (
    SELECT metric, ecosystem, other, min(day) AS first_day,
           max(day) FILTER (WHERE value <= other_value) AS last_not_ahead
    FROM pairs GROUP BY metric, ecosystem, other)
SELECT p.metric, p.ecosystem, p.other, min(p.day) AS since,
       CAST(arg_max(p.value, p.day) AS DOUBLE) AS value, CAST(arg_max(p.other_value, p.day) AS DOUBLE) AS other_value,
       max(p.day) AS day, min(p.day) = any_value(s.first_day) AS since_first_day
FROM pairs p JOIN spans s ON s.metric = p.metric AND s.ecosystem = p.ecosystem AND s.other = p.other
WHERE s.last_not_ahead IS NULL OR p.day > s.last_not_ahead
GROUP BY p.metric, p.ecosystem, p.other ORDER BY p.metric, p.ecosystem, p.other"""
# OpenRouter's daily figures with the as-of of the answer that gave them (CC BY 4.0: the citation travels).
OPENROUTER = """SELECT day, subject, ecosystem, CAST(tokens_day AS DOUBLE) AS tokens_day,
                       CAST(token_share AS DOUBLE) AS token_share,
                       CAST(open_weight_token_share AS DOUBLE) AS open_weight_token_share, flags, as_of
                FROM openrouter_daily WHERE day <= ? AND (ecosystem IS NOT NULL OR subject = 'open_weight')
                ORDER BY day, subject"""
BEST = "SELECT * FROM best_observations WHERE day <= $cutoff"  # one method per day, source, metric, subject
# The best facts of chosen series (a CTE ``ids`` of series ids): the row-level read is only theirs.
BEST_OF = """SELECT f.day, s.source, s.metric, s.subject, f.value, s.method, f.flags, f.run_id, f.collected_at
    FROM best_facts f JOIN series s ON s.series_id = f.series_id
    WHERE f.day <= $cutoff AND f.series_id IN (SELECT series_id FROM {ids})"""
# Each (source, metric, subject)'s latest best value: found per series id on integers, then named.
LATEST = f"""latest AS (
    SELECT s.source, s.metric, s.subject, l.day, l.value FROM (
        SELECT series_id, max(day) AS day, arg_max(value, day) AS value FROM facts WHERE day <= $cutoff
        GROUP BY series_id) l
    JOIN series s ON s.series_id = l.series_id WHERE s.method IN ('snapshot', 'derived', 'backfill')
    QUALIFY row_number() OVER (PARTITION BY s.source, s.metric, s.subject
                               ORDER BY l.day DESC, {METHOD_RANK_SQL}) = 1)"""
# Facts summed up per series id first (integers only), then named: rows, first and last day, last collection.
PER_SERIES = """(SELECT s.source, s.metric, s.method, f.* FROM (
    SELECT series_id, count(*) AS rows, min(day) AS first_day, max(day) AS last_day,
           max(collected_at) AS collected_at FROM facts WHERE day <= ? GROUP BY series_id) f
    JOIN series s ON s.series_id = f.series_id)"""


def _plain(v: Any) -> Any:
    if isinstance(v, dt.datetime):
        return v.replace(microsecond=0).isoformat(sep=" ")
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, Decimal):
        return float(v)
    return v


class Reader:
    """Rows as dicts with plain values from one open connection."""

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con = con

    def rows(self, sql: str, params: list | dict | None = None) -> list[dict[str, Any]]:
        try:
            cur = self.con.execute(sql, params or [])
        except duckdb.CatalogException:
            return []  # a table a collector has not created yet
        cols = [d[0] for d in cur.description]
        return [{c: _plain(v) for c, v in zip(cols, r)} for r in cur.fetchall()]

    def has_table(self, name: str) -> bool:
        return bool(self.con.execute(
            "SELECT 1 FROM duckdb_tables() WHERE table_name = ? AND database_name = current_database()",
            [name]).fetchall())


def snapshot(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> duckdb.DuckDBPyConnection:
    """An in-memory copy of the warehouse as it stood at the end of ``as_of``."""
    end = dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time())
    mem = duckdb.connect()
    tables = [r[0] for r in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
        "AND schema_name = 'main' AND NOT internal").fetchall()]
    for name in tables:
        cols = {r[0] for r in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE database_name = current_database() "
            "AND table_name = ?", [name]).fetchall()}
        where, params = [], []
        if "day" in cols:
            where.append("day <= ?")
            params.append(as_of)
        if "collected_at" in cols:
            where.append("(collected_at IS NULL OR collected_at < ?)")
            params.append(end)
        if "started_at" in cols:
            where.append("(started_at IS NULL OR started_at < ?)")
            params.append(end)
        sql = f'SELECT * FROM main."{name}"' + (" WHERE " + " AND ".join(where) if where else "")
        table = con.sql(sql, params=params).to_arrow_table()
        mem.register("_copy", table)
        mem.execute(f'CREATE TABLE "{name}" AS SELECT * FROM _copy')
        mem.unregister("_copy")
    views = [r[0] for r in con.execute(
        "SELECT sql FROM duckdb_views() WHERE database_name = current_database() "
        "AND schema_name = 'main' AND NOT internal").fetchall()]
    for _ in range(len(views) + 1):  # views over views: create in dependency order by retrying
        left = []
        for sql in views:
            try:
                mem.execute(sql)
            except duckdb.CatalogException:
                left.append(sql)
        if not left or len(left) == len(views):
            break
        views = left
    if "facts" in tables:  # suspect flags and family totals as the facts collected by then imply them
        store.recompute(mem)
    return mem


@dataclass
class SiteData:
    """All that the pages show, read once."""

    cutoff: dt.date
    as_of: bool
    plans: dict[str, SiteFamily] = field(default_factory=dict)  # what the config asks of each family
    ecosystems: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    metrics: dict[str, dict[str, Any]] = field(default_factory=dict)
    weekly: set[str] = field(default_factory=set)  # metrics whose long span is charted week by week
    daily: list[dict[str, Any]] = field(default_factory=list)  # family totals per bucket
    subjects: list[dict[str, Any]] = field(default_factory=list)  # top subjects per bucket
    references: list[dict[str, Any]] = field(default_factory=list)
    packages: list[dict[str, Any]] = field(default_factory=list)  # package downloads per week, source
    flagship: list[dict[str, Any]] = field(default_factory=list)  # stars of each family's first repo
    subject_table: list[dict[str, Any]] = field(default_factory=list)
    trending: list[dict[str, Any]] = field(default_factory=list)
    recent_counts: list[dict[str, Any]] = field(default_factory=list)  # repo_count per day, last 60 days
    freshness: dict[str, Any] = field(default_factory=dict)
    health: dict[str, Any] = field(default_factory=dict)
    capability: list[dict[str, Any]] = field(default_factory=list)  # capability_daily, one row per board
    capability_family: list[dict[str, Any]] = field(default_factory=list)  # each family's best per board
    board: list[dict[str, Any]] = field(default_factory=list)  # the latest scored board of each arena
    statements: tuple[BoardStatement, ...] = ()  # what analyses said of a board on a day
    statement_boards: list[list[dict[str, Any]]] = field(default_factory=list)  # the board live on each such day
    hub_models: list[dict[str, Any]] = field(default_factory=list)  # HF and ModelScope models, per bucket
    crossovers: list[dict[str, Any]] = field(default_factory=list)  # the view: who leads whom since when
    # token_share leads as crossovers computes leads (the view keeps to levels and flows)
    share_leads: list[dict[str, Any]] = field(default_factory=list)
    openrouter: list[dict[str, Any]] = field(default_factory=list)  # openrouter_daily: families, open_weight
    star_history: list[dict[str, Any]] = field(default_factory=list)  # stars_gained cumulated per repo
    collected: dict[str, dict[str, Any]] = field(default_factory=dict)  # metric -> rows, first/last day

    def plan(self, key: str) -> SiteFamily:
        """What the config asks of a family (nothing for one the warehouse knows and the config no longer)."""
        eco = next((e for e in self.ecosystems if e["ecosystem"] == key), {"label": key})
        return self.plans.get(key) or SiteFamily(key, eco["label"])


def _bucket_sql(col: str = "day", metric: str = "metric", kind: str = "kind") -> str:
    """Flows are summed per week; levels keep days unless their span is long, and then keep the
    last RECENT_DAYS day by day (a weekly bucket never straddles that line: it starts on a Monday)."""
    return (f"CASE WHEN {kind} = 'flow' OR (list_contains($weekly::VARCHAR[], {metric}) AND {col} < $recent) "
            f"THEN CAST(date_trunc('week', {col}) AS DATE) ELSE {col} END")


def read_site_data(storage: StorageSettings, plans: Sequence[SiteFamily], events: Sequence[EventRow],
                   today: dt.date, as_of: dt.date | None = None,
                   statements: Sequence[BoardStatement] = ()) -> SiteData:
    """Read what the site shows; no connection outlives this call."""
    data = SiteData(cutoff=as_of or today, as_of=as_of is not None, plans={f.key: f for f in plans},
                    statements=tuple(statements))
    data.ecosystems = [{"ecosystem": f.key, "label": f.label, "color": f.color,
                        "first_release": f.first_release or None, "position": i} for i, f in enumerate(plans)]
    data.events = [{"day": e.day, "label": e.label, "ecosystem": e.ecosystem or None} for e in events
                   if dt.date.fromisoformat(e.day) <= data.cutoff]
    data.metrics = {m.name: {"metric": m.name, "unit": m.unit, "kind": m.kind, "aggregation": m.aggregation,
                             "description": m.description, "title": m.title, "fill": m.fill} for m in METRICS}
    if not storage.database.exists():
        return data
    con = db.connect(storage.database, read_only=True, wait_seconds=storage.lock_wait_seconds)
    try:
        if as_of is not None:
            mem = snapshot(con, as_of)
            con.close()
            con = mem
        _read(Reader(con), data)
    finally:
        con.close()
    return data


def _read(r: Reader, data: SiteData) -> None:
    cutoff = data.cutoff
    _read_config(r, data)
    for m in r.rows("SELECT metric, unit, kind, aggregation, description FROM metrics"):
        data.metrics.setdefault(m["metric"], m)
    spans = r.rows(f"""SELECT metric, datediff('day', min(first_day), max(last_day)) AS span FROM {PER_SERIES}
                       WHERE method IN ('snapshot', 'derived', 'backfill') GROUP BY metric""", [cutoff])
    data.weekly = {x["metric"] for x in spans if x["span"] > DAILY_SPAN_LIMIT}
    recent = cutoff - dt.timedelta(days=RECENT_DAYS)
    recent -= dt.timedelta(days=recent.weekday())  # a Monday: whole weeks before it, days after
    named = {"cutoff": cutoff, "weekly": sorted(data.weekly), "recent": recent}
    data.daily = _family_daily(r, named)
    data.subjects = _top_subjects(r, named)
    data.references = r.rows("""
        SELECT o.day, m.ecosystem, o.metric, o.subject, o.source, CAST(o.value AS DOUBLE) AS value,
               o.method, bool_or(m.role = 'primary') AS is_primary
        FROM observations o JOIN memberships m ON m.subject = o.subject
        WHERE o.method = 'reference' AND o.day <= ?
        GROUP BY ALL ORDER BY o.day""", [cutoff])
    data.packages = _packages(r, cutoff)
    data.flagship = _flagship(r, data, named)
    data.subject_table = _subject_table(r, cutoff)
    data.recent_counts = r.rows("""
        SELECT day, ecosystem, value, method FROM ecosystem_daily
        WHERE metric = 'repo_count' AND day <= $cutoff AND day > (
            SELECT max(day) FROM ecosystem_daily WHERE metric = 'repo_count' AND day <= $cutoff) - INTERVAL 60 DAY
        ORDER BY day""", {"cutoff": cutoff})
    if r.has_table("trending"):
        data.trending = r.rows("""
            SELECT day, period, rank, repo, description, language, stars, period_stars FROM trending
            WHERE day = (SELECT max(day) FROM trending WHERE day <= ?) ORDER BY period, rank LIMIT 50""",
                               [cutoff])
    fresh = r.rows(f"""SELECT max(last_day) AS last_day, max(collected_at) AS collected_at FROM {PER_SERIES}
                       WHERE method <> 'reference'""", [cutoff])
    data.freshness = fresh[0] if fresh else {}
    data.health = _health(r, cutoff)
    data.collected = freshness.metrics_collected(r.rows, cutoff)
    data.crossovers = r.rows("""SELECT metric, ecosystem, other, since, CAST(value AS DOUBLE) AS value,
                                       CAST(other_value AS DOUBLE) AS other_value, day, since_first_day
                                FROM crossovers WHERE day <= ? ORDER BY metric, ecosystem, other""", [cutoff])
    data.share_leads = r.rows(SHARE_LEADS, {"cutoff": cutoff})
    data.openrouter = r.rows(OPENROUTER, [cutoff])
    data.star_history = _star_history(r, named)
    _read_capability(r, data, named)


def _read_config(r: Reader, data: SiteData) -> None:
    """The families and release events as the last run synced them from the config (none synced yet:
    the families and events jobs passed stay)."""
    ecosystems = r.rows("""SELECT ecosystem, label, color, first_release, position FROM ecosystems
                           ORDER BY position""")
    if ecosystems:
        data.ecosystems = ecosystems
        data.events = r.rows("SELECT day, label, ecosystem FROM events WHERE day <= ? ORDER BY day, label",
                             [data.cutoff])


def _family_daily(r: Reader, named: dict[str, Any]) -> list[dict[str, Any]]:
    """Family totals (ecosystem_daily) per bucket: summed flows, a level's last value."""
    return r.rows(f"""
        WITH d AS (
            SELECT e.*, c.kind, {_bucket_sql("e.day", "e.metric", "c.kind")} AS bucket
            FROM ecosystem_daily e JOIN metrics c USING (metric) WHERE e.day <= $cutoff)
        SELECT bucket AS day, ecosystem, metric, any_value(kind) AS kind,
               CAST(CASE WHEN any_value(kind) = 'flow' THEN sum(value) ELSE arg_max(value, day) END
                    AS DOUBLE) AS value,
               arg_max(method, day) AS method,
               CAST(arg_max(subjects_reporting, day) AS DOUBLE) AS subjects_reporting,
               CAST(arg_max(subjects_expected, day) AS DOUBLE) AS subjects_expected,
               count(*) AS days, CAST(max(day) AS DATE) AS last_day
        FROM d GROUP BY ALL ORDER BY metric, ecosystem, day""", named)


def _top_subjects(r: Reader, named: dict[str, Any]) -> list[dict[str, Any]]:
    """Each family's TOP_SUBJECTS subjects per metric (by latest value), per bucket."""
    return r.rows(f"""
        WITH {LATEST},
        top AS (SELECT DISTINCT m.ecosystem, l.metric, l.source, l.subject, l.value AS v FROM latest l
                JOIN (SELECT DISTINCT ecosystem, source, subject FROM memberships) m
                  ON m.source = l.source AND m.subject = l.subject
                JOIN metrics c ON c.metric = l.metric
                QUALIFY row_number() OVER (PARTITION BY m.ecosystem, l.metric ORDER BY l.value DESC, l.subject)
                    <= {TOP_SUBJECTS}),
        ids AS (SELECT s.series_id FROM series s SEMI JOIN top t
                ON t.source = s.source AND t.subject = s.subject AND t.metric = s.metric),
        b AS ({BEST_OF.format(ids="ids")}),
        mem AS (SELECT DISTINCT ecosystem, source, subject, role FROM memberships),
        j AS (SELECT b.*, m.ecosystem, m.role, c.kind, {_bucket_sql("b.day", "b.metric", "c.kind")} AS bucket
              FROM b JOIN mem m ON m.source = b.source AND m.subject = b.subject
              JOIN metrics c ON c.metric = b.metric)
        SELECT j.bucket AS day, j.ecosystem, j.metric, j.source, j.subject, any_value(j.role) AS role,
               CAST(CASE WHEN any_value(j.kind) = 'flow' THEN sum(j.value) ELSE arg_max(j.value, j.day) END
                    AS DOUBLE) AS value,
               arg_max(j.method, j.day) AS method, string_agg(DISTINCT NULLIF(j.flags, ''), ',') AS flags,
               count(DISTINCT j.day) AS days
        FROM j JOIN top t USING (ecosystem, metric, source, subject)
        GROUP BY ALL ORDER BY j.ecosystem, j.metric, j.subject, day""", named)


def _packages(r: Reader, cutoff: dt.date) -> list[dict[str, Any]]:
    """Package downloads per week, family and registry."""
    return r.rows(f"""
        WITH mem AS (SELECT DISTINCT ecosystem, source, subject FROM memberships
                     WHERE role IN ('primary', 'member')),
        ids AS (SELECT s.series_id FROM series s SEMI JOIN mem m ON m.source = s.source AND m.subject = s.subject
                WHERE s.metric = 'downloads_day' AND s.source IN {PACKAGE_SOURCES}),
        b AS ({BEST_OF.format(ids="ids")})
        SELECT CAST(date_trunc('week', b.day) AS DATE) AS day, m.ecosystem, b.source,
               CAST(sum(b.value) AS DOUBLE) AS value, arg_max(b.method, b.day) AS method,
               count(DISTINCT b.day) AS days, count(DISTINCT b.subject) AS packages
        FROM b JOIN mem m ON m.source = b.source AND m.subject = b.subject
        WHERE b.metric = 'downloads_day' AND b.source IN {PACKAGE_SOURCES}
        GROUP BY ALL ORDER BY 2, 3, 1""", {"cutoff": cutoff})


def _flagship(r: Reader, data: SiteData, named: dict[str, Any]) -> list[dict[str, Any]]:
    """Stars of each family's flagship repository."""
    flagships = [(p.key, p.flagship) for p in data.plans.values() if p.flagship]
    if not flagships:
        return []
    pairs = ", ".join(f"($e{i}, $s{i})" for i in range(len(flagships)))
    return r.rows(f"""
        WITH b AS ({BEST}), f AS (SELECT * FROM (VALUES {pairs}) AS f(ecosystem, subject))
        SELECT {_bucket_sql("b.day", "b.metric", "'level'")} AS day, f.ecosystem, b.subject, b.source,
               CAST(arg_max(b.value, b.day) AS DOUBLE) AS value, arg_max(b.method, b.day) AS method
        FROM b JOIN f ON f.subject = b.subject
        WHERE b.metric = 'stars' AND b.source = 'github'
        GROUP BY ALL ORDER BY 2, 1""", {**named, **{f"e{i}": eco for i, (eco, _) in enumerate(flagships)},
                                         **{f"s{i}": repo for i, (_, repo) in enumerate(flagships)}})


def _star_history(r: Reader, named: dict[str, Any]) -> list[dict[str, Any]]:
    """Each family repository's stars_gained cumulated day by day (stars held today, by the day they were
    given), per bucket: a long span keeps the week's last running total."""
    return r.rows(f"""
        WITH b AS ({BEST} AND metric = 'stars_gained' AND source = 'github'),
        mem AS (SELECT DISTINCT ecosystem, source, subject FROM memberships WHERE role IN ('primary', 'member')),
        c AS (SELECT m.ecosystem, b.subject, b.day, b.value, b.method, b.metric,
                     sum(b.value) OVER (PARTITION BY m.ecosystem, b.subject ORDER BY b.day) AS total
              FROM b JOIN mem m ON m.source = b.source AND m.subject = b.subject)
        SELECT {_bucket_sql("c.day", "'stars'", "'level'")} AS day, ecosystem, subject,
               CAST(arg_max(total, c.day) AS DOUBLE) AS value, CAST(sum(value) AS DOUBLE) AS gained,
               arg_max(method, c.day) AS method
        FROM c GROUP BY ALL ORDER BY ecosystem, subject, 1""", {**named, "weekly": sorted(named["weekly"])
                                                                 + ["stars"]})


def _subject_table(r: Reader, cutoff: dt.date) -> list[dict[str, Any]]:
    """Every member of every family with the latest stored value of each of its metrics."""
    return r.rows(f"""
        WITH {LATEST.replace("latest AS", "last AS")}
        SELECT m.ecosystem, m.source, m.subject, m.role, s.kind, s.canonical, l.metric,
               CAST(l.value AS DOUBLE) AS value, l.day
        FROM memberships m LEFT JOIN subjects s ON s.source = m.source AND s.subject = m.subject
        LEFT JOIN last l ON l.source = m.source AND l.subject = m.subject
        ORDER BY m.ecosystem, m.source, m.role, m.subject, l.metric""", {"cutoff": cutoff})


def _read_capability(r: Reader, data: SiteData, named: dict[str, Any]) -> None:
    """The capability page's rows (Arena boards) and each family's models on both hubs."""
    cutoff = data.cutoff
    data.capability = r.rows("""
        SELECT day, arena, CAST(best_open_score AS DOUBLE) AS best_open_score,
               CAST(best_proprietary_score AS DOUBLE) AS best_proprietary_score,
               CAST(open_gap AS DOUBLE) AS open_gap, CAST(open_in_top10 AS DOUBLE) AS open_in_top10,
               CAST(open_share_top10 AS DOUBLE) AS open_share_top10,
               CAST(leaderboard_models AS DOUBLE) AS leaderboard_models, best_open_model,
               best_proprietary_model, CAST(unmapped_license_models AS DOUBLE) AS unmapped_license_models, flags
        FROM capability_daily WHERE day <= ? ORDER BY arena, day""", [cutoff])
    data.capability_family = r.rows("""
        SELECT day, arena, ecosystem, CAST(best_score AS DOUBLE) AS best_score, best_model,
               CAST(best_rank AS DOUBLE) AS best_rank, CAST(models_on_board AS DOUBLE) AS models_on_board
        FROM capability_family_daily WHERE day <= ? ORDER BY ecosystem, arena, day""", [cutoff])
    data.board = r.rows("""
        WITH last AS (SELECT arena, max(day) AS day FROM leaderboard
                      WHERE day <= ? AND score IS NOT NULL GROUP BY arena)
        SELECT l.day, l.arena, l.model, l.organization, l.license, l.open_weights, l.commercial_use,
               CAST(l.score AS DOUBLE) AS score, l.rank, l.ecosystem, l.origin
        FROM leaderboard l JOIN last USING (arena, day)
        ORDER BY l.arena, l.rank NULLS LAST, l.score DESC NULLS LAST, l.model""", [cutoff])
    data.statement_boards = [r.rows("""
        WITH last AS (SELECT max(day) AS day FROM leaderboard WHERE arena = ? AND day <= ? AND day <= ?)
        SELECT l.day, l.model, l.open_weights, l.commercial_use, CAST(l.score AS DOUBLE) AS score, l.rank
        FROM leaderboard l JOIN last USING (day) WHERE l.arena = ?
        ORDER BY l.score DESC NULLS LAST, l.model""", [st.arena, dt.date.fromisoformat(st.day), cutoff, st.arena])
        for st in data.statements]
    hubs = [p.key for p in data.plans.values() if p.modelscope_models]
    if hubs:
        data.hub_models = r.rows(f"""
            WITH b AS ({BEST} AND source IN ('huggingface', 'modelscope')
                                AND metric IN ('downloads_all_time', 'likes')),
            mem AS (SELECT DISTINCT ecosystem, source, subject FROM memberships
                    WHERE role = 'item' AND list_contains($hubs::VARCHAR[], ecosystem))
            SELECT {_bucket_sql("b.day", "b.metric", "'level'")} AS day, m.ecosystem, b.source, b.subject,
                   b.metric, CAST(arg_max(b.value, b.day) AS DOUBLE) AS value,
                   arg_max(b.method, b.day) AS method, max(b.day) AS last_day
            FROM b JOIN mem m ON m.source = b.source AND m.subject = b.subject
            GROUP BY ALL ORDER BY m.ecosystem, b.metric, b.source, b.subject, 1""", {**named, "hubs": hubs})


def _health(r: Reader, cutoff: dt.date) -> dict[str, Any]:
    """The data-health page's figures (the same questions ``ecotrend status`` answers)."""
    last = r.rows("""SELECT collector, day, mode, status, started_at, ended_at, rows_written, requests, error
                     FROM runs WHERE day <= ?
                     QUALIFY row_number() OVER (PARTITION BY collector ORDER BY started_at DESC) = 1
                     ORDER BY collector""", [cutoff])
    for row in last:
        row["requests"] = _requests_total(row["requests"])
    fresh = freshness.source_freshness(r.rows, cutoff)
    failures = r.rows("""SELECT day, collector, status, error FROM runs
                         WHERE status NOT IN ('ok', 'running') AND day <= ?
                         ORDER BY started_at DESC LIMIT 20""", [cutoff])
    gaps = r.rows("""WITH days AS (SELECT DISTINCT day FROM runs WHERE mode IN ('run', 'collect')
                                   AND status IN ('ok', 'partial') AND day <= ?),
                     span AS (SELECT min(day) AS a, max(day) AS b FROM days)
                     SELECT CAST(g.d AS DATE) AS day FROM span,
                            generate_series(span.a, span.b, INTERVAL 1 DAY) AS g(d)
                     WHERE span.a IS NOT NULL AND CAST(g.d AS DATE) NOT IN (SELECT day FROM days)
                     ORDER BY 1""", [cutoff])
    budget_rows = r.rows("""SELECT day, collector, requests FROM runs
                            WHERE day <= ? AND day > CAST(? AS DATE) - INTERVAL 60 DAY""", [cutoff, cutoff])
    budget: dict[tuple[str, str], float] = {}
    for row in budget_rows:
        key = (row["day"], row["collector"])
        budget[key] = budget.get(key, 0.0) + _requests_total(row["requests"])
    coverage = r.rows("""SELECT ecosystem, metric, day, subjects_reporting, subjects_expected, method
                         FROM ecosystem_daily WHERE day <= ?
                         QUALIFY row_number() OVER (PARTITION BY ecosystem, metric ORDER BY day DESC) = 1
                         ORDER BY ecosystem, metric""", [cutoff])
    per_metric = r.rows(f"""SELECT source, metric, method, CAST(sum(rows) AS BIGINT) AS rows,
                            min(first_day) AS first_day, max(last_day) AS last_day FROM {PER_SERIES}
                            GROUP BY ALL ORDER BY ALL""", [cutoff])
    unrebuilt = r.rows("""SELECT day, collector, source, reason FROM gaps WHERE day <= ?
                          ORDER BY day DESC LIMIT 30""", [cutoff]) if r.has_table("gaps") else []
    suspects = r.rows(facts.SUSPECTS_SQL, [cutoff]) if r.has_table("facts") else []
    return {"runs": last, "sources": fresh, "reference_day": freshness.reference_day(r.rows, cutoff),
            "unrebuilt": unrebuilt, "failures": failures, "suspects": suspects,
            "gaps": [g["day"] for g in gaps],
            "budget": [{"day": d, "collector": c, "requests": float(v)} for (d, c), v in sorted(budget.items())],
            "coverage": coverage, "metrics": per_metric}


def _requests_total(raw: str | None) -> float:
    """Requests that cost budget: every resource except free 304 answers and /rate_limit checks."""
    try:
        counts = json.loads(raw or "{}")
    except ValueError:
        return 0.0
    return float(sum(v for k, v in counts.items()
                     if isinstance(v, (int, float)) and not k.endswith("_304") and k != "rate_limit"))
