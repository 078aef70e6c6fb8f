"""Recorded schema migrations: the only place the schema is created or changed.

Each migration runs in its own transaction and is recorded in ``schema_migrations``.  Append new
ones at the end; never edit one that has shipped.  Views are the query contract (README documents
them); tables may change underneath.
"""
from __future__ import annotations

import duckdb

from warehouse.metrics import METHOD_RANK_SQL


ECOSYSTEM_DAILY_V1 = f"""
CREATE OR REPLACE VIEW ecosystem_daily AS
WITH mem AS (
    SELECT ecosystem, source, subject,
           bool_or(role = 'primary') AS is_primary
    FROM memberships WHERE role IN ('primary', 'member')
    GROUP BY ecosystem, source, subject
),
expected AS (
    SELECT ecosystem, source, count(*) AS n FROM mem GROUP BY ecosystem, source
),
obs AS (
    SELECT o.day, m.ecosystem, o.source, o.metric, o.subject, o.value, o.method, m.is_primary
    FROM observations o JOIN mem m ON m.source = o.source AND m.subject = o.subject
    WHERE o.method IN ('snapshot', 'derived', 'backfill')
),
best_method AS (   -- one method per (day, ecosystem, metric): nothing counted twice
    SELECT day, ecosystem, metric, arg_min(method, {METHOD_RANK_SQL}) AS method
    FROM obs GROUP BY day, ecosystem, metric
)
SELECT o.day, o.ecosystem, o.metric,
       CASE c.aggregation
            WHEN 'sum' THEN sum(o.value)
            WHEN 'max' THEN max(o.value)
            ELSE max(o.value) FILTER (WHERE o.is_primary) END AS value,
       count(DISTINCT o.subject) AS subjects_reporting,
       any_value(e.n) AS subjects_expected,
       any_value(b.method) AS method
FROM obs o
JOIN best_method b ON b.day = o.day AND b.ecosystem = o.ecosystem AND b.metric = o.metric
                   AND b.method = o.method
JOIN metrics c ON c.metric = o.metric
LEFT JOIN expected e ON e.ecosystem = o.ecosystem AND e.source = o.source
GROUP BY o.day, o.ecosystem, o.metric, c.aggregation
HAVING c.aggregation <> 'primary' OR count(*) FILTER (WHERE o.is_primary) > 0
"""

