"""Fake Replicate API (prefix ``/replicate``): ``GET /v1/models/{owner}/{name}``.

Needs ``Authorization: Bearer …`` (401 without, as the real API); answers the model object with
``run_count`` among ``url``, ``owner``, ``name``, ``description``, ``visibility`` and
``latest_version``; an unknown model answers 404 ``{"detail": "Not found.", "status": 404}``.
Run counts are a constant per model or a series by day (the newest day up to the fake's today).
"""
from __future__ import annotations

import datetime as dt
import threading
import zlib

from collectors.fake.server import Fault, Reply, Request, json_reply


class ReplicateData:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.runs: dict[str, int | dict[dt.date, int]] = {}  # owner/name -> run_count

    def set(self, model: str, runs: int | dict[dt.date, int]) -> None:
        with self.lock:
            self.runs[model] = runs


PART = ReplicateData


def model(req: Request, fault: Fault | None, owner: str, name: str) -> Reply:
    d: ReplicateData = req.server.world.part("replicate")
    if not req.authorised:
        return json_reply({"title": "Unauthenticated", "detail": "You did not pass an authentication token",
                           "status": 401}, 401)
    with d.lock:
        key = next((k for k in d.runs if k.lower() == f"{owner}/{name}".lower()), None)
        value = d.runs.get(key) if key else None
    if isinstance(value, dict):
        past = [day for day in value if day <= req.server.world.today]
        value = value[max(past)] if past else None
    if value is None or key is None:
        return json_reply({"detail": "Not found.", "status": 404}, 404)
    real_owner, real_name = key.split("/", 1)
    version = f"{zlib.crc32(key.encode()):08x}" * 8
    return json_reply({
        "url": f"https://replicate.com/{key}", "owner": real_owner, "name": real_name,
        "description": "A simulated model.", "visibility": "public", "github_url": None, "paper_url": None,
        "license_url": None, "run_count": value, "cover_image_url": None, "default_example": None,
        "latest_version": {"id": version, "created_at": "2024-07-23T00:00:00.000000Z", "cog_version": "0.9.0"},
    })


ROUTES = [
    ("GET", r"/v1/models/(?P<owner>[^/]+)/(?P<name>[^/]+)/?", model),
]
