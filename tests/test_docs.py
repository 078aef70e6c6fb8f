"""README's metric table is generated from the catalogue; the README opens with the two commands."""
from __future__ import annotations

from jobs import docs
from warehouse.metrics import METRICS


def test_readme_metric_table_matches_catalogue():
    text = docs.README.read_text(encoding="utf-8")
    assert docs.render(text) == text, "run: .venv/bin/python -m jobs.docs"
    for m in METRICS:
        assert f"| `{m.name}` |" in text


def test_readme_opens_with_run_and_test_commands():
    lines = docs.README.read_text(encoding="utf-8").splitlines()[:6]
    assert "make run" in "\n".join(lines) and "make test" in "\n".join(lines)


def test_ci_runs_the_readme_test_command():
    ci = (docs.README.parent / ".ci" / "run").read_text()
    assert "make test" in ci
