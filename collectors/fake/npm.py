"""Fake npm downloads API: ``/downloads/range/{start}:{end}/{pkg}`` and the bulk form.

Single packages (scoped ones with ``/`` raw or ``%2F``) answer ``{"downloads": [{"day", "downloads"}],
"start", "end", "package"}`` with every day of the range up to the newest processed day (yesterday,
``lag_days``), zeros where nothing was downloaded; ranges longer than 18 months, before 2015-01-10
or after their end are refused with 400.  Bulk (comma-separated names): at most 128 unscoped names
and 365 days; an object keyed by name, ``null`` for a name npm does not know.  An unknown single
package answers 404 ``{"error": "package <name> not found"}``.
"""
from __future__ import annotations

import datetime as dt
import threading
from typing import Any
from urllib.parse import unquote

from collectors.fake.server import Fault, Reply, Request, json_reply

EARLIEST = dt.date(2015, 1, 10)
SINGLE_MAX_DAYS = 549  # 18 months
BULK_MAX_DAYS = 366
BULK_MAX_NAMES = 128


class NpmData:
    def __init__(self) -> None:
        self.packages: dict[str, dict[dt.date, int]] = {}
        self.lag_days = 1
        self.lock = threading.RLock()

    def set(self, name: str, series: dict[dt.date, int]) -> None:
        with self.lock:
            self.packages.setdefault(name, {}).update(series)


PART = NpmData


def _range(period: str, today: dt.date) -> tuple[dt.date, dt.date] | None:
    last = today - dt.timedelta(days=1)
    named = {"last-day": 1, "last-week": 7, "last-month": 30, "last-year": 365}
    if period in named:
        return last - dt.timedelta(days=named[period] - 1), last
    try:
        if ":" in period:
            a, b = period.split(":", 1)
            return dt.date.fromisoformat(a), dt.date.fromisoformat(b)
        d = dt.date.fromisoformat(period)
        return d, d
    except ValueError:
        return None


def _series(d: NpmData, name: str, start: dt.date, end: dt.date, newest: dt.date) -> dict[str, Any] | None:
    with d.lock:
        series = d.packages.get(name)
        if series is None:
            return None
        series = dict(series)
    rows = []
    day = max(start, EARLIEST)
    while day <= min(end, newest):
        rows.append({"day": day.isoformat(), "downloads": series.get(day, 0)})
        day += dt.timedelta(days=1)
    return {"downloads": rows, "start": start.isoformat(), "end": end.isoformat(), "package": name}


def downloads_range(req: Request, fault: Fault | None, period: str, names: str) -> Reply:
    d: NpmData = req.server.world.part("npm", NpmData)
    today = req.server.world.today
    rng = _range(period, today)
    if rng is None:
        return json_reply({"error": "Invalid date"}, 400)
    start, end = rng
    if end < start:
        return json_reply({"error": "end date > start date"}, 400)
    newest = today - dt.timedelta(days=d.lag_days)
    span = (end - start).days + 1
    pkgs = [unquote(n) for n in names.split(",") if n]
    if len(pkgs) > 1:
        if any(p.startswith("@") for p in pkgs):
            return json_reply({"error": "scoped packages not supported in bulk queries"}, 400)
        if len(pkgs) > BULK_MAX_NAMES:
            return json_reply({"error": f"bulk queries are limited to {BULK_MAX_NAMES} packages"}, 400)
        if span > BULK_MAX_DAYS:
            return json_reply({"error": "bulk queries are limited to 365 days"}, 400)
        return json_reply({p: _series(d, p, start, end, newest) for p in pkgs})
    if span > SINGLE_MAX_DAYS:
        return json_reply({"error": "range too long: at most 18 months"}, 400)
    body = _series(d, pkgs[0], start, end, newest) if pkgs else None
    if body is None:
        return json_reply({"error": f"package {pkgs[0] if pkgs else ''} not found"}, 404)
    return json_reply(body)


ROUTES = [
    ("GET", r"/downloads/range/(?P<period>[^/]+)/(?P<names>.+)", downloads_range),
]
