"""How long `ecotrend demo` takes from scratch: wall time, CPU time, cores and load, per phase.

    .venv/bin/python bench/demo_time.py [--days N] [--runs R]

Prints figures; asserts nothing (the demo's own tests live in tests/test_demo.py).  The machine's
load average is printed beside the wall time: on a shared machine the wall time says as much about
the neighbours as about the demo, the CPU time much less so.
"""
from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def one(days: int) -> tuple[float, float, list[str]]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.monotonic()
        proc = subprocess.run([sys.executable, "-m", "jobs.cli", "demo", "--dir", str(Path(tmp) / "demo"),
                               "--days", str(days), "--config", str(ROOT / "ecotrend.toml")],
                              capture_output=True, text=True, cwd=str(ROOT), check=False,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
        wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode != 0:
        print(f"demo exited {proc.returncode}: {proc.stderr.strip().splitlines()[-1:]}")
    return wall, cpu, [line for line in proc.stdout.splitlines() if line.startswith("demo:")]


def main() -> int:
    p = argparse.ArgumentParser(description="time `ecotrend demo` from scratch",
                                epilog="example: .venv/bin/python bench/demo_time.py --runs 3")
    p.add_argument("--days", type=int, default=3)
    p.add_argument("--runs", type=int, default=1)
    args = p.parse_args()
    print(f"cores: {os.cpu_count()}; load average before: {os.getloadavg()[0]:.2f}")
    for i in range(args.runs):
        wall, cpu, phases = one(args.days)
        print(f"run {i + 1}: wall {wall:.1f}s, CPU {cpu:.1f}s (user+sys), load average now "
              f"{os.getloadavg()[0]:.2f}")
        for line in phases:
            print(f"  {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
