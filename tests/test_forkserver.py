"""The tests' CLI calls run in forks of a preloaded process (tests/forkserver.py): the same as a new
interpreter — same exit codes, same output — and no call sees another's environment, directory
or state."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests import forkserver
from tests.conftest import ROOT, run_cli

CASES = [
    ("--help",),
    ("--version",),
    ("collect", "--list"),
    ("status", "--bogus"),  # usage error: exit 2, one line on stderr
    ("sql", "SELECT 1 +", "--config", "{missing}"),  # config error
    ("build", "--today", "2999-01-01"),
]


def spawned(args: tuple[str, ...], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return run_cli(*args, env={**env, "ECOTREND_TEST_SPAWN": "1"}, cwd=cwd)


@pytest.mark.parametrize("args", CASES, ids=[" ".join(c[:2]) for c in CASES])
def test_a_forked_call_answers_as_a_new_interpreter_does(args, tmp_path, monkeypatch):
    args = tuple(a.format(missing=tmp_path / "nope.toml") for a in args)
    monkeypatch.delenv("ECOTREND_TEST_SPAWN", raising=False)
    forked = run_cli(*args, cwd=tmp_path)
    fresh = spawned(args, {}, tmp_path)
    assert (forked.returncode, forked.stdout, forked.stderr) == (fresh.returncode, fresh.stdout, fresh.stderr)
    assert forked.stdout or forked.stderr


def test_each_call_has_its_own_environment_directory_and_process(tmp_path, monkeypatch, write_config):
    config_file = write_config()
    monkeypatch.delenv("ECOTREND_TEST_SPAWN", raising=False)
    # $ECOTREND_TODAY given to one call only: the next call does not see it
    bad = run_cli("status", config=config_file, env={"ECOTREND_TODAY": "someday"})
    assert bad.returncode == 2 and "ECOTREND_TODAY" in bad.stderr, bad.stderr
    good = run_cli("status", config=config_file)
    assert good.returncode == 0, good.stderr
    # a relative --config is read from the call's own directory
    (tmp_path / "here").mkdir()
    (tmp_path / "here" / "ecotrend.toml").write_text(Path(config_file).read_text(encoding="utf-8"), encoding="utf-8")
    rel = run_cli("config", "check", "--config", "ecotrend.toml", cwd=tmp_path / "here")
    assert rel.returncode == 0, rel.stdout + rel.stderr
    (tmp_path / "elsewhere").mkdir()
    missing = run_cli("config", "check", "--config", "ecotrend.toml", cwd=tmp_path / "elsewhere")
    assert missing.returncode == 2, missing.stdout + missing.stderr
    server = forkserver.server(ROOT, {**os.environ, "PYTHONPATH": str(ROOT)})
    assert server.proc.poll() is None  # calls that failed left the server itself running


def test_a_call_past_its_timeout_is_killed(fake, config_data, write_config, monkeypatch):
    monkeypatch.delenv("ECOTREND_TEST_SPAWN", raising=False)
    config_data["http"]["timeout_seconds"] = 20  # the answer is slower than the call's timeout, not the client's
    fake.inject("slow", r"^/github/", 1, seconds=30)
    with pytest.raises(subprocess.TimeoutExpired):
        run_cli("collect", "--source", "github_search", config=write_config(), today="2023-07-19", timeout=3)
