"""``ecotrend demo``: the whole product offline, in a folder of its own, labelled as simulated.

Starts the bundled fake upstream on loopback (with limits generous enough for the demo's pace),
fills it with two years of simulated adoption for each configured family
(collectors/fake/scenario.py), writes a demo config in the demo folder (warehouse, raw archive,
logs and site all inside it; never the user's data), backfills what the sources can rebuild, runs
several simulated days of the daily job with a moved clock, and builds the site with a banner on
every page saying its data are simulated.
"""
from __future__ import annotations

import datetime as dt
import os
import shutil
import sys
import time
import tomllib
from pathlib import Path
from typing import Any, Callable

import collectors
from collectors.fake import scenario
from collectors.fake.server import FakeUpstream
from collectors.fake.world import World
from jobs import logs, runner
from jobs.config import DEFAULT_CONFIG, SECTION_KEYS, Config, load_config
from jobs.config import dump_toml as config_dump_toml

MARKER = ".ecotrend-demo"
HISTORY_DAYS = 730
SCALE = 0.4  # fewer simulated repositories: the same shapes, fewer backfill windows to commit
# The keys the demo's sources read (see demo_config): a made-up value the bundled fake accepts, set in
# the demo process only, so OpenRouter and Replicate are collected rather than skipped for want of a key.
DEMO_KEYS = ("openrouter", "replicate")
DEMO_KEY_VALUE = "demo-only-not-a-real-key"
BANNER = ("Demo data: every number on this page is simulated by `ecotrend demo` against the bundled "
          "fake upstream. Nothing here is a real measurement.")


class DemoError(Exception):
    """The demo cannot start (a foreign folder, no config to take the families from)."""


def source_config(config: str | None) -> Path:
    """The config whose families the demo simulates: --config, $ECOTREND_CONFIG, ./ecotrend.toml,
    or the one shipped with ecotrend."""
    for cand in (config, os.environ.get("ECOTREND_CONFIG"), DEFAULT_CONFIG):
        if cand and Path(cand).is_file():
            return Path(cand)
    shipped = Path(__file__).resolve().parents[1] / DEFAULT_CONFIG
    if config:
        raise DemoError(f"{config}: config file not found")
    if shipped.is_file():
        return shipped
    raise DemoError("no ecotrend.toml to take the families from; pass --config PATH")


def prepare_folder(folder: Path) -> None:
    """Create the demo folder, or clear a previous demo in it; refuse anything else."""
    if folder.exists() and not folder.is_dir():
        raise DemoError(f"{folder}: exists and is not a folder")
    if folder.is_dir() and any(folder.iterdir()) and not (folder / MARKER).exists():
        raise DemoError(f"{folder}: not empty and not a demo folder; refusing to touch it "
                        f"(choose another with --dir)")
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("data", "site"):
        shutil.rmtree(folder / name, ignore_errors=True)
    (folder / MARKER).write_text("made by `ecotrend demo`; the whole folder may be deleted\n", encoding="utf-8")


def dump_toml(data: dict[str, Any]) -> str:
    return config_dump_toml(data, "Written by `ecotrend demo`: points at the bundled fake upstream; all data "
                                  "simulated.")


def demo_config(raw: dict[str, Any], folder: Path, fake: FakeUpstream) -> dict[str, Any]:
    """The user's config, re-pointed: storage and site in the demo folder, every upstream at the fake."""
    data = {k: (dict(v) if isinstance(v, dict) else v) for k, v in raw.items()}
    data["storage"] = {**data.get("storage", {}), "database": "data/ecotrend.duckdb", "raw_dir": "data/raw",
                       "pending_dir": "data/pending", "log_dir": "data/logs", "lock_wait_seconds": 30}
    data["site"] = {**data.get("site", {}), "out_dir": "site", "demo_banner": BANNER}
    data["http"] = {**data.get("http", {}), "max_wait_seconds": 30, "timeout_seconds": 20, "retries": 2,
                    "backoff_seconds": 0.05, "secondary_wait_seconds": 1}
    for section, keys in fake.config_urls().items():
        if section not in SECTION_KEYS:
            continue
        sec = data.setdefault(section, {})
        for k, v in keys.items():
            if k in SECTION_KEYS[section]:
                sec[k] = v
        if "token_env" in SECTION_KEYS[section]:
            sec["token_env"] = demo_key_env(section)  # a real token never goes out
    # the fake announces generous budgets; sources paced by a configured rate go full speed too
    fast = {"github": {"web_pause_seconds": 0}, "pypi": {"requests_per_minute": 100_000},
            "openrouter": {"requests_per_minute": 100_000}, "ollama": {"web_pause_seconds": 0}}
    for section, keys in fast.items():
        for k, v in keys.items():
            if k in SECTION_KEYS.get(section, {}):
                data.setdefault(section, {})[k] = v
    data["alerts"] = {"command": ""}
    return {k: v for k, v in data.items() if k in SECTION_KEYS or k in ("ecosystem", "event")}