MIGRATIONS: list[tuple[int, str, list[str]]] = [
    (1, "initial schema", [
        """CREATE TABLE observations (
            day DATE NOT NULL,
            source VARCHAR NOT NULL,
            metric VARCHAR NOT NULL,
            subject VARCHAR NOT NULL,
            value DOUBLE NOT NULL,
            method VARCHAR NOT NULL,
            flags VARCHAR NOT NULL DEFAULT '',
            run_id VARCHAR,
            collected_at TIMESTAMP,
            PRIMARY KEY (day, source, metric, subject, method))""",
        """CREATE TABLE subjects (
            source VARCHAR NOT NULL,
            subject VARCHAR NOT NULL,
            kind VARCHAR NOT NULL,
            canonical VARCHAR,
            first_seen DATE,
            last_seen DATE,
            PRIMARY KEY (source, subject))""",
        """CREATE TABLE memberships (
            ecosystem VARCHAR NOT NULL,
            source VARCHAR NOT NULL,
            subject VARCHAR NOT NULL,
            role VARCHAR NOT NULL,
            PRIMARY KEY (ecosystem, source, subject, role))""",
        """CREATE TABLE ecosystems (
            ecosystem VARCHAR PRIMARY KEY,
            label VARCHAR NOT NULL,
            color VARCHAR,
            first_release DATE,
            position INTEGER)""",
        """CREATE TABLE events (
            day DATE NOT NULL,
            label VARCHAR NOT NULL,
            ecosystem VARCHAR,
            PRIMARY KEY (day, label))""",
        """CREATE TABLE metrics (
            metric VARCHAR PRIMARY KEY,
            unit VARCHAR,
            kind VARCHAR NOT NULL,
            aggregation VARCHAR NOT NULL,
            description VARCHAR)""",
        """CREATE TABLE runs (
            run_id VARCHAR NOT NULL,
            collector VARCHAR NOT NULL,
            day DATE NOT NULL,
            mode VARCHAR NOT NULL,
            started_at TIMESTAMP,
            ended_at TIMESTAMP,
            status VARCHAR NOT NULL,
            requests VARCHAR,
            rows_written BIGINT,
            error VARCHAR,
            PRIMARY KEY (run_id, collector))""",
        """CREATE TABLE state (
            source VARCHAR NOT NULL,
            key VARCHAR NOT NULL,
            value VARCHAR,
            updated_at TIMESTAMP,
            PRIMARY KEY (source, key))""",
        ECOSYSTEM_DAILY_V1,
    ]),
    (7, "gaps: days a catch-up could not reconstruct", [
        """CREATE TABLE gaps (
            day DATE NOT NULL,
            collector VARCHAR NOT NULL,
            source VARCHAR NOT NULL,
            reason VARCHAR,
            recorded_at TIMESTAMP,
            run_id VARCHAR,
            PRIMARY KEY (day, collector))""",
    ]),
    (3, "model adoption: daily model downloads derived from all-time counters; top models per family", [
        """CREATE TABLE hf_top_models (
            day DATE NOT NULL,
            ecosystem VARCHAR NOT NULL,
            rank INTEGER NOT NULL,
            model VARCHAR NOT NULL,
            downloads_30d DOUBLE,
            PRIMARY KEY (day, ecosystem, rank))""",
        # Downloads a model got on a day = its downloadsAllTime snapshot minus the previous day's.
        # Only consecutive days: a missing snapshot leaves a gap rather than a two-day lump.  A
        # counter that went backwards gives value NULL, flag 'counter_backwards' (shown, not
        # charted); an unchanged counter gives 0, flag 'stalled' (the Hub refreshes late).
        """CREATE OR REPLACE VIEW model_downloads_daily AS
        WITH snap AS (
            SELECT o.day, o.source, o.subject, o.value
            FROM observations o
            JOIN subjects s ON s.source = o.source AND s.subject = o.subject AND s.kind = 'model'
            WHERE o.source = 'huggingface' AND o.metric = 'downloads_all_time'
              AND o.method = 'snapshot'
        ),
        pairs AS (
            SELECT day, source, subject, value,
                   lag(day) OVER (PARTITION BY source, subject ORDER BY day) AS prev_day,
                   lag(value) OVER (PARTITION BY source, subject ORDER BY day) AS prev_value
            FROM snap
        )
        SELECT day, source, 'downloads_day' AS metric, subject,
               CASE WHEN value >= prev_value THEN value - prev_value END AS value,
               value - prev_value AS delta,
               'derived' AS method,
               CASE WHEN value < prev_value THEN 'counter_backwards'
                    WHEN value = prev_value THEN 'stalled' ELSE '' END AS flags
        FROM pairs
        WHERE prev_day = day - INTERVAL 1 DAY""",
    ]),
    (8, "capability: Arena leaderboard tables, open vs proprietary per day, each family's best", [
        # One row per model on a published board (day = the table's date).  open_weights and
        # commercial_use come from [arena.licenses]; NULL = a license nobody mapped (reported by
        # `status`, never guessed).  ecosystem = the first family whose leaderboard_aliases match.
        """CREATE TABLE leaderboard (
            day DATE NOT NULL,
            arena VARCHAR NOT NULL,
            model VARCHAR NOT NULL,
            organization VARCHAR,
            license VARCHAR,
            open_weights BOOLEAN,
            commercial_use BOOLEAN,
            score DOUBLE,
            rank INTEGER,
            votes BIGINT,
            ecosystem VARCHAR,
            origin VARCHAR NOT NULL,
            PRIMARY KEY (day, arena, model))""",
        # The capability chart's rows: one per (day, arena), numbers from the arena observations,
        # model names from the board itself.
        """CREATE OR REPLACE VIEW capability_daily AS
        WITH m AS (
            SELECT day, subject AS arena,
                   max(value) FILTER (WHERE metric = 'best_open_score') AS best_open_score,
                   max(value) FILTER (WHERE metric = 'best_proprietary_score') AS best_proprietary_score,
                   max(value) FILTER (WHERE metric = 'open_gap') AS open_gap,
                   max(value) FILTER (WHERE metric = 'open_in_top10') AS open_in_top10,
                   max(value) FILTER (WHERE metric = 'leaderboard_models') AS leaderboard_models,
                   string_agg(DISTINCT NULLIF(flags, ''), ',') AS flags
            FROM observations
            WHERE source = 'arena' AND method = 'snapshot'
              AND metric IN ('best_open_score', 'best_proprietary_score', 'open_gap', 'open_in_top10',
                             'leaderboard_models')
            GROUP BY day, subject
        ),
        b AS (
            SELECT day, arena,
                   arg_max(model, score) FILTER (WHERE open_weights) AS best_open_model,
                   arg_max(model, score) FILTER (WHERE NOT open_weights) AS best_proprietary_model,
                   count(*) FILTER (WHERE open_weights IS NULL) AS unmapped_license_models
            FROM leaderboard WHERE score IS NOT NULL
            GROUP BY day, arena
        )
        SELECT m.day, m.arena, m.best_open_score, m.best_proprietary_score, m.open_gap,
               m.open_in_top10,
               m.open_in_top10 / nullif(least(10, m.leaderboard_models), 0) AS open_share_top10,
               m.leaderboard_models, b.best_open_model, b.best_proprietary_model,
               coalesce(b.unmapped_license_models, 0) AS unmapped_license_models,
               coalesce(m.flags, '') AS flags
        FROM m LEFT JOIN b ON b.day = m.day AND b.arena = m.arena""",
        # Each family's best model per board, to chart beside its adoption.
        """CREATE OR REPLACE VIEW capability_family_daily AS
        SELECT l.day, l.arena, l.ecosystem, e.label, e.color,
               max(l.score) AS best_score, arg_max(l.model, l.score) AS best_model,
               arg_max(l.rank, l.score) AS best_rank, count(*) AS models_on_board
        FROM leaderboard l LEFT JOIN ecosystems e ON e.ecosystem = l.ecosystem
        WHERE l.ecosystem IS NOT NULL AND l.score IS NOT NULL
        GROUP BY l.day, l.arena, l.ecosystem, e.label, e.color""",
    ]),
    (4, "trending: every GitHub Trending row per day and period", [
        # Text is stored as the page shows it (verbatim); escaping is the dashboards' job.
        # period_stars is NULL when the row shows no "N stars today/this week".
        """CREATE TABLE trending (
            day DATE NOT NULL,
            period VARCHAR NOT NULL,
            rank INTEGER NOT NULL,
            repo VARCHAR NOT NULL,
            description VARCHAR,
            language VARCHAR,
            stars BIGINT NOT NULL,
            period_stars BIGINT,
            PRIMARY KEY (day, period, rank))""",
    ]),
]


