"""The site as jobs builds it: the configured families as the dashboards need them, then the build."""
from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from pathlib import Path

from collectors.settings import Family
from dashboards.settings import BoardStatement, SiteFamily
from jobs.config import Config


def expected_metrics(eco: Family) -> frozenset[str]:
    """Metrics the config asks for this family (shown as empty states until collected)."""
    out: set[str] = set()
    if eco.github_queries:
        out |= {"repo_count", "repos_created"}
    if eco.github_repos:
        out |= {"stars", "forks", "watchers", "open_issues", "stars_gained"}
    if eco.trending_keywords:
        out.add("trending_repos")
    if eco.hf_authors or eco.hf_searches or eco.hf_models:
        out |= {"model_count", "downloads_30d", "downloads_all_time", "likes"}
    if eco.hf_base_models:
        out.add("derivative_models")
    if eco.pypi_packages or eco.npm_packages:
        out.add("downloads_day")
    return frozenset(out)


def site_families(cfg: Config) -> list[SiteFamily]:
    """Each configured family as its pages need it: its first query, its first repository, its ModelScope
    models and the metrics it expects."""
    return [SiteFamily(e.key, e.label, e.color, e.first_release or None,
                       query=e.github_queries[0] if e.github_queries else "",
                       flagship=e.github_repos[0] if e.github_repos else "",
                       modelscope_models=tuple(e.modelscope_models), expected=expected_metrics(e),
                       usage=usage_sources(e), trending_match=_trending_match(e))
            for e in cfg.ecosystems]


def usage_sources(eco: Family) -> frozenset[str]:
    """The usage sources this family configures (its Usage section names what enables the others)."""
    wanted = {"openrouter": bool(eco.openrouter_authors or eco.openrouter_models),
              "ollama": bool(eco.ollama_models), "replicate": bool(eco.replicate_models)}
    return frozenset(k for k, v in wanted.items() if v)


def _trending_match(eco: Family) -> Callable[[dict], bool] | None:
    """The collector's matching rules for this family's Trending rows, for the overview's table."""
    from collectors.github_trending import matches, row_text

    if not eco.trending_keywords:
        return None
    keywords, exclude = tuple(eco.trending_keywords), tuple(eco.trending_exclude)
    return lambda row: matches(row_text(row), keywords, exclude)


def build_site(cfg: Config, today: dt.date, as_of: dt.date | None = None, png: bool = False) -> list[Path]:
    """Build the dashboards into ``[site] out_dir`` from the warehouse; return the HTML pages written."""
    from dashboards import site

    tokens = (("openrouter", cfg.openrouter.token_env), ("replicate", cfg.replicate.token_env))
    return site.build_site(dataclasses.replace(cfg.site, token_envs=tokens), cfg.storage, site_families(cfg),
                           cfg.event_rows(), today=today,
                           as_of=as_of, png=png, statements=board_statements())


def board_statements() -> list[BoardStatement]:
    """What the 2023 analysis said of the Arena board (collectors/reference.py), for the capability page."""
    from collectors.reference import ARENA_2023_07_20 as said

    return [BoardStatement(said["day"], said["source"], said["models"], said["top_proprietary"],
                           tuple(said["closed_in_rest"]), said["non_commercial"])]
