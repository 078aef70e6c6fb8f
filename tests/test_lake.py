"""The lake export (``ecotrend export --to DIR``) and the Spark job that reproduces ``ecosystem_daily``.

The Spark tests need Java 17+ and pyspark (the ``spark`` extra): they skip when either is missing,
except under ``CI=true`` where they fail instead (``.ci/run`` installs both).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from collectors.base import Batch, Membership
from jobs.config import Config
from tests import site_data
from tests.conftest import ROOT, run_cli
from warehouse import store

D = dt.date.fromisoformat
KEYS = "day, ecosystem, metric, subjects_reporting, subjects_expected, method"
SUSPECT = (D("2023-08-02"), "llama", "stars")  # the (day, family, metric) of the hand-built suspect fact
EXTRA_MEMBERS = [
    Membership("qwen", "github", "ggml-org/llama.cpp", "member"),  # one repository in two families
    Membership("llama", "github", "ollama/ollama", "member"),      # reports on some days only; one suspect
    Membership("gpt", "github", "ChatGPT", "member"),              # a member beside a primary-only metric
]


def spark_missing() -> str:
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        return "Java is not installed (Debian: apt-get install openjdk-17-jre-headless)"
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "pyspark is not installed (pip install -e '.[spark]')"
    return ""


def need_spark() -> None:
    reason = spark_missing()
    if reason and os.environ.get("CI") == "true":
        pytest.fail(f"under CI the Spark tests must run: {reason}")
    if reason:
        pytest.skip(reason)


@pytest.fixture(scope="module")
def spark_jvm():
    """One JVM for the module's Spark tests (starting one costs ~10 s), with the C1 compiler only: these
    jobs last seconds, and C2's compiling does not pay back in them (the first job ~17 s instead of ~24 s)."""
    need_spark()
    from pyspark.sql import SparkSession

    from jobs import spark_daily

    old = os.environ.get("SPARK_SUBMIT_OPTS")
    os.environ["SPARK_SUBMIT_OPTS"] = f"{old or ''} -XX:TieredStopAtLevel=1".strip()
    try:
        spark_daily.session("local[2]", 4)
    finally:
        if old is None:
            del os.environ["SPARK_SUBMIT_OPTS"]
        else:
            os.environ["SPARK_SUBMIT_OPTS"] = old
    yield
    active = SparkSession.getActiveSession()
    if active is not None:
        active.stop()


@pytest.fixture
def spark(spark_jvm):
    """The module JVM's session (a new one on the same JVM after ``spark_daily.main`` stopped the last)."""
    from jobs import spark_daily

    return spark_daily.session("local[2]", 4)


# -- a hand-built warehouse with the hard cases ---------------------------------------------------------
def extras(suspect: bool) -> list[Batch]:
    """What the site warehouse lacks: snapshot beside backfill (and derived beside backfill) on the same
    day, a member reporting a primary-only metric (alone on a day without the primary), a member missing
    on some days, a subject in two families, and one implausible fall flagged suspect."""
    gh, pypi = Batch("github"), Batch("pypi")
    for day in (D("2023-07-10"), D("2023-07-11"), D("2023-07-12")):  # beside the day's snapshots
        gh.add(day, "repo_count", "llama", 4000, "backfill")
        gh.add(day, "repo_count", "GPT-4", 3000, "backfill")
    pypi.add(D("2023-08-01"), "downloads_day", "openai", 700_000)              # snapshot beside a backfill
    pypi.add(D("2023-08-02"), "downloads_day", "llama-cpp-python", 15_000, "derived")
    for day in (D("2023-08-01"), D("2023-08-05"), D("2023-07-27")):  # 07-27: GPT-4 (primary) has no row
        gh.add(day, "repo_count", "ChatGPT", 9_000 + day.day)
    day = D("2023-07-20")
    while day <= D("2023-08-06"):
        if day == SUSPECT[0]:  # a fall no repository makes overnight; the twin has no fact that day
            if suspect:
                gh.add(day, "stars", "ollama/ollama", 50, flags="suspect")
        elif day != D("2023-07-25"):  # a missing member that day
            gh.add(day, "stars", "ollama/ollama", 90_000 + 100 * day.day)
        day += dt.timedelta(days=1)
    return [gh, pypi]