# v2 of the view: a family's expected subjects are counted per metric (the members that have ever
# reported it), not per source, so a subject that only reports other metrics does not look missing.
ECOSYSTEM_DAILY_V2 = ECOSYSTEM_DAILY_V1.replace("""expected AS (
    SELECT ecosystem, source, count(*) AS n FROM mem GROUP BY ecosystem, source
),""", """expected AS (
    SELECT m.ecosystem, o.metric, count(DISTINCT o.subject) AS n
    FROM observations o JOIN mem m ON m.source = o.source AND m.subject = o.subject
    WHERE o.method IN ('snapshot', 'derived', 'backfill')
    GROUP BY m.ecosystem, o.metric
),""").replace("LEFT JOIN expected e ON e.ecosystem = o.ecosystem AND e.source = o.source",
               "LEFT JOIN expected e ON e.ecosystem = o.ecosystem AND e.metric = o.metric")
assert ECOSYSTEM_DAILY_V2 != ECOSYSTEM_DAILY_V1

MIGRATIONS.append((10, "ecosystem_daily: subjects_expected per metric", [ECOSYSTEM_DAILY_V2]))

# Usage: OpenRouter tokens, Ollama pulls, Replicate runs (collectors/openrouter.py, ollama.py, replicate.py).
MIGRATIONS.append((20, "usage: OpenRouter as-of per day, daily token figures with their citation, Replicate "
                       "runs per day", [
    # CC BY 4.0: the as_of of the answer that gave each day's figures, rewritten with them on a re-read
    """CREATE TABLE openrouter_days (
        day DATE PRIMARY KEY,
        as_of VARCHAR NOT NULL,
        version VARCHAR,
        row_count INTEGER)""",
    # One row per day and OpenRouter subject that a chart or a table needs (families, the day's
    # total, the open-weight models), each carrying the line that must travel with it.
    """CREATE OR REPLACE VIEW openrouter_daily AS
    SELECT o.day, o.subject,
           CASE WHEN o.subject LIKE 'family:%' THEN substr(o.subject, 8) END AS ecosystem,
           max(o.value) FILTER (WHERE o.metric = 'tokens_day') AS tokens_day,
           max(o.value) FILTER (WHERE o.metric = 'token_share') AS token_share,
           max(o.value) FILTER (WHERE o.metric = 'open_weight_token_share') AS open_weight_token_share,
           coalesce(string_agg(DISTINCT NULLIF(o.flags, ''), ','), '') AS flags,
           any_value(d.as_of) AS as_of,
           'Source: OpenRouter (openrouter.ai/rankings), as of ' || any_value(d.as_of) AS citation
    FROM observations o LEFT JOIN openrouter_days d ON d.day = o.day
    WHERE o.source = 'openrouter' AND o.method = 'snapshot'
      AND (o.subject LIKE 'family:%' OR o.subject IN ('total', 'open_weight'))
    GROUP BY o.day, o.subject""",
    # Runs a model got on a day: its run_count snapshot minus the previous day's, as
    # model_downloads_daily: consecutive days only (a gap stays a gap), a counter that went backwards
    # gives value NULL and the flag 'counter_backwards', an unchanged one 0 and 'stalled'.
    """CREATE OR REPLACE VIEW replicate_runs_daily AS
    WITH pairs AS (
        SELECT day, source, subject, value,
               lag(day) OVER (PARTITION BY source, subject ORDER BY day) AS prev_day,
               lag(value) OVER (PARTITION BY source, subject ORDER BY day) AS prev_value
        FROM observations
        WHERE source = 'replicate' AND metric = 'runs' AND method = 'snapshot'
    )
    SELECT day, source, 'runs_day' AS metric, subject,
           CASE WHEN value >= prev_value THEN value - prev_value END AS value,
           value - prev_value AS delta,
           'derived' AS method,
           CASE WHEN value < prev_value THEN 'counter_backwards'
                WHEN value = prev_value THEN 'stalled' ELSE '' END AS flags
    FROM pairs
    WHERE prev_day = day - INTERVAL 1 DAY""",
]))


