"""Lake: export a 10-million-row warehouse as Parquet, then aggregate it with Spark against DuckDB.

Makes the synthetic warehouse of bench/warehouse_scale.py (or reuses one kept with its ``--keep DIR``:
pass the same DIR), then measures: DuckDB's own ``ecosystem_daily`` over it; the first export (seconds,
MiB on disk, files); a re-export of unchanged data; one more day of facts and the incremental export
after it; the Spark job in local mode on the lake (JVM start and job apart), its answer checked against
DuckDB's row for row.
Usage: python bench/lake.py [--rows 10000000] [--keep DIR] [--master 'local[2]'] [--shuffle-partitions 8]
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import pyarrow as pa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import warehouse_scale as scale  # noqa: E402
from collectors.base import Membership  # noqa: E402
from jobs import lake, spark_daily  # noqa: E402
from warehouse import store  # noqa: E402

SUBJECTS = 10_000
START = dt.date(2023, 1, 1)


def load(cfg, n_rows: int) -> float:
    """The synthetic warehouse of bench/warehouse_scale.py, through the commit path; seconds."""
    con = store.open_writer(cfg.storage)
    try:
        mems = [Membership(scale.ECOS[i % len(scale.ECOS)], scale.METRICS[i % len(scale.METRICS)][0],
                           f"subject-{i}", "member") for i in range(SUBJECTS)]
        store.sync_config(con, cfg.ecosystem_rows(), cfg.event_rows(), mems)
        t0 = time.perf_counter()
        for table in scale.synthetic(n_rows, SUBJECTS, START, 1_000_000):
            con.execute("BEGIN TRANSACTION")
            store.upsert_observations(con, table)
            con.execute("COMMIT")
        return time.perf_counter() - t0
    finally:
        con.close()


def next_day(cfg, n_rows: int) -> float:
    """One more day of every subject (what a daily run adds), committed; seconds."""
    day = START + dt.timedelta(days=-(-n_rows // SUBJECTS))
    rows = [(i % len(scale.METRICS), i) for i in range(SUBJECTS)]
    table = pa.table({"day": [day] * SUBJECTS, "source": [scale.METRICS[m][0] for m, _ in rows],
                      "metric": [scale.METRICS[m][1] for m, _ in rows], "subject": [f"subject-{i}" for _, i in rows],
                      "value": [float(i * 7 % 1_000_000) for _, i in rows], "method": ["snapshot"] * SUBJECTS,
                      "flags": [""] * SUBJECTS, "run_id": ["bench-next"] * SUBJECTS,
                      "collected_at": [dt.datetime(2026, 11, 29, 2)] * SUBJECTS})
    con = store.open_writer(cfg.storage)
    try:
        t0 = time.perf_counter()
        con.execute("BEGIN TRANSACTION")
        store.upsert_observations(con, table)
        con.execute("COMMIT")
        return time.perf_counter() - t0
    finally:
        con.close()


def count_rows(database: Path) -> int:
    con = duckdb.connect(str(database), read_only=True)
    try:
        return con.execute("SELECT count(*) FROM observations").fetchall()[0][0]
    finally:
        con.close()


def duckdb_daily(database: Path, out: Path) -> float:
    """Seconds for DuckDB's ecosystem_daily over everything; its rows kept in ``out`` for the comparison."""
    con = duckdb.connect(str(database), read_only=True)
    try:
        t0 = time.perf_counter()
        con.execute("SELECT count(*), sum(value) FROM ecosystem_daily").fetchall()
        seconds = time.perf_counter() - t0
        con.execute("COPY (SELECT * FROM ecosystem_daily) TO ? (FORMAT parquet)", [str(out)])
        return seconds
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
    figures["duckdb_ecosystem_daily_seconds"] = round(duckdb_daily(cfg.database, duck), 2)
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
