"""Keep README's generated tables current: ``python -m jobs.docs`` rewrites them.

The metric table comes from the catalogue (warehouse/metrics.py), the fault matrix from
jobs/fault_matrix.py (the data tests/test_fault_matrix.py runs)."""
from __future__ import annotations

import sys
from pathlib import Path

from warehouse.metrics import METRICS

START, END = "<!-- metrics:start -->", "<!-- metrics:end -->"
FAULTS_START, FAULTS_END = "<!-- faults:start -->", "<!-- faults:end -->"
README = Path(__file__).resolve().parents[1] / "README.md"


def metrics_table() -> str:
    lines = ["| metric | unit | kind | family aggregation | meaning |", "|---|---|---|---|---|"]
    for m in METRICS:
        lines.append(f"| `{m.name}` | {m.unit} | {m.kind} | {m.aggregation} | {m.description} |")
    return "\n".join(lines)


def _between(text: str, start: str, end: str, body: str) -> str:
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{start}\n{body}\n{end}{tail}"


def render(text: str) -> str:
    from jobs import fault_matrix

    text = _between(text, START, END, metrics_table())
    if FAULTS_START in text:
        text = _between(text, FAULTS_START, FAULTS_END, fault_matrix.table())
    return text


def main() -> int:
    text = README.read_text(encoding="utf-8")
    new = render(text)
    if new != text:
        README.write_text(new, encoding="utf-8")
        print("README.md generated tables updated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
