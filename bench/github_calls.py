"""Requests the GitHub collectors make for the shipped ecotrend.toml, measured on the fake.

    .venv/bin/python bench/github_calls.py [--config ecotrend.toml] [--today 2026-11-28] [--scale 1.0]

Builds a fake GitHub for the config's queries and repositories, then runs the real CLI against it:
the first daily run on an empty warehouse (github_search + github_repos + github_stars: whole star
histories come with it), the next day's run (steady state: ETags answered 304, one star-history
page a repository) and ``ecotrend backfill --since 2023-01-01`` of github_search and github_stars
on a fresh warehouse.  Prints requests by collector and resource (from ``runs.requests``) and, for
the backfill, search calls against days covered.

The fake's sizes are assumptions, not measurements of github.com: each query gets ASSUMED_TOTALS[q]
repositories created since 2023 (times --scale), spread over the days from its family's first
release with a slow rise and a spike on each release event; the figures scale with those sizes as
about ceil(n/100) calls per query plus splits.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import re
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from collectors.fake.github import Limits, parse_query
from collectors.fake.server import FakeUpstream
from collectors.fake.world import World
from jobs.config import dump_toml

SOURCES = ["github_search", "github_repos", "github_stars"]
TOKEN = "ghp_benchBENCHbench0123456789abcdefghij"

# Repositories created since 2023-01-01 per query: rough orders of magnitude for the bench world.
ASSUMED_TOTALS = {"llama": 60_000, "llama.cpp": 8_000, "GPT-4": 40_000, "chatgpt": 120_000, "chatglm": 8_000,
                  "qwen": 20_000, "baichuan": 2_000, "falcon-7b": 500, "falcon llm": 300, "mistral": 15_000,
                  "deepseek": 30_000}
# Creation days of the flagship repositories (their star histories start there).
CREATED = {"meta-llama/llama": "2023-02-14", "ggml-org/llama.cpp": "2023-03-10", "ollama/ollama": "2023-06-26",
           "openai/openai-python": "2020-10-25", "openai/openai-node": "2021-07-28",
           "THUDM/ChatGLM-6B": "2023-03-13", "THUDM/ChatGLM3": "2023-10-25", "QwenLM/Qwen": "2023-08-03",
           "QwenLM/Qwen3": "2025-04-28", "baichuan-inc/Baichuan2": "2023-08-29",
           "mistralai/mistral-inference": "2023-09-27", "deepseek-ai/DeepSeek-V3": "2024-12-26",
           "deepseek-ai/DeepSeek-R1": "2025-01-20"}


def series(total: int, start: dt.date, today: dt.date, spikes: list[dt.date]) -> dict[dt.date, int]:
    """``total`` creations over [start, today]: a slow rise, weekly ripple, 30x on release days."""
    n = (today - start).days + 1
    if n <= 0 or total <= 0:
        return {}
    days = [start + dt.timedelta(days=i) for i in range(n)]
    w = [(1 + 2 * i / n) * (1.2 if d.weekday() < 5 else 0.7) * (30 if d in spikes else 1)
         for i, d in enumerate(days)]
    scale = total / sum(w)
    out, carry = {}, 0.0
    for d, x in zip(days, w):
        carry += x * scale
        k = int(carry)
        carry -= k
        if k:
            out[d] = k
    return out


def seed(world: World, cfg: dict, today: dt.date, scale: float) -> dict[str, int]:
    gh = world.part("github")
    gh.limits = Limits(search=(1_000_000, 1_000_000, 60), core=(1_000_000, 1_000_000, 3600))
    events: dict[str, list[dt.date]] = {}
    for ev in cfg.get("event", []):
        events.setdefault(ev.get("ecosystem", ""), []).append(dt.date.fromisoformat(ev["day"]))
    totals: dict[str, int] = {}
    for eco in cfg.get("ecosystem", []):
        start = max(dt.date(2023, 1, 1), dt.date.fromisoformat(eco.get("first_release") or "2023-01-01"))
        for q in eco.get("github_queries", []):
            if q in totals:
                continue
            total = int(ASSUMED_TOTALS.get(q, 5_000) * scale)
            s = series(total, start, today, events.get(eco["key"], []))
            gh.add_series(q, s)
            gh.add_series(q, {dt.date(2022, 6, 1): max(1, total // 50)})  # older repositories
            totals[q] = 0
        for repo in eco.get("github_repos", []):
            created = dt.date.fromisoformat(CREATED.get(repo, "2023-06-01"))
            stars = {created + dt.timedelta(days=i): 5 + (i * 13) % 40
                     for i in range((today - created).days + 1)}
            gh.add_repository(repo, created=created, forks=1000, subscribers=200, open_issues=50, star_days=stars)
    world.set_today(today)
    for q in totals:  # what the fake matches (a "llama" search also finds llama.cpp projects)
        totals[q] = len(gh.search(parse_query(q)[0], dt.date(2023, 1, 1), today, today))
    return totals


def cli(cfg_path: Path, *args: str, today: dt.date) -> subprocess.CompletedProcess:
    env = {"PYTHONPATH": str(ROOT), "GITHUB_TOKEN": TOKEN, "PATH": "/usr/bin:/bin"}
    return subprocess.run([sys.executable, "-m", "jobs.cli", *args, "--config", str(cfg_path),
                           "--today", today.isoformat()], capture_output=True, text=True, env=env, cwd=str(ROOT),
                          check=False)


def requests_by_resource(db: Path, mode: str) -> dict[str, dict[str, int]]:
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute("SELECT collector, requests FROM runs WHERE mode = ? AND status <> 'running'",
                           [mode]).fetchall()
    finally:
        con.close()
    out: dict[str, dict[str, int]] = {}
    for collector, req in rows:
        for k, v in json.loads(req or "{}").items():
            out.setdefault(collector, {})
            out[collector][k] = out[collector].get(k, 0) + v
    return out


def show(title: str, by: dict[str, dict[str, int]]) -> None:
    print(f"\n{title}")
    total: dict[str, int] = {}
    for c in SOURCES:
        r = by.get(c, {})
        print(f"  {c:14s} " + ", ".join(f"{k} {v}" for k, v in sorted(r.items())))
        for k, v in r.items():
            total[k] = total.get(k, 0) + v
    print("  total          " + ", ".join(f"{k} {v}" for k, v in sorted(total.items())))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                epilog="example: .venv/bin/python bench/github_calls.py --scale 0.5")
    p.add_argument("--config", default=str(ROOT / "ecotrend.toml"))
    p.add_argument("--today", default="2026-11-28")
    p.add_argument("--since", default="2023-01-01")
    p.add_argument("--scale", type=float, default=1.0, help="multiply the assumed repository totals")
    args = p.parse_args()
    today = dt.date.fromisoformat(args.today)
    cfg = tomllib.loads(Path(args.config).read_text(encoding="utf-8"))
    world = World(today)
    t0 = time.monotonic()
    totals = seed(world, cfg, today, args.scale)
    print(f"fake world: {len(totals)} queries matching {sum(totals.values())} repositories created since 2023 "
          f"(assumed sizes x{args.scale}), {sum(len(e.get('github_repos', [])) for e in cfg['ecosystem'])} "
          f"repositories; built in {time.monotonic() - t0:.1f}s")
    with FakeUpstream(world) as fake, tempfile.TemporaryDirectory() as tmp:
        def config(name: str) -> Path:
            # Only what the GitHub collectors read: the shipped file's other sections stay out.
            keep = ("key", "label", "color", "first_release", "github_queries", "github_repos")
            data: dict[str, Any] = {
                "ecosystem": [{k: v for k, v in e.items() if k in keep} for e in cfg.get("ecosystem", [])],
                "event": cfg.get("event", [])}
            data["storage"] = {"database": f"{tmp}/{name}.duckdb", "raw_dir": f"{tmp}/raw-{name}",
                               "pending_dir": f"{tmp}/pending", "log_dir": f"{tmp}/logs"}
            data["github"] = {**cfg.get("github", {}), **fake.config_urls()["github"]}
            path = Path(tmp) / f"{name}.toml"
            path.write_text(dump_toml(data), encoding="utf-8")
            return path

        daily = config("daily")
        src = [a for s in SOURCES for a in ("--source", s)]
        for i, label in ((0, "first daily run (empty warehouse: whole star histories)"),
                         (1, "next day's run (steady state)")):
            day = today + dt.timedelta(days=i)
            world.set_today(day)
            before = len(fake.log)
            r = cli(daily, "collect", *src, today=day)
            if r.returncode not in (0, 3):
                print(r.stdout + r.stderr)
                return 1
            by = requests_by_resource(Path(tmp) / "daily.duckdb", "collect")
            import duckdb

            con = duckdb.connect(str(Path(tmp) / "daily.duckdb"), read_only=True)
            rows = con.execute("SELECT collector, requests FROM runs WHERE day = ?", [day]).fetchall()
            con.close()
            by = {c: json.loads(req or "{}") for c, req in rows}
            show(f"{label}: {len(fake.log) - before} HTTP requests at the fake", by)
        world.set_today(today)

        back = config("backfill")
        before = len(fake.log)
        started = time.monotonic()
        r = cli(back, "backfill", "--since", args.since, "--source", "github_search", "--source", "github_stars",
                today=today)
        if r.returncode != 0:
            print(r.stdout + r.stderr)
            return 1
        show(f"backfill --since {args.since} (fresh warehouse): {len(fake.log) - before} HTTP requests, "
             f"{time.monotonic() - started:.0f}s against the fake", requests_by_resource(
                 Path(tmp) / "backfill.duckdb", "backfill"))
        days = (today - dt.date.fromisoformat(args.since)).days + 1
        print("\n  per query: days covered / search calls (windows)")
        per_q = {m.group(1): (int(m.group(2)), int(m.group(3)))
                 for m in re.finditer(r"backfill '(.+?)': (\d+) days in (\d+) search calls", r.stderr)}
        for q, (d, c) in per_q.items():
            print(f"  {q:12s} {d} days / {c} calls ({totals.get(q, 0)} repositories, "
                  f"ceil(n/100) = {math.ceil(totals.get(q, 0) / 100)})")
        search_calls = sum(c for _d, c in per_q.values())
        print(f"  all queries: {len(per_q)} x {days} days in {search_calls} search calls; "
              f"at 30 a minute that is {search_calls / 30:.0f} minutes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
