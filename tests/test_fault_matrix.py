"""The fault matrix: every collector against every fault the fake upstream injects, through the real CLI.

The expected outcome of each cell is data (jobs/fault_matrix.py), rendered into README's
"Fault matrix" table.  Each cell runs ``ecotrend collect --source NAME`` on a small fake world with
one fault queued, then compares what is stored with a clean run of the same world: retried → the
same rows exactly; partial → a subset of them, the hit subject absent, the others complete; failed →
nothing at all.  Never a zero, a partial total or a traceback — save the one zero a collapsed level
answers (the ``zero_field`` row: a clean day, then the faulty one in the same warehouse), which is
stored flagged ``suspect`` and kept out of the family totals.
"""
from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pytest

from collectors.fake.github import Limits
from collectors.fake.server import FAULT_KINDS, FakeUpstream
from collectors.fake.world import World
from jobs import fault_matrix as fm
from tests.conftest import ROOT, base_config, dump_toml, process_scratch, query_db, run_cli
from warehouse import store
from warehouse.settings import StorageSettings

# the matrix runs every cell once, in the first test's setup: minutes, not the per-test default
pytestmark = pytest.mark.timeout(1500)

TODAY = "2023-07-19"
D = dt.date.fromisoformat(TODAY)
ARENA_TODAY = "2024-03-20"
Rows = set[tuple]  # (day, metric, subject, value, method, flags)


def span(end: dt.date, n: int, base: int, step: int) -> dict[dt.date, int]:
    return {end - dt.timedelta(days=i): base + step * i for i in range(n)}


@dataclass
class Target:
    path: str  # regex on the request path the fault is queued for
    lost: Callable[[dt.date, str], bool]  # rows that must be absent when this request fails
    kept: Callable[[dt.date, str], bool]  # rows that must be stored exactly all the same
    query: str = ""  # regex on the query string too, where requests share a path


@dataclass
class Spec:
    name: str
    source: str
    setup: Callable[[Any, dict[str, Any]], None]  # (world, config dict) → fills both
    targets: dict[str, Target]
    field: str = ""  # a field of the JSON object at targets["field"]
    field_metric: str = ""  # the metric that field gives, where the rest of the answer is kept (outcome K)
    level: str = ""  # a level's count in the JSON object at targets["level"] (dotted: Data.Downloads)
    level_metric: str = ""  # the metric that level gives (outcome SU)
    today: str = TODAY


def subj(*names: str) -> Callable[[dt.date, str], bool]:
    return lambda day, s: s in names


def subj_prefix(*prefixes: str) -> Callable[[dt.date, str], bool]:
    return lambda day, s: s.startswith(prefixes)


def eco(cfg: dict[str, Any], key: str) -> dict[str, Any]:
    return next(e for e in cfg["ecosystem"] if e["key"] == key)


# -- small worlds, one per collector ----------------------------------------------------------------
def setup_search(world, cfg):
    gh = world.part("github")
    gh.add_series("llama", {D - dt.timedelta(days=i): 2 + i % 3 for i in range(20)})
    gh.add_series("GPT-4", {D - dt.timedelta(days=i): 1 + i % 2 for i in range(15)})


def setup_repos(world, cfg):
    gh = world.part("github")
    gh.add_repository("meta-llama/llama", forks=40, subscribers=9, open_issues=7,
                      star_days=span(D - dt.timedelta(days=1), 60, 3, 1))
    gh.add_repository("openai/gpt-2", forks=22, subscribers=5, open_issues=3,
                      star_days=span(D - dt.timedelta(days=1), 40, 2, 2))
    eco(cfg, "llama")["github_repos"] = ["meta-llama/llama"]
    eco(cfg, "gpt")["github_repos"] = ["openai/gpt-2"]


def setup_hf(world, cfg):
    hf = world.part("hf")
    for i in range(3):
        hf.add(f"meta-llama/Llama-{i}", downloads=1000 + i, all_time=5000 + i, likes=10 + i)
        hf.add(f"openai/gpt-oss-{i}", downloads=700 + i, all_time=900 + i, likes=5 + i)
    hf.add("TheBloke/Llama-2-7B-GGUF", downloads=321, all_time=4321, likes=21)
    eco(cfg, "llama").update(hf_authors=["meta-llama"], hf_models=["TheBloke/Llama-2-7B-GGUF"])
    eco(cfg, "gpt")["hf_authors"] = ["openai"]


def setup_pypi(world, cfg):
    py = world.part("pypistats")
    py.set("llama-cpp-python", span(D - dt.timedelta(days=1), 30, 100, 3))
    py.set("openai", span(D - dt.timedelta(days=1), 30, 900, 7))
    cfg["pypi"]["requests_per_minute"] = 60000
    eco(cfg, "llama")["pypi_packages"] = ["llama-cpp-python"]
    eco(cfg, "gpt")["pypi_packages"] = ["openai"]


