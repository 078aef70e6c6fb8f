"""Fake Hugging Face Space and dataset files for the Arena leaderboard (prefix ``/hfspaces``).

Answers like the Hub does for what collectors/arena.py reads: the Space's file listing
(``/api/spaces/{repo}/tree/main``, items with git oids, ``.pkl`` files with ``lfs``), the Space info
(``/api/spaces/{repo}``, ``siblings``), files under ``/spaces/{repo}/resolve/main/{file}``, the
dataset listing (``/api/datasets/{repo}/tree/main/{config}``) and its Parquet files, which
``resolve`` answers with a 302 to a content address (``/cdn/{sha256}``) as the Hub does for LFS
files.  The old Space names answer 307 to the current one.  Only files dated on or before the
world's "today" are listed, so a test can let boards appear day by day.

The default data is a small synthetic history (demo data, not the real boards): 2023 tables with
"Arena Elo rating", one whose score column is called "Arena Score", one with a license nobody maps,
a 2024 table without scores, and dataset rows for the days the tables do not score.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
import tempfile
import threading
from pathlib import Path
from typing import Any

from collectors.fake.server import Fault, Reply, Request, json_reply

CURRENT_SPACE = "lmarena-ai/arena-leaderboard"
OLD_SPACES = ("lmsys/chatbot-arena-leaderboard", "lmarena-ai/chatbot-arena-leaderboard")
DATASET = "lmarena-ai/leaderboard-dataset"
DATE_IN_NAME = re.compile(r"_(\d{8})\.[a-z]+$")

H2023 = "Model,MT-bench (score),Arena Elo rating,MMLU,License,Link"
H2024 = "key,Model,MT-bench (score),MMLU,Knowledge cutoff date,License,Organization,Link"


def _csv(*lines: str) -> str:
    return "".join(line + "\n" for line in lines)


DEFAULT_TABLES = {
    "leaderboard_table_20230619.csv": _csv(
        H2023,
        "GPT-4,8.99,1200,86.4,Proprietary,https://openai.com/research/gpt-4",
        "Claude-v1,7.90,1150,75.6,Proprietary,https://www.anthropic.com/index/introducing-claude",
        "GPT-3.5-turbo,7.94,1110,70.0,Proprietary,https://openai.com/blog/chatgpt",
        "Vicuna-13B,6.39,1060,52.1,Non-commercial,https://huggingface.co/lmsys/vicuna-13b-v1.3",
        "Falcon-40B-Instruct,5.17,1040,54.7,Apache 2.0,https://huggingface.co/tiiuae/falcon-40b-instruct",
        "PaLM-Chat-Bison-001,6.40,1030,-,Proprietary,https://cloud.google.com/vertex-ai",
        "Koala-13B,5.35,1000,44.7,Non-commercial,https://bair.berkeley.edu/blog/2023/04/03/koala/",
        "ChatGLM-6B,4.50,950,36.1,Non-commercial,https://huggingface.co/THUDM/chatglm-6b",
        "MPT-30B-chat,6.39,-,50.4,CC-BY-NC-SA-4.0,https://huggingface.co/mosaicml/mpt-30b-chat",
        "Dolly-V2-12B,3.28,850,25.7,MIT,https://huggingface.co/databricks/dolly-v2-12b",
        "LLaMA-13B,2.61,820,47.0,Non-commercial,https://arxiv.org/abs/2302.13971",
        "StableLM-Tuned-Alpha-7B,2.75,800,24.4,CC-BY-NC-SA-4.0,https://huggingface.co/stabilityai",
    ),
    "leaderboard_table_20230802.csv": _csv(
        H2023,
        "GPT-4,8.99,1205,86.4,Proprietary,https://openai.com/research/gpt-4",
        "Claude-1,7.90,1160,77.0,Proprietary,https://www.anthropic.com/index/introducing-claude",
        "Claude-2,8.06,1135,78.5,Proprietary,https://www.anthropic.com/index/claude-2",
        "Acme-Chat-70B,7.50,1120,65.0,Acme Research License,https://example.com/acme",
        "GPT-3.5-turbo,7.94,1115,70.0,Proprietary,https://openai.com/blog/chatgpt",
        "Vicuna-33B,7.12,1090,59.2,Non-commercial,https://huggingface.co/lmsys/vicuna-33b-v1.3",
        "Llama-2-70b-chat,6.86,1051,63.0,Llama 2 Community,https://huggingface.co/meta-llama",
        "Llama-2-13b-chat,6.65,1012,53.6,Llama 2 Community,https://huggingface.co/meta-llama",
        "ChatGLM2-6B,4.96,930,45.5,Apache-2.0,https://huggingface.co/THUDM/chatglm2-6b",
    ),
    "leaderboard_table_20231206.csv": _csv(
        "Model,MT-bench (score),Arena Score,MMLU,License,Link",
        "GPT-4-Turbo,9.32,1250,-,Proprietary,https://openai.com",
        "GPT-4-0613,9.18,1160,-,Proprietary,https://openai.com",
        "Mixtral-8x7b-Instruct-v0.1,8.30,1125,70.6,Apache 2.0,https://mistral.ai",
        "Claude-2.1,8.18,1120,-,Proprietary,https://www.anthropic.com",
        "Yi-34B-Chat,-,1110,73.5,Yi License,https://huggingface.co/01-ai/Yi-34B-Chat",
        "Llama-2-70b-chat,6.86,1080,63.0,Llama 2 Community,https://huggingface.co/meta-llama",
        "Qwen-14B-Chat,6.96,1035,66.5,Qianwen LICENSE,https://huggingface.co/Qwen/Qwen-14B-Chat",
        "ChatGLM3-6B,-,960,-,Apache-2.0,https://huggingface.co/THUDM/chatglm3-6b",
    ),
    "leaderboard_table_20240202.csv": _csv(
        H2024,
        "gpt-4-0125-preview,GPT-4-0125-preview,-,-,2023/12,Proprietary,OpenAI,https://openai.com",
        "mixtral-8x7b-instruct-v0.1,Mixtral-8x7b-Instruct-v0.1,8.30,70.6,2023/12,Apache 2.0,Mistral,mistral.ai",
        "llama-2-70b-chat,Llama-2-70b-chat,6.86,63.0,2023/7,Llama 2 Community,Meta,https://ai.meta.com",
        "qwen1.5-72b-chat,Qwen1.5-72B-Chat,8.61,77.5,2024/2,Qianwen LICENSE,Alibaba,https://qwenlm.github.io",
    ),
}

# (publish date, model, organization, license, rating, rank, votes); category 'overall' unless noted
DEFAULT_DATASET = [
    ("2023-06-19", "gpt-4", "OpenAI", "Proprietary", 1201.0, 1, 5000),  # a Space table scores that day
    ("2024-02-02", "gpt-4-0125-preview", "OpenAI", "Proprietary", 1249.5, 1, 30000),
    ("2024-02-02", "mixtral-8x7b-instruct-v0.1", "Mistral", "Apache 2.0", 1121.0, 2, 25000),
    ("2024-02-02", "qwen1.5-72b-chat", "Alibaba", "Qianwen LICENSE", 1150.5, 2, 8000),
    ("2024-02-02", "llama-2-70b-chat", "Meta", "Llama 2 Community", 1082.0, 4, 35000),
    ("2024-03-15", "claude-3-opus-20240229", "Anthropic", "Proprietary", 1255.0, 1, 40000),
    ("2024-03-15", "gpt-4-0125-preview", "OpenAI", "Proprietary", 1251.0, 1, 45000),
    ("2024-03-15", "qwen1.5-72b-chat", "Alibaba", "Qianwen LICENSE", 1148.0, 3, 12000),
    ("2024-03-15", "llama-2-70b-chat", "Meta", "Llama 2 Community", 1083.0, 4, 38000),
]


def git_oid(content: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


def _day_of(name: str) -> dt.date | None:
    m = DATE_IN_NAME.search(name)
    return dt.datetime.strptime(m.group(1), "%Y%m%d").date() if m else None


class ArenaData:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.files: dict[str, bytes] = {k: v.encode() for k, v in DEFAULT_TABLES.items()}
        for day in ("20230619", "20230802", "20231206", "20240202"):  # the Space's pickles: never read
            self.files[f"elo_results_{day}.pkl"] = b"\x80\x04 not for reading"
        self.files["README.md"] = b"---\ntitle: Arena Leaderboard\nsdk: static\n---\n"
        self.dataset_rows: list[dict[str, Any]] = [
            {"leaderboard_publish_date": d, "model_name": m, "organization": o, "license": lic,
             "rating": r, "rank": k, "vote_count": v, "category": "overall"}
            for d, m, o, lic, r, k, v in DEFAULT_DATASET]
        self.dataset_rows.append({"leaderboard_publish_date": "2024-03-15", "model_name": "llama-2-70b-chat",
                                  "organization": "Meta", "license": "Llama 2 Community", "rating": 1001.0,
                                  "rank": 9, "vote_count": 900, "category": "coding"})
        self.dataset_columns: dict[str, str] = {}  # rename columns in the Parquet: old -> new
        self.config, self.split = "text", "full"
        self._parquet: dict[tuple, bytes] = {}

    # -- what tests change ------------------------------------------------------------------------
    def add_table(self, name: str, text: str) -> None:
        with self.lock:
            self.files[name] = text.encode()

    def add_dataset_rows(self, rows: list[dict[str, Any]]) -> None:
        with self.lock:
            self.dataset_rows += rows
            self._parquet.clear()

    # -- what the routes serve --------------------------------------------------------------------
    def listed(self, today: dt.date) -> dict[str, bytes]:
        with self.lock:
            return {n: b for n, b in sorted(self.files.items()) if (_day_of(n) or dt.date.min) <= today}

    def parquet(self, today: dt.date) -> bytes:
        """The dataset's rows published by ``today``, written by DuckDB as Parquet."""
        import duckdb
        import pyarrow as pa

        with self.lock:
            rows = [r for r in self.dataset_rows if r["leaderboard_publish_date"] <= today.isoformat()]
            key = (today, len(rows), tuple(sorted(self.dataset_columns.items())))
            if key in self._parquet:
                return self._parquet[key]
            table = pa.Table.from_pylist(rows, schema=pa.schema([
                ("model_name", pa.string()), ("organization", pa.string()), ("license", pa.string()),
                ("rating", pa.float64()), ("rank", pa.int64()), ("vote_count", pa.int64()),
                ("category", pa.string()), ("leaderboard_publish_date", pa.string())]))
            table = table.rename_columns([self.dataset_columns.get(c, c) for c in table.column_names])
            with tempfile.TemporaryDirectory() as tmp:
                out = Path(tmp) / "full.parquet"
                con = duckdb.connect()
                try:
                    con.register("rows_", table)
                    con.execute(f"COPY (SELECT * FROM rows_) TO '{out}' (FORMAT parquet)")
                finally:
                    con.close()
                data = out.read_bytes()
            self._parquet[key] = data
            return data

    def dataset_files(self, today: dt.date) -> dict[str, bytes]:
        return {f"{self.config}/{self.split}-00000-of-00001.parquet": self.parquet(today)}


