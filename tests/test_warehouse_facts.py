"""The fact store without a key index: uniqueness by delete-then-append, a hand-made duplicate
reported, the old layout migrated in place with the same answers, and the plausibility of levels."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest

from collectors.base import Batch, Membership
from jobs import commands
from jobs.runner import rows_of
from tests.site_data import make_site_config
from warehouse import db, migrations, store
from warehouse.metrics import METRICS
from warehouse.settings import StorageSettings

D = dt.date.fromisoformat
MEMBERS = [Membership("llama", "github", "meta-llama/llama", "member"),
           Membership("llama", "github", "ggml-org/llama.cpp", "member"),
           Membership("llama", "github", "llama", "primary"),
           Membership("gpt", "github", "GPT-4", "primary"),
           Membership("gpt", "pypi", "openai", "member"), Membership("gpt", "npm", "openai", "member")]


@pytest.fixture
def cfg(tmp_path: Path):
    cfg = make_site_config(tmp_path)
    con = store.open_writer(cfg.storage, wait_seconds=5)
    store.sync_config(con, cfg.ecosystem_rows(), cfg.event_rows(), MEMBERS)
    con.close()
    return cfg


def batch(source: str, days: list[dt.date], subjects: dict[tuple[str, str], float], method: str = "snapshot",
          step: float = 10) -> Batch:
    b = Batch(source)
    for i, day in enumerate(days):
        for (metric, subject), base in subjects.items():
            b.add(day, metric, subject, base + step * i, method)
    return b


def commit(cfg, *batches: Batch, day: dt.date, at: dt.datetime | None = None) -> list[store.RunRecord]:
    con = store.open_writer(cfg.storage, wait_seconds=5)
    recs = [store.RunRecord(store.new_run_id(), f"c-{b.source}", day, "collect", at or dt.datetime.now(dt.UTC))
            for b in batches]
    try:
        if at is None:
            store.commit(con, [(rows_of(b), r) for b, r in zip(batches, recs)])
        else:
            con.execute("BEGIN TRANSACTION")
            for b, r in zip(batches, recs):
                r.rows_written = store.write(con, rows_of(b), r.run_id, day, at, suspects=r.suspects)
            con.execute("COMMIT")
    finally:
        con.close()
    return recs


def q(cfg, sql: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(cfg.database), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def unique_keys(cfg) -> bool:
    (n, distinct), = q(cfg, "SELECT count(*), count(DISTINCT (series_id, day)) FROM facts")
    (obs, obs_distinct), = q(cfg, """SELECT count(*), count(DISTINCT (day, source, metric, subject, method))
                                     FROM observations""")
    return n == distinct == obs == obs_distinct


def days(start: str, n: int) -> list[dt.date]:
    return [D(start) + dt.timedelta(days=i) for i in range(n)]


def test_reruns_backfills_replays_and_spooled_merges_keep_one_fact_per_key(cfg):
    stars = {("stars", "meta-llama/llama"): 100.0, ("stars", "ggml-org/llama.cpp"): 50.0}
    commit(cfg, batch("github", days("2023-07-01", 1), stars), day=D("2023-07-01"))
    commit(cfg, batch("github", days("2023-07-01", 1), stars, step=0), day=D("2023-07-01"))  # a re-run
    # overlapping backfills, the later one revising values; a window that repeats a key (last wins)
    commit(cfg, batch("github", days("2023-06-01", 20), stars, "backfill"), day=D("2023-07-02"))
    overlap = batch("github", days("2023-06-10", 25), stars, "backfill", step=20)
    overlap.add(D("2023-06-12"), "stars", "meta-llama/llama", 7.0, "backfill")
    commit(cfg, overlap, day=D("2023-07-03"))
    # a replay of the first day, then the same rows spooled while the warehouse was locked, merged
    commit(cfg, batch("github", days("2023-07-01", 1), stars), day=D("2023-07-01"))
    rec = store.RunRecord("spooled-1", "github_repos", D("2023-07-01"), "collect", dt.datetime.now(dt.UTC))
    store.spool(cfg.storage, [(rows_of(batch("github", days("2023-06-30", 3), stars, step=1)), rec)])
    store.open_writer(cfg.storage, wait_seconds=5).close()
    assert not list(cfg.storage.pending_dir.glob("*.json.gz"))
    assert unique_keys(cfg)
    assert q(cfg, """SELECT value FROM observations WHERE subject = 'meta-llama/llama' AND method = 'backfill'
                     AND day = '2023-06-12'""") == [(7.0,)]
    assert q(cfg, """SELECT day, value FROM observations WHERE subject = 'meta-llama/llama'
                     AND method = 'snapshot' ORDER BY day""") == [
        (D("2023-06-30"), 100.0), (D("2023-07-01"), 101.0), (D("2023-07-02"), 102.0)]
    # the materialized totals agree with a recomputation from the facts
    fresh = "(SELECT * FROM (" + migrations.FAMILY_DAILY_SQL.format(pairs="", days="") + "))"
    assert q(cfg, f"SELECT * FROM ecosystem_daily EXCEPT ALL {fresh}") == []
    assert q(cfg, f"{fresh} EXCEPT ALL SELECT * FROM ecosystem_daily") == []


def test_status_reports_a_duplicate_made_by_hand(cfg, capsys):
    commit(cfg, batch("github", days("2023-07-01", 2), {("stars", "meta-llama/llama"): 10.0}), day=D("2023-07-02"))
    assert commands.status_data(cfg, D("2023-07-02"))["integrity"]["duplicate_keys"] == 0
    con = db.connect(cfg.database, read_only=False)
    con.execute("INSERT INTO facts SELECT * FROM facts WHERE day = '2023-07-01'")
    con.close()
    data = commands.status_data(cfg, D("2023-07-02"))
    assert data["integrity"]["duplicate_keys"] == 1
    assert data["integrity"]["examples"][0][:4] == ["2023-07-01", "github", "stars", "meta-llama/llama"]
    commands.cmd_status(cfg, D("2023-07-02"), as_json=False)
    assert "integrity violation" in capsys.readouterr().out


def test_a_write_to_a_view_names_the_base_table(cfg):
    with pytest.raises(commands.CommandError) as err:
        commands.cmd_sql(cfg, "DELETE FROM observations WHERE subject = 'x'", "table", write=True)
    line = str(err.value)
    assert "\n" not in line and "observations is a view" in line and "facts" in line


def old_warehouse(path: Path) -> None:
    """A warehouse as the previous release left it: migrations up to 11, observations a table."""
    con = duckdb.connect(str(path), config={"storage_compatibility_version": db.STORAGE_VERSION})
    migrations.applied(con)
    for version, name, statements in sorted(migrations.MIGRATIONS, key=lambda m: m[0]):
        if version <= 11:
            for stmt in statements:
                con.execute(stmt)
            con.execute("INSERT INTO schema_migrations (version, name) VALUES (?, ?)", [version, name])
    con.executemany("INSERT INTO metrics VALUES (?, ?, ?, ?, ?)",
                    [(m.name, m.unit, m.kind, m.aggregation, m.description) for m in METRICS])
    con.executemany("INSERT INTO memberships VALUES (?, ?, ?, ?)",
                    [(m.ecosystem, m.source, m.subject, m.role) for m in MEMBERS])
    rows = []
    for i, day in enumerate(days("2023-06-01", 40)):
        at = dt.datetime(2023, 7, 20, 3) if i < 30 else dt.datetime.combine(day, dt.time(2))
        rows += [(day, "github", "repo_count", "llama", 1000.0 + i, "backfill", "", "b", at),
                 (day, "github", "stars", "meta-llama/llama", 0.0 if i == 35 else 500.0 + i, "snapshot", "", "r", at),
                 (day, "pypi", "downloads_day", "openai", 30.0 + i, "snapshot", "", "r", at),
                 (day, "npm", "downloads_day", "openai", 7.0, "snapshot", "", "r", at)]
        if i >= 30:
            rows += [(day, "github", "repo_count", "llama", 1100.0 + i, "snapshot", "incomplete", "r", at),
                     (day, "github", "repo_count", "GPT-4", 900.0, "snapshot", "", "r", at)]
    rows.append((D("2023-06-05"), "article", "repo_count", "llama", 999.0, "reference", "approximate", "a", None))
    con.executemany("INSERT INTO observations VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    con.close()


def test_the_previous_layout_is_migrated_in_place_with_the_same_answers(tmp_path):
    path = tmp_path / "old.duckdb"
    old_warehouse(path)
    views = ("observations", "ecosystem_daily", "best_observations", "model_downloads_daily")
    con = duckdb.connect(str(path))
    before = {v: con.execute(f"SELECT * FROM {v}").fetchall() for v in views}
    types = con.execute("SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = 'observations'"
                        ).fetchall()
    con.close()
    store.open_writer(StorageSettings(database=path, pending_dir=tmp_path / "pending"), wait_seconds=5).close()
    con = duckdb.connect(str(path), read_only=True)
    try:
        assert {r[0] for r in con.execute("SELECT version FROM schema_migrations").fetchall()} >= {12, 13, 14, 16}
        for v in views:
            after = con.execute(f"SELECT * FROM {v}").fetchall()
            assert sorted(after, key=repr) == sorted(before[v], key=repr), v
        assert con.execute("""SELECT column_name, data_type FROM duckdb_columns()
                              WHERE table_name = 'observations'""").fetchall() == types
        assert con.execute("SELECT count(*) FROM duckdb_indexes() WHERE table_name = 'facts'").fetchall() == [(0,)]
    finally:
        con.close()


STARS = ("stars", "meta-llama/llama")
CPP = ("stars", "ggml-org/llama.cpp")


def llama_stars(cfg) -> dict[dt.date, tuple]:
    return {r[0]: r[1:] for r in q(cfg, """SELECT day, value, subjects_reporting, subjects_expected
                                           FROM ecosystem_daily WHERE ecosystem = 'llama' AND metric = 'stars'""")}


def daily(cfg, day: str, llama: float, cpp: float = 100.0) -> list[store.RunRecord]:
    b = Batch("github")
    b.add(D(day), *STARS, llama)
    b.add(D(day), *CPP, cpp)
    return commit(cfg, b, day=D(day))


def test_a_collapse_to_zero_then_recovery_stays_suspect_and_out_of_the_total(cfg):
    for i, v in enumerate([1000, 1010, 0, 1030]):
        recs = daily(cfg, f"2023-07-0{i + 1}", v)
        if i == 2:
            assert recs[0].suspects and "meta-llama/llama" in recs[0].suspects[0]
    totals = llama_stars(cfg)
    assert totals[D("2023-07-03")] == (100.0, 1, 2)  # the collapse is not a fall of the family
    assert totals[D("2023-07-04")] == (1130.0, 2, 2)
    assert q(cfg, "SELECT day, flags FROM observations WHERE flags <> '' ORDER BY day") == [
        (D("2023-07-03"), "suspect")]
    data = commands.status_data(cfg, D("2023-07-04"))
    assert [(s["day"], s["subject"], s["value"]) for s in data["suspects"]] == [
        ("2023-07-03", "meta-llama/llama", 0.0)]


def test_the_run_names_a_collapsed_level_with_its_full_count(cfg):
    daily(cfg, "2023-07-01", 123_456_789)
    recs = daily(cfg, "2023-07-02", 0)
    assert recs[0].suspects == ["2023-07-02 github stars meta-llama/llama: 0 after 123456789 "
                                "(suspect, kept out of family totals until confirmed)"]


def test_a_fall_confirmed_the_next_day_is_cleared_and_counted(cfg):
    daily(cfg, "2023-07-01", 1000)
    assert daily(cfg, "2023-07-02", 300)[0].suspects  # more than half gone overnight: suspect for now
    assert llama_stars(cfg)[D("2023-07-02")] == (100.0, 1, 2)
    daily(cfg, "2023-07-03", 310)  # the new level holds: a real fall
    totals = llama_stars(cfg)
    assert totals[D("2023-07-02")] == (400.0, 2, 2) and totals[D("2023-07-03")] == (410.0, 2, 2)
    assert q(cfg, "SELECT count(*) FROM observations WHERE flags <> ''") == [(0,)]
    assert commands.status_data(cfg, D("2023-07-03"))["suspects"] == []


def test_as_of_sees_the_flag_as_it_stood_then(cfg):
    from dashboards.data import snapshot

    at = dt.datetime(2023, 7, 1, 2)
    for i, v in enumerate([1000, 300, 310]):
        b = Batch("github")
        b.add(D("2023-07-01") + dt.timedelta(days=i), *STARS, v)
        b.add(D("2023-07-01") + dt.timedelta(days=i), *CPP, 100)
        commit(cfg, b, day=D("2023-07-01") + dt.timedelta(days=i), at=at + dt.timedelta(days=i))
    assert llama_stars(cfg)[D("2023-07-02")] == (400.0, 2, 2)  # confirmed on the 3rd
    con = duckdb.connect(str(cfg.database), read_only=True)
    try:
        mem = snapshot(con, D("2023-07-02"))
        assert mem.execute("""SELECT value, subjects_reporting FROM ecosystem_daily
                              WHERE ecosystem = 'llama' AND metric = 'stars' AND day = '2023-07-02'""").fetchall() \
            == [(100.0, 1)]
        assert mem.execute("SELECT flags FROM observations WHERE day = '2023-07-02' AND value = 300").fetchall() \
            == [("suspect",)]
        mem.close()
    finally:
        con.close()


def test_a_collapse_after_a_long_gap_is_judged_against_the_last_value_before_it(cfg):
    b = Batch("github")
    b.add(D("2023-01-01"), *STARS, 1000)
    for i in range(5):
        b.add(D("2023-04-01") + dt.timedelta(days=i), *CPP, 100 + i)
    commit(cfg, b, day=D("2023-04-05"))
    recs = daily(cfg, "2023-04-06", 0, 106)  # the repository's first value in three months, and it is zero
    assert recs[0].suspects and "meta-llama/llama" in recs[0].suspects[0]
