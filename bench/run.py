"""All benchmarks in one command (`make bench`): prints figures and writes BENCHMARKS.md.

1. API economy: the shipped ecotrend.toml against the bundled fake upstream filled with the demo's
   simulated world (every collector) — requests of a first daily run and of the next day's run, by
   collector and resource, against the naive count (one request per subject per metric), and the
   share answered 304.
2. Backfill from 2023-01-01 of every collector that can: calls by resource, wall time against the
   fake, and the wall time the same calls need at the real per-minute budgets.
3. Warehouse scale: N synthetic observations (default 10 million) loaded through the commit path,
   ``ecosystem_daily`` over them, the dashboard build, peak memory (bench/warehouse_scale.py).
4. Site weight per page of the API-economy site.

The fake's sizes are the demo scenario's, not github.com's or the Hub's: call counts that depend on
how many items upstream lists scale with them (see bench/github_calls.py and bench/package_calls.py
for runs with assumed real-world sizes).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import duckdb  # noqa: E402

import collectors  # noqa: E402
from collectors.fake import scenario  # noqa: E402
from collectors.fake.server import FakeUpstream  # noqa: E402
from collectors.fake.world import World  # noqa: E402
from jobs import demo, runner  # noqa: E402
from jobs.config import load_config  # noqa: E402

TODAY = dt.date(2026, 11, 28)
SINCE = dt.date(2023, 1, 1)
# Real budgets per resource: calls per second sustained (GitHub search 30/min with a token, core
# 5,000/h, the Hub 1,000 per 5 minutes with a free token, pypistats ~30/min, npm and the rest unpaced)
REAL_RATE = {"search": 30 / 60, "core": 5000 / 3600, "web": 1.0, "models": 1000 / 300,
             "model_info": 1000 / 300, "pypistats": 30 / 60}


def _requests(db: Path, mode: str) -> dict[str, dict[str, int]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute("SELECT collector, requests FROM runs WHERE mode = ?", [mode]).fetchall()
    finally:
        con.close()
    out: dict[str, dict[str, int]] = {}
    for collector, reqs in rows:
        for k, v in json.loads(reqs or "{}").items():
            out.setdefault(collector, {})[k] = out.setdefault(collector, {}).get(k, 0) + v
    return out


def _naive(db: Path, day: dt.date) -> int:
    """One request per subject per metric: the distinct facts a run stored for the day."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute("SELECT count(DISTINCT (source, metric, subject)) FROM observations "
                           "WHERE day = ? AND method = 'snapshot'", [day]).fetchone()[0]
    finally:
        con.close()


def _totals(by: dict[str, dict[str, int]]) -> tuple[int, int]:
    paid = sum(v for r in by.values() for k, v in r.items() if not k.endswith("_304") and k != "rate_limit")
    free = sum(v for r in by.values() for k, v in r.items() if k.endswith("_304"))
    return paid, free


