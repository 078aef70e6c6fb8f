"""Crash safety: SIGKILL `run` and `backfill` at many points, then check nothing is half-written."""
from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from tests.conftest import ROOT, base_config, days, dump_toml, query_db, run_cli

DAY = "2023-07-19"
KILL_AFTER = [0.3, 0.6, 0.9, 1.2, 1.6, 2.0]  # seconds after start; bounded loop


def _start(args: list[str], cfg: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_TOKEN", "HF_TOKEN")}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.Popen([sys.executable, "-m", "jobs.cli", *args, "--config", str(cfg), "--today", DAY],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=str(ROOT))


def _check_consistent(data: dict) -> None:
    db = Path(data["storage"]["database"])
    if db.exists():
        con = duckdb.connect(str(db), read_only=True)  # opens: no torn database
        try:
            tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
            if "observations" not in tables:  # killed while the first migration ran: nothing applied
                assert "runs" not in tables
                return
            n, distinct = con.execute(
                "SELECT count(*), count(DISTINCT (day, source, metric, subject, method)) FROM observations"
            ).fetchone()
            assert n == distinct
        finally:
            con.close()
    for path in Path(data["storage"]["raw_dir"]).rglob("*.json.gz"):
        json.loads(gzip.decompress(path.read_bytes()))  # every archived file whole
    for path in Path(data["storage"]["pending_dir"]).glob("*.json.gz") if \
            Path(data["storage"]["pending_dir"]).is_dir() else []:
        json.loads(gzip.decompress(path.read_bytes()))


def _totals(db: Path) -> list[tuple]:
    return query_db(db, "SELECT metric, subject, method, count(*), sum(value) FROM observations "
                        "WHERE method <> 'reference' GROUP BY ALL ORDER BY ALL")


@pytest.fixture
def slow_world(fake, world):
    gh = world.part("github")
    gh.add_series("llama", days("2023-01-01", 200, 3))
    gh.add_series("GPT-4", days("2023-01-01", 200, 2))
    return fake


def _config(fake, tmp: Path) -> dict:
    data = base_config(fake, tmp)
    data["http"]["timeout_seconds"] = 5
    data["arena"] = {"endpoint": f"{fake.url}/hfspaces"}
    return data


@pytest.mark.parametrize("command", [["run"], ["backfill", "--since", "2023-01-01", "--source", "github_search"]],
                         ids=["run", "backfill"])
def test_sigkill_at_many_points_leaves_a_consistent_warehouse(slow_world, tmp_path, command):
    # the uninterrupted reference
    ref_dir = tmp_path / "ref"
    ref = _config(slow_world, ref_dir)
    ref_dir.mkdir()
    (ref_dir / "c.toml").write_text(dump_toml(ref))
    r = run_cli(*command, config=ref_dir / "c.toml", today=DAY)
    assert r.returncode in (0, 3), r.stderr
    expected = _totals(Path(ref["storage"]["database"]))
    assert expected

    work = tmp_path / "work"
    data = _config(slow_world, work)
    work.mkdir()
    cfg = work / "c.toml"
    cfg.write_text(dump_toml(data))
    for delay in KILL_AFTER:
        # every search answer is slowed down so kills land mid-collection and mid-commit
        slow_world.inject("slow", r"/search/repositories", times=3, seconds=0.15)
        proc = _start(command, cfg)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        _check_consistent(data)
    slow_world.clear_faults()
    # a re-run completes and ends with the same totals as the uninterrupted one
    r = run_cli(*command, config=cfg, today=DAY)
    assert r.returncode in (0, 3), r.stdout + r.stderr
    _check_consistent(data)
    assert _totals(Path(data["storage"]["database"])) == expected
    running = query_db(Path(data["storage"]["database"]), "SELECT count(*) FROM runs WHERE status = 'running'")
    assert running == [(0,)]