def hard_warehouse(root: Path, suspect: bool = True) -> Config:
    cfg = site_data.make_site_config(root)
    site_data.populate(cfg)
    con = store.open_writer(cfg.storage, wait_seconds=5)
    try:
        store.sync_config(con, cfg.ecosystem_rows(), cfg.event_rows(), site_data.memberships() + EXTRA_MEMBERS)
        con.execute("BEGIN TRANSACTION")
        for batch in extras(suspect):
            site_data.write(con, batch, "extra-1", D("2023-08-08"), dt.datetime(2023, 8, 8, 3))
        con.execute("COMMIT")
    finally:
        con.close()
    return cfg


@pytest.fixture(scope="module")
def hard(tmp_path_factory) -> Config:
    return hard_warehouse(tmp_path_factory.mktemp("hard"))


# -- comparison -----------------------------------------------------------------------------------------
# per view: the columns compared exactly, the float columns (within 1e-9 relative), the key
VIEWS = {"ecosystem_daily": (KEYS, ("value",), "day, ecosystem, metric"),
         "crossovers": ("metric, ecosystem, other, since, day, since_first_day", ("value", "other_value"),
                        "metric, ecosystem, other")}
SAME = {"only_spark": [], "only_duckdb": [], "values": [], "counts": []}


def differences(warehouse: Path, spark_out: Path, view: str = "ecosystem_daily") -> dict[str, list[tuple]]:
    """Rows of Spark's answer not in the warehouse's view and the reverse (all columns but the floats),
    and rows whose floats differ by more than 1e-9 relative."""
    exact, floats, key = VIEWS[view]
    close = " AND ".join(f"(s.{c} IS NOT DISTINCT FROM d.{c} OR abs(s.{c} - d.{c}) <= "
                         f"1e-9 * greatest(abs(s.{c}), abs(d.{c})))" for c in floats)
    con = duckdb.connect()
    try:
        con.execute("ATTACH ? AS w (READ_ONLY)", [str(warehouse)])
        con.execute(f"CREATE TABLE d AS SELECT * FROM w.{view}")
        con.execute("CREATE TABLE s AS SELECT * FROM read_parquet(?)", [f"{spark_out}/{view}/*.parquet"])
        only_spark = con.execute(f"SELECT {exact} FROM s EXCEPT SELECT {exact} FROM d ORDER BY ALL").fetchall()
        only_duck = con.execute(f"SELECT {exact} FROM d EXCEPT SELECT {exact} FROM s ORDER BY ALL").fetchall()
        values = con.execute(f"SELECT {key}, s.{floats[0]}, d.{floats[0]} FROM s JOIN d USING ({key}) "
                             f"WHERE NOT ({close})").fetchall()
        counts = con.execute("SELECT (SELECT count(*) FROM s), (SELECT count(*) FROM d)").fetchall()[0]
    finally:
        con.close()
    return {"only_spark": only_spark, "only_duckdb": only_duck, "values": values,
            "counts": [] if counts[0] == counts[1] else [counts]}


def has_view(warehouse: Path, view: str) -> bool:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return bool(con.execute("SELECT count(*) FROM duckdb_views() WHERE view_name = ?", [view]).fetchall()[0][0])
    finally:
        con.close()


def spark_rows(spark_out: Path, where: str = "TRUE") -> list[tuple]:
    return duckdb.sql(f"SELECT {KEYS}, value FROM read_parquet('{spark_out}/ecosystem_daily/*.parquet') "
                      f"WHERE {where} ORDER BY ALL").fetchall()


