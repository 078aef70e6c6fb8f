"""The collector registry: one module per source, listed here explicitly (no plugin discovery)."""
from __future__ import annotations

from collectors.github_search import GithubSearch

REGISTRY = {c.name: c for c in (GithubSearch(),)}


def names() -> list[str]:
    return list(REGISTRY)


def get(name: str):
    return REGISTRY[name]