def api_economy(tmp: Path) -> dict:
    raw = tomllib.loads((ROOT / "ecotrend.toml").read_text(encoding="utf-8"))
    world = World(TODAY - dt.timedelta(days=1))
    fake = FakeUpstream(world).start()
    try:
        cfg_path = tmp / "ecotrend.toml"
        cfg_path.write_text(demo.dump_toml(demo.demo_config(raw, tmp, fake)), encoding="utf-8")
        cfg = load_config(cfg_path)
        fams = scenario.families_from_config(cfg.ecosystems, cfg.events, SINCE)
        scenario.fill(world, fams, SINCE, TODAY, scale=1.0)
        say = (lambda m: None)
        out: dict = {"days": {}}
        for label, day in (("first daily run", TODAY - dt.timedelta(days=1)), ("next daily run", TODAY)):
            world.set_today(day)
            t0 = time.monotonic()
            runner.collect(cfg, day, collectors.names(), mode="run", say=say)
            wall = time.monotonic() - t0
            by = {c: r for c, r in _requests(cfg.database, "run").items()}
            out["days"][label] = {"day": day.isoformat(), "wall_seconds": round(wall, 1)}
            out["days"][label]["by_collector"] = by
        # per-day figures: the second run's counts are the difference of the cumulative ones
        first = out["days"]["first daily run"]["by_collector"]
        both = out["days"]["next daily run"]["by_collector"]
        second = {c: {k: v - first.get(c, {}).get(k, 0) for k, v in r.items()
                      if v - first.get(c, {}).get(k, 0)} for c, r in both.items()}
        out["days"]["next daily run"]["by_collector"] = second
        for label, by in (("first daily run", first), ("next daily run", second)):
            paid, free = _totals(by)
            d = out["days"][label]
            d["requests"] = paid
            d["answered_304"] = free
            d["share_304"] = round(free / paid, 3) if paid else 0.0
            d["naive_requests"] = _naive(cfg.database, dt.date.fromisoformat(d["day"]))
        from jobs import site

        t0 = time.monotonic()
        pages = site.build_site(cfg, today=TODAY)
        out["site_build_seconds"] = round(time.monotonic() - t0, 1)
        out["site"] = {str(p.relative_to(cfg.site_dir)): p.stat().st_size for p in pages}
        assets = cfg.site_dir / "assets"
        out["assets"] = {p.name: p.stat().st_size for p in assets.iterdir()} if assets.is_dir() else {}
        # backfill from 2023-01-01 on a fresh warehouse
        bdir = tmp / "backfill"
        bdir.mkdir()
        bpath = bdir / "ecotrend.toml"
        bpath.write_text(demo.dump_toml(demo.demo_config(raw, bdir, fake)), encoding="utf-8")
        bcfg = load_config(bpath)
        able = [n for n, c in collectors.REGISTRY.items() if hasattr(c, "backfill")]
        t0 = time.monotonic()
        runner.backfill(bcfg, SINCE, TODAY - dt.timedelta(days=1), able, TODAY, say=say)
        wall = time.monotonic() - t0
        by = _requests(bcfg.database, "backfill")
        per_resource: dict[str, int] = {}
        for r in by.values():
            for k, v in r.items():
                if not k.endswith("_304") and k != "rate_limit":
                    per_resource[k] = per_resource.get(k, 0) + v
        real = max((n / REAL_RATE.get(k, 10.0) for k, n in per_resource.items()), default=0.0)
        out["backfill"] = {"since": SINCE.isoformat(), "collectors": able, "by_collector": by,
                           "by_resource": per_resource, "wall_seconds_fake": round(wall, 1),
                           "minutes_at_real_budgets": round(real / 60, 1)}
    finally:
        fake.stop()
    return out


def machine() -> str:
    mem = ""
    try:
        kb = int(next(line for line in open("/proc/meminfo") if line.startswith("MemTotal")).split()[1])
        mem = f", {kb / 2**20:.0f} GiB RAM"
    except (OSError, StopIteration, ValueError):
        pass
    return (f"{platform.machine()}, {os.cpu_count()} cores{mem}, Python {platform.python_version()}, "
            f"DuckDB {duckdb.__version__}")


def sized_runs() -> dict[str, str]:
    """The GitHub and package call counts with assumed real-world upstream sizes (their own scripts)."""
    out = {}
    for name in ("github_calls.py", "package_calls.py"):
        r = subprocess.run([sys.executable, str(ROOT / "bench" / name)], capture_output=True, text=True)
        out[name] = (r.stdout if r.returncode == 0 else f"failed: {r.stderr[-500:]}").strip()
    return out