def setup_npm(world, cfg):
    npm = world.part("npm")
    npm.set("@llama/node", span(D - dt.timedelta(days=1), 20, 50, 1))
    npm.set("openai", span(D - dt.timedelta(days=1), 20, 800, 5))
    cfg["npm"]["start"] = (D - dt.timedelta(days=10)).isoformat()
    eco(cfg, "llama")["npm_packages"] = ["@llama/node"]
    eco(cfg, "gpt")["npm_packages"] = ["openai"]


def setup_dependents(world, cfg):
    cfg["github"]["web_pause_seconds"] = 0
    eco(cfg, "llama")["dependents"] = ["abetlen/llama-cpp-python"]
    eco(cfg, "gpt")["dependents"] = ["openai/openai-python"]


def setup_trending(world, cfg):
    cfg["github"]["web_pause_seconds"] = 0
    eco(cfg, "llama")["trending_keywords"] = ["llama", "ollama"]
    eco(cfg, "gpt")["trending_keywords"] = ["gpt", "openai"]


ARENA_LICENSES = {"Proprietary": (False, True), "Non-commercial": (True, False), "MIT": (True, True),
                  "CC-BY-NC-SA-4.0": (True, False), "Apache 2.0": (True, True), "Apache-2.0": (True, True),
                  "Llama 2 Community": (True, True), "Yi License": (True, True),
                  "Qianwen LICENSE": (True, True), "Acme Research License": (True, False)}


def setup_arena(world, cfg):
    cfg["arena"] = {"endpoint": cfg["_fake_url"] + "/hfspaces"}
    eco(cfg, "llama")["leaderboard_aliases"] = ["llama*", "vicuna*", "koala*"]
    eco(cfg, "gpt")["leaderboard_aliases"] = ["gpt-*"]


def setup_modelscope(world, cfg):
    cfg["modelscope"] = {"api_url": cfg["_fake_url"] + "/modelscope"}
    eco(cfg, "llama")["modelscope_models"] = ["qwen/Qwen-7B-Chat"]
    eco(cfg, "gpt")["modelscope_models"] = ["ZhipuAI/chatglm3-6b"]


USAGE_TODAY = "2025-03-10"
U = dt.date.fromisoformat(USAGE_TODAY)
# test values (never real credentials): the OpenRouter and Replicate collectors are skipped without one
KEYS = {"OPENROUTER_API_KEY": "matrix-openrouter-key", "REPLICATE_API_TOKEN": "matrix-replicate-token"}


def setup_openrouter(world, cfg):
    cfg["openrouter"] = {"api_url": cfg["_fake_url"] + "/openrouter", "requests_per_minute": 60_000}
    part = world.part("openrouter")
    for i in range(5):
        day = U - dt.timedelta(days=i)
        part.set_day(day, {"meta-llama/llama-3.1-8b-instruct": 9_000 + i,
                           "meta-llama/llama-3.1-8b-instruct:free": 700, "openai/gpt-4o-2024-08-06": 12_000 - i,
                           **{f"vendor/model-{j}": 100 + j for j in range(52)}})
    part.add_model("meta-llama/llama-3.1-8b-instruct", "meta-llama/Llama-3.1-8B-Instruct")
    part.add_model("openai/gpt-4o-2024-08-06", None)
    eco(cfg, "llama")["openrouter_authors"] = ["meta-llama"]
    eco(cfg, "gpt")["openrouter_models"] = ["openai/gpt-4o*"]


def setup_ollama(world, cfg):
    cfg["ollama"] = {"web_url": cfg["_fake_url"] + "/ollama", "web_pause_seconds": 0}
    world.part("ollama").set("llama3.1", "111.8M")
    world.part("ollama").set("gpt-oss", 8_012)
    eco(cfg, "llama")["ollama_models"] = ["llama3.1"]
    eco(cfg, "gpt")["ollama_models"] = ["gpt-oss"]


def setup_replicate(world, cfg):
    cfg["replicate"] = {"api_url": cfg["_fake_url"] + "/replicate"}
    world.part("replicate").set("meta/meta-llama-3-70b-instruct", 123_456_789)
    world.part("replicate").set("lucataco/llama-2-7b-chat", 56_789)
    world.part("replicate").set("openai/gpt-oss-120b", 4_321)
    # two members of one family: a total without one of them shows it (subjects_reporting < expected)
    eco(cfg, "llama")["replicate_models"] = ["meta/meta-llama-3-70b-instruct", "lucataco/llama-2-7b-chat"]
    eco(cfg, "gpt")["replicate_models"] = ["openai/gpt-oss-120b"]