def applied(con: duckdb.DuckDBPyConnection) -> set[int]:
    con.execute("""CREATE TABLE IF NOT EXISTS schema_migrations (
        version INTEGER PRIMARY KEY, name VARCHAR, applied_at TIMESTAMP DEFAULT current_timestamp)""")
    return {r[0] for r in con.execute("SELECT version FROM schema_migrations").fetchall()}


def migrate(con: duckdb.DuckDBPyConnection) -> list[int]:
    """Apply pending migrations in order, each in its own transaction; return the versions applied."""
    done = applied(con)
    ran = []
    for version, name, statements in sorted(MIGRATIONS, key=lambda m: m[0]):
        if version in done:
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            for stmt in statements:
                con.execute(stmt)
            con.execute("INSERT INTO schema_migrations (version, name) VALUES (?, ?)", [version, name])
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        ran.append(version)
    return ran


def pending(con: duckdb.DuckDBPyConnection) -> list[int]:
    try:
        done = {r[0] for r in con.execute("SELECT version FROM schema_migrations").fetchall()}
    except duckdb.Error:
        done = set()
    return [v for v, _, _ in MIGRATIONS if v not in done]

# One measured value per (day, source, metric, subject): a snapshot taken on the day before a value
# derived from snapshots before a reconstruction (backfill); reference figures are charted apart and
# never appear here.  Readers take this view rather than ranking methods themselves.
BEST_OBSERVATIONS = f"""
CREATE OR REPLACE VIEW best_observations AS
SELECT * FROM observations
WHERE method IN ('snapshot', 'derived', 'backfill')
QUALIFY row_number() OVER (PARTITION BY day, source, metric, subject ORDER BY {METHOD_RANK_SQL}) = 1
"""