def markdown(econ: dict, scale: dict, rows: int, seconds: float, sized: dict[str, str]) -> str:
    lines = ["# Benchmarks", "",
             f"Machine: {machine()}. Command: `make bench` (`python bench/run.py --rows {rows}`), "
             f"run on {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC in {seconds:.0f} s.", "",
             "Figures come from one run against the bundled fake upstream filled with the demo's simulated",
             "world; call counts that depend on upstream sizes scale with the simulated sizes.", "",
             "## API economy (shipped ecotrend.toml, every collector)", "",
             "| run | requests | answered 304 (free) | share 304 | naive: one per subject per metric | wall (fake) |",
             "|---|---|---|---|---|---|"]
    for label, d in econ["days"].items():
        lines.append(f"| {label} ({d['day']}) | {d['requests']} | {d['answered_304']} | {d['share_304']:.0%} | "
                     f"{d['naive_requests']} | {d['wall_seconds']} s |")
    lines += ["", "Requests by collector and resource:", "",
              "| collector | first daily run | next daily run |", "|---|---|---|"]
    first = econ["days"]["first daily run"]["by_collector"]
    second = econ["days"]["next daily run"]["by_collector"]
    for c in sorted(set(first) | set(second)):
        def fmt(r: dict) -> str:
            return ", ".join(f"{k} {v}" for k, v in sorted(r.items())) or "0"
        lines.append(f"| {c} | {fmt(first.get(c, {}))} | {fmt(second.get(c, {}))} |")
    b = econ["backfill"]
    lines += ["", f"## Backfill from {b['since']}", "",
              f"Collectors: {', '.join(b['collectors'])}. Calls by resource: "
              + ", ".join(f"{k} {v}" for k, v in sorted(b["by_resource"].items()))
              + f". Wall time against the fake: {b['wall_seconds_fake']} s; at the real per-minute budgets "
              f"(GitHub search 30/min with a token, core 5,000/h, the Hub 1,000 per 5 min, pypistats 30/min) "
              f"the slowest resource needs about **{b['minutes_at_real_budgets']} minutes**.", "",
              f"## Warehouse scale ({scale['rows']:,} synthetic observations)", "",
              "| figure | value |", "|---|---|",
              f"| load through the commit path (Arrow upsert) | {scale['rows_per_second']:,} rows/s "
              f"({scale['load_seconds']} s) |",
              f"| `ecosystem_daily` over everything ({scale['ecosystem_daily_rows']:,} rows) | "
              f"{scale['ecosystem_daily_seconds']} s |",
              f"| dashboard build ({scale['site_pages']} pages) | {scale['site_build_seconds']} s |",
              f"| warehouse file | {scale['db_mib']} MiB |",
              f"| peak memory (RSS) | {scale['peak_rss_mib']} MiB |", "",
              "## Site weight (API-economy site)", "",
              f"Built in {econ['site_build_seconds']} s. Shared scripts under `site/assets/` (written once): "
              + ", ".join(f"{k} {v / 1024:.0f} KiB" for k, v in sorted(econ["assets"].items())) + ".", "",
              "| page | KiB |", "|---|---|"]
    for page, size in sorted(econ["site"].items()):
        lines.append(f"| {page} | {size / 1024:.1f} |")
    lines += ["", "## With assumed real-world sizes", "",
              "The same collectors against fake upstreams sized like the real ones (the sizes are stated",
              "assumptions in each script, not measurements of github.com or the Hub).", ""]
    for name, text in sized.items():
        lines += [f"`python bench/{name}`:", "", "```", text, "```", ""]
    return "\n".join(lines) + "\n"


def sections(text: str) -> list[tuple[str, str]]:
    """(heading, text) of each ``## `` section of a Markdown file, in order; the part before the first
    section has the heading ''."""
    out: list[tuple[str, str]] = [("", "")]
    for line in text.splitlines(keepends=True):
        if line.startswith("## "):
            out.append((line.strip(), ""))
        out[-1] = (out[-1][0], out[-1][1] + line)
    return out


def keep_others(new: str, old: str) -> str:
    """``new`` followed by the sections of ``old`` it does not write itself: the figures other commands
    measured (``bench/lake.py``, ``bench/build_time.py``) stay in BENCHMARKS.md when this one rewrites it."""
    mine = {h for h, _ in sections(new)}
    kept = [body for h, body in sections(old) if h and h not in mine]
    if not kept:
        return new
    return new.rstrip("\n") + "\n" + "".join("\n" + body.rstrip("\n") + "\n" for body in kept)


def main() -> int:
    p = argparse.ArgumentParser(description="run every benchmark, print figures, write BENCHMARKS.md",
                                epilog="example: python bench/run.py --rows 10000000")
    p.add_argument("--rows", type=int, default=10_000_000, help="synthetic observations to load")
    p.add_argument("--out", type=Path, default=ROOT / "BENCHMARKS.md")
    args = p.parse_args()
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        econ = api_economy(Path(tmp))
    print(json.dumps(econ, indent=2, default=str))
    # the scale benchmark runs in its own process so its peak memory is its own
    r = subprocess.run([sys.executable, str(ROOT / "bench" / "warehouse_scale.py"), "--rows", str(args.rows)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        print(r.stderr, file=sys.stderr)
        return 1
    scale = json.loads(r.stdout)
    print(json.dumps(scale, indent=2))
    sized = sized_runs()
    for text in sized.values():
        print(text)
    text = markdown(econ, scale, args.rows, time.monotonic() - started, sized)
    previous = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
    args.out.write_text(keep_others(text, previous), encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