REPO1 = subj("meta-llama/llama")
REPO2 = subj("openai/gpt-2")
ARENA_DAY = dt.date(2023, 6, 19)
HF_MODEL = r"^/hf/api/models/TheBloke/"
ARENA_LIST = r"^/hfspaces/api/spaces/[^/]+/[^/]+/tree/main$"
SPECS = {s.name: s for s in [
    Spec("github_search", "github", setup_search, {
        "one": Target(r"^/github/search/repositories$", subj("llama"), subj("GPT-4")),
        # the second query asked: the counts taken before the limit are kept
        "later": Target(r"^/github/search/repositories$", subj("GPT-4"), subj("llama"),
                        query=r"(^|&)q=GPT-4(&|$)")}, field="total_count", level="total_count",
         level_metric="repo_count"),
    Spec("github_repos", "github", setup_repos, {
        "one": Target(r"^/github/repos/meta-llama/llama$", REPO1, REPO2),
        "later": Target(r"^/github/repos/openai/gpt-2$", REPO2, REPO1)}, field="stargazers_count",
         field_metric="stars", level="stargazers_count", level_metric="stars"),
    Spec("github_stars", "github", setup_repos, {
        "one": Target(r"^/github/repos/meta-llama/llama/stargazers/history$", REPO1, REPO2),
        "later": Target(r"^/github/repos/openai/gpt-2/stargazers/history$", REPO2, REPO1)}),
    Spec("hf_models", "huggingface", setup_hf, {
        "field": Target(HF_MODEL, subj("TheBloke/Llama-2-7B-GGUF"), lambda day, s: s != "TheBloke/Llama-2-7B-GGUF"),
        "subject": Target(HF_MODEL, subj("TheBloke/Llama-2-7B-GGUF"), lambda day, s: s != "TheBloke/Llama-2-7B-GGUF"),
        # the list queries share a path: the first one asked (author:meta-llama) takes the fault
        "one": Target(r"^/hf/api/models$", subj("author:meta-llama", "family:llama"),
                      lambda day, s: s in ("author:openai", "family:gpt") or s.startswith("openai/")),
        "later": Target(HF_MODEL, subj("TheBloke/Llama-2-7B-GGUF"),
                        lambda day, s: s != "TheBloke/Llama-2-7B-GGUF")}, field="downloads",
         field_metric="downloads_30d", level="downloadsAllTime", level_metric="downloads_all_time"),
    Spec("pypi", "pypi", setup_pypi, {
        "one": Target(r"^/pypistats/api/packages/llama-cpp-python/", subj("llama-cpp-python"), subj("openai")),
        "later": Target(r"^/pypistats/api/packages/openai/", subj("openai"), subj("llama-cpp-python"))},
         field="data"),
    Spec("npm", "npm", setup_npm, {
        # the scoped package is asked first, alone (its name URL-encoded)
        "one": Target(r"^/npm/downloads/range/[^/]+/@llama", subj("@llama/node"), subj("openai")),
        "later": Target(r"^/npm/downloads/range/[^/]+/openai$", subj("openai"), subj("@llama/node"))},
         field="downloads"),
    Spec("github_dependents", "github", setup_dependents, {
        "one": Target(r"^/web/abetlen/llama-cpp-python/network/dependents$", subj("abetlen/llama-cpp-python"),
                      subj("openai/openai-python")),
        "later": Target(r"^/web/openai/openai-python/network/dependents$", subj("openai/openai-python"),
                        subj("abetlen/llama-cpp-python"))}),
    Spec("github_trending", "github", setup_trending, {
        "one": Target(r"^/web/trending$", lambda d, s: True, lambda d, s: False)}),
    Spec("arena", "arena", setup_arena, {
        # one dated table of the Space fails: that day's board is missing, the other boards stay
        "one": Target(r"/resolve/main/leaderboard_table_20230619\.csv$", lambda d, s: d == ARENA_DAY,
                      lambda d, s: d != ARENA_DAY),
        "json": Target(ARENA_LIST, lambda d, s: True, lambda d, s: False),
        "subject": Target(ARENA_LIST, lambda d, s: True, lambda d, s: False),  # the configured Space
        "later": Target(r"^/hfspaces/api/datasets/", lambda d, s: d > dt.date(2023, 12, 31),
                        lambda d, s: d <= dt.date(2023, 12, 31))}, today=ARENA_TODAY),
    Spec("modelscope", "modelscope", setup_modelscope, {
        "one": Target(r"^/modelscope/api/v1/models/qwen/Qwen-7B-Chat$", subj("qwen/Qwen-7B-Chat"),
                      subj("ZhipuAI/chatglm3-6b")),
        "later": Target(r"^/modelscope/api/v1/models/ZhipuAI/chatglm3-6b$", subj("ZhipuAI/chatglm3-6b"),
                        subj("qwen/Qwen-7B-Chat"))}, field="Data", level="Data.Downloads",
         level_metric="downloads_all_time"),
    Spec("openrouter", "openrouter", setup_openrouter, {
        # the rankings carry every figure: without them nothing is stored
        "one": Target(r"^/openrouter/api/v1/datasets/rankings-daily$", lambda d, s: True, lambda d, s: False),
        # the public model list only feeds the open-weight share
        "later": Target(r"^/openrouter/api/v1/models$", subj("open_weight"), lambda d, s: s != "open_weight")},
         field="data", today=USAGE_TODAY),
    Spec("ollama", "ollama", setup_ollama, {
        "one": Target(r"^/ollama/library/llama3\.1$", subj("llama3.1"), subj("gpt-oss")),
        "later": Target(r"^/ollama/library/gpt-oss$", subj("gpt-oss"), subj("llama3.1"))}, today=USAGE_TODAY),
    Spec("replicate", "replicate", setup_replicate, {
        "one": Target(r"^/replicate/v1/models/meta/", subj("meta/meta-llama-3-70b-instruct"),
                      subj("openai/gpt-oss-120b")),
        "later": Target(r"^/replicate/v1/models/openai/", subj("openai/gpt-oss-120b"),
                        subj("meta/meta-llama-3-70b-instruct"))}, field="run_count", level="run_count",
         level_metric="runs", today=USAGE_TODAY),
]}