MIGRATIONS.append((11, "best_observations: one method per day, source, metric and subject", [BEST_OBSERVATIONS]))

# A trending row of a new repository shows no star count: the row is kept, its stars NULL.
MIGRATIONS.append((21, "trending: a row without a star count keeps its stars NULL", [
    "ALTER TABLE trending ALTER COLUMN stars DROP NOT NULL",
]))

# Lead changes as data: for each ordered pair of families and each level or flow metric, the first day
# from which `ecosystem` has stayed above `other` through the latest day both report (`day`), with both
# values on that latest day; a pair where `ecosystem` is not ahead on that day has no row.  Only complete
# days count (subjects_reporting < subjects_expected is a missing subject, not a fall); ranks (1 = top)
# are left out, since more is not ahead there.  Everything that decides which days count is the one
# WHERE clause of `usable` (e.g. add `AND NOT e.suspect` once ecosystem_daily flags suspect days).
CROSSOVERS = """
CREATE OR REPLACE VIEW crossovers AS
WITH usable AS (
    SELECT e.day, e.ecosystem, e.metric, e.value
    FROM ecosystem_daily e JOIN metrics c ON c.metric = e.metric
    WHERE c.kind IN ('level', 'flow') AND coalesce(c.unit, '') <> 'rank' AND e.value IS NOT NULL
      AND e.subjects_reporting >= coalesce(e.subjects_expected, e.subjects_reporting)
),
pairs AS (
    SELECT a.metric, a.ecosystem, b.ecosystem AS other, a.day, a.value, b.value AS other_value
    FROM usable a JOIN usable b ON b.metric = a.metric AND b.day = a.day AND b.ecosystem <> a.ecosystem
),
spans AS (
    SELECT metric, ecosystem, other, min(day) AS first_day,
           max(day) FILTER (WHERE value <= other_value) AS last_not_ahead
    FROM pairs GROUP BY metric, ecosystem, other
)
SELECT p.metric, p.ecosystem, p.other, min(p.day) AS since,
       arg_max(p.value, p.day) AS value, arg_max(p.other_value, p.day) AS other_value,
       max(p.day) AS day, min(p.day) = any_value(s.first_day) AS since_first_day
FROM pairs p JOIN spans s ON s.metric = p.metric AND s.ecosystem = p.ecosystem AND s.other = p.other
WHERE s.last_not_ahead IS NULL OR p.day > s.last_not_ahead
GROUP BY p.metric, p.ecosystem, p.other
"""

MIGRATIONS.append((15, "crossovers: since when one family has stayed ahead of another", [CROSSOVERS]))

# -- 12-14: facts keyed by series ids, family totals materialized ------------------------------
# A fact table without a primary-key index: a (source, metric, subject, method) series gets an
# integer id once, and each fact is (series_id, day, value, flags, run_id, collected_at).  Uniqueness
# on (series_id, day) rests on the single writer, which deletes a batch's keys and appends the batch
# in one transaction (warehouse/facts.py); ``status`` reports any duplicate made by hand.
# ``observations`` becomes a view over the two with exactly the old table's columns and types.
OBSERVATIONS_VIEW = """
CREATE OR REPLACE VIEW observations AS
SELECT f.day, s.source, s.metric, s.subject, f.value, s.method, f.flags, f.run_id, f.collected_at
FROM facts f JOIN series s ON s.series_id = f.series_id"""

