"""Simulated adoption histories for the fake upstream: the demo's world.

For each configured family, a deterministic daily "adoption" curve with the shapes real adoption
has: nothing before the first release, a launch burst that settles onto a plateau, a fresh burst at
each release event, a weekly rhythm and some noise.  Fillers turn the curve into each upstream's
data (repositories created per day for GitHub search, star days for flagship repositories,
rolling/all-time downloads for Hugging Face models, daily downloads for PyPI and npm).

A filler runs only for upstream modules present in ``collectors.fake.routes.MODULES``; a module
without a filler keeps its own defaults.  To simulate a new upstream, add ``FILLERS[prefix]``.
All numbers are invented: nothing here is, or claims to be, real data.
"""
from __future__ import annotations

import datetime as dt
import math
import random
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from collectors.fake import routes
from collectors.fake.world import World

DEFAULT_LIMITS = {"search": (100_000, 100_000, 60), "core": (1_000_000, 1_000_000, 3600)}


@dataclass
class Family:
    """What the scenario needs of a configured ecosystem (duck-typed from jobs.config.Ecosystem)."""

    key: str
    launch: dt.date
    events: list[dt.date] = field(default_factory=list)
    queries: list[str] = field(default_factory=list)
    repos: list[str] = field(default_factory=list)
    hf_searches: list[str] = field(default_factory=list)
    hf_authors: list[str] = field(default_factory=list)
    hf_models: list[str] = field(default_factory=list)
    hf_base_models: list[str] = field(default_factory=list)
    pypi: list[str] = field(default_factory=list)
    npm: list[str] = field(default_factory=list)
    weight: float = 1.0  # relative size of the family
    modelscope: list[str] = field(default_factory=list)
    openrouter_authors: list[str] = field(default_factory=list)
    openrouter_models: list[str] = field(default_factory=list)
    ollama: list[str] = field(default_factory=list)
    replicate: list[str] = field(default_factory=list)


def families_from_config(ecosystems: Iterable[Any], events: Iterable[Any], start: dt.date) -> list[Family]:
    """Families from configured ecosystems; a missing first release is put a little after ``start``."""
    evs: dict[str, list[dt.date]] = {}
    for e in events:
        if getattr(e, "ecosystem", ""):
            evs.setdefault(e.ecosystem, []).append(dt.date.fromisoformat(e.day))
    out = []
    for i, eco in enumerate(ecosystems):
        launch = (dt.date.fromisoformat(eco.first_release) if eco.first_release
                  else start + dt.timedelta(days=60 + 45 * i))
        out.append(Family(eco.key, launch, sorted(evs.get(eco.key, [])), list(eco.github_queries),
                          list(eco.github_repos), list(eco.hf_searches), list(eco.hf_authors),
                          list(eco.hf_models), list(eco.hf_base_models), list(eco.pypi_packages),
                          list(eco.npm_packages), weight=1.0 / (1 + 0.35 * i),  # first families biggest
                          modelscope=list(getattr(eco, "modelscope_models", [])),
                          openrouter_authors=list(getattr(eco, "openrouter_authors", [])),
                          openrouter_models=list(getattr(eco, "openrouter_models", [])),
                          ollama=list(getattr(eco, "ollama_models", [])),
                          replicate=list(getattr(eco, "replicate_models", []))))
    return out


def _rng(*parts: object) -> random.Random:
    return random.Random(zlib.crc32("|".join(str(p) for p in parts).encode()))


def each_day(start: dt.date, end: dt.date) -> Iterable[dt.date]:
    for i in range((end - start).days + 1):
        yield start + dt.timedelta(days=i)


def adoption(fam: Family, start: dt.date, end: dt.date, salt: str = "") -> dict[dt.date, float]:
    """Daily adoption intensity in [0, ~2]: launch ramp, plateau, bursts at events, weekly rhythm."""
    rng = _rng(fam.key, salt)
    out: dict[dt.date, float] = {}
    plateau_at = 150 + rng.randint(0, 120)  # days after launch when interest levels off
    for d in each_day(start, end):
        t = (d - fam.launch).days
        if t < -20:
            out[d] = 0.0
            continue
        ramp = 1 / (1 + math.exp(-(t - 45) / 18))
        settle = 0.55 + 0.45 * math.exp(-max(0, t - plateau_at) / 200)
        burst = 0.9 * math.exp(-max(0, t) / 25) if t >= 0 else 0.0
        for e in fam.events:
            k = (d - e).days
            if k >= 0:
                burst += 0.7 * math.exp(-k / 20)
        weekly = 0.8 if d.weekday() >= 5 else 1.0
        noise = max(0.3, rng.gauss(1.0, 0.12))
        out[d] = max(0.0, (ramp * settle + burst) * weekly * noise)
    return out


