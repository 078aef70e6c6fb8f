"""hf_models through the real CLI against the fake Hub: cursors, family unions, derivatives, faults."""
from __future__ import annotations

import datetime as dt
import json

from conftest import query_db, run_cli

DAY = "2026-11-20"


def setup_family(world, page_max: int = 3):
    """7 meta-llama models, 4 community llama fine-tunes, 2 unrelated models."""
    hf = world.part("hf")
    hf.page_max = page_max
    world.set_today(DAY)
    for i in range(7):
        hf.add(f"meta-llama/Llama-{i}", downloads=1000 + i, all_time=50_000 + i, likes=10 + i)
    for i in range(4):
        hf.add(f"fans/llama-tune-{i}", downloads=20 + i, all_time=300, likes=1,
               base=("finetune", "meta-llama/Llama-0"))
    hf.add("q/Llama-0-GGUF", downloads=7, all_time=70, likes=2, base=("quantized", "meta-llama/Llama-0"))
    hf.add("other/qwen-thing", downloads=5, all_time=5, likes=0)
    hf.add("other/mistral-tune", downloads=9, all_time=9, likes=0, base=("finetune", "mistralai/M"))
    return hf


def llama_config(config_data, **eco):
    config_data["huggingface"]["top_models"] = 3
    base = {"hf_authors": ["meta-llama"], "hf_searches": ["llama"]}
    base.update(eco)
    config_data["ecosystem"][0].update(base)
    return config_data


def obs(cfg_data, metric: str, subject: str, day: str = DAY):
    rows = query_db(db_path(cfg_data), "SELECT value FROM observations WHERE source = 'huggingface' "
                    "AND metric = ? AND subject = ? AND day = ?", [metric, subject, day])
    return rows[0][0] if rows else None


def db_path(cfg_data):
    from pathlib import Path

    return Path(cfg_data["storage"]["database"])


def test_family_counts_and_sums_across_cursor_pages(fake, world, config_data, write_config):
    setup_family(world)
    path = write_config(llama_config(config_data))
    r = run_cli("collect", "--source", "hf_models", config=path, today=DAY)
    assert r.returncode == 0, r.stdout + r.stderr

    # author: 7 models on 3 pages of 3
    assert obs(config_data, "model_count", "author:meta-llama") == 7
    assert obs(config_data, "downloads_30d", "author:meta-llama") == sum(1000 + i for i in range(7))
    assert obs(config_data, "downloads_all_time", "author:meta-llama") == sum(50_000 + i for i in range(7))
    assert obs(config_data, "likes", "author:meta-llama") == sum(10 + i for i in range(7))
    # search "llama" (substring of the id): 7 + 4 tunes + the GGUF = 12 models on 4 pages
    assert obs(config_data, "model_count", "search:llama") == 12
    assert obs(config_data, "downloads_30d", "search:llama") == 7021 + (20 + 21 + 22 + 23) + 7
    # the family is the union: each model once, not 7 + 12
    assert obs(config_data, "model_count", "family:llama") == 12
    assert obs(config_data, "downloads_30d", "family:llama") == 7021 + 86 + 7
    assert obs(config_data, "likes", "family:llama") == 91 + 4 + 2
    # pages: 3 (author) + 4 (search); no base models configured here
    assert fake.count(r"^/hf/api/models$") == 7
    followed = [e for e in fake.log if e["path"] == "/hf/api/models" and "cursor" in e["query"]]
    assert len(followed) == 5  # 2 + 3 pages reached through link rel="next"

    # top 3 by 30-day downloads are stored model by model, listed in hf_top_models
    top = query_db(db_path(config_data), "SELECT rank, model, downloads_30d FROM hf_top_models "
                   "WHERE ecosystem = 'llama' ORDER BY rank")
    assert top == [(1, "meta-llama/Llama-6", 1006.0), (2, "meta-llama/Llama-5", 1005.0),
                   (3, "meta-llama/Llama-4", 1004.0)]
    assert obs(config_data, "downloads_all_time", "meta-llama/Llama-6") == 50_006

    # ecosystem_daily takes the family subject only: never a query beside its own models
    daily = dict(query_db(db_path(config_data), "SELECT metric, value FROM ecosystem_daily "
                          "WHERE ecosystem = 'llama' AND day = ?", [DAY]))
    assert daily["model_count"] == 12
    assert daily["downloads_30d"] == 7021 + 86 + 7
    assert daily["likes"] == 97

    runs = query_db(db_path(config_data), "SELECT requests FROM runs WHERE collector = 'hf_models'")
    assert json.loads(runs[0][0]) == {"models": 7}

    # the same day again changes nothing and duplicates nothing
    r = run_cli("collect", "--source", "hf_models", config=path, today=DAY)
    assert r.returncode == 0
    n, distinct = query_db(db_path(config_data), "SELECT count(*), count(DISTINCT (day, metric, subject)) "
                           "FROM observations WHERE source = 'huggingface'")[0]
    assert n == distinct
    assert obs(config_data, "model_count", "family:llama") == 12