PART = ArenaData


def _data(req: Request) -> ArenaData:
    return req.server.world.part("hfspaces")


def _today(req: Request) -> dt.date:
    return req.server.world.today


def _moved(req: Request, repo: str, rest: str) -> Reply | None:
    if repo in OLD_SPACES:
        return Reply(307, {"error": "moved"}, {"Location": f"{req.base}{rest.format(repo=CURRENT_SPACE)}"})
    if repo != CURRENT_SPACE:
        return json_reply({"error": "Repository not found"}, 404)
    return None


def space_tree(req: Request, fault: Fault | None, repo: str) -> Reply:
    moved = _moved(req, repo, "/api/spaces/{repo}/tree/main")
    if moved:
        return moved
    items = []
    for name, body in _data(req).listed(_today(req)).items():
        item: dict[str, Any] = {"type": "file", "oid": git_oid(body), "size": len(body), "path": name}
        if name.endswith(".pkl"):
            item["lfs"] = {"oid": hashlib.sha256(body).hexdigest(), "size": len(body), "pointerSize": 132}
        items.append(item)
    return json_reply(items)


def space_info(req: Request, fault: Fault | None, repo: str) -> Reply:
    moved = _moved(req, repo, "/api/spaces/{repo}")
    if moved:
        return moved
    files = _data(req).listed(_today(req))
    return json_reply({"id": CURRENT_SPACE, "sdk": "static", "private": False,
                       "siblings": [{"rfilename": n} for n in files]})


