"""Progress of long work: a bar with an ETA on a terminal, plain log lines when not on one."""
from __future__ import annotations

import logging
import sys
import time
from typing import Any, TextIO

log = logging.getLogger("ecotrend")

PLAIN_EVERY_SECONDS = 30.0
PLAIN_EVERY_FRACTION = 0.10


class Progress:
    """Counts done units (days) of a known total; ``extra`` shows e.g. calls spent so far."""

    def __init__(self, total: int, desc: str, unit: str = "day", stream: TextIO | None = None,
                 tty: bool | None = None):
        self.total = max(0, total)
        self.desc = desc
        self.unit = unit
        self.stream = stream or sys.stderr
        self.done = 0
        self.started = time.monotonic()
        self._last_line = 0.0
        self._last_frac = 0.0
        self._bar: Any = None
        is_tty = self.stream.isatty() if tty is None else tty
        if is_tty and self.total:
            try:
                from tqdm import tqdm

                self._bar = tqdm(total=self.total, desc=desc, unit=unit, file=self.stream, leave=True,
                                 dynamic_ncols=True)
            except ImportError:  # the bar is a convenience; plain lines do the same job
                self._bar = None

    def eta_seconds(self) -> float | None:
        if not self.done or not self.total:
            return None
        rate = (time.monotonic() - self.started) / self.done
        return rate * (self.total - self.done)

    def update(self, n: int, **extra: Any) -> None:
        self.done = min(self.total, self.done + n)
        if self._bar is not None:
            self._bar.update(n)
            if extra:
                self._bar.set_postfix(extra, refresh=False)
            return
        now = time.monotonic()
        frac = self.done / self.total if self.total else 1.0
        if (self.done >= self.total or now - self._last_line >= PLAIN_EVERY_SECONDS
                or frac - self._last_frac >= PLAIN_EVERY_FRACTION):
            self._last_line, self._last_frac = now, frac
            eta = self.eta_seconds()
            eta_s = f", ETA {_duration(eta)}" if eta is not None and self.done < self.total else ""
            more = "".join(f", {k} {v}" for k, v in extra.items())
            line = f"{self.desc}: {self.done}/{self.total} {self.unit}s ({frac:.0%}){more}{eta_s}"
            print(line, file=self.stream, flush=True)
            log.info("%s", line)

    def write(self, line: str) -> None:
        """A line of its own, printed above the bar when there is one."""
        if self._bar is not None:
            self._bar.write(line, file=self.stream)
        else:
            print(line, file=self.stream, flush=True)
        log.info("%s", line)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    if seconds < 90:
        return f"{seconds}s"
    if seconds < 5400:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{(seconds % 3600) // 60:02d}m"