def test_spark_matches_duckdb_on_the_hard_cases(spark, hard, tmp_path):
    from jobs import spark_daily

    lake, out = tmp_path / "lake", tmp_path / "out"
    r = run_cli("export", "--to", str(lake), config=hard.path)
    assert r.returncode == 0, r.stderr
    spark_daily.run(spark, str(lake), str(out))
    assert differences(hard.database, out) == SAME
    # and the same warehouse without the suspect fact: 'suspect does not report' is exactly its absence
    twin = hard_warehouse(tmp_path / "twin", suspect=False)
    assert differences(twin.database, out) == SAME
    if has_view(hard.database, "crossovers"):
        assert differences(hard.database, out, "crossovers") == SAME
        leads = duckdb.sql(f"SELECT ecosystem, other FROM read_parquet('{out}/crossovers/*.parquet') "
                           "WHERE metric = 'repo_count' ORDER BY ALL").fetchall()
        assert ("llama", "gpt") in leads or ("gpt", "llama") in leads

    def row(day: str, eco: str, metric: str) -> tuple | None:
        got = spark_rows(out, f"day = DATE '{day}' AND ecosystem = '{eco}' AND metric = '{metric}'")
        return got[0][3:] if got else None

    assert row("2023-08-02", "llama", "stars") == (2, 3, "snapshot", 27900 + 32 * 28 + 24000 + 150 * 28)  # suspect
    assert row("2023-08-01", "llama", "stars")[:2] == (3, 3)
    assert row("2023-07-25", "llama", "stars")[:2] == (2, 3)                       # a missing member
    assert row("2023-08-01", "qwen", "stars") == (1, 1, "snapshot", 24000 + 150 * 27)  # llama.cpp in two families
    assert row("2023-07-11", "llama", "repo_count") == (1, 1, "snapshot", site_data.llama_repos(D("2023-07-11")))
    assert row("2023-08-01", "gpt", "downloads_day") == (1, 1, "snapshot", 700_000)    # snapshot over backfill
    assert row("2023-08-02", "llama", "downloads_day") == (1, 1, "derived", 15_000)    # derived over backfill
    assert row("2023-08-01", "gpt", "repo_count") == (2, 2, "snapshot", site_data.gpt_repos(D("2023-08-01")))
    assert row("2023-07-27", "gpt", "repo_count") is None                # primary-only, the primary absent
    assert row("2023-07-19", "llama", "repo_count")[2] == "snapshot"     # the article's reference is not used
    assert row("2023-08-01", "llama", "downloads_30d")[:2] == (1, 1)     # the family, not its model items


def test_spark_matches_duckdb_on_the_demo_warehouse(spark_jvm, demo_run, tmp_path, capfd):
    """The demo (two simulated years, every collector) exported by the CLI, aggregated by the job's entry
    point (``main``: what ``python -m jobs.spark_daily`` and spark-submit run; here on the module's JVM)
    row for row as DuckDB."""
    from jobs import spark_daily

    result, folder = demo_run
    assert result.returncode == 0, result.stderr
    lake, out = tmp_path / "lake", tmp_path / "out"
    r = run_cli("export", "--to", str(lake), config=folder / "ecotrend.toml")
    assert r.returncode == 0, r.stderr
    capfd.readouterr()
    code = spark_daily.main([str(lake), str(out), "--master", "local[2]", "--shuffle-partitions", "4"])
    printed = capfd.readouterr()
    assert code == 0, printed.err
    assert printed.out == f"written: {out}/ecosystem_daily, {out}/crossovers\n"
    assert "Traceback" not in printed.err
    warehouse = folder / "data" / "ecotrend.duckdb"
    assert differences(warehouse, out) == SAME
    assert len(spark_rows(out)) > 1000
    if has_view(warehouse, "crossovers"):
        assert differences(warehouse, out, "crossovers") == SAME


