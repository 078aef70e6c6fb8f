"""Fake OpenRouter (prefix ``/openrouter``): the rankings Data API and the public model list.

``GET /api/v1/datasets/rankings-daily?start_date=&end_date=`` needs ``Authorization: Bearer …``
(401 without) and answers ``{"data": [{"date", "model_permaslug", "total_tokens"}…], "meta": {"as_of",
"start_date", "end_date", "version"}}``: per day the top 50 models by tokens plus one row ``other``
summing the rest, ``total_tokens`` a decimal string; nothing before 2025-01-01 nor after yesterday.
A bad or reversed date answers 400.  With ``per_minute`` set, calls past it within a minute answer
429 with ``retry-after``, as the real API limits a key to 30 a minute.  ``GET /api/v1/models`` is
public: ``{"data": [{"id", "canonical_slug", "name", "hugging_face_id", …}]}``.
"""
from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Any

from collectors.fake.server import Fault, Reply, Request, json_reply

EARLIEST = dt.date(2025, 1, 1)
TOP = 50


class OpenRouterData:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.days: dict[dt.date, dict[str, int]] = {}  # day -> permaslug -> tokens (every model)
        self.models: dict[str, str | None] = {}  # canonical slug -> hugging_face_id (None: closed)
        self.as_of: str | None = None  # None: the fake's today at 03:00 UTC
        self.version = "1"
        self.lag_days = 1  # the newest day served is today - lag_days
        self.per_minute: int | None = None
        self.calls: list[float] = []

    def set_day(self, day: dt.date, tokens: dict[str, int]) -> None:
        with self.lock:
            self.days.setdefault(day, {}).update(tokens)

    def add_model(self, slug: str, hugging_face_id: str | None = None) -> None:
        with self.lock:
            self.models[slug] = hugging_face_id


PART = OpenRouterData


def ranked(tokens: dict[str, int]) -> list[tuple[str, int]]:
    """The top 50 by tokens and one row ``other`` with the rest (when there is a rest)."""
    order = sorted(tokens.items(), key=lambda kv: (-kv[1], kv[0]))
    rest = sum(n for _, n in order[TOP:])
    return order[:TOP] + ([("other", rest)] if len(order) > TOP else [])


def _limited(d: OpenRouterData) -> Reply | None:
    if not d.per_minute:
        return None
    now = time.monotonic()
    d.calls = [t for t in d.calls if now - t < 60] + [now]
    if len(d.calls) > d.per_minute:
        return json_reply({"error": {"code": 429, "message": "Rate limit exceeded"}}, 429, {"retry-after": "1"})
    return None


def rankings(req: Request, fault: Fault | None) -> Reply:
    d: OpenRouterData = req.server.world.part("openrouter")
    if not req.authorised:
        return json_reply({"error": {"code": 401, "message": "No auth credentials found"}}, 401)
    try:
        start = dt.date.fromisoformat(req.arg("start_date") or "")
        end = dt.date.fromisoformat(req.arg("end_date") or "")
    except ValueError:
        return json_reply({"error": {"code": 400, "message": "start_date and end_date must be YYYY-MM-DD"}}, 400)
    if start > end:
        return json_reply({"error": {"code": 400, "message": "start_date is after end_date"}}, 400)
    today = req.server.world.today
    with d.lock:
        limited = _limited(d)
        if limited:
            return limited
        newest = today - dt.timedelta(days=d.lag_days)
        rows: list[dict[str, Any]] = []
        for day in sorted(x for x in d.days if max(start, EARLIEST) <= x <= min(end, newest)):
            rows += [{"date": day.isoformat(), "model_permaslug": slug, "total_tokens": str(n)}
                     for slug, n in ranked(d.days[day])]
        as_of = d.as_of or f"{today.isoformat()}T03:00:00Z"
        meta = {"as_of": as_of, "start_date": start.isoformat(), "end_date": end.isoformat(), "version": d.version}
    return json_reply({"data": rows, "meta": meta})


def models(req: Request, fault: Fault | None) -> Reply:
    d: OpenRouterData = req.server.world.part("openrouter")
    with d.lock:
        items = [{"id": slug, "canonical_slug": slug,
                  "name": slug.split("/")[-1], "hugging_face_id": hf or "",
                  "context_length": 131072, "created": 1735689600}
                 for slug, hf in sorted(d.models.items())]
    return json_reply({"data": items})


ROUTES = [
    ("GET", r"/api/v1/datasets/rankings-daily", rankings),
    ("GET", r"/api/v1/models", models),
]
