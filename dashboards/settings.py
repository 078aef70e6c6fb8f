"""What the dashboards are given: [site] (jobs/config.py builds it) and the families the config plans."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class SiteSettings:
    out_dir: Path = Path("site")
    title: str = "ecotrend"
    demo_banner: str = ""  # set by `ecotrend demo`: every page says its data is simulated
    # source -> the environment variable its key or token is read from (named by the Usage empty states)
    token_envs: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class SiteFamily:
    """One configured family as its pages need it, also before anything was collected (jobs builds it).

    Label, colour, first release and order are read from the warehouse's ``ecosystems`` table once a
    run has synced it; these are used until then.  The rest is not in the warehouse: which query
    stands for the family, its flagship repository (the first configured), its ModelScope models and
    the metrics its config asks for (each an empty state until collected).
    """

    key: str
    label: str
    color: str = "#888888"
    first_release: str | None = None  # YYYY-MM-DD
    query: str = ""
    flagship: str = ""
    modelscope_models: tuple[str, ...] = ()
    # usage sources the family configures: 'openrouter', 'ollama', 'replicate' (each an empty state until collected)
    usage: frozenset[str] = frozenset()
    expected: frozenset[str] = frozenset()
    # Whether a GitHub Trending row (repo, description) is the family's by its trending_keywords and
    # trending_exclude (the collector's own matching rules, handed over by jobs); None: no keywords.
    trending_match: Callable[[dict], bool] | None = None


@dataclass(frozen=True)
class BoardStatement:
    """What a published analysis said of an Arena board on a day; the capability page sets the board
    live that day beside it and says plainly where they differ."""

    day: str  # YYYY-MM-DD
    source: str  # who said it
    models: int
    top_proprietary: int  # "the top N are proprietary"
    closed_in_rest: tuple[str, ...]  # the only proprietary models below the top N
    non_commercial: int  # models not licensed for commercial use
    arena: str = "text"
