"""Requests the Hub, PyPI and npm collectors make for the shipped ecotrend.toml, measured on the fake.

    .venv/bin/python bench/package_calls.py [--config ecotrend.toml] [--models-per-query N] ...

Runs the real CLI against the bundled fake upstream: a first daily run (empty warehouse: PyPI's
180 days and npm's history back to [npm] start come with it), the next day's run (the increment),
and ``ecotrend backfill`` of pypi and npm on a fresh warehouse.  The Hub's calls depend on how many
models each query and base model has; the fake is filled with the sizes given on the command line
(the Hub pages at most 1,000 models a call), so the figures scale as ceil(models / 1000) per query.
Prints the calls per collector and resource as recorded in ``runs.requests``.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from collectors.fake.server import FakeUpstream
from collectors.fake.world import World
from jobs.config import dump_toml

SOURCES = ["hf_models", "pypi", "npm"]


def seed(world: World, cfg: dict, args: argparse.Namespace, today: dt.date) -> None:
    hf = world.part("hf")
    for eco in cfg.get("ecosystem", []):
        for author in eco.get("hf_authors", []):
            for i in range(args.models_per_author):
                hf.add(f"{author}/{author}-model-{i}", downloads=1000 - i % 1000, all_time=10_000 + i,
                       likes=i % 50)
        for search in eco.get("hf_searches", []):
            for i in range(args.models_per_search):
                hf.add(f"user{i}/{search}-tune-{i}", downloads=i % 300, all_time=500 + i, likes=i % 7)
        for base in eco.get("hf_base_models", []):
            for kind, n in (("finetune", args.finetunes), ("quantized", args.quantized),
                            ("adapter", args.adapters), ("merge", args.merges)):
                for i in range(n):
                    hf.add(f"d{i}/{base.split('/')[-1]}-{kind}-{i}", downloads=3, all_time=9,
                           base=(kind, base))
        for m in eco.get("hf_models", []):
            if m not in hf.models:
                hf.add(m, downloads=5000, all_time=90_000, likes=100)
    py, npm = world.part("pypistats"), world.part("npm")
    start = dt.date(2015, 1, 10)
    for eco in cfg.get("ecosystem", []):
        for p in eco.get("pypi_packages", []):
            py.set(p, {today - dt.timedelta(days=i): 100 + i for i in range(1, 400)})
        for p in eco.get("npm_packages", []):
            npm.set(p, {start + dt.timedelta(days=i): 10 + i % 9 for i in range((today - start).days)})


def cli(args: list[str], config: Path, today: dt.date) -> None:
    r = subprocess.run([sys.executable, "-m", "jobs.cli", *args, "--config", str(config), "--today",
                        today.isoformat()], check=False, capture_output=True, text=True, cwd=str(ROOT),
                       env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    if r.returncode not in (0, 3):
        raise SystemExit(f"{' '.join(args)} failed: {r.stdout}{r.stderr}")


def requests_of(db: Path, mode: str | None = None) -> dict[str, dict[str, int]]:
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute("SELECT run_id, collector, requests FROM runs WHERE collector IN (?, ?, ?) "
                           "AND status <> 'running' ORDER BY started_at", SOURCES).fetchall()
    finally:
        con.close()
    out: dict[str, dict[str, int]] = {}
    for _run, collector, reqs in rows:
        acc = out.setdefault(collector, {})
        for k, v in json.loads(reqs or "{}").items():
            acc[k] = acc.get(k, 0) + v
    return out


def show(title: str, reqs: dict[str, dict[str, int]]) -> None:
    total = sum(sum(v.values()) for v in reqs.values())
    print(f"{title}: {total} requests")
    for c in SOURCES:
        if c in reqs:
            print(f"  {c:10s} " + ", ".join(f"{k}={v}" for k, v in sorted(reqs[c].items())))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                epilog="example: .venv/bin/python bench/package_calls.py "
                                       "--models-per-search 2500")
    p.add_argument("--config", default=str(ROOT / "ecotrend.toml"))
    p.add_argument("--today", default="2026-11-20")
    p.add_argument("--models-per-author", type=int, default=150)
    p.add_argument("--models-per-search", type=int, default=2500)
    p.add_argument("--finetunes", type=int, default=1200)
    p.add_argument("--quantized", type=int, default=900)
    p.add_argument("--adapters", type=int, default=400)
    p.add_argument("--merges", type=int, default=60)
    args = p.parse_args()
    today = dt.date.fromisoformat(args.today)
    shipped = tomllib.loads(Path(args.config).read_text(encoding="utf-8"))
    world = World(today)
    seed(world, shipped, args, today)
    with FakeUpstream(world) as srv, tempfile.TemporaryDirectory() as tmp:
        urls = srv.config_urls()
        keep = ("key", "label", "color", "hf_authors", "hf_searches", "hf_models", "hf_base_models",
                "pypi_packages", "npm_packages")
        cfg = {
            "storage": {"database": f"{tmp}/a.duckdb", "raw_dir": f"{tmp}/raw", "pending_dir": f"{tmp}/p",
                        "log_dir": f"{tmp}/logs"},
            "http": {"max_wait_seconds": 5},
            "huggingface": {"endpoint": urls["huggingface"]["endpoint"],
                            "top_models": shipped.get("huggingface", {}).get("top_models", 10)},
            "pypi": {"api_url": urls["pypi"]["api_url"], "requests_per_minute": 6000},
            "npm": {"api_url": urls["npm"]["api_url"],
                    "start": shipped.get("npm", {}).get("start", "2023-01-01")},
            "ecosystem": [{k: v for k, v in e.items() if k in keep} for e in shipped.get("ecosystem", [])],
        }
        path = Path(tmp) / "bench.toml"
        path.write_text(dump_toml(cfg), encoding="utf-8")
        print(f"fake Hub: {len(world.part('hf').models)} models; per author {args.models_per_author}, "
              f"per search "
              f"{args.models_per_search}, per base model {args.finetunes}/{args.quantized}/{args.adapters}/"
              f"{args.merges} (finetune/quantized/adapter/merge); npm start {cfg['npm']['start']}")
        src = [a for s in SOURCES for a in ("--source", s)]
        cli(["collect", *src], path, today)
        first = requests_of(Path(tmp) / "a.duckdb")
        show("first daily run (empty warehouse)", first)
        nxt = today + dt.timedelta(days=1)
        world.set_today(nxt)
        cli(["collect", *src], path, nxt)
        both = requests_of(Path(tmp) / "a.duckdb")
        show("next day's run", {c: {k: v - first.get(c, {}).get(k, 0) for k, v in r.items()}
                                for c, r in both.items()})
        cfg["storage"]["database"] = f"{tmp}/b.duckdb"
        path.write_text(dump_toml(cfg), encoding="utf-8")
        world.set_today(today)
        cli(["backfill", "--since", cfg["npm"]["start"], "--source", "pypi", "--source", "npm"], path, today)
        show(f"backfill --since {cfg['npm']['start']} (pypi, npm; fresh warehouse)",
             requests_of(Path(tmp) / "b.duckdb"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