def target_of(spec: Spec, fault: fm.Fault) -> Target:
    """The request a fault row aims at, for this collector (its own target when it has one)."""
    fallback = {"json": "one", "field": "one", "subject": "one", "later": "one", "level": "field"}
    key = fault.target
    while key not in spec.targets:
        key = fallback[key]
    return spec.targets[key]


# -- running: every cell in its own fake world and warehouse, a few at a time ----------------------
WORKERS = min(12, 3 * (os.cpu_count() or 2))  # the cells mostly wait on their subprocess


def start_fake(today: str | dt.date) -> FakeUpstream:
    world = World(today)
    world.part("github").limits = Limits(search=(1000, 1000, 60), core=(5000, 5000, 3600))
    return FakeUpstream(world).start()


_template_lock = threading.Lock()


def migrated_warehouse(database: Path) -> None:
    """Put an empty warehouse with every migration applied at ``database``: a copy of one made once per
    test process.  Migrating a new file is ~0.15 s of a cell's ~0.6 s; what the cells test is the faults,
    and a first run on a new file is tested by most other modules."""
    template = process_scratch() / "migrated" / "ecotrend.duckdb"
    with _template_lock:
        if not template.exists():
            folder = template.parent
            store.open_writer(StorageSettings(database=template, raw_dir=folder / "raw",
                                              pending_dir=folder / "pending", log_dir=folder / "logs")).close()
    database.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, database)


def write(fake: FakeUpstream, tmp: Path, spec: Spec, http: dict[str, Any] | None = None
          ) -> tuple[Path, dict[str, Any]]:
    """Fill the fake world and write a config for ``spec`` under ``tmp`` (once per world)."""
    cfg = base_config(fake, tmp)
    cfg["_fake_url"] = fake.url
    spec.setup(fake.world, cfg)
    del cfg["_fake_url"]
    cfg["storage"]["lock_wait_seconds"] = 0.5
    cfg["http"] = {"timeout_seconds": 1.0, "retries": fm.RETRIES, "backoff_seconds": 0.01,
                   "secondary_wait_seconds": 0.1, "max_wait_seconds": 5, "max_response_bytes": 1_000_000,
                   **(http or {})}
    tmp.mkdir(parents=True, exist_ok=True)
    path = tmp / "ecotrend.toml"
    text = dump_toml(cfg)
    if spec.name == "arena":
        text += "\n[arena.licenses]\n" + "".join(
            f'"{k}" = {{ open_weights = {str(o).lower()}, commercial_use = {str(c).lower()} }}\n'
            for k, (o, c) in ARENA_LICENSES.items())
    path.write_text(text, encoding="utf-8")
    migrated_warehouse(Path(cfg["storage"]["database"]))
    return path, cfg


def stored(cfg: dict[str, Any], source: str) -> Rows:
    db = Path(cfg["storage"]["database"])
    if not db.exists():
        return set()
    return set(query_db(db, "SELECT day, metric, subject, value, method, flags FROM observations "
                            "WHERE source = ?", [source]))


def family_totals(cfg: dict[str, Any]) -> Rows:
    """(day, ecosystem, metric, value, subjects_reporting, subjects_expected) of ecosystem_daily."""
    return set(query_db(Path(cfg["storage"]["database"]),
                        "SELECT day, ecosystem, metric, value, subjects_reporting, subjects_expected "
                        "FROM ecosystem_daily"))


def family_members(cfg: dict[str, Any], source: str) -> set[tuple[str, str]]:
    """(ecosystem, subject) of the source's subjects counted in family totals."""
    return set(query_db(Path(cfg["storage"]["database"]),
                        "SELECT DISTINCT ecosystem, subject FROM memberships "
                        "WHERE source = ? AND role IN ('primary', 'member')", [source]))


@dataclass
class Result:
    returncode: int
    out: str  # stdout + stderr
    stdout: str
    rows: Rows
    faults_left: int = 0
    pending: list[str] = field(default_factory=list)
    merged_rc: int = 0
    merged_out: str = ""
    merged_rows: Rows = field(default_factory=set)
    families: Rows = field(default_factory=set)  # ecosystem_daily after the run
    members: set[tuple[str, str]] = field(default_factory=set)  # (ecosystem, subject) counted in family totals
    before_rc: int = 0  # a collapse cell's clean run of the day before
    before_out: str = ""


