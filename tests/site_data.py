"""A realistic warehouse for the dashboard tests, written through warehouse.store like a run would.

Three families over Feb–Aug 2023: repository counts reconstructed by a backfill (collected on
2023-07-05) then measured daily, the 2023 article's reference figures, flagship stars, Hub downloads
and derivatives, PyPI downloads, a tracked query, runs with one failure and one gap day.
"""
from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

from collectors.base import Batch, Membership, Subject
from jobs.config import Config, load_config
from warehouse import store

D = dt.date.fromisoformat
BACKFILL_RAN = dt.datetime(2023, 7, 5, 3, 0)
FIRST_SNAPSHOT = D("2023-07-05")
EVIL = '<script>alert("x")</script>'


def ecosystems() -> list[dict[str, Any]]:
    return [
        {"key": "llama", "label": "LLaMA", "color": "#1f77b4", "first_release": "2023-02-24",
         "github_queries": ["llama", "llama.cpp"], "github_repos": ["meta-llama/llama", "ggml-org/llama.cpp"],
         "hf_authors": ["meta-llama"], "hf_base_models": ["meta-llama/Llama-2-7b-hf"],
         "pypi_packages": ["llama-cpp-python"]},
        {"key": "gpt", "label": "GPT", "color": "#d62728", "first_release": "2023-03-14",
         "github_queries": ["GPT-4"], "github_repos": ["openai/openai-python"], "pypi_packages": ["openai"]},
        {"key": "qwen", "label": "Qwen", "color": "#9467bd", "first_release": "2023-08-03",
         "github_queries": ["qwen"], "hf_authors": ["Qwen"]},
    ]


def events() -> list[dict[str, Any]]:
    return [{"day": "2023-02-24", "label": "LLaMA", "ecosystem": "llama"},
            {"day": "2023-03-14", "label": "GPT-4", "ecosystem": "gpt"},
            {"day": "2023-07-18", "label": "Llama 2", "ecosystem": "llama"},
            {"day": "2023-08-03", "label": "Qwen-7B", "ecosystem": "qwen"}]


def _curve(day: dt.date, start: dt.date, top: float, mid_days: float, width: float) -> float:
    """A logistic adoption curve from 0 on ``start`` towards ``top``."""
    t = (day - start).days
    if t < 0:
        return 0.0
    return round(top / (1 + math.exp(-(t - mid_days) / width)) - top / (1 + math.exp(mid_days / width)))


def llama_repos(day: dt.date) -> float:
    """Tuned to pass near the article's ~5,600 (2023-07-19) and ~6,200 (2023-08-08); Llama 2 adds a bump."""
    bump = 4 * (day - D("2023-07-18")).days if day > D("2023-07-18") else 0
    return _curve(day, D("2023-02-24"), 6500, 108, 20) + bump


def gpt_repos(day: dt.date) -> float:
    return _curve(day, D("2023-03-14"), 7250, 40, 47)


def memberships() -> list[Membership]:
    return [
        Membership("llama", "github", "llama", "primary"),
        Membership("llama", "github", "llama.cpp", "tracked"),
        Membership("gpt", "github", "GPT-4", "primary"),
        Membership("qwen", "github", "qwen", "primary"),
        Membership("llama", "github", "meta-llama/llama", "member"),
        Membership("llama", "github", "ggml-org/llama.cpp", "member"),
        Membership("gpt", "github", "openai/openai-python", "member"),
        Membership("llama", "huggingface", "family:llama", "primary"),
        Membership("llama", "huggingface", "meta-llama/Llama-2-7b-hf", "item"),
        Membership("llama", "huggingface", "meta-llama/Llama-2-7b-hf#finetune", "member"),
        Membership("qwen", "huggingface", "family:qwen", "primary"),
        Membership("llama", "pypi", "llama-cpp-python", "member"),
        Membership("gpt", "pypi", "openai", "member"),
    ]


