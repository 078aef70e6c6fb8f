"""Facts keyed by series ids: how a batch of observations becomes rows of ``facts``.

A series is one (source, metric, subject, method); it gets an integer id the first time a fact of it
is written (table ``series``).  A fact is (series_id, day, value, flags, run_id, collected_at) in the
table ``facts``, which has no primary-key index: the single writer keeps (series_id, day) unique by
deleting a batch's keys and appending the batch in the caller's transaction (re-running a day
replaces it; nothing is counted twice).  ``duplicates`` finds what a hand-made write broke.

A batch arrives as ``KeyedFacts``: day, key code and value per fact plus one row per distinct key
(source, metric, subject, method, flags), so strings are handled once per key, not once per fact.
"""
from __future__ import annotations

import datetime as dt
from array import array
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

KEY_COLUMNS = ("source", "metric", "subject", "method", "flags")
KEY_SCHEMA = pa.schema([(n, pa.string()) for n in KEY_COLUMNS])
OBSERVATION_SCHEMA = pa.schema([("day", pa.date32()), ("source", pa.string()), ("metric", pa.string()),
                                ("subject", pa.string()), ("value", pa.float64()), ("method", pa.string()),
                                ("flags", pa.string())])
SUSPECT_SQL = "({col} <> '' AND list_contains(string_split({col}, ','), 'suspect'))"
# The values flagged suspect now (newest first), as `status` and the data-health page list them; one
# parameter: the last day to consider.
SUSPECTS_SQL = f"""SELECT f.day, s.source, s.metric, s.subject, f.value, f.collected_at FROM facts f
    JOIN series s ON s.series_id = f.series_id
    WHERE f.day <= ? AND {SUSPECT_SQL.format(col="f.flags")}
    ORDER BY f.day DESC, s.source, s.metric, s.subject LIMIT 100"""


@dataclass(frozen=True)
class KeyedFacts:
    """Observations as columns: ``key`` indexes the rows of ``keys`` (KEY_SCHEMA)."""

    day: pa.Array  # date32
    key: pa.Array  # int32
    value: pa.Array  # float64
    keys: pa.Table

    @property
    def num_rows(self) -> int:
        return len(self.day)

    @classmethod
    def from_lists(cls, source: str, days: Sequence[Any], codes: Sequence[int], values: Sequence[float],
                   keys: Sequence[tuple[str, str, str, str]]) -> "KeyedFacts":
        """From a collector's columns: ``keys`` are (metric, subject, method, flags) in code order;
        days are dates or, in an ``array('i')``, days since 1970-01-01 (codes ``array('i')``, values
        ``array('d')``: taken without a copy)."""
        cols = list(zip(*keys)) if keys else [[], [], [], []]
        key_table = pa.table({"source": pa.array([source] * len(keys), pa.string()),
                              **{n: pa.array(list(c), pa.string()) for n, c in zip(KEY_COLUMNS[1:], cols)}},
                             schema=KEY_SCHEMA)
        return cls(_column(days, pa.date32(), "i"), _column(codes, pa.int32(), "i"),
                   _column(values, pa.float64(), "d"), key_table)

    def to_table(self) -> pa.Table:
        """The same facts with OBSERVATION_SCHEMA's columns (one string per fact)."""
        cols = {n: pc.take(self.keys[n], self.key) for n in KEY_COLUMNS}
        return pa.table({"day": self.day, "source": cols["source"], "metric": cols["metric"],
                         "subject": cols["subject"], "value": self.value, "method": cols["method"],
                         "flags": cols["flags"]}, schema=OBSERVATION_SCHEMA)


def _column(values: Sequence[Any], kind: pa.DataType, typecode: str) -> pa.Array:
    if isinstance(values, array) and values.typecode == typecode and values.itemsize == kind.bit_width // 8:
        return pa.Array.from_buffers(kind, len(values), [None, pa.py_buffer(values)])
    return pa.array(values, kind)


def keyed(data: Any) -> KeyedFacts:
    """KeyedFacts from KeyedFacts, an Arrow table, columns or rows with OBSERVATION_SCHEMA's names."""
    if isinstance(data, KeyedFacts):
        return data
    if isinstance(data, pa.Table):
        table = data.select(OBSERVATION_SCHEMA.names).cast(OBSERVATION_SCHEMA)
    elif isinstance(data, Mapping):
        table = pa.table({n: data.get(n, []) for n in OBSERVATION_SCHEMA.names}, schema=OBSERVATION_SCHEMA)
    else:
        table = pa.Table.from_pylist(list(data), schema=OBSERVATION_SCHEMA)
    table = table.set_column(6, "flags", pc.fill_null(table["flags"], ""))
    cols = list(KEY_COLUMNS)
    distinct = table.select(cols).group_by(cols, use_threads=False).aggregate([])
    distinct = distinct.append_column("_key", pa.array(range(distinct.num_rows), pa.int32()))
    pos = table.select(cols).append_column("_pos", pa.array(range(table.num_rows), pa.int64()))
    codes = pos.join(distinct, keys=cols, use_threads=False).sort_by("_pos")["_key"]
    return KeyedFacts(table["day"].combine_chunks(), codes.combine_chunks(), table["value"].combine_chunks(),
                      distinct.select(cols))


