"""Fake ModelScope model API (prefix ``/modelscope``): ``GET /api/v1/models/{owner}/{name}``.

Answers with ModelScope's envelope ``{"Code": 200, "Data": {...}, "Message": "success", "Success":
true, "RequestId": ...}``; ``Data`` carries ``Downloads`` and ``Stars`` among the model's fields.  A
model it does not know answers HTTP 404 with ``Code`` ≠ 200 (or, with ``missing_status = 200``, an
HTTP 200 whose ``Code`` says not found, as some gateways do).
"""
from __future__ import annotations

import threading
import uuid
import zlib
from typing import Any

from collectors.fake.server import Fault, Reply, Request, json_reply

NOT_FOUND_CODE = 10010205


class ModelScopeData:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        # id -> fields of Data (a synthetic demo set; tests set their own)
        self.models: dict[str, dict[str, Any]] = {
            "qwen/Qwen-7B-Chat": {"Downloads": 1_250_000, "Stars": 480},
            "ZhipuAI/chatglm3-6b": {"Downloads": 980_000, "Stars": 390},
            "baichuan-inc/Baichuan2-7B-Chat": {"Downloads": 310_000, "Stars": 150},
            "deepseek-ai/DeepSeek-R1": {"Downloads": 2_400_000, "Stars": 1_100},
        }
        self.missing_status = 404

    def set(self, model_id: str, **fields: Any) -> None:
        with self.lock:
            self.models.setdefault(model_id, {}).update(fields)


PART = ModelScopeData


def model(req: Request, fault: Fault | None, owner: str, name: str) -> Reply:
    data: ModelScopeData = req.server.world.part("modelscope")
    with data.lock:
        found = next((v for k, v in data.models.items() if k.lower() == f"{owner}/{name}".lower()), None)
        fields = dict(found) if found is not None else None
        key = next((k for k in data.models if k.lower() == f"{owner}/{name}".lower()), None)
    request_id = str(uuid.uuid4())
    if fields is None:
        return json_reply({"Code": NOT_FOUND_CODE, "Data": None, "Message": f"model {owner}/{name} not found",
                           "RequestId": request_id, "Success": False}, data.missing_status)
    path, real_name = (key or f"{owner}/{name}").split("/", 1)
    body = {"Code": 200, "Message": "success", "RequestId": request_id, "Success": True,
            "Data": {"Id": zlib.crc32((key or "").encode()) % 100000, "Path": path, "Name": real_name,
                     "ChineseName": "", "License": "Apache License 2.0", "Tasks": [], **fields}}
    return json_reply(body)


ROUTES = [
    ("GET", r"/api/v1/models/(?P<owner>[^/]+)/(?P<name>[^/]+)/?", model),
]
