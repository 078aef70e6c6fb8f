"""The spine end to end: the real CLI against the fake GitHub over loopback HTTP."""
from __future__ import annotations

import datetime as dt
import gzip
import json
import shutil
import socket
import subprocess
from pathlib import Path

import duckdb
import pytest

from tests.conftest import CANARY, closed_port, days, query_db, run_cli

DAY = "2023-07-19"


@pytest.fixture
def seeded(fake, world):
    """llama: 30 repos a day for 200 days (6,000); GPT-4: 20 a day (4,000)."""
    gh = world.part("github")
    gh.add_series("llama", days("2023-01-01", 200, 30))
    gh.add_series("GPT-4", days("2023-01-01", 200, 20))
    return fake


def obs(cfg_path: Path, data: dict) -> list[tuple]:
    return query_db(Path(data["storage"]["database"]),
                    "SELECT day, source, metric, subject, value, method, flags FROM observations "
                    "WHERE method <> 'reference' ORDER BY subject")


def test_counts_stored_with_provenance(seeded, config_data, write_config):
    cfg = write_config()
    r = run_cli("collect", "--source", "github_search", config=cfg, today=DAY)
    assert r.returncode == 0, r.stderr
    assert "github_search: ok, 2 rows" in r.stdout
    db = Path(config_data["storage"]["database"])
    rows = query_db(db, "SELECT day, source, metric, subject, value, method, flags, run_id IS NOT NULL, "
                        "collected_at IS NOT NULL FROM observations WHERE source = 'github' ORDER BY subject")
    assert rows == [
        (dt.date(2023, 7, 19), "github", "repo_count", "GPT-4", 4000.0, "snapshot", "", True, True),
        (dt.date(2023, 7, 19), "github", "repo_count", "llama", 6000.0, "snapshot", "", True, True),
    ]
    daily = query_db(db, "SELECT ecosystem, value, method FROM ecosystem_daily "
                         "WHERE metric = 'repo_count' ORDER BY ecosystem")
    assert daily == [("gpt", 4000.0, "snapshot"), ("llama", 6000.0, "snapshot")]
    runs = query_db(db, "SELECT collector, status, requests FROM runs")
    assert runs[0][:2] == ("github_search", "ok")
    assert json.loads(runs[0][2])["search"] == 2
    # one search call per query, per_page=1
    assert seeded.count(r"/github/search/repositories") == 2


def test_rerun_same_day_is_idempotent(seeded, config_data, write_config):
    cfg = write_config()
    for _ in range(2):
        assert run_cli("collect", "--source", "github_search", config=cfg, today=DAY).returncode == 0
    db = Path(config_data["storage"]["database"])
    n, distinct = query_db(db, "SELECT count(*), count(DISTINCT (day, source, metric, subject, method)) "
                               "FROM observations WHERE method <> 'reference'")[0]
    assert n == distinct == 2
    assert [r[4] for r in obs(cfg, config_data)] == [4000.0, 6000.0]


def test_several_days_in_a_row(seeded, world, config_data, write_config):
    cfg = write_config()
    for day in ("2023-07-17", "2023-07-18", "2023-07-19"):
        world.set_today(day)
        assert run_cli("collect", "--source", "github_search", config=cfg, today=day).returncode == 0
    db = Path(config_data["storage"]["database"])
    rows = query_db(db, "SELECT day, value FROM observations WHERE subject = 'llama' "
                        "AND method = 'snapshot' ORDER BY day")
    # the fake's series is 30 a day from 2023-01-01, as seen on each day
    assert rows == [(dt.date(2023, 7, 17), 5940.0), (dt.date(2023, 7, 18), 5970.0),
                    (dt.date(2023, 7, 19), 6000.0)]