def inject(fake: FakeUpstream, spec: Spec, fault: fm.Fault, target: Target) -> None:
    params = {k: (v.format(field=spec.field, level=spec.level) if isinstance(v, str) else v)
              for k, v in fault.params.items()}
    if target.query:
        params["query"] = target.query
    fake.inject(fault.kind, target.path, fault.times, **params)


def run_clean(name: str, tmp: Path) -> Result:
    spec = SPECS[name]
    fake = start_fake(spec.today)
    try:
        path, cfg = write(fake, tmp, spec)
        r = run_cli("collect", "--source", name, config=path, today=spec.today, timeout=60, env=KEYS)
        return Result(r.returncode, r.stdout + r.stderr, r.stdout, stored(cfg, spec.source),
                      families=family_totals(cfg), members=family_members(cfg, spec.source))
    finally:
        fake.stop()


def run_fault(name: str, fault: fm.Fault, tmp: Path) -> Result:
    spec = SPECS[name]
    fake = start_fake(spec.today)
    try:
        path, cfg = write(fake, tmp, spec)
        inject(fake, spec, fault, target_of(spec, fault))
        r = run_cli("collect", "--source", name, config=path, today=spec.today, timeout=60, env=KEYS)
        return Result(r.returncode, r.stdout + r.stderr, r.stdout, stored(cfg, spec.source), len(fake.faults))
    finally:
        fake.stop()


def run_collapse(name: str, fault: fm.Fault, tmp: Path) -> Result:
    """A clean day, then the day after with the fault queued, into the same warehouse: a collapse is a
    fall from the day before."""
    spec = SPECS[name]
    prev = dt.date.fromisoformat(spec.today) - dt.timedelta(days=1)
    fake = start_fake(prev)
    try:
        path, cfg = write(fake, tmp, spec)
        before = run_cli("collect", "--source", name, config=path, today=prev.isoformat(), timeout=60, env=KEYS)
        fake.world.set_today(spec.today)
        inject(fake, spec, fault, target_of(spec, fault))
        r = run_cli("collect", "--source", name, config=path, today=spec.today, timeout=60, env=KEYS)
        return Result(r.returncode, r.stdout + r.stderr, r.stdout, stored(cfg, spec.source), len(fake.faults),
                      families=family_totals(cfg), members=family_members(cfg, spec.source),
                      before_rc=before.returncode, before_out=before.stdout + before.stderr)
    finally:
        fake.stop()


def run_locked(name: str, tmp: Path) -> Result:
    """Hold the warehouse read-write from the first request of the run until the run has ended."""
    from jobs.config import load_config
    from warehouse import store

    spec = SPECS[name]
    fake = start_fake(spec.today)
    try:
        path, cfg = write(fake, tmp, spec, http={"timeout_seconds": 5})
        store.open_writer(load_config(path).storage).close()  # an existing, migrated warehouse
        # the first request is held 2 s: by then the run has read its state, and commits after it
        fake.inject("slow", r"^/(github|web|hf|pypistats|npm|hfspaces|modelscope|openrouter|ollama|replicate)/", 1,
                    seconds=2)
        cmd = [sys.executable, "-m", "jobs.cli", "collect", "--source", name, "--config", str(path),
               "--today", spec.today]
        env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_TOKEN", "HF_TOKEN", "ECOTREND_TODAY",
                                                                "ECOTREND_CONFIG")}
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                cwd=str(ROOT), env={**env, **KEYS, "PYTHONPATH": str(ROOT)})
        deadline = time.monotonic() + 30
        while fake.faults and time.monotonic() < deadline:
            time.sleep(0.01)
        con = duckdb.connect(str(cfg["storage"]["database"]))  # read-write, as a notebook left open
        try:
            out, err = proc.communicate(timeout=60)
        finally:
            con.close()
        rows = stored(cfg, spec.source)
        pending = sorted(p.name for p in Path(cfg["storage"]["pending_dir"]).glob("*") if not p.name.startswith("."))
        # the next run (of a source with nothing to do here) merges them
        idle = "modelscope" if name != "modelscope" else "arena"
        r = run_cli("collect", "--source", idle, config=path, today=spec.today, timeout=60)
        return Result(proc.returncode, out + err, out, rows, len(fake.faults), pending, r.returncode,
                      r.stdout + r.stderr, stored(cfg, spec.source))
    finally:
        fake.stop()


def case_id(name: str, fault: fm.Fault) -> str:
    return f"{name}:{fault.label}"


FAULT_CASES = [c for c in fm.cases() if c[1].kind not in ("locked", "zero_field")]
COLLAPSE_CASES = [c for c in fm.cases() if c[1].kind == "zero_field"]
LOCKED_CASES = [c[0] for c in fm.cases() if c[1].kind == "locked"]