def space_file(req: Request, fault: Fault | None, repo: str, file: str) -> Reply:
    moved = _moved(req, repo, "/spaces/{repo}/resolve/main/" + file)
    if moved:
        return moved
    body = _data(req).listed(_today(req)).get(file)
    if body is None:
        return json_reply({"error": "Entry not found"}, 404)
    ctype = "text/csv; charset=utf-8" if file.endswith(".csv") else "application/octet-stream"
    return Reply(200, body, {"ETag": f'"{git_oid(body)}"'}, ctype)


def dataset_tree(req: Request, fault: Fault | None, repo: str, sub: str) -> Reply:
    if repo != DATASET:
        return json_reply({"error": "Repository not found"}, 404)
    items = []
    for path, body in _data(req).dataset_files(_today(req)).items():
        if path.startswith(sub.rstrip("/") + "/"):
            items.append({"type": "file", "oid": git_oid(b"version https://git-lfs.github.com/spec/v1\n"
                                                         + hashlib.sha256(body).hexdigest().encode()),
                          "size": len(body), "path": path,
                          "lfs": {"oid": hashlib.sha256(body).hexdigest(), "size": len(body),
                                  "pointerSize": 134}})
    if not items:
        return json_reply({"error": f"Entry not found: {sub}"}, 404)
    return json_reply(items)