@pytest.mark.parametrize("kind,params", [
    ("primary_limit", {"reset_in": 1}),
    ("primary_limit_429", {"reset_in": 1}),
    ("retry_after", {"seconds": 1}),
    ("secondary", {}),
    ("http_502", {}),
    ("http_500", {}),
    ("reset", {}),
    ("slow", {"seconds": 3}),  # past the 2 s timeout, then retried
])
def test_transient_faults_are_retried(seeded, config_data, write_config, kind, params):
    cfg = write_config()
    seeded.inject(kind, r"/search/repositories", times=1, **params)
    r = run_cli("collect", "--source", "github_search", config=cfg, today=DAY)
    assert r.returncode == 0, r.stdout + r.stderr
    assert [row[4] for row in obs(cfg, config_data)] == [4000.0, 6000.0]
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize("kind,params,needle", [
    ("http_502", {}, "HTTP 502"),
    ("truncated", {}, "expected JSON"),
    ("html", {}, "expected JSON"),
    ("missing_field", {"field": "total_count"}, "no integer total_count"),
    ("not_found", {}, "answered 404"),
    ("redirect_loop", {}, "redirect loop"),
])
def test_persistent_faults_fail_cleanly_and_store_nothing_wrong(seeded, config_data, write_config, kind,
                                                                params, needle):
    cfg = write_config()
    # the llama query keeps failing (more times than the retries); GPT-4 is unaffected
    times = {"http_502": 20, "redirect_loop": 11}.get(kind, 1)  # 502: past both queries' retries
    seeded.inject(kind, r"/search/repositories", times=times, **params)
    r = run_cli("collect", "--source", "github_search", config=cfg, today=DAY)
    assert r.returncode == 3, r.stdout + r.stderr
    assert needle in r.stdout
    assert "Traceback" not in r.stderr
    rows = obs(cfg, config_data)
    if kind == "http_502":
        assert rows == []  # both queries exhausted their retries
    else:
        assert [(x[3], x[4]) for x in rows] == [("GPT-4", 4000.0)]  # the failed query stores nothing


def test_oversized_response_is_refused(seeded, config_data, write_config):
    config_data["http"]["max_response_bytes"] = 1_000_000
    cfg = write_config()
    seeded.inject("oversized", r"/search/repositories\b", times=1, bytes=5_000_000)
    r = run_cli("collect", "--source", "github_search", config=cfg, today=DAY)
    assert r.returncode == 3
    assert "cap" in r.stdout
    assert [(x[3], x[4]) for x in obs(cfg, config_data)] == [("GPT-4", 4000.0)]


def test_incomplete_results_retried_once_then_flagged(seeded, config_data, write_config):
    cfg = write_config()
    seeded.inject("incomplete", r"/search/repositories", times=1)
    assert run_cli("collect", "--source", "github_search", config=cfg, today=DAY).returncode == 0
    assert [(x[3], x[4], x[6]) for x in obs(cfg, config_data)] == [("GPT-4", 4000.0, ""),
                                                                     ("llama", 6000.0, "")]
    seeded.inject("incomplete", r"/search/repositories", times=2, ratio=0.5)
    assert run_cli("collect", "--source", "github_search", config=cfg, today=DAY).returncode == 0
    rows = {x[3]: (x[4], x[6]) for x in obs(cfg, config_data)}
    assert rows["llama"] == (3000.0, "incomplete")  # kept, but never as a plain complete count
    assert rows["GPT-4"] == (4000.0, "")


def test_primary_limit_beyond_max_wait_stops_source(seeded, config_data, write_config):
    cfg = write_config()
    seeded.inject("primary_limit", r"/search/repositories", times=1, reset_in=600)
    r = run_cli("collect", "--source", "github_search", config=cfg, today=DAY)
    assert r.returncode == 3
    assert "primary rate limit reached" in r.stdout and "max_wait_seconds" in r.stdout
    assert obs(cfg, config_data) == []
    assert seeded.count(r"/search/repositories") == 1  # stopped, no hammering


def test_search_pacing_follows_announced_budget(fake, world):
    """Calls are spread over the announced window; a spent budget is waited out within max_wait,
    and past it the source stops without hammering.  Real HTTP; the fake's window is 3 s long."""
    import time

    from collectors.errors import RateLimitExhausted
    from collectors.fake.github import Limits
    from collectors.http import HttpClient
    from collectors.settings import HttpSettings

    world.part("github").limits = Limits(search=(30, 4, 3))  # 4 per 3-second window without a token
    world.part("github").add_series("llama", days("2023-01-01", 5, 1))
    sleeps: list[float] = []

    def sleep(s: float) -> None:
        sleeps.append(s)
        time.sleep(s)

    client = HttpClient(HttpSettings(max_wait_seconds=5, retries=0), sleep=sleep)
    url = f"{fake.url}/github/search/repositories"
    params = {"q": "llama", "per_page": 1}
    for _ in range(6):  # more calls than one window allows
        r = client.get(url, source="github", resource="search", params=params)
        assert r.json()["total_count"] == 5
    assert sum(sleeps) > 0  # paced / waited, as announced
    assert fake.count(r"/search/repositories", status=403) == 0  # never ran into the limit

    strict = HttpClient(HttpSettings(max_wait_seconds=0.1, retries=0), sleep=sleep)
    world.part("github").limits = Limits(search=(30, 1, 60))
    strict.get(url, source="github", resource="search", params=params)
    before = fake.count(r"/search/repositories")
    with pytest.raises(RateLimitExhausted, match="max_wait_seconds"):
        strict.get(url, source="github", resource="search", params=params)
    assert fake.count(r"/search/repositories") == before  # stopped before asking again