@pytest.fixture(scope="module")
def matrix(request, tmp_path_factory) -> dict[str, Result]:
    """Run the selected cells (and a clean run per collector) a few at a time; results by cell id."""
    wanted: dict[str, tuple[Callable[..., Result], tuple]] = {}
    base = tmp_path_factory.mktemp("matrix")
    for item in request.session.items:
        cs = getattr(item, "callspec", None)
        if cs is None or item.module is not request.module:
            continue
        name = cs.params.get("name") or cs.params.get("locked")
        wanted.setdefault(f"clean:{name}", (run_clean, (name,)))
        if "fault" in cs.params:
            f = cs.params["fault"]
            wanted[case_id(name, f)] = (run_collapse if f.kind == "zero_field" else run_fault, (name, f))
        elif "locked" in cs.params:
            wanted[f"locked:{name}"] = (run_locked, (name,))
    # the slowest cells (waits) first, so the pool ends together
    order = sorted(wanted, key=lambda k: ("locked" not in k and "every attempt" not in k and "timeout" not in k))
    with ThreadPoolExecutor(WORKERS) as pool:
        futures = {k: pool.submit(wanted[k][0], *wanted[k][1], base / f"c{i:03d}")
                   for i, k in enumerate(order)}
        return {k: f.result() for k, f in futures.items()}


def status_line(name: str, stdout: str) -> str:
    lines = [ln for ln in stdout.splitlines() if ln.startswith(f"{name}: ")]
    assert len(lines) == 1, stdout
    return lines[0]


def test_matrix_covers_every_collector_and_fault():
    import collectors

    assert set(fm.COLLECTORS) == set(collectors.names()) == set(SPECS)
    assert {f.kind for f, _ in fm.MATRIX} - {"locked"} == FAULT_KINDS  # every fault the fake injects
    for f, cells in fm.MATRIX:
        assert set(cells.values()) <= set(fm.MEANING), f.label


def test_clean_runs_store_what_the_worlds_hold(matrix):
    """The reference each cell is compared with holds the fake worlds' figures exactly."""
    got = {k[len("clean:"):]: v for k, v in matrix.items() if k.startswith("clean:")}
    for name, res in got.items():
        assert res.returncode == 0 and res.rows, res.out
        assert all(x[3] >= 0 for x in res.rows)

    def values(name: str, metric: str) -> dict[tuple[dt.date, str], float]:
        return {(x[0], x[2]): x[3] for x in got[name].rows if x[1] == metric}

    def series(end: dt.date, n: int, base: int, step: int, subject: str) -> dict[tuple[dt.date, str], float]:
        return {(d, subject): float(v) for d, v in span(end, n, base, step).items()}
    y = D - dt.timedelta(days=1)
    expect: dict[tuple[str, str], dict[tuple[dt.date, str], float]] = {
        ("github_search", "repo_count"): {(D, "llama"): float(sum(2 + i % 3 for i in range(20))),
                                          (D, "GPT-4"): float(sum(1 + i % 2 for i in range(15)))},
        ("github_repos", "stars"): {(D, "meta-llama/llama"): float(sum(range(3, 63))),
                                    (D, "openai/gpt-2"): float(sum(2 + 2 * i for i in range(40)))},
        ("github_repos", "forks"): {(D, "meta-llama/llama"): 40.0, (D, "openai/gpt-2"): 22.0},
        ("github_repos", "watchers"): {(D, "meta-llama/llama"): 9.0, (D, "openai/gpt-2"): 5.0},
        ("hf_models", "downloads_30d"): {(D, "family:llama"): 3003.0, (D, "author:meta-llama"): 3003.0,
                                         (D, "family:gpt"): 2103.0, (D, "author:openai"): 2103.0,
                                         (D, "TheBloke/Llama-2-7B-GGUF"): 321.0,
                                         **{(D, f"meta-llama/Llama-{i}"): 1000.0 + i for i in range(3)},
                                         **{(D, f"openai/gpt-oss-{i}"): 700.0 + i for i in range(3)}},
        ("pypi", "downloads_day"): {**series(y, 30, 100, 3, "llama-cpp-python"), **series(y, 30, 900, 7, "openai")},
        ("npm", "downloads_day"): {k: v for k, v in {**series(y, 20, 50, 1, "@llama/node"),
                                                     **series(y, 20, 800, 5, "openai")}.items()
                                   if k[0] >= D - dt.timedelta(days=10)},
        ("modelscope", "downloads_all_time"): {(D, "qwen/Qwen-7B-Chat"): 1_250_000.0,
                                               (D, "ZhipuAI/chatglm3-6b"): 980_000.0},
        ("ollama", "pulls"): {(U, "llama3.1"): 111_800_000.0, (U, "gpt-oss"): 8_000.0},
        ("replicate", "runs"): {(U, "meta/meta-llama-3-70b-instruct"): 123_456_789.0,
                                (U, "lucataco/llama-2-7b-chat"): 56_789.0, (U, "openai/gpt-oss-120b"): 4_321.0},
    }
    for (name, metric), want in expect.items():
        if name in got:
            assert values(name, metric) == want, (name, metric)
    if "openrouter" in got:  # the last 3 days: the rows summed by author, 'other' in the total
        tokens = values("openrouter", "tokens_day")
        for i in (1, 2, 3):
            day = U - dt.timedelta(days=i)
            assert tokens[(day, "family:llama")] == 9_700 + i and tokens[(day, "family:gpt")] == 12_000 - i
            assert tokens[(day, "total")] == 21_700 + sum(100 + j for j in range(52))
    if "github_stars" in got:  # every day given, none of today (not over yet)
        stars = values("github_stars", "stars_gained")
        assert {k: v for k, v in stars.items() if v} == {
            **series(y, 60, 3, 1, "meta-llama/llama"), **series(y, 40, 2, 2, "openai/gpt-2")}
        assert max(d for d, _ in stars) == y