def test_derivatives_by_kind_counted_by_paging_then_by_header(fake, world, config_data, write_config):
    hf = setup_family(world, page_max=2)
    path = write_config(llama_config(config_data, hf_authors=[], hf_searches=[],
                                     hf_base_models=["meta-llama/Llama-0"]))
    r = run_cli("collect", "--source", "hf_models", config=path, today=DAY)
    assert r.returncode == 0, r.stdout + r.stderr
    got = {k: obs(config_data, "derivative_models", f"meta-llama/Llama-0#{k}")
           for k in ("finetune", "quantized", "adapter", "merge")}
    assert got == {"finetune": 4, "quantized": 1, "adapter": 0, "merge": 0}
    # 4 fine-tunes at 2 a page = 2 pages; the other kinds 1 page each; only one field asked for
    assert fake.count(r"^/hf/api/models$") == 5
    filters = [e["query"] for e in fake.log if e["path"] == "/hf/api/models"]
    assert all(q.get("expand") == ["likes"] for q in filters)
    assert {q["filter"][0] for q in filters} == {f"base_model:{k}:meta-llama/Llama-0"
                                                 for k in ("finetune", "quantized", "adapter", "merge")}
    daily = query_db(db_path(config_data), "SELECT value FROM ecosystem_daily WHERE ecosystem = 'llama' "
                     "AND metric = 'derivative_models'")
    assert daily == [(5.0,)]

    # with a total-count header, one page per kind is enough
    hf.total_header = True
    before = fake.count(r"^/hf/api/models$")
    nxt = "2026-11-21"
    world.set_today(nxt)
    r = run_cli("collect", "--source", "hf_models", config=path, today=nxt)
    assert r.returncode == 0
    assert fake.count(r"^/hf/api/models$") - before == 4
    assert obs(config_data, "derivative_models", "meta-llama/Llama-0#finetune", nxt) == 4


def test_derived_daily_downloads_with_stall_gap_and_backwards_counter(fake, world, config_data,
                                                                       write_config):
    hf = world.part("hf")
    d0 = dt.date(2026, 11, 1)
    counters = {0: 1000, 1: 1100, 2: 1100, 3: 1250, 4: 1200, 6: 1400, 7: 1460}  # day 5: no run
    m = hf.add("meta-llama/Llama-3.1-8B-Instruct")
    m.series = {d0 + dt.timedelta(days=k): (500, v) for k, v in counters.items()}
    path = write_config(llama_config(config_data, hf_authors=[], hf_searches=[],
                                     hf_models=["meta-llama/Llama-3.1-8B-Instruct"]))
    for k in sorted(counters):
        day = (d0 + dt.timedelta(days=k)).isoformat()
        world.set_today(day)
        r = run_cli("collect", "--source", "hf_models", config=path, today=day)
        assert r.returncode == 0, r.stdout + r.stderr
    rows = query_db(db_path(config_data), "SELECT day, value, delta, method, flags "
                    "FROM model_downloads_daily "
                    "WHERE subject = 'meta-llama/Llama-3.1-8B-Instruct' ORDER BY day")
    def day(k: int) -> dt.date:
        return d0 + dt.timedelta(days=k)

    assert rows == [
        (day(1), 100.0, 100.0, "derived", ""),
        (day(2), 0.0, 0.0, "derived", "stalled"),
        (day(3), 150.0, 150.0, "derived", ""),
        (day(4), None, -50.0, "derived", "counter_backwards"),  # flagged, no value to chart
        # day 5 missing → no row for day 5 nor day 6 (no two-day lump)
        (day(7), 60.0, 60.0, "derived", ""),
    ]
    # the rolling window is stored as it is, never summed
    assert query_db(db_path(config_data), "SELECT DISTINCT value FROM observations WHERE metric = "
                    "'downloads_30d'") == [(500.0,)]


