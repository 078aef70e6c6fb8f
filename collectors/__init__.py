"""The collector registry: one module per source, listed here explicitly (no plugin discovery)."""
from __future__ import annotations

from collectors.arena import Arena
from collectors.github_dependents import GithubDependents
from collectors.github_repos import GithubRepos
from collectors.github_search import GithubSearch
from collectors.github_stars import GithubStars
from collectors.github_trending import GithubTrending
from collectors.hf_models import HfModels
from collectors.modelscope import ModelScope
from collectors.npm import Npm
from collectors.ollama import Ollama
from collectors.openrouter import OpenRouter
from collectors.pypi import Pypi
from collectors.replicate import Replicate

REGISTRY = {c.name: c for c in (GithubSearch(), GithubRepos(), GithubStars(), HfModels(), Pypi(), Npm(),
                                    GithubDependents(), GithubTrending(), Arena(), ModelScope(),
                                    OpenRouter(), Ollama(), Replicate())}


def names() -> list[str]:
    return list(REGISTRY)


def get(name: str):
    return REGISTRY[name]
