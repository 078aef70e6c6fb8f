"""Keep README's metric table generated from the catalogue: ``python -m jobs.docs`` rewrites it."""
from __future__ import annotations

import sys
from pathlib import Path

from warehouse.metrics import METRICS

START, END = "<!-- metrics:start -->", "<!-- metrics:end -->"
README = Path(__file__).resolve().parents[1] / "README.md"


def metrics_table() -> str:
    lines = ["| metric | unit | kind | family aggregation | meaning |", "|---|---|---|---|---|"]
    for m in METRICS:
        lines.append(f"| `{m.name}` | {m.unit} | {m.kind} | {m.aggregation} | {m.description} |")
    return "\n".join(lines)


def render(text: str) -> str:
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{metrics_table()}\n{END}{tail}"


def main() -> int:
    text = README.read_text(encoding="utf-8")
    new = render(text)
    if new != text:
        README.write_text(new, encoding="utf-8")
        print("README.md metric table updated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
