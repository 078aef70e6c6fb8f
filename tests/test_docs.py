"""README's metric table is generated from the catalogue; the README opens with the two commands."""
from __future__ import annotations

from jobs import docs
from tests.conftest import ROOT
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


def test_readme_config_defaults_are_the_declared_ones():
    """Every `[section] key | default` row of README states the default its settings dataclass declares."""
    import re

    from jobs.config import SECTIONS, defaults

    text = docs.README.read_text(encoding="utf-8")
    rows = re.findall(r"^\| `\[(\w+)\] (\w+)`((?:, `\w+`)*) \| ([^|]+) \|", text, re.M)
    assert len(rows) > 20, "the README's config tables were not found"
    checked = 0
    for section, first, more, cell in rows:
        keys = [first, *re.findall(r"`(\w+)`", more)]
        stated = re.findall(r"`([^`]*)`", cell)
        assert len(stated) == len(keys), (section, keys, cell)
        declared = defaults(SECTIONS[section])
        for key, value in zip(keys, stated):
            want = declared[key]
            want = '""' if want == "" else "[]" if want == [] else \
                "[" + ", ".join(f'"{v}"' for v in want) + "]" if isinstance(want, list) else str(want)
            assert value.replace(" ", "") == want.replace(" ", ""), f"[{section}] {key}: README {value}, code {want}"
            checked += 1
    assert checked > 30


def test_make_bench_keeps_the_sections_other_benchmarks_wrote():
    """bench/run.py rewrites its own sections of BENCHMARKS.md and keeps the others word for word."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_run", ROOT / "bench" / "run.py")
    run = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(run)
    old = ("# Benchmarks\n\nold intro\n\n## API economy (x)\n\nold figures\n\n## Lake export and Spark\n\n"
           "| a | b |\n|---|---|\n\n## Dashboard build with --png (demo warehouse)\n\n19.0 s\n")
    new = "# Benchmarks\n\nnew intro\n\n## API economy (x)\n\nnew figures\n"
    out = run.keep_others(new, old)
    assert out.startswith(new)
    assert "old figures" not in out and "old intro" not in out
    assert "## Lake export and Spark\n\n| a | b |\n|---|---|\n" in out
    assert out.endswith("## Dashboard build with --png (demo warehouse)\n\n19.0 s\n")
    real = (ROOT / "BENCHMARKS.md").read_text(encoding="utf-8")
    assert run.keep_others(real, real) == real  # nothing of its own to add: unchanged