@pytest.mark.parametrize("name,fault,outcome", FAULT_CASES,
                         ids=[f"{c[0]}-{c[1].label}" for c in FAULT_CASES])
def test_fault(name: str, fault: fm.Fault, outcome: str, matrix):
    spec = SPECS[name]
    truth = matrix[f"clean:{name}"].rows
    res = matrix[case_id(name, fault)]
    target = target_of(spec, fault)
    out = res.out
    assert "Traceback" not in out, out
    got = res.rows
    plain = {x for x in got if outcome != fm.FL or "incomplete" not in x[5]}
    assert plain <= truth, f"stored rows a clean run does not have: {sorted(plain - truth)[:5]}\n{out}"
    line = status_line(name, res.stdout)
    assert "unexpected" not in line, f"a crash caught by the runner is still a crash: {line}"
    assert res.faults_left == 0 or fault.times > 1, f"the fault was never met\n{out}"
    if outcome in (fm.R, fm.T):
        assert res.returncode == 0, out
        assert got == truth, out
    elif outcome == fm.P:
        assert res.returncode == 3, out
        assert line.startswith(f"{name}: partial") and " — " in line, line
        assert not {x for x in got if target.lost(x[0], x[2])}, f"rows kept for the failed subject\n{out}"
        kept = {x for x in truth if target.kept(x[0], x[2])}
        assert kept and kept <= got, f"the other subjects are not stored exactly\n{out}"
    elif outcome == fm.K:
        assert res.returncode == 3, out
        assert line.startswith(f"{name}: partial") and spec.field in line, line
        lost = {x for x in truth if target.lost(x[0], x[2]) and x[1] == spec.field_metric}
        assert lost and got == truth - lost, f"not exactly the clean rows less the missing figure\n{out}"
    elif outcome == fm.F:
        assert res.returncode == 3, out
        assert line.startswith(f"{name}: failed, 0 rows") and " — " in line, line
        assert got == set(), out
    elif outcome == fm.FL:
        assert res.returncode == 0, out
        flagged = got - plain
        assert flagged and all(target.lost(x[0], x[2]) for x in flagged), out
        for x in flagged:  # below the true count, and never stored as a plain one
            assert any(t[:3] == x[:3] and x[3] < t[3] for t in truth)
        assert plain == {x for x in truth if not target.lost(x[0], x[2])}
    else:
        raise AssertionError(outcome)


@pytest.mark.parametrize("name,fault,outcome", COLLAPSE_CASES,
                         ids=[f"{c[0]}-{c[1].label}" for c in COLLAPSE_CASES])
def test_level_collapse(name: str, fault: fm.Fault, outcome: str, matrix):
    """A level answered as 0 the day after a clean one: stored as 0 flagged suspect, named by the run,
    left out of family totals; the day before and every other figure as a clean run stores them."""
    assert outcome == fm.SU
    spec = SPECS[name]
    clean, res = matrix[f"clean:{name}"], matrix[case_id(name, fault)]
    assert res.before_rc == 0 and "Traceback" not in res.before_out, res.before_out
    assert res.returncode == 0 and "Traceback" not in res.out, res.out
    assert res.faults_left == 0, f"the fault was never met\n{res.out}"
    today = dt.date.fromisoformat(spec.today)
    prev = today - dt.timedelta(days=1)
    target = target_of(spec, fault)
    [hit] = [x for x in clean.rows if x[1] == spec.level_metric and target.lost(x[0], x[2])]
    _, metric, subject, _, method, _ = hit
    zero = (today, metric, subject, 0.0, method, "suspect")
    assert {x for x in res.rows if x[0] == today} == clean.rows - {hit} | {zero}, res.out
    before = {x for x in res.rows if x[0] == prev}
    [was] = [x[3] for x in before if x[1:3] == (metric, subject)]
    assert was >= 10 and all(x[5] == "" for x in before), sorted(before)  # a level to fall from, unflagged
    assert status_line(name, res.stdout).startswith(f"{name}: ok"), res.out
    named = [ln for ln in res.stdout.splitlines() if ln.startswith("suspect: ")]
    assert named == [f"suspect: {name}: {today} {spec.source} {metric} {subject}: 0 after {int(was)} "
                     "(suspect, kept out of family totals until confirmed)"], res.out
    check_family_totals(name, res, clean, today, metric, subject)