def test_token_sent_and_never_stored(seeded, config_data, write_config, tmp_path):
    cfg = write_config()
    env = {"GITHUB_TOKEN": CANARY}
    r = run_cli("run", config=cfg, today=DAY, env=env)
    assert r.returncode == 0, r.stderr
    assert all(e["auth"] for e in seeded.log if "/search/" in e["path"])
    export = tmp_path / "export"
    assert run_cli("export", "--to", str(export), config=cfg, env=env).returncode == 0
    # force a failure line that would carry the URL, then grep everything written
    seeded.inject("http_502", r"/search/", times=20)
    run_cli("run", "--verbose", config=cfg, today=DAY, env=env)
    hits = []
    for path in tmp_path.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            if path.suffix == ".gz":
                data = gzip.decompress(data)
            if CANARY.encode() in data:
                hits.append(str(path))
    assert hits == []
    assert CANARY not in r.stdout + r.stderr


def test_raw_archive_replays_to_same_observations(seeded, config_data, write_config, tmp_path):
    cfg = write_config()
    assert run_cli("collect", "--source", "github_search", config=cfg, today=DAY).returncode == 0
    before = obs(cfg, config_data)
    raw = list(Path(config_data["storage"]["raw_dir"]).rglob("*.json.gz"))
    assert raw and all(gzip.decompress(p.read_bytes()) for p in raw)
    record = json.loads(gzip.decompress(raw[0].read_bytes()))
    assert "authorization" not in {k.lower() for k in record["headers"]}
    # wipe the warehouse, stop the upstream: the archive alone gives the same facts
    Path(config_data["storage"]["database"]).unlink()
    seeded.stop()
    r = run_cli("collect", "--from-archive", DAY, config=cfg)
    assert r.returncode == 0, r.stdout + r.stderr
    assert obs(cfg, config_data) == before


def test_sql_is_read_only_without_write(seeded, config_data, write_config):
    cfg = write_config()
    run_cli("collect", "--source", "github_search", config=cfg, today=DAY)
    r = run_cli("sql", "DELETE FROM observations", config=cfg)
    assert r.returncode == 1
    assert r.stderr.count("\n") == 1 and "read-only" in r.stderr and "--write" in r.stderr
    assert len(obs(cfg, config_data)) == 2
    r = run_cli("sql", "DELETE FROM facts WHERE series_id IN "
                "(SELECT series_id FROM series WHERE subject = 'GPT-4')", "--write", config=cfg)
    assert r.returncode == 0, r.stderr
    assert len(obs(cfg, config_data)) == 1


def test_sql_formats_and_errors(seeded, config_data, write_config):
    cfg = write_config()
    run_cli("collect", "--source", "github_search", config=cfg, today=DAY)
    q = "SELECT subject, value FROM observations WHERE method = 'snapshot' ORDER BY subject"
    r = run_cli("sql", q, "--format", "csv", config=cfg)
    assert r.stdout.strip().splitlines() == ["subject,value", "GPT-4,4000", "llama,6000"]
    r = run_cli("sql", q, "--format", "json", config=cfg)
    assert json.loads(r.stdout) == [{"subject": "GPT-4", "value": 4000}, {"subject": "llama", "value": 6000}]
    r = run_cli("sql", q, "--format", "markdown", config=cfg)
    assert r.stdout.splitlines()[:3] == ["| subject | value |", "|---|---|", "| GPT-4 | 4000 |"]
    r = run_cli("sql", q, config=cfg)
    assert "(2 rows)" in r.stdout
    r = run_cli("sql", "SELEC nonsense", config=cfg)
    assert r.returncode == 1 and r.stderr.startswith("ecotrend: SQL error:") and r.stderr.count("\n") == 1


