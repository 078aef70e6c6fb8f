"""Fake pypistats.org API: ``/api/packages/{pkg}/overall`` with its real shape and habits.

Rows ``{"category", "date", "downloads"}`` sorted by date, both categories unless ``mirrors`` is given,
only the last 180 days, the newest normally yesterday (``lag_days``); an unknown package (or one
with no downloads) answers 404 with an HTML page, as Flask's ``abort(404)`` does.
"""
from __future__ import annotations

import datetime as dt
import re
import threading

from collectors.fake.server import Fault, Reply, Request, json_reply

RETENTION_DAYS = 180


class PypiData:
    def __init__(self) -> None:
        self.packages: dict[str, dict[dt.date, int]] = {}  # normalised name -> day -> without mirrors
        self.lag_days = 1  # the newest day served is today - lag_days
        self.lock = threading.RLock()

    def set(self, name: str, series: dict[dt.date, int]) -> None:
        with self.lock:
            self.packages.setdefault(_norm(name), {}).update(series)


PART = PypiData


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def overall(req: Request, fault: Fault | None, pkg: str) -> Reply:
    d: PypiData = req.server.world.part("pypistats", PypiData)
    today = req.server.world.today
    with d.lock:
        series = dict(d.packages.get(_norm(pkg), {}))
    newest = today - dt.timedelta(days=d.lag_days)
    oldest = today - dt.timedelta(days=RETENTION_DAYS)
    days = sorted(day for day in series if oldest <= day <= newest)
    if not days:
        return Reply(404, "<!doctype html><title>404 Not Found</title><h1>Not Found</h1>", {},
                     "text/html; charset=utf-8")
    mirrors = req.arg("mirrors")
    rows = []
    if mirrors in (None, "true"):
        rows += [{"category": "with_mirrors", "date": day.isoformat(),
                  "downloads": series[day] + series[day] // 10} for day in days]
    if mirrors in (None, "false"):
        rows += [{"category": "without_mirrors", "date": day.isoformat(), "downloads": series[day]}
                 for day in days]
    return json_reply({"data": rows, "package": _norm(pkg), "type": "overall_downloads"})


ROUTES = [
    ("GET", r"/api/packages/(?P<pkg>[^/]+)/overall", overall),
]