def dataset_file(req: Request, fault: Fault | None, repo: str, file: str) -> Reply:
    if repo != DATASET:
        return json_reply({"error": "Repository not found"}, 404)
    body = _data(req).dataset_files(_today(req)).get(file)
    if body is None:
        return json_reply({"error": "Entry not found"}, 404)
    # LFS files are served from a content address, as the Hub redirects to its CDN
    return Reply(302, b"", {"Location": f"{req.base}/cdn/{hashlib.sha256(body).hexdigest()}"})


def cdn(req: Request, fault: Fault | None, sha: str) -> Reply:
    for body in _data(req).dataset_files(_today(req)).values():
        if hashlib.sha256(body).hexdigest() == sha:
            return Reply(200, body, {}, "application/octet-stream")
    return json_reply({"error": "gone"}, 404)


REPO = r"(?P<repo>[^/]+/[^/]+)"
ROUTES = [
    ("GET", rf"/api/spaces/{REPO}/tree/main/?", space_tree),
    ("GET", rf"/api/spaces/{REPO}", space_info),
    ("GET", rf"/spaces/{REPO}/resolve/main/(?P<file>.+)", space_file),
    ("GET", rf"/api/datasets/{REPO}/tree/main/(?P<sub>.+)", dataset_tree),
    ("GET", rf"/datasets/{REPO}/resolve/main/(?P<file>.+)", dataset_file),
    ("GET", r"/cdn/(?P<sha>[0-9a-f]{64})", cdn),
]