def populate(cfg: Config, until: str = "2023-08-08", evil: bool = False) -> None:
    """Write the whole history into the configured warehouse."""
    end = D(until)
    start = D("2023-02-01")
    backfill = Batch("github")
    pypi = Batch("pypi")
    day = start
    while day < FIRST_SNAPSHOT:
        prev = day - dt.timedelta(days=1)
        backfill.add(day, "repo_count", "llama", llama_repos(day), "backfill")
        backfill.add(day, "repo_count", "GPT-4", gpt_repos(day), "backfill")
        backfill.add(day, "repos_created", "llama", max(0, llama_repos(day) - llama_repos(prev)), "backfill")
        backfill.add(day, "repos_created", "GPT-4", max(0, gpt_repos(day) - gpt_repos(prev)), "backfill")
        day += dt.timedelta(days=1)
    day = start
    while day <= end:
        weekday = 0.6 if day.weekday() >= 5 else 1.0
        pypi.add(day, "downloads_day", "llama-cpp-python", round(9000 * weekday * (1 + (day - start).days / 90)),
                 "backfill")
        pypi.add(day, "downloads_day", "openai", round(650000 * weekday * (1 + (day - start).days / 400)),
                 "backfill")
        day += dt.timedelta(days=1)
    article = Batch("article")
    for d_, q, v in (("2023-07-19", "llama", 5600), ("2023-08-08", "llama", 6200),
                     ("2023-07-19", "GPT-4", 4100), ("2023-08-08", "GPT-4", 4400)):
        if D(d_) <= end:
            article.add(D(d_), "repo_count", q, v, "reference", "approximate")
    subjects = [Subject("github", m.subject, "repo" if "/" in m.subject else "query")
                for m in memberships() if m.source == "github"]
    if evil:
        subjects.append(Subject("github", "meta-llama/llama", "repo", canonical=EVIL))

    con = store.open_writer(cfg, wait_seconds=5)
    try:
        keys = {e.key for e in cfg.ecosystems}
        store.sync_config(con, cfg, [m for m in memberships() if m.ecosystem in keys])
        con.execute("BEGIN TRANSACTION")
        store.write_batch(con, backfill, "backfill-1", FIRST_SNAPSHOT, BACKFILL_RAN)
        store.write_batch(con, pypi, "backfill-1", FIRST_SNAPSHOT, BACKFILL_RAN)
        store.write_batch(con, article, "reference-1", FIRST_SNAPSHOT, BACKFILL_RAN)
        for name in ("github_search", "pypi"):
            store.write_run(con, store.RunRecord("backfill-1", name, FIRST_SNAPSHOT, "backfill", BACKFILL_RAN,
                                                 BACKFILL_RAN + dt.timedelta(minutes=3), "ok",
                                                 {"search": 40} if name == "github_search" else {"overall": 2},
                                                 len(backfill.observations)))
        day = FIRST_SNAPSHOT
        while day <= end:
            if day == D("2023-07-27"):  # a day the job did not run: a gap
                day += dt.timedelta(days=1)
                continue
            at = dt.datetime.combine(day, dt.time(2, 0))
            run_id = f"run-{day.isoformat()}"
            t = (day - FIRST_SNAPSHOT).days
            gh = Batch("github")
            gh.subjects = subjects
            prev = day - dt.timedelta(days=1)
            gh.add(day, "repo_count", "llama", llama_repos(day))
            gh.add(day, "repo_count", "llama.cpp", 800 + 11 * t)
            gh.add(day, "repo_count", "GPT-4", gpt_repos(day))
            if day >= D("2023-08-03"):
                gh.add(day, "repo_count", "qwen", 40 + 35 * (day - D("2023-08-03")).days)
            gh.add(day, "repos_created", "llama", llama_repos(day) - llama_repos(prev) + t % 3)
            gh.add(day, "repos_created", "GPT-4", gpt_repos(day) - gpt_repos(prev) + t % 2)
            gh.add(day, "stars", "meta-llama/llama", 27900 + 32 * t)
            gh.add(day, "stars", "ggml-org/llama.cpp", 24000 + 150 * t)
            gh.add(day, "stars", "openai/openai-python", 11500 + 30 * t)
            hf = Batch("huggingface")
            failed = day == D("2023-07-21")
            if not failed:
                hf.add(day, "downloads_30d", "family:llama", 4_100_000 + 60_000 * t)
                hf.add(day, "downloads_30d", "meta-llama/Llama-2-7b-hf", 900_000 + 40_000 * max(0, t - 13))
                hf.add(day, "derivative_models", "meta-llama/Llama-2-7b-hf#finetune", 300 + 45 * max(0, t - 13))
                if day >= D("2023-08-03"):
                    hf.add(day, "downloads_30d", "family:qwen", 20_000 + 9_000 * (day - D("2023-08-03")).days)
            if day == D("2023-07-28"):
                gh.tables["gaps"] = [{"day": D("2023-07-27"), "collector": "hf_models", "source": "huggingface",
                                      "reason": "the Hub keeps no history; the day stays empty",
                                      "recorded_at": at, "run_id": run_id}]
            if day == end:
                gh.tables["trending"] = [
                    {"day": day, "period": "daily", "rank": 1, "repo": "ggml-org/llama.cpp",
                     "description": EVIL if evil else "LLM inference in C/C++", "language": "C++",
                     "stars": 24000 + 150 * t, "period_stars": 310},
                    {"day": day, "period": "daily", "rank": 2, "repo": "openai/openai-python",
                     "description": "The official Python library for the OpenAI API", "language": "Python",
                     "stars": 11500 + 30 * t, "period_stars": 40}]
            store.write_batch(con, gh, run_id, day, at)
            store.write_batch(con, hf, run_id, day, at)
            store.write_run(con, store.RunRecord(run_id, "github_search", day, "run", at,
                                                 at + dt.timedelta(seconds=20), "ok", {"search": 4}, 4))
            store.write_run(con, store.RunRecord(run_id, "github_repos", day, "run", at,
                                                 at + dt.timedelta(seconds=9), "ok",
                                                 {"repos": 1, "repos_304": 2}, 3))
            store.write_run(con, store.RunRecord(
                run_id, "hf_models", day, "run", at, at + dt.timedelta(seconds=30),
                "failed" if failed else "ok", {"models": 0 if failed else 6}, len(hf.observations),
                "huggingface: network unavailable" if failed else ""))
            day += dt.timedelta(days=1)
        con.execute("COMMIT")
    finally:
        con.close()


def make_site_config(root: Path, banner: str = "", ecos: list[dict[str, Any]] | None = None) -> Config:
    """A config whose warehouse and site live under ``root`` (no upstream is contacted)."""
    from tests.conftest import dump_toml

    root.mkdir(parents=True, exist_ok=True)
    data = {"storage": {"database": str(root / "data" / "ecotrend.duckdb"), "lock_wait_seconds": 5},
            "site": {"out_dir": str(root / "site"), "demo_banner": banner},
            "ecosystem": ecos or ecosystems(), "event": []}
    keys = {e["key"] for e in data["ecosystem"]}
    data["event"] = [e for e in events() if e["ecosystem"] in keys]
    (root / "ecotrend.toml").write_text(dump_toml(data), encoding="utf-8")
    return load_config(root / "ecotrend.toml")
