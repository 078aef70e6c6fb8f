"""Every command has --help with an example; a command without one fails here."""
from __future__ import annotations

import argparse

import pytest

from jobs.cli import build_parser
from tests.conftest import run_cli


def _commands() -> list[list[str]]:
    parser = build_parser()
    out: list[list[str]] = []

    def walk(p: argparse.ArgumentParser, prefix: list[str]) -> None:
        for action in p._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    out.append(prefix + [name])
                    walk(sub, prefix + [name])
    walk(parser, [])
    return out


def test_there_are_commands():
    names = {c[0] for c in _commands()}
    assert {"run", "collect", "backfill", "build", "sql", "status", "export", "config"} <= names


@pytest.mark.parametrize("cmd", _commands(), ids=lambda c: " ".join(c))
def test_help_has_an_example(cmd):
    r = run_cli(*cmd, "--help")
    assert r.returncode == 0, r.stderr
    assert "example" in r.stdout.lower(), r.stdout
    assert f"ecotrend {cmd[0]}" in r.stdout


def test_top_level_help_and_version():
    r = run_cli("--help")
    assert r.returncode == 0 and "example" in r.stdout
    r = run_cli("--version")
    assert r.returncode == 0 and r.stdout.startswith("ecotrend ")