def test_renamed_model_followed_and_canonical_recorded(fake, world, config_data, write_config):
    hf = setup_family(world)
    hf.rename("meta-llama/Llama-2", "meta-llama/Llama-2-renamed")
    path = write_config(llama_config(config_data, hf_authors=[], hf_searches=[],
                                     hf_models=["meta-llama/Llama-2", "meta-llama/Llama-1"]))
    r = run_cli("collect", "--source", "hf_models", config=path, today=DAY)
    assert r.returncode == 0, r.stdout + r.stderr
    assert fake.count(r"^/hf/api/models/meta-llama/Llama-2$", status=307) == 1
    assert obs(config_data, "downloads_all_time", "meta-llama/Llama-2") == 50_002
    subj = query_db(db_path(config_data), "SELECT subject, kind, canonical FROM subjects "
                    "WHERE source = 'huggingface' ORDER BY subject")
    assert subj == [("meta-llama/Llama-1", "model", "meta-llama/Llama-1"),
                    ("meta-llama/Llama-2", "model", "meta-llama/Llama-2-renamed")]


def test_token_sent_as_bearer_and_429_waited_out(fake, world, config_data, write_config):
    setup_family(world)
    fake.inject("hf_rate_limit", r"^/hf/api/models$", times=1, reset_in=1)
    path = write_config(llama_config(config_data))
    r = run_cli("collect", "--source", "hf_models", config=path, today=DAY,
                env={"HF_TOKEN": "hf_CANARYcanary0123456789"})
    assert r.returncode == 0, r.stdout + r.stderr
    assert fake.count(r"^/hf/", status=429) == 1
    assert all(e["auth"] for e in fake.log if e["path"].startswith("/hf/"))
    assert obs(config_data, "model_count", "family:llama") == 12
    assert obs(config_data, "model_count", "author:meta-llama") == 7


def test_rate_limit_beyond_the_bound_stops_the_source_cleanly(fake, world, config_data, write_config):
    setup_family(world)
    fake.inject("hf_rate_limit", r"^/hf/api/models$", times=1, reset_in=250)
    path = write_config(llama_config(config_data))
    r = run_cli("collect", "--source", "hf_models", config=path, today=DAY)
    assert r.returncode == 3
    assert "Traceback" not in r.stderr
    assert "rate limit" in (r.stdout + r.stderr)
    assert query_db(db_path(config_data), "SELECT count(*) FROM observations "
                    "WHERE source = 'huggingface'") == [(0,)]


def test_truncated_page_fails_its_query_and_the_family_only(fake, world, config_data, write_config):
    setup_family(world)
    fake.inject("truncated", r"^/hf/api/models$", times=1)  # the first page of author:meta-llama
    path = write_config(llama_config(config_data, hf_models=["meta-llama/Llama-0"]))
    r = run_cli("collect", "--source", "hf_models", config=path, today=DAY)
    assert r.returncode == 3, r.stdout + r.stderr
    assert "author:meta-llama" in r.stdout + r.stderr
    assert obs(config_data, "model_count", "author:meta-llama") is None
    assert obs(config_data, "model_count", "family:llama") is None  # never a partial union
    assert obs(config_data, "model_count", "search:llama") == 12
    assert obs(config_data, "likes", "meta-llama/Llama-0") == 10


def test_empty_page_and_unknown_model(fake, world, config_data, write_config):
    setup_family(world)
    fake.inject("empty", r"^/hf/api/models$", times=2)  # empty pages whose cursor goes on
    path = write_config(llama_config(config_data, hf_models=["meta-llama/Nope"]))
    r = run_cli("collect", "--source", "hf_models", config=path, today=DAY)
    assert r.returncode == 3
    assert "meta-llama/Nope" in r.stdout + r.stderr
    assert "Traceback" not in r.stderr
    assert obs(config_data, "model_count", "author:meta-llama") == 7
    assert obs(config_data, "model_count", "family:llama") == 12
    assert query_db(db_path(config_data), "SELECT count(*) FROM observations WHERE subject = "
                    "'meta-llama/Nope'") == [(0,)]