MIGRATIONS.append((12, "facts keyed by series ids; observations becomes a view over series and facts", [
    """CREATE TABLE series (
        series_id INTEGER PRIMARY KEY,
        source VARCHAR NOT NULL,
        metric VARCHAR NOT NULL,
        subject VARCHAR NOT NULL,
        method VARCHAR NOT NULL,
        UNIQUE (source, metric, subject, method))""",
    """INSERT INTO series
       SELECT CAST(row_number() OVER (ORDER BY source, metric, subject, method) AS INTEGER), *
       FROM (SELECT DISTINCT source, metric, subject, method FROM observations)""",
    """CREATE TABLE facts (
        series_id INTEGER NOT NULL,
        day DATE NOT NULL,
        value DOUBLE NOT NULL,
        flags VARCHAR NOT NULL DEFAULT '',
        run_id VARCHAR,
        collected_at TIMESTAMP)""",
    """INSERT INTO facts
       SELECT s.series_id, o.day, o.value, o.flags, o.run_id, o.collected_at
       FROM observations o JOIN series s USING (source, metric, subject, method)
       ORDER BY o.day, s.series_id""",
    "DROP TABLE observations",
    OBSERVATIONS_VIEW,
]))

# A fact flagged 'suspect' (warehouse/plausibility.py) is kept out of family totals: its subject
# counts as not reporting that day.  The family totals are computed by this query, whole or (with
# {pairs} choosing (ecosystem, metric) pairs and {days} days) in part; the result is the table
# family_daily, which the view ecosystem_daily shows with the columns it always had.
FAMILY_DAILY_SQL = f"""
WITH mem AS (
    SELECT ecosystem, source, subject, bool_or(role = 'primary') AS is_primary
    FROM memberships WHERE role IN ('primary', 'member')
    GROUP BY ecosystem, source, subject
),
ms AS (   -- the family members' series, with integer ids for what the facts are grouped by
    SELECT s.series_id, m.ecosystem, s.metric, c.aggregation, m.is_primary,
           dense_rank() OVER (ORDER BY m.ecosystem, s.metric) AS pair_id,
           dense_rank() OVER (ORDER BY s.subject) AS subject_id,
           {METHOD_RANK_SQL.replace("method", "s.method")} AS method_rank
    FROM series s JOIN mem m ON m.source = s.source AND m.subject = s.subject
    JOIN metrics c ON c.metric = s.metric
    WHERE s.method IN ('snapshot', 'derived', 'backfill') {{pairs}}
),
ms2 AS (   -- a subject measured in two sources of one pair (the same package on PyPI and npm) counts once
    SELECT *, count(*) OVER (PARTITION BY pair_id, method_rank, subject_id) > 1 AS shared FROM ms
),
expected AS (   -- the members that have ever reported the metric (every series has facts)
    SELECT pair_id, any_value(ecosystem) AS ecosystem, any_value(metric) AS metric,
           any_value(aggregation) AS aggregation, count(DISTINCT subject_id) AS n
    FROM ms GROUP BY pair_id
),
facts_ms AS (
    SELECT f.day, f.value, ms.* FROM facts f JOIN ms2 AS ms ON ms.series_id = f.series_id
    WHERE (f.flags = '' OR NOT list_contains(string_split(f.flags, ','), 'suspect')) {{days}}
),
per_subject AS (   -- one row per subject: a shared subject's facts are added up first
    SELECT day, pair_id, method_rank, value AS total, value AS top,
           CASE WHEN is_primary THEN value END AS top_primary, CAST(is_primary AS BIGINT) AS primaries
    FROM facts_ms WHERE NOT shared
    UNION ALL
    SELECT day, pair_id, method_rank, sum(value), max(value), max(value) FILTER (WHERE is_primary),
           count(*) FILTER (WHERE is_primary)
    FROM facts_ms WHERE shared GROUP BY day, pair_id, method_rank, subject_id
),
agg AS (   -- per day, pair and method
    SELECT day, pair_id, method_rank, sum(total) AS total, max(top) AS top, max(top_primary) AS top_primary,
           count(*) AS reporting, sum(primaries) AS primaries
    FROM per_subject GROUP BY day, pair_id, method_rank
),
best AS (   -- one method per (day, ecosystem, metric): nothing counted twice
    SELECT * FROM agg QUALIFY row_number() OVER (PARTITION BY day, pair_id ORDER BY method_rank) = 1
)
SELECT b.day, e.ecosystem, e.metric,
       CASE e.aggregation WHEN 'sum' THEN b.total WHEN 'max' THEN b.top ELSE b.top_primary END AS value,
       b.reporting AS subjects_reporting, e.n AS subjects_expected,
       CASE b.method_rank WHEN 1 THEN 'snapshot' WHEN 2 THEN 'derived' ELSE 'backfill' END AS method
FROM best b JOIN expected e ON e.pair_id = b.pair_id
WHERE e.aggregation <> 'primary' OR b.primaries > 0
"""
FAMILY_DAILY_COLUMNS = "day, ecosystem, metric, value, subjects_reporting, subjects_expected, method"

