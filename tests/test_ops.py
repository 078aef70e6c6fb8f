"""Operations: one writer at a time, readers during a run, clean shutdown, alerts, backup, logs."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest

from tests.conftest import ROOT, days, query_db, run_cli

DAY = "2023-07-19"


def popen_cli(*args: str, config: Path, today: str) -> subprocess.Popen:
    """The real CLI in a background subprocess (for runs held mid-flight)."""
    env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_TOKEN", "HF_TOKEN", "ECOTREND_TODAY",
                                                            "ECOTREND_CONFIG")}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.Popen([sys.executable, "-m", "jobs.cli", *args, "--config", str(config), "--today", today],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=str(ROOT))


def wait_for(cond, what: str, limit: float = 30.0) -> None:
    deadline = time.monotonic() + limit
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.05)


@pytest.fixture
def seeded(fake, world, config_data):
    gh = world.part("github")
    gh.add_series("llama", days("2023-07-01", 19, 3))
    gh.add_series("GPT-4", days("2023-07-01", 19, 2))
    config_data["http"]["timeout_seconds"] = 20  # the held run's slow answer is not a timeout
    config_data["schedule"] = {"time": "00:00", "timezone": "UTC"}
    return fake


def hold_run(fake, cfg: Path, seconds: float = 4.0, today: str = DAY,
             release: threading.Event | None = None) -> subprocess.Popen:
    """Start `ecotrend run` and return once it is mid-flight: lock taken, a search answer pending for
    ``seconds``, or until ``release`` is set if that comes first."""
    before = fake.count(r"/rate_limit")
    fake.inject("slow", r"/search/repositories", times=1, seconds=seconds, release=release)
    proc = popen_cli("run", config=cfg, today=today)
    wait_for(lambda: fake.count(r"/rate_limit") > before, "the run to start")
    time.sleep(0.3)  # its first search request is now waiting on the slow answer
    return proc


def ran_ok(rc: int, out: str, err: str) -> bool:
    """A run that collected the GitHub counts; other sources in the registry may fail against an empty
    fake (exit 3), which is not what these tests are about."""
    return rc in (0, 3) and "github_search: ok" in out and "Traceback" not in err


def searches(fake) -> int:
    return fake.count(r"/search/repositories")


def test_second_concurrent_run_exits_with_a_clear_line_and_does_not_collect(seeded, config_data,
                                                                              write_config):
    config_data["storage"]["lock_wait_seconds"] = 0.5
    cfg = write_config()
    release = threading.Event()
    first = hold_run(seeded, cfg, seconds=30, release=release)
    second = run_cli("run", config=cfg, today=DAY)
    release.set()
    out, err = first.communicate(timeout=60)
    assert ran_ok(first.returncode, out, err), err
    assert second.returncode == 1
    assert "another ecotrend run is in progress" in second.stderr and "Traceback" not in second.stderr
    assert len(second.stderr.strip().splitlines()) == 1
    assert searches(seeded) == 2  # two queries, asked once, by the first run only
    runs = query_db(config_data["storage"]["database"],
                    "SELECT count(DISTINCT run_id) FROM runs WHERE mode = 'run'")
    assert runs == [(1,)]


def test_a_run_that_waits_for_the_lock_does_not_collect_the_day_again(seeded, config_data, write_config):
    config_data["storage"]["lock_wait_seconds"] = 30
    cfg = write_config()
    first = hold_run(seeded, cfg)
    second = run_cli("run", config=cfg, today=DAY)
    out, err = first.communicate(timeout=60)
    assert ran_ok(first.returncode, out, err), err
    assert second.returncode == 0, second.stderr
    assert "nothing collected twice" in second.stdout
    assert searches(seeded) == 2
    assert query_db(config_data["storage"]["database"],
                    "SELECT count(DISTINCT run_id) FROM runs WHERE mode = 'run'") == [(1,)]


def test_a_lock_held_by_a_killed_process_does_not_block_the_next_run(seeded, config_data, write_config):
    config_data["storage"]["lock_wait_seconds"] = 1
    cfg = write_config()
    lock = str(Path(config_data["storage"]["database"])) + ".run.lock"
    holder = subprocess.Popen(
        [sys.executable, "-c", ("import sys, time; from jobs.lock import RunLock\n"
                               f"with RunLock({lock!r}):\n    print('held', flush=True); time.sleep(120)")],
        stdout=subprocess.PIPE, text=True, cwd=str(ROOT), env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert holder.stdout.readline().strip() == "held"
    blocked = run_cli("collect", "--source", "github_search", config=cfg, today=DAY)
    assert blocked.returncode == 1 and "in progress" in blocked.stderr  # the lock is real...
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=10)
    assert Path(lock).exists()  # ...the file stays, but the kernel released the flock
    after = run_cli("run", config=cfg, today=DAY)
    assert ran_ok(after.returncode, after.stdout, after.stderr), after.stderr
    assert query_db(config_data["storage"]["database"],
                    "SELECT status FROM runs WHERE collector = 'github_search'") == [("ok",)]


def test_sql_status_and_build_answer_during_a_run(seeded, config_data, write_config):
    cfg = write_config()
    r = run_cli("run", config=cfg, today="2023-07-18")
    assert ran_ok(r.returncode, r.stdout, r.stderr), r.stderr
    db = config_data["storage"]["database"]
    stored = query_db(db, "SELECT count(*) FROM observations WHERE metric = 'repo_count'")[0][0]
    release = threading.Event()
    held = hold_run(seeded, cfg, seconds=30, release=release)
    try:
        sql = run_cli("sql", "SELECT count(*) AS n FROM observations WHERE metric = 'repo_count'",
                      "--format", "json", config=cfg, today=DAY)
        status = run_cli("status", "--json", config=cfg, today=DAY)
        build = run_cli("build", config=cfg, today=DAY)
        assert held.poll() is None  # the run was still in flight while they answered
    finally:
        release.set()  # its pending search answers now
        out, err = held.communicate(timeout=60)
    assert sql.returncode == 0, sql.stderr
    assert json.loads(sql.stdout) == [{"n": stored}]  # what was committed; today's run not yet
    assert status.returncode == 0 and json.loads(status.stdout)["exists"] is True
    assert build.returncode == 0, build.stderr
    assert (Path(config_data["site"]["out_dir"]) / "index.html").is_file()
    assert ran_ok(held.returncode, out, err)
    assert query_db(db, "SELECT count(*) FROM observations WHERE metric = 'repo_count' AND day = ?",
                    [DAY])[0][0] >= 2


def test_sigterm_mid_run_leaves_a_consistent_warehouse_and_the_next_start_catches_up(seeded, config_data,
                                                                                    write_config):
    cfg = write_config()
    r = run_cli("run", config=cfg, today="2023-07-18")
    assert ran_ok(r.returncode, r.stdout, r.stderr), r.stderr
    db = config_data["storage"]["database"]
    before = query_db(db, "SELECT day, subject, value FROM observations ORDER BY ALL")
    held = hold_run(seeded, cfg, seconds=3)
    held.send_signal(signal.SIGTERM)
    out, err = held.communicate(timeout=60)
    assert "Traceback" not in err and "stopping at the next safe point" in err
    assert held.returncode == 3
    assert "github_search: interrupted" in out
    rows = query_db(db, "SELECT collector, status FROM runs WHERE day = ? AND mode = 'run'", [DAY])
    assert ("github_search", "interrupted") in rows
    assert all(s in ("interrupted", "ok") for _, s in rows)
    # nothing half-written: the interrupted day holds no observation, earlier days are untouched
    assert query_db(db, "SELECT day, subject, value FROM observations ORDER BY ALL") == before
    # the next start runs the day again
    again = run_cli("schedule", "--once", config=cfg, today=DAY)
    assert "github_search: ok" in again.stdout, again.stderr
    assert query_db(db, "SELECT subject, value FROM observations WHERE day = ? AND metric = 'repo_count' "
                        "AND method = 'snapshot' ORDER BY subject", [DAY]) == [("GPT-4", 38.0), ("llama", 57.0)]


def test_alert_command_gets_a_summary_on_stdin_when_a_run_fails(seeded, config_data, write_config, tmp_path):
    target = tmp_path / "alert.txt"
    config_data["alerts"] = {"command": f"cat > '{target}'"}
    cfg = write_config()
    seeded.inject("http_502", r"/search/repositories", times=50)
    r = run_cli("run", config=cfg, today=DAY)
    assert r.returncode == 3
    text = target.read_text()
    assert text.startswith(f"ecotrend run of {DAY}:")
    assert "github_search: failed" in text and "HTTP 502" in text


def test_alert_runs_only_when_a_run_has_failures(tmp_path):
    import datetime as dt

    from jobs import alerts
    from jobs.config import parse_config
    from jobs.runner import Outcome
    from warehouse.store import RunRecord

    target = tmp_path / "alert.txt"
    cfg = parse_config({"alerts": {"command": f"cat > '{target}'"}}, tmp_path / "ecotrend.toml")
    day = dt.date(2026, 11, 28)
    now = dt.datetime.now(dt.UTC)
    good = Outcome(records=[RunRecord("r", "github_search", day, "run", now)], lines=["github_search: ok"])
    assert alerts.maybe_alert(cfg, good, day) is None and not target.exists()
    stopped = Outcome(records=[RunRecord("r", "github_search", day, "run", now, status="interrupted")])
    assert alerts.maybe_alert(cfg, stopped, day) is None and not target.exists()  # a stop is no failure
    bad = Outcome(records=[RunRecord("r", "github_search", day, "run", now),
                           RunRecord("r", "pypi", day, "run", now, status="failed", error="HTTP 503")],
                  lines=["github_search: ok", "pypi: failed — HTTP 503"])
    assert alerts.maybe_alert(cfg, bad, day) is True
    text = target.read_text()
    assert text.splitlines()[0] == "ecotrend run of 2026-11-28: 1 of 2 sources not ok (config " \
        f"{tmp_path / 'ecotrend.toml'})"
    assert "  pypi: failed — HTTP 503" in text.splitlines()
    broken = parse_config({"alerts": {"command": "exit 7"}}, tmp_path / "ecotrend.toml")
    assert alerts.maybe_alert(broken, bad, day) is False  # logged; the run's exit code is its own


def test_backup_is_a_consistent_copy_that_stock_duckdb_opens(seeded, config_data, write_config, tmp_path):
    cfg = write_config()
    r = run_cli("run", config=cfg, today=DAY)
    assert ran_ok(r.returncode, r.stdout, r.stderr)
    r = run_cli("backup", "--to", str(tmp_path / "bk"), config=cfg, today=DAY)
    assert r.returncode == 0, r.stderr
    copy = tmp_path / "bk" / "ecotrend-20230719.duckdb"
    assert copy.is_file() and not list((tmp_path / "bk").glob("*.partial*"))
    sql = "SELECT day, subject, value FROM observations ORDER BY ALL"
    assert query_db(copy, sql) == query_db(config_data["storage"]["database"], sql)
    assert query_db(copy, "SELECT count(*) FROM ecosystem_daily") == \
        query_db(config_data["storage"]["database"], "SELECT count(*) FROM ecosystem_daily")
    cli = Path(sys.executable).with_name("duckdb")
    if cli.exists():  # the documented stock client (duckdb-cli, a test dependency)
        out = subprocess.run([str(cli), "-readonly", "-csv", str(copy), ("SELECT max(version) FROM "
                              "schema_migrations")], check=False, capture_output=True, text=True,
                             timeout=60)
        assert out.returncode == 0, out.stderr
    again = run_cli("backup", "--to", str(tmp_path / "bk"), config=cfg, today=DAY)
    assert again.returncode == 2 and "exists already" in again.stderr


def test_logs_go_to_a_file_with_one_summary_line_and_raw_retention_prunes(seeded, config_data, write_config):
    config_data["storage"]["raw_keep_days"] = 5
    cfg = write_config()
    old = Path(config_data["storage"]["raw_dir"]) / "2023-06-01"
    old.mkdir(parents=True)
    (old / "x.json.gz").write_bytes(b"")
    r = run_cli("run", "--verbose", config=cfg, today=DAY)
    assert ran_ok(r.returncode, r.stdout, r.stderr)
    assert "DEBUG" in r.stderr or "INFO" in r.stderr  # --verbose: debug lines on stderr
    log = (Path(config_data["storage"]["log_dir"]) / "ecotrend.log").read_text()
    assert sum(1 for line in log.splitlines() if "summary:" in line) == 1
    assert not old.exists()
    assert (Path(config_data["storage"]["raw_dir"]) / DAY).is_dir()


def test_schedule_process_stops_cleanly_on_sigterm(seeded, config_data, write_config):
    config_data["schedule"] = {"time": "00:00", "timezone": "UTC"}
    cfg = write_config()
    proc = popen_cli("schedule", config=cfg, today=DAY)
    db = Path(config_data["storage"]["database"])
    def ran() -> bool:
        try:
            return db.exists() and query_db(db, "SELECT count(*) FROM runs WHERE mode = 'run' AND "
                                                "collector = 'github_search'") == [(1,)]
        except duckdb.Error:  # the scheduler's run is committing
            return False
    wait_for(ran, "the start-up check to run the due day", 60)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "github_search: ok" in out and "SIGTERM" in err and "Traceback" not in err
    assert searches(seeded) == 2


def test_config_check_names_the_schedule_and_the_alert(config_data, write_config):
    config_data["schedule"] = {"time": "01:30", "timezone": "Europe/London"}
    config_data["alerts"] = {"command": "logger -t ecotrend"}
    r = run_cli("config", "check", config=write_config())
    assert r.returncode == 0, r.stderr
    assert "schedule: daily at 01:30 Europe/London ('ecotrend schedule'); alerts: logger -t ecotrend" \
        in r.stdout.splitlines()
