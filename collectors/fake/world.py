"""The fake upstream's data: what it knows and serves, with a movable "today".

Each upstream keeps its data in a part of the world (``world.part("github")``), created by the
upstream's module; tests and the demo fill the parts with known series so assertions are exact.
"""
from __future__ import annotations

import datetime as dt
import threading
from typing import Any, Callable, TypeVar

T = TypeVar("T")


class World:
    def __init__(self, today: dt.date | str | None = None):
        self.today = _day(today) if today else dt.datetime.now(dt.UTC).date()
        self.lock = threading.RLock()
        self._parts: dict[str, Any] = {}

    def set_today(self, day: dt.date | str) -> None:
        with self.lock:
            self.today = _day(day)

    def part(self, name: str, factory: Callable[[], T] | None = None) -> T:
        with self.lock:
            if name not in self._parts:
                if factory is None:
                    from collectors.fake import routes

                    factory = routes.part_factory(name)
                self._parts[name] = factory()
            return self._parts[name]


def _day(v: dt.date | str) -> dt.date:
    return v if isinstance(v, dt.date) else dt.date.fromisoformat(v)
