"""Rules of the code layout, read from the source with ``ast``: which layer may import which, and how
long a function may grow."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("collectors", "warehouse", "dashboards", "jobs")
# layer -> the project packages it may import (itself always). jobs orchestrates; dashboards reads the
# warehouse; collectors and warehouse stand alone.
ALLOWED: dict[str, set[str]] = {
    "jobs": {"collectors", "warehouse", "dashboards"},
    "dashboards": {"warehouse"},
    "collectors": set(),
    "warehouse": set(),
}
MAX_FUNCTION_LINES = 60


def sources(layer: str) -> list[Path]:
    return sorted(p for p in (ROOT / layer).rglob("*.py"))


def imported_layers(path: Path) -> set[tuple[str, int]]:
    """(project package, line) of every import in a file, at any depth (function-level ones too)."""
    out: set[tuple[str, int]] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        out |= {(n.split(".")[0], node.lineno) for n in names if n.split(".")[0] in LAYERS}
    return out


def violations(allowed: dict[str, set[str]]) -> list[str]:
    bad = []
    for layer in LAYERS:
        for path in sources(layer):
            for pkg, line in sorted(imported_layers(path)):
                if pkg != layer and pkg not in allowed[layer]:
                    bad.append(f"{path.relative_to(ROOT)}:{line} imports {pkg}")
    return bad


def test_layers_import_only_downwards():
    assert violations(ALLOWED) == []


@pytest.mark.parametrize("layer,dep", [(layer, dep) for layer, deps in ALLOWED.items() for dep in sorted(deps)])
def test_each_allowed_edge_is_one_the_code_uses(layer, dep):
    """Each allowed edge is used: removing it from the list makes the rule fail on today's code, so the
    list says no more than the code needs."""
    narrower = {k: (v - {dep} if k == layer else v) for k, v in ALLOWED.items()}
    assert violations(narrower), f"{layer} → {dep} is allowed but never used"


def long_functions(limit: int) -> list[str]:
    out = []
    for layer in LAYERS:
        for path in sources(layer):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    n = node.end_lineno - node.lineno + 1
                    if n > limit:
                        out.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} has {n} lines")
    return out


def test_no_function_is_longer_than_the_limit():
    assert long_functions(MAX_FUNCTION_LINES) == []
