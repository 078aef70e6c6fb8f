"""Warehouse scale: load N synthetic observations through the commit path, query, build the site.

The facts are made as collectors make them — one Batch per source and window of days, its columns
filled the way ``Batch.add`` fills them — and stored by ``store.commit`` exactly as a run's commit
stores them (Batch columns → Arrow → series ids → delete-then-append → plausibility → family
totals → COMMIT); only that is timed for ``rows_per_second``.  ``raw_append_rows_per_second``
appends the same facts, as one Arrow table with the observation columns, to an unconstrained
DuckDB table in a scratch file in the same run: what DuckDB itself can do.  Then: a day re-run
through the commit path, ``ecosystem_daily`` whole, one family's metric over all days, what
``dashboards/data.py`` reads, the whole site build, the file size and the process's peak memory.
Values: levels (stars, forks) grow with noise; flows and rolling windows vary.

Usage: python bench/warehouse_scale.py [--rows 10000000] [--keep DIR]  (DIR keeps the warehouse
and its config, bench.toml)
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from collectors.base import Batch, Membership  # noqa: E402
from jobs.config import dump_toml, load_config  # noqa: E402
from jobs.runner import rows_of  # noqa: E402
from warehouse import store  # noqa: E402

ECOS = ["llama", "gpt", "chatglm", "qwen", "baichuan", "falcon", "mistral", "deepseek"]
METRICS = [("github", "stars"), ("github", "forks"), ("huggingface", "downloads_30d"),
           ("pypi", "downloads_day")]
START = dt.date(2023, 1, 1)
COLLECTED = dt.datetime(2026, 11, 28, 2, 0)


def config(folder: Path):
    raw = {"storage": {"database": str(folder / "bench.duckdb"), "raw_dir": str(folder / "raw"),
                       "pending_dir": str(folder / "pending"), "log_dir": str(folder / "logs")},
           "site": {"out_dir": str(folder / "site")},
           "ecosystem": [{"key": k, "label": k.title(), "github_queries": [k]} for k in ECOS]}
    path = folder / "bench.toml"
    path.write_text(dump_toml(raw), encoding="utf-8")
    return load_config(path)


def value(i: int, t: int) -> float:
    """Subject i on day t: levels grow (never fall by half), flows and windows wander."""
    if i % len(METRICS) < 2:
        return float(100 + (i % 997) * 3 + t * (1 + i % 7) + (i * 31 + t * 17) % 13)
    return float((i * 7919 + t * 104729) % 100_000)


def batches(subjects: int, first_day: int, days: int) -> list[Batch]:
    """One Batch per source for ``days`` days from START + first_day, as a collector fills it."""
    out = {src: Batch(src) for src, _ in METRICS}
    for t in range(first_day, first_day + days):
        day = START + dt.timedelta(days=t)
        for i in range(subjects):
            src, metric = METRICS[i % len(METRICS)]
            out[src].add(day, metric, f"subject-{i}", value(i, t))
    return list(out.values())


def chunks(n_rows: int, subjects: int, chunk_days: int):
    total_days = n_rows // subjects
    for first in range(0, total_days, chunk_days):
        yield first, batches(subjects, first, min(chunk_days, total_days - first))


def commit(con, items_of: list[Batch], run_id: str) -> float:
    t0 = time.perf_counter()
    items = [(rows_of(b), store.RunRecord(run_id, f"bench_{b.source}", START, "backfill", COLLECTED))
             for b in items_of]
    store.commit(con, items)
    return time.perf_counter() - t0


def raw_append(raw, items_of: list[Batch]) -> float:
    """The same facts as one Arrow table with the observation columns, appended by DuckDB."""
    import pyarrow as pa

    tables = [rows_of(b).observations.to_table() for b in items_of]
    table = pa.concat_tables(tables)
    table = table.append_column("run_id", pa.array(["bench"] * table.num_rows, pa.string())) \
        .append_column("collected_at", pa.array([COLLECTED] * table.num_rows, pa.timestamp("us")))
    raw.register("_raw", table)
    t0 = time.perf_counter()
    raw.execute("BEGIN TRANSACTION")
    raw.execute("INSERT INTO raw SELECT * FROM _raw")
    raw.execute("COMMIT")
    took = time.perf_counter() - t0
    raw.unregister("_raw")
    return took


def timed(con, sql: str) -> tuple[float, list]:
    t0 = time.perf_counter()
    rows = con.execute(sql).fetchall()
    return time.perf_counter() - t0, rows


def load(cfg, n_rows: int, subjects: int, scratch: Path) -> dict:
    con = store.open_writer(cfg.storage)
    mems = [Membership(ECOS[i % len(ECOS)], METRICS[i % len(METRICS)][0], f"subject-{i}", "member")
            for i in range(subjects)]
    store.sync_config(con, cfg.ecosystem_rows(), cfg.event_rows(), mems)
    raw = duckdb.connect(str(scratch / "raw-append.duckdb"), config={"storage_compatibility_version": "v1.4.0"})
    raw.execute("""CREATE TABLE raw (day DATE, source VARCHAR, metric VARCHAR, subject VARCHAR, value DOUBLE,
                   method VARCHAR, flags VARCHAR, run_id VARCHAR, collected_at TIMESTAMP)""")
    commit_s = raw_s = 0.0
    loaded = 0
    for first, bs in chunks(n_rows, subjects, max(1, 1_000_000 // subjects)):
        commit_s += commit(con, bs, f"bench-{first}")
        raw_s += raw_append(raw, bs)
        loaded += sum(len(b.facts()[0]) for b in bs)
    last = n_rows // subjects - 1  # the last day loaded, collected again
    raw.close()
    (scratch / "raw-append.duckdb").unlink()
    rerun_s = commit(con, batches(subjects, last, 1), "bench-rerun")
    dup = con.execute("SELECT count(*) - count(DISTINCT (series_id, day)) FROM facts").fetchone()[0]
    con.close()
    return {"rows": loaded, "load_seconds": round(commit_s, 1), "rows_per_second": round(loaded / commit_s),
            "raw_append_rows_per_second": round(loaded / raw_s),
            "rerun_day_rows": subjects, "rerun_day_seconds": round(rerun_s, 2), "duplicate_keys": dup}


def queries(cfg) -> dict:
    con = duckdb.connect(str(cfg.database), read_only=True)
    con.execute("SELECT count(*) FROM facts").fetchall()  # warm the buffer pool once, as a reader would
    daily_s, daily = timed(con, "SELECT count(*), sum(value) FROM ecosystem_daily")
    one_s, one = timed(con, """SELECT day, value, subjects_reporting FROM ecosystem_daily
                               WHERE ecosystem = 'llama' AND metric = 'stars' ORDER BY day""")
    con.close()
    return {"ecosystem_daily_rows": daily[0][0], "ecosystem_daily_seconds": round(daily_s, 3),
            "dashboard_query_rows": len(one), "dashboard_query_seconds": round(one_s, 3)}


def site(cfg) -> dict:
    from dashboards import data
    from jobs import site as site_mod

    today = START + dt.timedelta(days=2000)
    t0 = time.perf_counter()
    data.read_site_data(cfg.storage, site_mod.site_families(cfg), cfg.event_rows(), today)
    read_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    pages = site_mod.build_site(cfg, today=today)
    return {"site_read_seconds": round(read_s, 2), "site_build_seconds": round(time.perf_counter() - t1, 2),
            "site_pages": len(pages)}


def run(n_rows: int, folder: Path, subjects: int = 10_000) -> dict:
    cfg = config(folder)
    out = load(cfg, n_rows, subjects, folder)
    out.update(queries(cfg))
    out.update(site(cfg))
    out["db_mib"] = round(Path(cfg.database).stat().st_size / 2**20, 1)
    out["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=10_000_000)
    p.add_argument("--keep", type=Path, help="keep the warehouse and its config (bench.toml) in DIR")
    args = p.parse_args()
    if args.rows < 10_000:
        p.error("--rows must be at least 10000 (10,000 subjects a day)")
    if args.keep:
        if args.keep.exists() and any(args.keep.iterdir()):
            p.error(f"--keep {args.keep}: folder exists and is not empty")
        args.keep.mkdir(parents=True, exist_ok=True)
        out = run(args.rows, args.keep)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            out = run(args.rows, Path(tmp))
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
