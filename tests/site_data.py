"""A realistic warehouse for the dashboard tests, written through warehouse.store like a run would.

Three families over Feb–Aug 2023: repository counts reconstructed by a backfill (collected on
2023-07-05) then measured daily, the 2023 article's reference figures, flagship stars, Hub downloads
and derivatives, PyPI downloads, a tracked query, runs with one failure and one gap day; four Arena
boards (May–Aug 2023, one license nobody mapped) and Qwen's model on Hugging Face and ModelScope.
"""
from __future__ import annotations

import datetime as dt
import functools
import hashlib
import math
import shutil
from pathlib import Path
from typing import Any

from collectors.base import Batch, Membership, Subject
from jobs.config import Config, load_config
from jobs.runner import rows_of
from tests.conftest import process_scratch
from warehouse import store

D = dt.date.fromisoformat
BACKFILL_RAN = dt.datetime(2023, 7, 5, 3, 0)
FIRST_SNAPSHOT = D("2023-07-05")
EVIL = '<script>alert("x")</script>'


def write(con: Any, batch: Batch, run_id: str, day: dt.date, at: dt.datetime,
          touched: store.Touched | None = None) -> int:
    """Write a collector's batch as a run's commit does (with ``touched``: the family totals are refreshed
    once, by ``touched.refresh``, for all of a run's batches, as ``store.commit`` does)."""
    return store.write(con, rows_of(batch), run_id, day, at, touched=touched)


def ecosystems() -> list[dict[str, Any]]:
    return [
        {"key": "llama", "label": "LLaMA", "color": "#1f77b4", "first_release": "2023-02-24",
         "github_queries": ["llama", "llama.cpp"], "github_repos": ["meta-llama/llama", "ggml-org/llama.cpp"],
         "hf_authors": ["meta-llama"], "hf_base_models": ["meta-llama/Llama-2-7b-hf"],
         "pypi_packages": ["llama-cpp-python"], "leaderboard_aliases": ["*llama*", "vicuna*", "koala*"]},
        {"key": "gpt", "label": "GPT", "color": "#d62728", "first_release": "2023-03-14",
         "github_queries": ["GPT-4"], "github_repos": ["openai/openai-python"], "pypi_packages": ["openai"],
         "leaderboard_aliases": ["gpt-*"]},
        {"key": "qwen", "label": "Qwen", "color": "#9467bd", "first_release": "2023-08-03",
         "github_queries": ["qwen"], "hf_authors": ["Qwen"], "hf_models": ["Qwen/Qwen-7B-Chat"],
         "modelscope_models": ["qwen/Qwen-7B-Chat"], "leaderboard_aliases": ["qwen*"]},
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
        Membership("llama", "arena", "text:llama", "primary"),
        Membership("gpt", "arena", "text:gpt", "primary"),
        Membership("qwen", "arena", "text:qwen", "primary"),
        Membership("qwen", "huggingface", "Qwen/Qwen-7B-Chat", "item"),
        Membership("qwen", "modelscope", "qwen/Qwen-7B-Chat", "item"),
    ]


# [arena.licenses] of the site tests: "Tongyi Qianwen" is left out on purpose (an unmapped license).
LICENSES = {"Proprietary": {"open_weights": False, "commercial_use": True},
            "Non-commercial": {"open_weights": True, "commercial_use": False},
            "Llama 2 Community": {"open_weights": True, "commercial_use": True},
            "Apache 2.0": {"open_weights": True, "commercial_use": True}}
UNMAPPED = "Tongyi Qianwen"

# Four boards shaped like the 2023 ones: (model, organization, license, score).
BOARDS = {
    "2023-05-25": [("GPT-4", "OpenAI", "Proprietary", 1225.0), ("Claude-v1", "Anthropic", "Proprietary", 1195.0),
                   ("GPT-3.5-turbo", "OpenAI", "Proprietary", 1143.0),
                   ("Vicuna-13B", "LMSYS", "Non-commercial", 1054.0),
                   ("Koala-13B", "UC Berkeley", "Non-commercial", 980.0)],
    "2023-06-22": [("GPT-4", "OpenAI", "Proprietary", 1227.0), ("Claude-v1", "Anthropic", "Proprietary", 1178.0),
                   ("GPT-3.5-turbo", "OpenAI", "Proprietary", 1130.0),
                   ("Vicuna-33B", "LMSYS", "Non-commercial", 1096.0),
                   ("Vicuna-13B", "LMSYS", "Non-commercial", 1061.0),
                   ("MPT-7B-Chat", "MosaicML", "Non-commercial", 956.0)],
    "2023-07-20": [("GPT-4", "OpenAI", "Proprietary", 1207.0), ("Claude-1", "Anthropic", "Proprietary", 1178.0),
                   ("GPT-3.5-turbo", "OpenAI", "Proprietary", 1118.0),
                   ("Vicuna-33B", "LMSYS", "Non-commercial", 1095.0),
                   ("Llama-2-70b-chat", "Meta", "Llama 2 Community", 1051.0)],
    "2023-08-08": [("GPT-4", "OpenAI", "Proprietary", 1206.0), ("Claude-1", "Anthropic", "Proprietary", 1166.0),
                   ("Claude-2", "Anthropic", "Proprietary", 1130.0),
                   ("GPT-3.5-turbo", "OpenAI", "Proprietary", 1115.0),
                   ("Vicuna-33B", "LMSYS", "Non-commercial", 1096.0),
                   ("Llama-2-70b-chat", "Meta", "Llama 2 Community", 1051.0),
                   ("WizardLM-13B", "Microsoft", "Llama 2 Community", 1048.0),
                   ("PaLM-Chat-Bison-001", "Google", "Proprietary", 1004.0),
                   ("Qwen-7B-Chat", "Alibaba", UNMAPPED, 1000.0),
                   ("Falcon-40B", "TII", "Apache 2.0", 930.0),
                   ("Alpaca-13B", "Stanford", "Non-commercial", 904.0)],
}
EVIL_MODEL = ("<script>alert('m')</script>", "<b>org</b>", "Apache 2.0", 880.0)