def demo_key_env(section: str) -> str:
    """The variable a demo source's key is read from: never one a real token is kept in."""
    return f"ECOTREND_DEMO_{section.upper()}_TOKEN"


def demo_today(cfg: Any, now: dt.date | None = None) -> dt.date:
    """The demo's last simulated day: two years after the first family's release (so the history
    shows every launch, its plateau and the release events), or today when that is sooner."""
    now = now or dt.datetime.now(dt.UTC).date()
    firsts = [dt.date.fromisoformat(e.first_release) for e in cfg.ecosystems if e.first_release]
    if not firsts:
        return now
    return min(now, min(firsts) + dt.timedelta(days=HISTORY_DAYS))


def run(config: str | None, folder: Path, days: int = 3, today: dt.date | None = None,
        verbose: bool = False) -> int:
    """Run the demo; return an exit code (0 when the site was built)."""
    from jobs import site

    started = time.monotonic()
    say = (lambda m: print(m, file=sys.stderr, flush=True))
    folder = Path(folder).resolve()
    try:
        src = source_config(config)
        prepare_folder(folder)
    except DemoError as exc:
        print(f"ecotrend demo: {exc}", file=sys.stderr)
        return 2
    raw = tomllib.loads(src.read_text(encoding="utf-8"))
    today = today or demo_today(load_config(src))  # the families must be valid before anything else
    start = today - dt.timedelta(days=HISTORY_DAYS)
    first_sim = today - dt.timedelta(days=days - 1)
    world = World(first_sim - dt.timedelta(days=1))
    stop = runner.StopFlag().install()
    fake = FakeUpstream(world)
    saved = {name: os.environ.get(name) for name in map(demo_key_env, DEMO_KEYS)}
    try:
        os.environ.update(dict.fromkeys(saved, DEMO_KEY_VALUE))
        fake.start()
        cfg_path = folder / "ecotrend.toml"
        cfg_path.write_text(dump_toml(demo_config(raw, folder, fake)), encoding="utf-8")
        cfg = load_config(cfg_path)
        logs.setup(verbose, cfg.log_dir, [])
        fams = scenario.families_from_config(cfg.ecosystems, cfg.events, start)
        filled = scenario.fill(world, fams, start, today, scale=SCALE)
        print(f"demo: simulated {len(fams)} families from {start} to {today} "
              f"({'; '.join(f'{k}: {v}' for k, v in filled.items())}) in {time.monotonic() - started:.1f}s")
        rc = max(_backfill_history(cfg, start, first_sim, stop, say),
                 _daily_runs(cfg, world, first_sim, days, stop, say))
        if stop():
            print("ecotrend demo: interrupted", file=sys.stderr)
            return 130
        t0 = time.monotonic()
        pages = site.build_site(cfg, today=today)
        print(f"demo: site of {len(pages)} pages built in {time.monotonic() - t0:.1f}s")
    finally:
        fake.stop()
        stop.restore()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    index = cfg.site_dir / "index.html"
    print(f"demo: finished in {time.monotonic() - started:.1f}s; all data simulated, kept in {folder}")
    print(f"open the site: {index.as_uri()}")
    print(f"query it:      ecotrend sql --config {cfg_path} \"SELECT * FROM ecosystem_daily LIMIT 10\"")
    return rc


def _backfill_history(cfg: Config, start: dt.date, first_sim: dt.date, stop: runner.StopFlag,
                      say: Callable[[str], None]) -> int:
    """Rebuild the simulated history before the first simulated day; 3 when a collector was not ok."""
    able = [n for n, c in collectors.REGISTRY.items() if hasattr(c, "backfill")]
    if not able or stop():
        return 0
    last = first_sim - dt.timedelta(days=1)
    t0 = time.monotonic()
    out = runner.backfill(cfg, start, last, able, last, stop=stop, say=say)
    rows = sum(r.rows_written for r in out.records)
    bad = [r.collector for r in out.records if r.status != "ok"]
    print(f"demo: backfill {start}..{last} ({', '.join(able)}): {rows} rows "
          f"in {time.monotonic() - t0:.1f}s" + (f"; not ok: {', '.join(bad)}" if bad else ""))
    return 3 if bad else 0


def _daily_runs(cfg: Config, world: World, first_sim: dt.date, days: int, stop: runner.StopFlag,
                say: Callable[[str], None]) -> int:
    """The daily job on each simulated day, the fake upstream's clock moved along; 3 when one was not ok."""
    rc = 0
    for i in range(days):
        if stop():
            break
        day = first_sim + dt.timedelta(days=i)
        world.set_today(day)
        t0 = time.monotonic()
        out = runner.collect(cfg, day, collectors.names(), mode="run", stop=stop, say=say)
        rows = sum(r.rows_written for r in out.records)
        bad = [f"{r.collector} ({r.status})" for r in out.records if r.status != "ok"]
        print(f"demo: daily run {day}: {rows} rows in {time.monotonic() - t0:.1f}s"
              + (f"; not ok: {', '.join(bad)}" if bad else ""))
        rc = 3 if bad else rc
    return rc