def test_quota_spent_mid_run_keeps_the_finished_queries(fake, world, config_data, write_config):
    hf = setup_family(world)
    hf.quota, hf.window = 3, 10**9  # 3 calls, then the window "resets" far beyond http.max_wait_seconds
    path = write_config(llama_config(config_data, hf_models=["meta-llama/Llama-0"]))
    r = run_cli("collect", "--source", "hf_models", config=path, today=DAY)
    assert r.returncode == 3, r.stdout + r.stderr
    assert "stopped" in r.stdout + r.stderr and "Traceback" not in r.stderr
    assert fake.count(r"^/hf/") <= 4  # the announced budget is respected: at most one 429
    assert obs(config_data, "model_count", "author:meta-llama") == 7  # finished before the limit
    assert obs(config_data, "model_count", "search:llama") is None
    assert obs(config_data, "model_count", "family:llama") is None
    status = query_db(db_path(config_data), "SELECT status FROM runs WHERE collector = 'hf_models'")
    assert status == [("partial",)]


def test_replay_from_archive_gives_the_same_observations(fake, world, config_data, write_config):
    setup_family(world)
    path = write_config(llama_config(config_data, hf_models=["meta-llama/Llama-0"],
                                     hf_base_models=["meta-llama/Llama-0"]))
    r = run_cli("collect", "--source", "hf_models", config=path, today=DAY)
    assert r.returncode == 0, r.stdout + r.stderr
    sql = ("SELECT metric, subject, value FROM observations WHERE source = 'huggingface' "
           "ORDER BY metric, subject")
    first = query_db(db_path(config_data), sql)
    served = len(fake.log)
    r = run_cli("collect", "--source", "hf_models", "--from-archive", DAY, config=path, today=DAY)
    assert r.returncode == 0, r.stdout + r.stderr
    assert len(fake.log) == served  # no network
    assert query_db(db_path(config_data), sql) == first and len(first) > 20


def test_legacy_ids_without_a_namespace_are_collected(fake, world, config_data, write_config):
    """hf_models = ["gpt2", "bert-base-uncased"]: the config takes them; "gpt2" answers 307 to its
    namespaced name and is recorded as today's renames are; "bert-base-uncased" is served as it is."""
    hf = setup_family(world)
    hf.add("gpt2", downloads=900, all_time=9_000, likes=30)
    hf.rename("gpt2", "openai-community/gpt2")
    hf.add("bert-base-uncased", downloads=800, all_time=8_000, likes=20)
    path = write_config(llama_config(config_data, hf_authors=[], hf_searches=[],
                                     hf_models=["gpt2", "bert-base-uncased"]))
    r = run_cli("collect", "--source", "hf_models", config=path, today=DAY)
    assert r.returncode == 0, r.stdout + r.stderr
    assert fake.count(r"^/hf/api/models/gpt2$", status=307) == 1
    assert obs(config_data, "downloads_all_time", "gpt2") == 9_000
    assert obs(config_data, "likes", "bert-base-uncased") == 20
    subj = query_db(db_path(config_data), "SELECT subject, canonical FROM subjects WHERE source = 'huggingface' "
                                          "ORDER BY subject")
    assert subj == [("bert-base-uncased", "bert-base-uncased"), ("gpt2", "openai-community/gpt2")]


def test_a_model_answer_without_one_figure_keeps_the_others(fake, world, config_data, write_config):
    """The Hub leaves out downloadsAllTime: the model's 30-day downloads and likes are stored, the
    missing metric has no row (never 0), and the run names it (partial, exit 3)."""
    setup_family(world)
    fake.inject("missing_field", r"^/hf/api/models/meta-llama/Llama-1$", field="downloadsAllTime")
    path = write_config(llama_config(config_data, hf_authors=[], hf_searches=[],
                                     hf_models=["meta-llama/Llama-1", "meta-llama/Llama-2"]))
    r = run_cli("collect", "--source", "hf_models", config=path, today=DAY)
    assert r.returncode == 3, r.stdout + r.stderr
    assert "hf_models: partial" in r.stdout and "meta-llama/Llama-1: answer without downloadsAllTime" in r.stdout
    assert obs(config_data, "downloads_30d", "meta-llama/Llama-1") == 1001
    assert obs(config_data, "likes", "meta-llama/Llama-1") == 11
    assert query_db(db_path(config_data), "SELECT count(*) FROM observations WHERE subject = 'meta-llama/Llama-1' "
                                          "AND metric = 'downloads_all_time'") == [(0,)]
    assert obs(config_data, "downloads_all_time", "meta-llama/Llama-2") == 50_002