def capability_batches(cfg: Config, evil: bool = False) -> list[Batch]:
    """The boards as the arena collector would store them (its own ranking and figures), and the
    Qwen model's downloads on both hubs."""
    from collectors.arena import Classifier, board_figures, rank_rows

    cls = Classifier(cfg)
    out = []
    for day, board in BOARDS.items():
        entries = board + ([EVIL_MODEL] if evil and day == max(BOARDS) else [])
        rows = [cls.apply({"day": D(day), "arena": "text", "model": m, "organization": org, "license": lic,
                           "score": score, "rank": None, "votes": None, "origin": f"space:{day}"})
                for m, org, lic, score in entries]
        rank_rows(rows)
        batch = Batch("arena")
        batch.tables["leaderboard"] = rows
        board_figures(batch, rows, cls)
        out.append(batch)
    day = D("2023-08-04")
    while day <= D("2023-08-08"):
        t = (day - D("2023-08-04")).days
        hf, ms = Batch("huggingface"), Batch("modelscope")
        hf.add(day, "downloads_all_time", "Qwen/Qwen-7B-Chat", 12_000 + 3_000 * t)
        hf.add(day, "likes", "Qwen/Qwen-7B-Chat", 150 + 20 * t)
        ms.add(day, "downloads_all_time", "qwen/Qwen-7B-Chat", 30_000 + 8_000 * t)
        ms.add(day, "likes", "qwen/Qwen-7B-Chat", 40 + 5 * t)
        out += [hf, ms]
        day += dt.timedelta(days=1)
    return out


def populate(cfg: Config, until: str = "2023-08-08", evil: bool = False, capability: bool = True) -> None:
    """Write the whole history into the configured warehouse.

    The history is written through ``warehouse.store`` once per test process for each distinct
    (families, events, Arena and plausibility settings, arguments); a later warehouse of the same kind
    that does not exist yet gets a copy of that file (DuckDB files hold no path).  A warehouse that
    already exists is written to."""
    target = cfg.database
    if target.exists():
        _populate(cfg, until, evil, capability)
        return
    key = repr((cfg.ecosystems, cfg.events, cfg.arena, cfg.plausibility, until, evil, capability))
    template = process_scratch() / f"site-{hashlib.sha256(key.encode()).hexdigest()[:16]}.duckdb"
    if template.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(template, target)
        return
    _populate(cfg, until, evil, capability)
    shutil.copyfile(target, template)


def _populate(cfg: Config, until: str, evil: bool, capability: bool) -> None:
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

    con = store.open_writer(cfg.storage, wait_seconds=5)
    try:
        keys = {e.key for e in cfg.ecosystems}
        store.sync_config(con, cfg.ecosystem_rows(), cfg.event_rows(),
                          [m for m in memberships() if m.ecosystem in keys])
        con.execute("BEGIN TRANSACTION")
        touched = store.Touched()
        write(con, backfill, "backfill-1", FIRST_SNAPSHOT, BACKFILL_RAN, touched)
        write(con, pypi, "backfill-1", FIRST_SNAPSHOT, BACKFILL_RAN, touched)
        write(con, article, "reference-1", FIRST_SNAPSHOT, BACKFILL_RAN, touched)
        capability_days = capability_batches(cfg, evil) if capability else []
        for batch in capability_days:  # boards published before the daily runs began: loaded by a backfill
            if batch.observations[0].day < FIRST_SNAPSHOT:
                write(con, batch, "backfill-1", FIRST_SNAPSHOT, BACKFILL_RAN, touched)
        touched.refresh(con)
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
            touched = store.Touched()  # one refresh of the family totals per run, as its commit does
            write(con, gh, run_id, day, at, touched)
            write(con, hf, run_id, day, at, touched)
            for batch in capability_days:  # a board or a hub snapshot, stored the day it appeared
                if batch.observations[0].day == day:
                    write(con, batch, run_id, day, at, touched)
            touched.refresh(con)
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
            "ecosystem": ecos or ecosystems(), "event": [], "arena": {"licenses": LICENSES}}
    keys = {e["key"] for e in data["ecosystem"]}
    data["event"] = [e for e in events() if e["ecosystem"] in keys]
    (root / "ecotrend.toml").write_text(dump_toml(data), encoding="utf-8")
    return load_config(root / "ecotrend.toml")


@functools.cache
def _vega_lite_validator() -> Any:
    import jsonschema
    from altair.vegalite.v6.schema import core

    schema = core.load_schema()
    return jsonschema.validators.validator_for(schema)(schema)


def vega_lite_errors(spec: dict[str, Any]) -> list[str]:
    """What the Vega-Lite schema altair ships says is wrong with ``spec``, checked in one pass over the
    whole spec with one validator (altair's ``from_dict(validate=True)`` checks every nested object again,
    ~0.5 s a chart)."""
    return [f"{'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message[:200]}"
            for e in _vega_lite_validator().iter_errors(spec)]
