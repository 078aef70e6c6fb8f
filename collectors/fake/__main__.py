"""Run the fake upstream on loopback: python -m collectors.fake [--port N]."""
from __future__ import annotations

import argparse
import sys

from collectors.fake.server import serve_forever
from collectors.fake.world import World


def main() -> int:
    p = argparse.ArgumentParser(prog="python -m collectors.fake",
                                description="serve the fake GitHub/Hugging Face/registry upstream",
                                epilog="example: python -m collectors.fake --port 8765")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--today", help="the fake's today (YYYY-MM-DD)")
    args = p.parse_args()
    world = World(args.today)

    def ready(url: str) -> None:
        print(url, flush=True)

    try:
        serve_forever(world, args.port, ready)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