MIGRATIONS.append((13, "ecosystem_daily materialized: family_daily, refreshed by each commit for what it touched", [
    """CREATE TABLE family_daily (
        day DATE NOT NULL,
        ecosystem VARCHAR NOT NULL,
        metric VARCHAR NOT NULL,
        value DOUBLE,
        subjects_reporting BIGINT NOT NULL,
        subjects_expected BIGINT,
        method VARCHAR NOT NULL)""",
    f"INSERT INTO family_daily ({FAMILY_DAILY_COLUMNS}) "
    + FAMILY_DAILY_SQL.format(pairs="", days="") + " ORDER BY b.day, e.ecosystem, e.metric",
    f"CREATE OR REPLACE VIEW ecosystem_daily AS SELECT {FAMILY_DAILY_COLUMNS} FROM family_daily",
]))

# One measured value per (day, source, metric, subject), found by series id: a subject measured by a
# single method needs no ranking at all; only days of subjects with several methods are ranked.
BEST_FACTS = f"""
CREATE OR REPLACE VIEW best_facts AS
WITH s AS (
    SELECT series_id, {METHOD_RANK_SQL} AS method_rank,
           count(*) OVER (PARTITION BY source, metric, subject) AS methods,
           min(series_id) OVER (PARTITION BY source, metric, subject) AS line_id
    FROM series WHERE method IN ('snapshot', 'derived', 'backfill')
)
SELECT f.* FROM facts f SEMI JOIN s ON s.series_id = f.series_id AND s.methods = 1
UNION ALL
SELECT f.* EXCLUDE (line_id, method_rank) FROM (
    SELECT f.*, s.line_id, s.method_rank FROM facts f JOIN s ON s.series_id = f.series_id AND s.methods > 1)
    AS f
QUALIFY row_number() OVER (PARTITION BY line_id, day ORDER BY method_rank) = 1"""
BEST_OBSERVATIONS_V2 = """
CREATE OR REPLACE VIEW best_observations AS
SELECT f.day, s.source, s.metric, s.subject, f.value, s.method, f.flags, f.run_id, f.collected_at
FROM best_facts f JOIN series s ON s.series_id = f.series_id"""

MIGRATIONS.append((14, "best_facts: one method per series line and day, by series id; best_observations over it", [
    BEST_FACTS, BEST_OBSERVATIONS_V2,
]))

# Plausibility checks start here: facts collected before are history and never flagged.
MIGRATIONS.append((16, "plausibility: level facts that fall implausibly are flagged suspect from now on", [
    """INSERT INTO state (source, key, value, updated_at)
       SELECT 'warehouse', 'plausibility_since',
              CAST(coalesce(max(collected_at), TIMESTAMP '1970-01-01') AS VARCHAR), current_timestamp
       FROM facts
       ON CONFLICT (source, key) DO NOTHING""",
]))