# -- fillers: one per upstream module ------------------------------------------------------------
def fill_github(part: Any, fams: list[Family], start: dt.date, end: dt.date, scale: float) -> str:
    from collectors.fake.github import Limits

    part.limits = Limits(**DEFAULT_LIMITS)
    n_repos = n_flag = 0
    for fam in fams:
        for i, q in enumerate(fam.queries):
            # sized so the primary queries land near the 2023 analysis' counts (llama ~5,600 by mid-2023)
            peak = 60.0 * fam.weight * scale / (1 + 1.5 * i)  # the primary query is the biggest
            curve = adoption(fam, start, end, f"q{i}")
            rng = _rng(fam.key, q)
            per_day = {d: int(v * peak + rng.random()) for d, v in curve.items()}
            n_repos += part.add_series(q, {d: n for d, n in per_day.items() if n > 0})
        if hasattr(part, "add_repository"):
            for j, repo in enumerate(fam.repos):
                curve = adoption(fam, start, end, f"r{j}")
                peak = 90.0 * fam.weight * scale / (1 + j)
                star_days = {d: int(v * peak) for d, v in curve.items() if int(v * peak) > 0}
                created = min(star_days) if star_days else fam.launch
                stars = sum(star_days.values())
                part.add_repository(repo, stars=stars, forks=stars // 9, subscribers=stars // 60,
                                    open_issues=40 + stars // 400, created=created, star_days=star_days)
                n_flag += 1
    return f"{n_repos} repositories for {sum(len(f.queries) for f in fams)} queries, {n_flag} flagship"


def _rolling(daily: dict[dt.date, int], end: dt.date, keep_from: dt.date) -> dict[dt.date, tuple[int, int]]:
    """(downloads over the last 30 days, all-time) per day from ``keep_from`` to ``end``."""
    days = sorted(daily)
    out: dict[dt.date, tuple[int, int]] = {}
    total = 0
    window: list[int] = []
    for d in days:
        total += daily[d]
        window.append(daily[d])
        if len(window) > 30:
            window.pop(0)
        if d >= keep_from:
            out[d] = (sum(window), total)
    return out


def fill_hf(part: Any, fams: list[Family], start: dt.date, end: dt.date, scale: float) -> str:
    keep_from = end - dt.timedelta(days=90)  # the Hub has no history; only recent snapshots matter
    n = 0
    for fam in fams:
        named = list(dict.fromkeys([*fam.hf_models, *fam.hf_base_models]))
        authors = list(dict.fromkeys([*fam.hf_authors, *(m.split("/")[0] for m in named)]))
        for a_i, author in enumerate(authors):
            stem = (fam.hf_searches[0] if fam.hf_searches else fam.key).replace(" ", "-")
            extra = [f"{author}/{stem}-{size}-v{v}" for v in (1, 2) for size in ("1b", "8b", "70b")][:3 + a_i]
            named += [m for m in extra if m not in named]
        for k, model in enumerate(named):
            curve = adoption(fam, start, end, f"m{k}")
            peak = 40_000.0 * fam.weight * scale / (1 + k)
            daily = {d: int(v * peak) for d, v in curve.items()}
            series = _rolling(daily, end, keep_from)
            last = series.get(end, (0, 0))
            part.add(model, downloads=last[0], all_time=last[1], likes=int(last[1] ** 0.5),
                     created=max(start, fam.launch), series=series)
            n += 1
        for b, base in enumerate(fam.hf_base_models):
            rng = _rng(base, "derivatives")
            count = int(25 * fam.weight * scale / (1 + b)) + rng.randint(3, 12)
            for i in range(count):
                rel = ("finetune", "quantized", "adapter")[i % 3]
                mid = f"user{rng.randint(100, 999)}/{base.split('/')[1]}-{rel}-{i}"
                part.add(mid, downloads=rng.randint(10, 5000), all_time=rng.randint(100, 90000),
                         likes=rng.randint(0, 40), base=(rel, base), created=max(start, fam.launch))
                n += 1
    return f"{n} models"


def _package_series(fam: Family, pkg: str, i: int, start: dt.date, end: dt.date, scale: float,
                    peak: float) -> dict[dt.date, int]:
    curve = adoption(fam, start, end, f"p{pkg}")
    p = peak * fam.weight * scale / (1 + i)
    return {d: int(v * p) for d, v in curve.items()}


def _fill(part: Any, names: list[tuple[Family, list[str]]], series: Any, start: dt.date, end: dt.date,
          scale: float, peak: float, noun: str) -> str:
    """Give each named item of each family its simulated series (``series``: _package_series or _counter)."""
    n = 0
    for fam, items in names:
        for i, item in enumerate(items):
            part.set(item, series(fam, item, i, start, end, scale, peak))
            n += 1
    return f"{n} {noun}"


def fill_pypi(part: Any, fams: list[Family], start: dt.date, end: dt.date, scale: float) -> str:
    return _fill(part, [(f, f.pypi) for f in fams], _package_series, start, end, scale, 60_000.0, "packages")


def fill_npm(part: Any, fams: list[Family], start: dt.date, end: dt.date, scale: float) -> str:
    return _fill(part, [(f, f.npm) for f in fams], _package_series, start, end, scale, 25_000.0, "packages")


def fill_modelscope(part: Any, fams: list[Family], start: dt.date, end: dt.date, scale: float) -> str:
    n = 0
    for fam in fams:
        for i, model in enumerate(fam.modelscope):
            daily = _package_series(fam, model, i, start, end, scale, 3_000.0)
            total = sum(daily.values())
            part.set(model, Downloads=total, Stars=int(total ** 0.5))
            n += 1
    return f"{n} models"


def _openrouter_slugs(fam: Family) -> list[tuple[str, str | None]]:
    """A family's simulated permaslugs with their hugging_face_id (None: weights not published)."""
    out: list[tuple[str, str | None]] = []
    for author in fam.openrouter_authors:
        for j, size in enumerate(("8b", "70b", "405b")):
            out.append((f"{author}/{fam.key}-{size}-instruct", f"{author}/{fam.key}-{size}" if j < 2 else None))
        out.append((f"{author}/{fam.key}-8b-instruct:free", f"{author}/{fam.key}-8b"))
    for pattern in fam.openrouter_models:
        slug = pattern.replace("*", "").replace("?", "x").rstrip("-/:")
        if "/" in slug and slug.split("/", 1)[1]:
            out.append((slug, None))
    return out


def fill_openrouter(part: Any, fams: list[Family], start: dt.date, end: dt.date, scale: float) -> str:
    first = max(start, dt.date(2025, 1, 1))
    if first > end:
        return "no day since 2025-01-01"
    n = 0
    for fam in fams:
        for k, (slug, hf) in enumerate(_openrouter_slugs(fam)):
            part.add_model(slug.split(":")[0], hf)
            curve = adoption(fam, first, end, f"or{k}")
            peak = 4e9 * fam.weight * scale / (1 + k)
            for d, v in curve.items():
                part.set_day(d, {slug: int(v * peak)})
            n += 1
    for i in range(60):  # the rest of the market: enough models for a top 50 and an 'other' row
        slug = f"sim-vendor-{i % 12}/model-{i}"
        part.add_model(slug, slug if i % 2 else None)
        rng = _rng("openrouter", slug)
        base = 6e9 * scale / (1 + i) ** 0.8
        for d in each_day(first, end):
            part.set_day(d, {slug: int(base * max(0.3, rng.gauss(1.0, 0.1)))})
    return f"{n + 60} models"


def _counter(fam: Family, name: str, i: int, start: dt.date, end: dt.date, scale: float,
             peak: float) -> dict[dt.date, int]:
    """A cumulative counter by day (pulls, runs) from the family's adoption curve."""
    total, out = 0, {}
    for d, n in sorted(_package_series(fam, name, i, start, end, scale, peak).items()):
        total += n
        out[d] = total
    return out


def fill_ollama(part: Any, fams: list[Family], start: dt.date, end: dt.date, scale: float) -> str:
    return _fill(part, [(f, f.ollama) for f in fams], _counter, start, end, scale, 80_000.0, "models")


def fill_replicate(part: Any, fams: list[Family], start: dt.date, end: dt.date, scale: float) -> str:
    return _fill(part, [(f, f.replicate) for f in fams], _counter, start, end, scale, 5_000.0, "models")


Filler = Callable[[Any, list[Family], dt.date, dt.date, float], str]
FILLERS: dict[str, Filler] = {
    "github": fill_github,
    "hf": fill_hf,
    "pypistats": fill_pypi,
    "npm": fill_npm,
    "modelscope": fill_modelscope,
    "openrouter": fill_openrouter,
    "ollama": fill_ollama,
    "replicate": fill_replicate,
}


def fill(world: World, fams: list[Family], start: dt.date, end: dt.date, scale: float = 1.0) -> dict[str, str]:
    """Fill the world's parts for every fake module present; return prefix -> what was filled."""
    done: dict[str, str] = {}
    for prefix in routes.MODULES:
        filler = FILLERS.get(prefix)
        if filler is None:
            done[prefix] = "module defaults"
            continue
        done[prefix] = filler(world.part(prefix), fams, start, end, scale)
    return done