# the collapsed subject's family and that family's total of the level on the day of the collapse
# (value, subjects_reporting, subjects_expected); None: the subject is in no family total (an item)
COLLAPSED_FAMILY: dict[str, tuple[str, tuple[float, int, int] | None] | None] = {
    "github_search": ("llama", None),  # the family's primary query (aggregation primary): no total without it
    "github_repos": ("llama", None),  # the family's only repository: no total without it
    "replicate": ("llama", (56_789.0, 1, 2)),  # one of two members reports: never the 0 as a figure
    "hf_models": None,  # an explicit model (role item): family:llama is the union of the family's queries
    "modelscope": None,
}


def check_family_totals(name: str, res: Result, clean: Result, today: dt.date, metric: str, subject: str):
    """Today's family totals are the clean run's but for the collapsed level of the subject's family,
    where the subject counts as not reporting; the day before counted it."""
    got = {r for r in res.families if r[0] == today}
    want = {r for r in clean.families if r[0] == today}
    fam = COLLAPSED_FAMILY[name]
    assert {e for e, s in res.members if s == subject} == ({fam[0]} if fam else set()), res.members
    if fam is None:
        assert got == want, sorted(got ^ want)
        return
    key, total = (fam[0], metric), fam[1]
    assert {r for r in got if r[1:3] != key} == {r for r in want if r[1:3] != key}, sorted(got ^ want)
    [counted] = [r[4:] for r in want if r[1:3] == key]
    assert counted[0] == counted[1], counted  # a clean run's total counts every member
    assert [r[3:] for r in got if r[1:3] == key] == ([total] if total else []), sorted(got)
    prev = today - dt.timedelta(days=1)
    assert [r[4:] for r in res.families if r[0] == prev and r[1:3] == key] == [counted], sorted(res.families)


@pytest.mark.parametrize("locked", LOCKED_CASES)
def test_warehouse_locked_at_commit(locked: str, matrix):
    """A reader holds the warehouse when the run commits: rows go to data/pending, the next run merges them."""
    truth = matrix[f"clean:{locked}"].rows
    res = matrix[f"locked:{locked}"]
    assert res.faults_left == 0, res.out
    assert res.returncode == 0 and "Traceback" not in res.out, res.out
    assert "rows spooled to" in res.stdout, res.out
    assert res.rows == set() and res.pending, res.out  # nothing in the warehouse yet, all in pending
    assert res.merged_rc == 0, res.merged_out
    assert res.merged_rows == truth, res.merged_out


def test_readme_fault_table_is_generated_from_the_matrix():
    from jobs import docs

    text = docs.README.read_text(encoding="utf-8")
    assert docs.FAULTS_START in text and docs.FAULTS_END in text
    assert docs.render(text) == text, "run: .venv/bin/python -m jobs.docs"
    section = text.split(docs.FAULTS_START, 1)[1].split(docs.FAULTS_END, 1)[0]
    assert section.strip() == fm.table()
    for f, cells in fm.MATRIX:  # one row per fault, one cell per collector
        assert f"| {f.label} | " + " | ".join(cells[c] for c in fm.COLLECTORS) + " |" in section


def test_star_history_failing_on_a_later_page_stores_nothing_of_that_repository(fake, world, config_data,
                                                                                write_config, tmp_path):
    """The newest weeks of a history whose second page fails are not kept: whole or nothing."""
    world.set_today(TODAY)
    gh = world.part("github")
    gh.add_repository("meta-llama/llama", star_days=span(D - dt.timedelta(days=1), 300, 1, 1))  # 2 pages
    gh.add_repository("openai/gpt-2", star_days=span(D - dt.timedelta(days=1), 40, 2, 2))
    eco(config_data, "llama")["github_repos"] = ["meta-llama/llama"]
    eco(config_data, "gpt")["github_repos"] = ["openai/gpt-2"]
    config_data["http"].update(retries=fm.RETRIES, backoff_seconds=0.01)
    clean = write_config()
    r = run_cli("collect", "--source", "github_stars", config=clean, today=TODAY)
    assert r.returncode == 0, r.stdout + r.stderr
    truth = stored(config_data, "github")
    assert {x[2] for x in truth} == {"meta-llama/llama", "openai/gpt-2"}

    for k in ("database", "raw_dir", "pending_dir", "log_dir"):
        config_data["storage"][k] = str(tmp_path / "faulty" / Path(config_data["storage"][k]).name)
    faulty = write_config(name="faulty.toml")
    fake.inject("http_502", r"^/github/repos/meta-llama/llama/stargazers/history$", fm.RETRIES + 1,
                query=r"(^|&)page=2(&|$)")
    r = run_cli("collect", "--source", "github_stars", config=faulty, today=TODAY)
    assert r.returncode == 3, r.stdout + r.stderr
    assert not fake.faults
    line = status_line("github_stars", r.stdout)
    assert line.startswith("github_stars: partial") and "meta-llama/llama: HTTP 502" in line, line
    got = stored(config_data, "github")
    assert got == {x for x in truth if x[2] == "openai/gpt-2"}