def test_export_round_trip(seeded, config_data, write_config, tmp_path):
    cfg = write_config()
    run_cli("collect", "--source", "github_search", config=cfg, today=DAY)
    out = tmp_path / "parquet"
    r = run_cli("export", "--to", str(out), config=cfg)
    assert r.returncode == 0, r.stderr
    assert (out / "observations" / "source=github" / "metric=repo_count").is_dir()
    back = duckdb.sql(f"SELECT day, source, metric, subject, value, method FROM read_parquet("
                      f"'{out}/observations/*/*/*.parquet', hive_partitioning = true) WHERE method = 'snapshot' "
                      f"ORDER BY subject").fetchall()
    assert back == [(dt.date(2023, 7, 19), "github", "repo_count", "GPT-4", 4000.0, "snapshot"),
                    (dt.date(2023, 7, 19), "github", "repo_count", "llama", 6000.0, "snapshot")]
    r = run_cli("export", "--to", str(out), config=cfg)  # the same folder again: an update, nothing to write
    assert r.returncode == 0 and "0 files written" in r.stdout, r.stderr
    r = run_cli("export", "--to", str(tmp_path), config=cfg)  # a folder holding something else
    assert r.returncode == 2 and "not empty" in r.stderr


def test_stock_duckdb_cli_reads_the_warehouse(seeded, world, config_data, write_config):
    cli = shutil.which("duckdb") or str(Path(__import__("sys").executable).parent / "duckdb")
    if not Path(cli).exists():
        pytest.skip("duckdb-cli not installed")
    version = subprocess.run([cli, "--version"], capture_output=True, text=True).stdout
    assert version.startswith("v1.5."), version  # the documented stock client
    cfg = write_config()
    for day in ("2023-07-18", "2023-07-19"):
        world.set_today(day)
        assert run_cli("run", config=cfg, today=day).returncode == 0
    db = config_data["storage"]["database"]
    r = subprocess.run([cli, "-readonly", "-csv", db, "-c",
                        "SELECT day, ecosystem, value FROM ecosystem_daily ORDER BY day, ecosystem"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines() == ["day,ecosystem,value", "2023-07-18,gpt,3980.0",
                                             "2023-07-18,llama,5970.0", "2023-07-19,gpt,4000.0",
                                             "2023-07-19,llama,6000.0"]


def test_rows_spooled_while_locked_and_merged_next_time(seeded, config_data, write_config):
    cfg = write_config()
    gs = ("--source", "github_search")
    assert run_cli("collect", *gs, config=cfg, today="2023-07-18").returncode == 0
    db = Path(config_data["storage"]["database"])
    holder = duckdb.connect(str(db))  # like a DuckDB CLI session left open, read-write
    try:
        r = run_cli("collect", *gs, config=cfg, today=DAY)
        assert r.returncode == 0, r.stderr
        assert "spooled" in r.stdout + r.stderr
        pending = list(Path(config_data["storage"]["pending_dir"]).glob("*.json.gz"))
        assert len(pending) == 1
        assert holder.execute("SELECT count(*) FROM observations WHERE day = ?", [DAY]).fetchone()[0] == 0
    finally:
        holder.close()
    # next successful open merges the spooled rows first, even from a read-free command like collect
    r = run_cli("collect", "--source", "github_search", config=cfg, today="2023-07-20")
    assert r.returncode == 0
    assert list(Path(config_data["storage"]["pending_dir"]).glob("*.json.gz")) == []
    got = query_db(db, "SELECT day, subject, value FROM observations WHERE method = 'snapshot' "
                       "ORDER BY day, subject")
    assert [(d.isoformat(), s) for d, s, _ in got] == [
        ("2023-07-18", "GPT-4"), ("2023-07-18", "llama"), ("2023-07-19", "GPT-4"), ("2023-07-19", "llama"),
        ("2023-07-20", "GPT-4"), ("2023-07-20", "llama")]
    statuses = query_db(db, "SELECT day, status FROM runs ORDER BY day")
    assert [s for _, s in statuses] == ["ok", "ok", "ok"]


def test_offline_run_exits_3_keeps_data_and_builds_site(seeded, config_data, write_config):
    cfg = write_config()
    assert run_cli("run", config=cfg, today="2023-07-18").returncode == 0
    port = closed_port()
    config_data["github"]["api_url"] = f"http://127.0.0.1:{port}"
    cfg = write_config()
    r = run_cli("run", config=cfg, today=DAY)
    assert r.returncode == 3
    assert "github_search: failed" in r.stdout and "network unavailable" in r.stdout
    assert "Traceback" not in r.stderr
    db = Path(config_data["storage"]["database"])
    assert query_db(db, "SELECT count(*) FROM observations WHERE method = 'snapshot'")[0][0] == 2
    assert (Path(config_data["site"]["out_dir"]) / "index.html").is_file()


@pytest.mark.parametrize("mutate,needle", [
    (lambda d: d["storage"].update(databse="x"), "storage.databse: unknown key"),
    (lambda d: d["http"].update(max_wait_seconds="soon"), "http.max_wait_seconds: must be a number"),
    (lambda d: d["ecosystem"].append(dict(d["ecosystem"][0])), "duplicate ecosystem key 'llama'"),
    (lambda d: d["ecosystem"][0].update(github_repos=["not-a-repo"]),
     "github_repos: 'not-a-repo' is not owner/repo"),
    (lambda d: d["ecosystem"][0].update(github_queries="llama"), "github_queries: must be a list of strings"),
    (lambda d: d["ecosystem"][0].update(color="blue"), "color: 'blue' is not a #rrggbb colour"),
    (lambda d: d["ecosystem"][0].update(first_release="2023-02-30"), "first_release: '2023-02-30' is not a date"),
    (lambda d: d.update(nonsense={"a": 1}), "[nonsense]: unknown section"),
    (lambda d: d["github"].update(api_url="ftp://x"), "github.api_url: 'ftp://x' is not an http(s) address"),
    (lambda d: d["event"][0].update(ecosystem="nope"), "unknown ecosystem 'nope'"),
])
def test_bad_config_is_one_line_exit_2(config_data, write_config, mutate, needle):
    mutate(config_data)
    cfg = write_config()
    r = run_cli("collect", "--source", "github_search", config=cfg, today=DAY)
    assert r.returncode == 2
    assert needle in r.stderr and str(cfg) in r.stderr, r.stderr
    assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr


def test_missing_and_invalid_config_files(tmp_path):
    r = run_cli("status", config=tmp_path / "nope.toml")
    assert r.returncode == 2 and "nope.toml: config file not found" in r.stderr
    bad = tmp_path / "bad.toml"
    bad.write_text("[storage\n")
    r = run_cli("status", config=bad)
    assert r.returncode == 2 and "bad.toml: invalid TOML" in r.stderr and r.stderr.count("\n") == 1


def test_foreign_and_corrupt_warehouse_refused_untouched(seeded, config_data, write_config, tmp_path):
    db = Path(config_data["storage"]["database"])
    db.parent.mkdir(parents=True)
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE precious (x INTEGER)")
    con.execute("INSERT INTO precious VALUES (42)")
    con.close()
    cfg = write_config()
    r = run_cli("collect", "--source", "github_search", config=cfg, today=DAY)
    assert r.returncode == 3 or r.returncode == 1
    assert "not an ecotrend warehouse" in r.stdout + r.stderr
    assert query_db(db, "SELECT * FROM precious") == [(42,)]
    db.unlink()
    db.write_bytes(b"this is not a database at all" * 100)
    before = db.read_bytes()
    r = run_cli("sql", "SELECT 1", config=cfg)
    assert r.returncode == 1 and "Traceback" not in r.stderr and r.stderr.count("\n") == 1
    assert db.read_bytes() == before


def test_migrations_are_recorded(seeded, config_data, write_config):
    cfg = write_config()
    run_cli("collect", "--source", "github_search", config=cfg, today=DAY)
    from warehouse.migrations import MIGRATIONS

    rows = query_db(Path(config_data["storage"]["database"]), "SELECT version FROM schema_migrations")
    assert sorted(r[0] for r in rows) == sorted(m[0] for m in MIGRATIONS)


def test_status_reports_runs_and_json(seeded, config_data, write_config):
    cfg = write_config()
    run_cli("collect", "--source", "github_search", config=cfg, today=DAY)
    r = run_cli("status", "--json", config=cfg, today="2023-07-21")
    data = json.loads(r.stdout)
    runs = {r["collector"]: r["status"] for r in data["runs"]}
    assert runs["github_search"] == "ok"
    gh = [s for s in data["sources"] if s["source"] == "github"][0]
    # days behind the latest daily run (the warehouse's own reference, as on the data-health page);
    # how long ago that run was is the clock's question, answered apart
    assert gh["last_day"] == DAY and gh["days_behind"] == 0
    assert data["reference_day"] == DAY and data["last_run_days_ago"] == 2


def test_bad_cli_input_is_one_line(config_data, write_config):
    cfg = write_config()
    for args in (["collect", "--today", "2023-13-01"], ["backfill", "--since", "yesterday"],
                 ["collect", "--source", "nope"], ["sql"]):
        r = run_cli(*args, config=cfg)
        assert r.returncode == 2, (args, r.stderr)
        assert "Traceback" not in r.stderr
    r = run_cli("collect", "--source", "nope", config=cfg)
    assert "unknown source 'nope'" in r.stderr
    r = run_cli("status", config=cfg, env={"ECOTREND_TODAY": "someday"})
    assert r.returncode == 2 and "ECOTREND_TODAY" in r.stderr


def test_today_from_environment(seeded, config_data, write_config):
    cfg = write_config()
    r = run_cli("collect", "--source", "github_search", config=cfg, env={"ECOTREND_TODAY": "2023-07-18"})
    assert r.returncode == 0
    rows = query_db(Path(config_data["storage"]["database"]), "SELECT DISTINCT day FROM observations "
                                                             "WHERE method = 'snapshot'")
    assert rows == [(dt.date(2023, 7, 18),)]


def test_body_cut_short_is_retried(tmp_path):
    """A body shorter than its Content-Length is a transient fault: retried, then used whole."""
    import threading

    from collectors.http import HttpClient
    from collectors.settings import HttpSettings

    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    port = srv.getsockname()[1]
    body = json.dumps({"total_count": 7, "incomplete_results": False, "items": []}).encode()
    served = []

    def serve() -> None:
        for i in range(2):
            conn, _ = srv.accept()
            conn.recv(65536)
            head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
            conn.sendall(head.encode() + (body[:5] if i == 0 else body))
            served.append(i)
            conn.close()

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    client = HttpClient(HttpSettings(retries=2, backoff_seconds=0.01, timeout_seconds=5))
    r = client.get(f"http://127.0.0.1:{port}/search", source="github", resource="search")
    assert r.json()["total_count"] == 7
    t.join(timeout=5)
    assert served == [0, 1]
    srv.close()


def test_token_is_bound_to_its_first_host(fake, world):
    from collectors.http import HttpClient
    from collectors.settings import HttpSettings

    world.part("github").add_series("llama", days("2023-01-01", 3, 1))
    client = HttpClient(HttpSettings(retries=0))
    url = f"{fake.url}/github/search/repositories"
    other = url.replace("127.0.0.1", "localhost")
    client.get(url, source="github", resource="search", params={"q": "llama"}, token=CANARY)
    client.get(other, source="github", resource="search", params={"q": "llama"}, token=CANARY)
    assert [e["auth"] for e in fake.log if "/search/" in e["path"]] == [True, False]


def test_a_pending_file_that_cannot_merge_is_set_aside(seeded, config_data, write_config):
    cfg = write_config()
    gs = ("--source", "github_search")
    assert run_cli("collect", *gs, config=cfg, today="2023-07-18").returncode == 0
    pending = Path(config_data["storage"]["pending_dir"])
    pending.mkdir(parents=True, exist_ok=True)
    bad = {"version": 1, "items": [{"batch": {"source": "github", "observations": [
        ["2023-07-17", "github", "repo_count", "llama", None, "snapshot", ""]],  # NULL value: refused
        "subjects": [], "tables": {}, "state": {}},
        "run": {"run_id": "x", "collector": "github_search", "day": "2023-07-17", "mode": "collect",
                "started_at": "2023-07-17T00:00:00", "ended_at": None, "status": "ok", "requests": {},
                "rows_written": 0, "error": ""}}]}
    (pending / "00000000-bad.json.gz").write_bytes(gzip.compress(json.dumps(bad).encode()))
    r = run_cli("collect", *gs, config=cfg, today=DAY)
    assert r.returncode == 0, r.stdout + r.stderr
    assert [p.name for p in pending.iterdir()] == ["00000000-bad.json.gz.bad"]  # kept, out of the way
    db = Path(config_data["storage"]["database"])
    assert query_db(db, "SELECT count(*) FROM observations WHERE day = ? AND method = 'snapshot'",
                    [DAY]) == [(2,)]
