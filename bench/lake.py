"""Lake: export a 10-million-row warehouse as Parquet, then aggregate it with Spark against DuckDB.

Makes the synthetic warehouse of bench/warehouse_scale.py (or reuses one kept with its ``--keep DIR``:
pass the same DIR), then measures: DuckDB's own ``ecosystem_daily`` over it; the first export (seconds,
MiB on disk, files); a re-export of unchanged data; one more day of facts and the incremental export
after it; the Spark job in local mode on the lake (JVM start and job apart), its answer checked against
DuckDB's row for row.  DuckDB's side is timed twice: reading ``ecosystem_daily`` (a table the commits
keep up to date) and computing it whole from the facts with the warehouse's own query.
Usage: python bench/lake.py [--rows 10000000] [--keep DIR] [--master 'local[2]'] [--shuffle-partitions 8]
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import warehouse_scale as scale  # noqa: E402
from collectors.base import Membership  # noqa: E402
from jobs import lake, spark_daily  # noqa: E402
from warehouse import store  # noqa: E402

SUBJECTS = 10_000


def load(cfg, n_rows: int) -> float:
    """The synthetic warehouse of bench/warehouse_scale.py, through the commit path; seconds."""
    con = store.open_writer(cfg.storage)
    try:
        mems = [Membership(scale.ECOS[i % len(scale.ECOS)], scale.METRICS[i % len(scale.METRICS)][0],
                           f"subject-{i}", "member") for i in range(SUBJECTS)]
        store.sync_config(con, cfg.ecosystem_rows(), cfg.event_rows(), mems)
        return sum(scale.commit(con, batches, f"bench-{first}")
                   for first, batches in scale.chunks(n_rows, SUBJECTS, max(1, 1_000_000 // SUBJECTS)))
    finally:
        con.close()


def next_day(cfg, n_rows: int) -> float:
    """One more day of every subject (what a daily run adds), committed; seconds."""
    con = store.open_writer(cfg.storage)
    try:
        return scale.commit(con, scale.batches(SUBJECTS, n_rows // SUBJECTS, 1), "bench-next")
    finally:
        con.close()


def count_rows(database: Path) -> int:
    con = duckdb.connect(str(database), read_only=True)
    try:
        return con.execute("SELECT count(*) FROM observations").fetchall()[0][0]
    finally:
        con.close()


def duckdb_daily(database: Path, out: Path) -> tuple[float, float]:
    """Seconds to read DuckDB's ecosystem_daily (a table kept up to date by every commit) and to compute
    it whole from the facts with the warehouse's own query (what a rebuild runs); its rows kept in ``out``
    for the comparison."""
    from warehouse.migrations import FAMILY_DAILY_SQL

    con = duckdb.connect(str(database), read_only=True)
    try:
        t0 = time.perf_counter()
        con.execute("SELECT count(*), sum(value) FROM ecosystem_daily").fetchall()
        read = time.perf_counter() - t0
        t1 = time.perf_counter()
        con.execute("SELECT count(*), sum(value) FROM (" + FAMILY_DAILY_SQL.format(pairs="", days="") + ")").fetchall()
        whole = time.perf_counter() - t1
        con.execute("COPY (SELECT * FROM ecosystem_daily) TO ? (FORMAT parquet)", [str(out)])
        return read, whole
    finally:
        con.close()


def export(cfg, to: Path) -> tuple[float, lake.Outcome]:
    previous = lake.read_manifest(to)
    to.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(cfg.database), read_only=True)
    try:
        t0 = time.perf_counter()
        outcome = lake.export(con, to, previous)
        return time.perf_counter() - t0, outcome
    finally:
        con.close()


def mib(folder: Path) -> float:
    return round(sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20, 1)


def compare(duck: Path, spark_out: Path) -> dict[str, float]:
    con = duckdb.connect()
    try:
        con.execute("CREATE TABLE d AS SELECT * FROM read_parquet(?)", [str(duck)])
        con.execute("CREATE TABLE s AS SELECT * FROM read_parquet(?)", [f"{spark_out}/ecosystem_daily/*.parquet"])
        keys = "day, ecosystem, metric, subjects_reporting, subjects_expected, method"
        [(a, b)] = con.execute(f"""SELECT (SELECT count(*) FROM (SELECT {keys} FROM s EXCEPT SELECT {keys} FROM d)),
                                         (SELECT count(*) FROM (SELECT {keys} FROM d EXCEPT SELECT {keys} FROM s))
                                """).fetchall()
        [(rows, worst)] = con.execute("""SELECT count(*), max(abs(s.value - d.value) / greatest(abs(d.value), 1e-300))
                                         FROM s JOIN d USING (day, ecosystem, metric)""").fetchall()
        return {"rows": rows, "only_spark": a, "only_duckdb": b, "max_relative_difference": worst or 0.0}
    finally:
        con.close()


def spark_run(lake_dir: Path, out: Path, master: str, partitions: int) -> tuple[float, float]:
    t0 = time.perf_counter()
    spark = spark_daily.session(master, partitions)
    started = time.perf_counter() - t0
    try:
        t1 = time.perf_counter()
        spark_daily.run(spark, str(lake_dir), str(out))
        return started, time.perf_counter() - t1
    finally:
        spark.stop()


def run(n_rows: int, tmp: Path, master: str, partitions: int) -> dict[str, object]:
    cfg = scale.config(tmp)
    figures: dict[str, object] = {"rows": n_rows}
    have = count_rows(cfg.database) if cfg.database.exists() else 0
    if have != n_rows:
        if have:
            raise SystemExit(f"{cfg.database} holds {have} rows, not {n_rows}; use another --keep DIR")
        figures["load_seconds"] = round(load(cfg, n_rows), 1)
    figures["warehouse_mib"] = round(cfg.database.stat().st_size / 2**20, 1)
    duck = tmp / "duckdb-ecosystem_daily.parquet"
    read, whole = duckdb_daily(cfg.database, duck)
    figures["duckdb_ecosystem_daily_read_seconds"] = round(read, 3)
    figures["duckdb_ecosystem_daily_computed_whole_seconds"] = round(whole, 2)
    lake_dir = tmp / "lake"
    if lake_dir.exists():
        raise SystemExit(f"{lake_dir} exists; remove it or use another --keep DIR")
    seconds, outcome = export(cfg, lake_dir)
    figures["export_seconds"] = round(seconds, 1)
    figures["export_files"] = len(outcome.written)
    figures["lake_mib"] = mib(lake_dir)
    seconds, outcome = export(cfg, lake_dir)
    figures["reexport_unchanged_seconds"] = round(seconds, 1)
    figures["reexport_unchanged_files_written"] = len(outcome.written) + int(outcome.manifest_written)
    jvm, job = spark_run(lake_dir, tmp / "spark-out", master, partitions)
    figures.update({"spark_master": master, "spark_shuffle_partitions": partitions,
                    "spark_session_start_seconds": round(jvm, 1), "spark_job_seconds": round(job, 1),
                    "spark_vs_duckdb": compare(duck, tmp / "spark-out")})
    figures["next_day_load_seconds"] = round(next_day(cfg, n_rows), 1)
    seconds, outcome = export(cfg, lake_dir)
    figures["next_day_export_seconds"] = round(seconds, 1)
    figures["next_day_files_written"] = len(outcome.written)
    figures["next_day_files_unchanged"] = len(outcome.kept)
    return figures


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=10_000_000)
    p.add_argument("--keep", type=Path, help="keep (or reuse) the warehouse and the lake in DIR")
    p.add_argument("--master", default="local[2]")
    p.add_argument("--shuffle-partitions", type=int, default=8)
    args = p.parse_args()
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        out = run(args.rows, args.keep, args.master, args.shuffle_partitions)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            out = run(args.rows, Path(tmp), args.master, args.shuffle_partitions)
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
