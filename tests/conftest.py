"""Shared fixtures: a fake upstream on loopback, a config pointing at it, the real CLI in a subprocess."""
from __future__ import annotations

import atexit
import datetime as dt
import functools
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

from collectors.fake.github import Limits
from collectors.fake.server import FakeUpstream
from collectors.fake.world import World
from jobs.config import dump_toml  # noqa: F401  (tests import it from here)

ROOT = Path(__file__).resolve().parents[1]
CANARY = "ghp_CANARYcanaryCANARY0123456789abcdef"


@pytest.fixture
def world() -> World:
    return World("2023-07-19")


@pytest.fixture
def fake(world: World):
    srv = FakeUpstream(world)
    # generous budgets so tests are not paced; pacing and limits are tested on purpose elsewhere
    world.part("github").limits = Limits(search=(1000, 1000, 60), core=(5000, 5000, 3600))
    srv.start()
    yield srv
    srv.stop()


def base_config(fake: FakeUpstream, tmp: Path) -> dict[str, Any]:
    urls = fake.config_urls()
    return {
        "storage": {"database": str(tmp / "data" / "ecotrend.duckdb"), "raw_dir": str(tmp / "data" / "raw"),
                    "pending_dir": str(tmp / "data" / "pending"), "log_dir": str(tmp / "data" / "logs"),
                    "lock_wait_seconds": 2},
        "site": {"out_dir": str(tmp / "site")},
        "http": {"max_wait_seconds": 5, "timeout_seconds": 2, "retries": 2, "backoff_seconds": 0.01,
                 "secondary_wait_seconds": 0.2},
        "github": urls["github"],
        "huggingface": urls["huggingface"],
        "pypi": urls["pypi"],
        "npm": urls["npm"],
        "ecosystem": [
            {"key": "llama", "label": "LLaMA", "color": "#1f77b4", "first_release": "2023-02-24",
             "github_queries": ["llama"]},
            {"key": "gpt", "label": "GPT", "color": "#d62728", "first_release": "2023-03-14",
             "github_queries": ["GPT-4"]},
        ],
        "event": [{"day": "2023-07-18", "label": "Llama 2", "ecosystem": "llama"}],
    }


@pytest.fixture
def config_data(fake: FakeUpstream, tmp_path: Path) -> dict[str, Any]:
    """A mutable config dict; tests adjust it, then call ``write_config``."""
    return base_config(fake, tmp_path)


@pytest.fixture
def write_config(tmp_path: Path, config_data: dict[str, Any]):
    def write(data: dict[str, Any] | None = None, name: str = "ecotrend.toml") -> Path:
        path = tmp_path / name
        path.write_text(dump_toml(data or config_data), encoding="utf-8")
        return path
    return write


def run_cli(*args: str, config: Path | None = None, today: str | None = None,
            env: dict[str, str] | None = None, timeout: float = 120, cwd: Path | None = None
            ) -> subprocess.CompletedProcess:
    """The real ``ecotrend`` CLI in a process of its own (tests/forkserver.py; a new interpreter with
    ``ECOTREND_TEST_SPAWN=1``)."""
    cmd = [sys.executable, "-m", "jobs.cli", *args]
    if config is not None:
        cmd += ["--config", str(config)]
    if today is not None:
        cmd += ["--today", today]
    full_env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_TOKEN", "HF_TOKEN", "ECOTREND_TODAY",
                                                                 "ECOTREND_CONFIG")}
    full_env["PYTHONPATH"] = str(ROOT)
    full_env.update(env or {})
    if os.environ.get("ECOTREND_TEST_SPAWN") != "1":  # a fork of a process that has imported the CLI
        from tests import forkserver

        return forkserver.server(ROOT, {**os.environ, "PYTHONPATH": str(ROOT)}).run(
            cmd[3:], full_env, str(cwd or ROOT), timeout)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=full_env,
                          cwd=str(cwd or ROOT))


class FakeTime:
    """A clock that moves only when slept on (for the HTTP client's injectable clock and sleep)."""

    def __init__(self, start: float = 1_700_000_000.0):
        self.now = start
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@functools.cache
def process_scratch() -> Path:
    """A folder for files a test process makes once and copies from (templates); removed at exit."""
    folder = Path(tempfile.mkdtemp(prefix="ecotrend-tests-"))
    atexit.register(shutil.rmtree, folder, True)
    return folder


def closed_port() -> int:
    """A loopback port nothing listens on: connecting to it is refused at once."""
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def days(start: str, n: int, per_day: int) -> dict[dt.date, int]:
    d0 = dt.date.fromisoformat(start)
    return {d0 + dt.timedelta(days=i): per_day for i in range(n)}


def query_db(path: Path, sql: str, params: list | None = None) -> list[tuple]:
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory):
    """`ecotrend demo` run once per session with the shipped config, two simulated days:
    (completed process, demo folder)."""
    folder = tmp_path_factory.mktemp("demo") / "demo"
    result = run_cli("demo", "--dir", str(folder), "--days", "2", config=ROOT / "ecotrend.toml", timeout=600)
    return result, folder
