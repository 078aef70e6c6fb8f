"""What a run without a token costs, said once at its start and by ``config check``.

GitHub serves 10 searches a minute and 60 other API calls an hour to a client without a token
(30 and 5,000 with one); the Hub gives anonymous clients a smaller rate budget than signed-in ones and
no gated models.  A missing token is therefore never silent: the line names the variable, the
budget, and what today's planned calls will take or defer.
"""
from __future__ import annotations

import math
from collections.abc import Iterable

import collectors
from collectors.settings import GithubSettings, HuggingfaceSettings
from jobs.config import Config

SEARCH_PER_MINUTE = {True: 30, False: 10}
CORE_PER_HOUR = {True: 5000, False: 60}


def planned_calls(cfg: Config, names: Iterable[str], source: str) -> dict[str, int]:
    """Calls per resource a daily run of ``names`` plans against ``source``'s API."""
    settings = cfg.collector_settings()
    out: dict[str, int] = {}
    for name in names:
        c = collectors.get(name)
        if c.source != source or not hasattr(c, "estimate"):
            continue
        for resource, n in c.estimate(settings).items():
            out[resource] = out.get(resource, 0) + n
    return out


def github_notice(cfg: Config, names: Iterable[str]) -> str | None:
    """One line when GitHub collectors will run without a token against github.com (an Enterprise server or
    a test double has budgets of its own); None when a token is set or none run."""
    if cfg.github.token() or cfg.github.api_url != GithubSettings().api_url:
        return None
    calls = planned_calls(cfg, names, "github")
    search, core = calls.get("search", 0), calls.get("core", 0)
    if not search and not core:
        return None
    minutes = math.ceil(search / SEARCH_PER_MINUTE[False]) if search else 0
    parts = [f"{search} searches take about {minutes} min at 10 a minute"] if search else []
    if core > CORE_PER_HOUR[False]:
        parts.append(f"{core} other calls exceed the 60 an hour: what is past the budget waits for its reset "
                     "or is left for the next run")
    elif core:
        parts.append(f"{core} other calls fit the 60 an hour")
    return (f"{cfg.github.token_env} is not set: GitHub allows 10 searches a minute and 60 other calls an hour "
            f"without a token (30 and 5,000 with one); today {'; '.join(parts)}. "
            f"Set {cfg.github.token_env} to any GitHub token (no scopes needed) to lift this.")


def hub_notice(cfg: Config, names: Iterable[str]) -> str | None:
    """One line when Hub collectors will run without a token against huggingface.co."""
    if cfg.huggingface.token() or cfg.huggingface.endpoint != HuggingfaceSettings().endpoint:
        return None
    calls = sum(planned_calls(cfg, names, "huggingface").values())
    if not calls:
        return None
    return (f"{cfg.huggingface.token_env} is not set: the Hub answers anonymous clients with a smaller rate "
            f"budget than signed-in ones; today's {calls} Hub calls are paced by the budget it announces. "
            f"Set {cfg.huggingface.token_env} to a read token to lift this.")


def skip_notices(cfg: Config, names: Iterable[str]) -> list[str]:
    """One line per source that is configured but skipped for want of its token (how to enable it)."""
    settings = cfg.collector_settings()
    out = []
    for name in names:
        fn = getattr(collectors.get(name), "token_notice", None)
        line = fn(settings) if fn else None
        if line:
            out.append(f"{name} skipped: {line}")
    return out


def notices(cfg: Config, names: Iterable[str]) -> list[str]:
    names = list(names)
    return [n for n in (github_notice(cfg, names), hub_notice(cfg, names)) if n] + skip_notices(cfg, names)