def series_ids(con: duckdb.DuckDBPyConnection, keys: pa.Table) -> pa.Array:
    """The series id of each key row (new series get the next ids), in the keys' order."""
    keys = keys.append_column("_key", pa.array(range(keys.num_rows), pa.int32()))
    con.register("_keys", keys)
    try:
        con.execute("""
            INSERT INTO series (series_id, source, metric, subject, method)
            SELECT CAST((SELECT coalesce(max(series_id), 0) FROM series)
                        + row_number() OVER (ORDER BY source, metric, subject, method) AS INTEGER), *
            FROM (SELECT DISTINCT source, metric, subject, method FROM _keys
                  EXCEPT SELECT source, metric, subject, method FROM series)""")
        ids = con.sql("""SELECT s.series_id FROM _keys k
                         JOIN series s USING (source, metric, subject, method) ORDER BY k._key""").to_arrow_table()
    finally:
        con.unregister("_keys")
    return ids["series_id"].combine_chunks()


def last_per_key(con: duckdb.DuckDBPyConnection, table: pa.Table) -> pa.Table:
    """One fact per (series_id, day): the last one given wins, in first-seen order."""
    if table.num_rows < 2:
        return table
    con.register("_dups", table.select(["series_id", "day"]))
    try:
        if not con.execute("SELECT 1 FROM _dups GROUP BY series_id, day HAVING count(*) > 1 LIMIT 1").fetchall():
            return table
        pos = table.select(["series_id", "day"]).append_column("_pos", pa.array(range(table.num_rows), pa.int64()))
        groups = pos.group_by(["series_id", "day"], use_threads=False).aggregate([("_pos", "min"), ("_pos", "max")])
        return table.take(groups["_pos_max"].take(pc.sort_indices(groups["_pos_min"])))
    finally:
        con.unregister("_dups")


def append(con: duckdb.DuckDBPyConnection, facts: KeyedFacts, run_id: str, collected_at: dt.datetime
           ) -> pa.Table:
    """Replace the batch's (series_id, day) keys and append it, in the caller's transaction.

    Returns what was written: series_id, day, value, flags (one row per key)."""
    ids = series_ids(con, facts.keys)
    table = last_per_key(con, pa.table({"series_id": pc.take(ids, facts.key), "day": facts.day, "value": facts.value,
                                   "flags": pc.take(facts.keys["flags"], facts.key)}))
    lo, hi = day_range(table)
    con.register("_facts", table)
    try:
        if con.execute("""SELECT 1 FROM facts WHERE day BETWEEN ? AND ?
                          AND series_id IN (SELECT DISTINCT series_id FROM _facts) LIMIT 1""", [lo, hi]).fetchall():
            con.execute("""DELETE FROM facts USING _facts k
                           WHERE facts.day BETWEEN ? AND ? AND facts.series_id = k.series_id
                             AND facts.day = k.day""", [lo, hi])
        con.execute("INSERT INTO facts SELECT series_id, day, value, flags, ?, ? FROM _facts",
                    [run_id, collected_at.replace(tzinfo=None)])
    finally:
        con.unregister("_facts")
    return table


def day_range(table: pa.Table) -> tuple[dt.date, dt.date]:
    mm = pc.min_max(table["day"])
    return mm["min"].as_py(), mm["max"].as_py()


def duplicates(con: duckdb.DuckDBPyConnection, limit: int = 10) -> tuple[int, list[tuple]]:
    """Keys held more than once (only a hand-made write can do that): how many, and a few of them."""
    rows = con.execute("""
        WITH d AS (SELECT series_id, day, count(*) AS n FROM facts GROUP BY series_id, day HAVING count(*) > 1)
        SELECT count(*) OVER () AS total, d.day, s.source, s.metric, s.subject, s.method, d.n
        FROM d LEFT JOIN series s USING (series_id) ORDER BY d.day DESC LIMIT ?""", [limit]).fetchall()
    return (rows[0][0] if rows else 0), [r[1:] for r in rows]


def prune_series(con: duckdb.DuckDBPyConnection) -> None:
    """Forget series that hold no fact any more (after a hand-made delete), so that a family's expected
    subjects keep meaning 'members that have reported the metric'."""
    con.execute("DELETE FROM series WHERE series_id NOT IN (SELECT DISTINCT series_id FROM facts)")
