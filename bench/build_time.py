"""How long `ecotrend build` takes against the demo's warehouse: the first `build --png` into an empty
site folder, the same build again (nothing changed: every image is kept), and the plain `build`.

    .venv/bin/python bench/build_time.py [--demo DIR] [--runs R]

Without ``--demo`` a demo is made first in a temporary folder (``ecotrend demo --days 3``, about a
minute); with ``--demo DIR`` the demo already in DIR is used (made there when DIR has none).  Each run
builds into a new empty folder (the demo's own ``site/`` is never touched), from a config written
beside the demo's ``ecotrend.toml``.  Prints each run, then the medians; wall time, CPU time of the
build process and its workers (user+sys), the images written, and the load average, since on a
shared machine the wall time says as much about the neighbours as about the build.  Asserts nothing.
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from jobs import demo  # noqa: E402
from jobs.config import load_config  # noqa: E402

STEPS = (("first build --png", ["--png"], True), ("second build --png", ["--png"], False),
         ("plain build", [], True), ("plain build again", [], False))


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "jobs.cli", *args], capture_output=True, text=True,
                          cwd=str(ROOT), check=False, env={**os.environ, "PYTHONPATH": str(ROOT)})


def ensure_demo(folder: Path) -> Path:
    cfg = folder / "ecotrend.toml"
    if not cfg.exists():
        print(f"making the demo in {folder} (once) ...", flush=True)
        r = cli("demo", "--dir", str(folder), "--config", str(ROOT / "ecotrend.toml"))
        if r.returncode not in (0, 3):
            sys.exit(f"demo exited {r.returncode}: {r.stderr.strip()[-500:]}")
    return cfg


def bench_config(demo_cfg: Path, out: Path) -> Path:
    """The demo's config with ``[site] out_dir`` moved to ``out`` (beside it: its paths are relative)."""
    data = tomllib.loads(demo_cfg.read_text(encoding="utf-8"))
    data["site"]["out_dir"] = str(out)
    path = demo_cfg.with_name("bench-build.toml")
    path.write_text(demo.dump_toml(data), encoding="utf-8")
    return path


def timed(cfg: Path, today: str, extra: list[str]) -> tuple[float, float, str]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    r = cli("build", "--config", str(cfg), "--today", today, *extra)
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if r.returncode != 0:
        sys.exit(f"build exited {r.returncode}: {r.stderr.strip()[-500:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, r.stdout.strip()


def one_run(demo_cfg: Path, today: str, work: Path, i: int) -> dict[str, tuple[float, float, int]]:
    out: dict[str, tuple[float, float, int]] = {}
    site = None
    for name, extra, fresh in STEPS:
        if fresh:
            site = work / f"site-{i}-{len(out)}"
        cfg = bench_config(demo_cfg, site)
        wall, cpu, _ = timed(cfg, today, extra)
        images = len(list((site / "png").glob("*.png"))) if (site / "png").is_dir() else 0
        out[name] = (wall, cpu, images)
        print(f"  {name:20s} wall {wall:6.1f}s  CPU {cpu:6.1f}s  PNG files {images:3d}  "
              f"load average {os.getloadavg()[0]:.1f}", flush=True)
    return out


def main() -> int:
    p = argparse.ArgumentParser(description="time `ecotrend build` (--png first and again, plain) on the demo",
                                epilog="example: .venv/bin/python bench/build_time.py --demo /tmp/demo --runs 3")
    p.add_argument("--demo", type=Path, help="a folder holding `ecotrend demo` output (made when empty)")
    p.add_argument("--runs", type=int, default=3)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        demo_cfg = ensure_demo((args.demo or Path(tmp) / "demo").resolve())
        today = demo.demo_today(load_config(demo_cfg)).isoformat()
        print(f"cores: {os.cpu_count()}; demo: {demo_cfg.parent}; today {today}; "
              f"load average before: {os.getloadavg()[0]:.1f}")
        runs = []
        for i in range(args.runs):
            print(f"run {i + 1}:", flush=True)
            runs.append(one_run(demo_cfg, today, Path(tmp), i))
    print(f"medians of {len(runs)} runs:")
    for name, _, _ in STEPS:
        walls, cpus = [r[name][0] for r in runs], [r[name][1] for r in runs]
        print(f"  {name:20s} wall {statistics.median(walls):6.1f}s (min {min(walls):.1f}, max {max(walls):.1f})"
              f"  CPU {statistics.median(cpus):6.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
