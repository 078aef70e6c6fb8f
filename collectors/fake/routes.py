"""The fake upstream's modules, one per upstream prefix; each exposes ROUTES and a data class PART."""
from __future__ import annotations

import importlib
from typing import Any, Callable

# prefix -> module under collectors.fake
MODULES = {
    "github": "collectors.fake.github",
    "hf": "collectors.fake.hf",
    "pypistats": "collectors.fake.pypi",
    "npm": "collectors.fake.npm",
    "web": "collectors.fake.web",
    "hfspaces": "collectors.fake.arena",  # Arena leaderboard Space + dataset files
    "modelscope": "collectors.fake.modelscope",
    "openrouter": "collectors.fake.openrouter",
    "ollama": "collectors.fake.ollama",
    "replicate": "collectors.fake.replicate",
}


def load() -> dict[str, list[tuple[str, str, Callable[..., Any]]]]:
    return {prefix: importlib.import_module(mod).ROUTES for prefix, mod in MODULES.items()}


def part_factory(name: str) -> Callable[[], Any]:
    return importlib.import_module(MODULES[name]).PART