# -- the export: layout, manifest, incremental, refusals -----------------------------------------------
def snapshot_files(folder: Path) -> dict[str, tuple[int, int, str]]:
    """relative path -> (inode, mtime_ns, sha256) of every file of an export."""
    return {str(p.relative_to(folder)): (p.stat().st_ino, p.stat().st_mtime_ns,
                                         hashlib.sha256(p.read_bytes()).hexdigest())
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_export_layout_and_manifest(hard, tmp_path):
    lake = tmp_path / "lake"
    r = run_cli("export", "--to", str(lake), config=hard.path)
    assert r.returncode == 0, r.stderr
    manifest = json.loads((lake / "manifest.json").read_text())
    assert manifest["format"] == "ecotrend-lake" and manifest["layout_version"] == 1
    assert manifest["contract_version"] == 1 and manifest["complete"] is True
    assert manifest["as_of"] == "2023-08-08"
    db = duckdb.connect(str(hard.database), read_only=True)
    try:
        for table in ("observations", "subjects", "memberships", "metrics", "ecosystems", "events"):
            assert manifest["tables"][table]["rows"] == db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        warehouse_rows = db.execute("SELECT * FROM observations ORDER BY ALL").fetchall()
    finally:
        db.close()
    listed = {f for t in manifest["tables"].values() for f in t["files"]}
    on_disk = {str(p.relative_to(lake)) for p in lake.rglob("*.parquet")}
    assert listed == on_disk
    assert "observations/source=github/metric=stars/2023-08.parquet" in listed
    assert {f.split("/")[0] for f in listed} == {"observations", "subjects", "memberships", "metrics",
                                                 "ecosystems", "events"}
    back = duckdb.sql(f"""SELECT day, source, metric, subject, value, method, flags, run_id, collected_at
                          FROM read_parquet('{lake}/observations/*/*/*.parquet', hive_partitioning = true,
                                            hive_types = {{'source': VARCHAR, 'metric': VARCHAR}})
                          ORDER BY ALL""").fetchall()
    assert back == warehouse_rows


def test_export_again_rewrites_only_what_changed(hard, tmp_path):
    lake = tmp_path / "lake"
    cfg = hard_warehouse(tmp_path / "wh")
    assert run_cli("export", "--to", str(lake), config=cfg.path).returncode == 0
    first = snapshot_files(lake)
    r = run_cli("export", "--to", str(lake), config=cfg.path)  # nothing changed: no file touched
    assert r.returncode == 0, r.stderr
    assert "0 files written" in r.stdout and "0 removed" in r.stdout
    assert snapshot_files(lake) == first
    stray = lake / "observations/source=github/metric=stars/1999-01.parquet"  # left by a killed export
    shutil.copy(lake / "observations/source=github/metric=stars/2023-08.parquet", stray)
    gh = Batch("github")
    gh.add(D("2023-08-07"), "stars", "ollama/ollama", 91_234)  # a late fact in an existing month
    gh.add(D("2023-08-08"), "forks", "ollama/ollama", 7_000)   # a metric never seen: a new partition
    con = store.open_writer(cfg.storage, wait_seconds=5)
    try:
        con.execute("BEGIN TRANSACTION")
        site_data.write(con, gh, "late-1", D("2023-08-08"), dt.datetime(2023, 8, 9, 2))
        con.execute("COMMIT")
    finally:
        con.close()
    r = run_cli("export", "--to", str(lake), config=cfg.path)
    assert r.returncode == 0, r.stderr
    after = snapshot_files(lake)
    changed = {f for f in after if f in first and after[f] != first[f]}
    assert changed == {"observations/source=github/metric=stars/2023-08.parquet", "manifest.json"}
    assert set(after) - set(first) == {"observations/source=github/metric=forks/2023-08.parquet"}
    assert set(first) - set(after) == set() and not stray.exists()
    assert "2 files written" in r.stdout
    n = duckdb.sql(f"SELECT count(*) FROM read_parquet('{lake}/observations/*/*/*.parquet')").fetchall()[0][0]
    assert n == json.loads((lake / "manifest.json").read_text())["tables"]["observations"]["rows"]


def test_export_refuses_a_folder_that_is_not_an_export(hard, tmp_path):
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    old = tmp_path / "old-layout" / "source=github" / "metric=stars"  # an export from before the lake layout
    old.mkdir(parents=True)
    (old / "data_0.parquet").write_bytes(b"PAR1")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "manifest.json").write_text("{not json")
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    for target in (foreign, old.parents[1], broken, a_file):
        before = snapshot_files(target) if target.is_dir() else a_file.read_text()
        r = run_cli("export", "--to", str(target), config=hard.path)
        assert r.returncode == 2, (target, r.stderr)
        assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr, r.stderr
        assert (snapshot_files(target) if target.is_dir() else a_file.read_text()) == before


def test_spark_job_bad_input_is_one_line(tmp_path):
    """Refused before any JVM starts: no export there, a foreign manifest, the export as output."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    (tmp_path / "foreign").mkdir()
    (tmp_path / "foreign" / "manifest.json").write_text('{"format": "something else"}')
    (tmp_path / "partial").mkdir()
    (tmp_path / "partial" / "manifest.json").write_text('{"format": "ecotrend-lake", "layout_version": 1}')
    for args in ([str(tmp_path / "nowhere"), str(tmp_path / "out")],
                 [str(tmp_path / "foreign"), str(tmp_path / "out")],
                 [str(tmp_path / "partial"), str(tmp_path / "out")],
                 [str(tmp_path / "partial"), str(tmp_path / "partial")]):
        r = subprocess.run([sys.executable, "-m", "jobs.spark_daily", *args], capture_output=True, text=True,
                           timeout=60, cwd=ROOT, env=env)
        assert r.returncode == 2, r.stderr
        assert r.stderr.count("\n") == 1 and r.stderr.startswith("spark_daily: "), r.stderr
    assert not (tmp_path / "out").exists()
