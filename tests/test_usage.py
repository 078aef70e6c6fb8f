"""Usage sources through the real CLI against the fake: OpenRouter tokens, Ollama pulls, Replicate runs."""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from pathlib import Path

import pytest
import requests

from tests.conftest import query_db, run_cli

TODAY = "2025-03-10"
D = dt.date.fromisoformat(TODAY)
KEYS = {"OPENROUTER_API_KEY": "test-openrouter-key", "REPLICATE_API_TOKEN": "test-replicate-token"}
LLAMA = ["meta-llama/llama-3.1-8b-instruct", "meta-llama/llama-3.1-8b-instruct:free",
         "meta-llama/llama-3.3-70b-instruct-2024-12-06"]
GPT = ["openai/gpt-4o-2024-08-06", "openai/gpt-4o-mini"]


def tokens(day: dt.date, i: int) -> int:
    return 10_000_000_000 + 7_919 * i + day.toordinal() % 97


def fill_openrouter(world, first: dt.date, last: dt.date) -> None:
    part = world.part("openrouter")
    day = first
    while day <= last:
        models = {slug: tokens(day, i) * (3 - i % 3) for i, slug in enumerate(LLAMA + GPT)}
        models["qwen/qwen-2.5-72b-instruct"] = tokens(day, 9)
        models.update({f"vendor-{j % 7}/model-{j}": 1_000_000_000 + 1_000 * j for j in range(60)})
        part.set_day(day, models)
        day += dt.timedelta(days=1)
    part.add_model("meta-llama/llama-3.1-8b-instruct", "meta-llama/Llama-3.1-8B-Instruct")
    part.add_model("meta-llama/llama-3.3-70b-instruct-2024-12-06", "meta-llama/Llama-3.3-70B-Instruct")
    part.add_model("openai/gpt-4o-2024-08-06", None)
    part.add_model("qwen/qwen-2.5-72b-instruct", "Qwen/Qwen2.5-72B-Instruct")
    for j in range(0, 60, 2):
        part.add_model(f"vendor-{j % 7}/model-{j}", f"vendor/model-{j}")


@pytest.fixture
def usage_cfg(fake, config_data, write_config):
    fake.world.set_today(TODAY)
    urls = fake.config_urls()
    config_data["openrouter"] = {**urls["openrouter"], "requests_per_minute": 60_000}
    config_data["ollama"] = {**urls["ollama"], "web_pause_seconds": 0}
    config_data["replicate"] = urls["replicate"]
    llama, gpt = config_data["ecosystem"]
    llama.update(openrouter_authors=["meta-llama"], ollama_models=["llama3.1", "llama3.2"],
                 replicate_models=["meta/meta-llama-3-70b-instruct"])
    gpt.update(openrouter_models=["openai/gpt-4o*"], ollama_models=["gpt-oss"],
               replicate_models=["openai/gpt-oss-120b"])
    return write_config()


def db(tmp: Path) -> Path:
    return tmp / "data" / "ecotrend.duckdb"


def collect(cfg: Path, *sources: str, today: str = TODAY, env: dict | None = None):
    args = [a for s in sources for a in ("--source", s)]
    return run_cli("collect", *args, config=cfg, today=today, env=KEYS if env is None else env)


def served_rows(fake, start: str, end: str) -> list[dict]:
    resp = requests.get(f"{fake.url}/openrouter/api/v1/datasets/rankings-daily",
                        params={"start_date": start, "end_date": end},
                        headers={"Authorization": "Bearer test"}, timeout=10)
    return resp.json()["data"]


def obs(tmp: Path, source: str) -> dict[tuple, tuple[float, str]]:
    rows = query_db(db(tmp), "SELECT day, metric, subject, value, flags FROM observations WHERE source = ?",
                    [source])
    return {(d, m, s): (v, f) for d, m, s, v, f in rows}


# -- OpenRouter --------------------------------------------------------------------------------------
def test_family_tokens_and_share_are_the_rows_summed_by_author(fake, usage_cfg, tmp_path):
    fill_openrouter(fake.world, D - dt.timedelta(days=10), D)
    res = collect(usage_cfg, "openrouter")
    assert res.returncode == 0, res.stdout + res.stderr
    rows = served_rows(fake, "2025-03-07", "2025-03-09")  # the daily run reads the last 3 days
    by_day: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in rows:
        author = r["model_permaslug"].split("/")[0] if "/" in r["model_permaslug"] else r["model_permaslug"]
        by_day[r["date"]][author] += int(r["total_tokens"])
        by_day[r["date"]]["*"] += int(r["total_tokens"])
    assert len(by_day) == 3 and all(d["other"] > 0 for d in by_day.values())  # the 'other' row is there
    got = obs(tmp_path, "openrouter")
    daily = {(d, e, m): v for d, e, m, v in query_db(
        db(tmp_path), "SELECT day, ecosystem, metric, value FROM ecosystem_daily "
                      "WHERE metric IN ('tokens_day', 'token_share')")}
    for day_s, per in by_day.items():
        day = dt.date.fromisoformat(day_s)
        # llama: every meta-llama/ row, dated and :free ones included; gpt: every openai/ row here
        # matches "openai/gpt-4o*" (gpt-4o-mini too)
        assert got[(day, "tokens_day", "family:llama")][0] == per["meta-llama"]
        assert got[(day, "tokens_day", "family:gpt")][0] == per["openai"]
        assert got[(day, "tokens_day", "total")][0] == per["*"]
        assert got[(day, "token_share", "family:llama")][0] == pytest.approx(per["meta-llama"] / per["*"], rel=1e-12)
        assert daily[(day, "llama", "tokens_day")] == per["meta-llama"]
        assert daily[(day, "gpt", "token_share")] == pytest.approx(per["openai"] / per["*"], rel=1e-12)
        assert (day, "tokens_day", "family:qwen") not in got  # no family configured for it
        # every served row is stored as given, 'other' included
        for r in rows:
            if r["date"] == day_s:
                assert got[(day, "tokens_day", r["model_permaslug"])][0] == int(r["total_tokens"])
    citation = query_db(db(tmp_path), "SELECT DISTINCT citation FROM openrouter_daily")
    assert citation == [(f"Source: OpenRouter (openrouter.ai/rankings), as of {TODAY}T03:00:00Z",)]
    assert query_db(db(tmp_path), "SELECT count(*) FROM openrouter_days") == [(3,)]


def test_open_weight_share_counts_models_with_a_hugging_face_id(fake, usage_cfg, tmp_path):
    fill_openrouter(fake.world, D - dt.timedelta(days=3), D)
    assert collect(usage_cfg, "openrouter").returncode == 0
    listed = {m["canonical_slug"]: bool(m["hugging_face_id"]) for m in
              requests.get(f"{fake.url}/openrouter/api/v1/models", timeout=10).json()["data"]}
    day = D - dt.timedelta(days=1)
    rows = served_rows(fake, day.isoformat(), day.isoformat())
    total = sum(int(r["total_tokens"]) for r in rows)
    open_tokens = sum(int(r["total_tokens"]) for r in rows if listed.get(r["model_permaslug"].split(":")[0]))
    got = obs(tmp_path, "openrouter")
    assert got[(day, "open_weight_token_share", "open_weight")][0] == pytest.approx(open_tokens / total, rel=1e-12)
    # gpt-4o-mini is not in the model list: its weights are unknown, and the share says so
    assert got[(day, "open_weight_token_share", "open_weight")][1] == "unknown_weights"


def test_missing_token_skips_with_the_line_that_enables_it(fake, usage_cfg, tmp_path):
    fill_openrouter(fake.world, D - dt.timedelta(days=3), D)
    res = collect(usage_cfg, "openrouter", "replicate", env={})
    assert res.returncode == 0, res.stdout + res.stderr
    lines = res.stdout.splitlines()
    assert ("openrouter: ok, 0 rows, 0 requests — skipped: OPENROUTER_API_KEY is not set; set it to an "
            "OpenRouter API key (openrouter.ai/settings/keys) to collect tokens per model and day") in lines
    assert any(ln.startswith("replicate: ok, 0 rows, 0 requests — skipped: REPLICATE_API_TOKEN is not set")
               for ln in lines)
    assert fake.count(r"^/(openrouter|replicate)/") == 0
    check = run_cli("config", "check", config=usage_cfg, env={})
    assert check.returncode == 0
    assert "openrouter skipped: OPENROUTER_API_KEY is not set; set it to an OpenRouter API key" in check.stdout
    assert "replicate skipped: REPLICATE_API_TOKEN is not set" in check.stdout
    assert "skipped" not in run_cli("config", "check", config=usage_cfg, env=KEYS).stdout
    back = run_cli("backfill", "--since", "2025-01-01", "--source", "openrouter", config=usage_cfg, today=TODAY,
                   env={})
    assert back.returncode == 0 and "skipped: OPENROUTER_API_KEY is not set" in back.stdout


def test_backfill_by_month_resumes_and_daily_runs_reread_restated_days(fake, usage_cfg, tmp_path):
    fill_openrouter(fake.world, dt.date(2024, 12, 20), D)
    fake.inject("http_502", r"^/openrouter/api/v1/datasets/", times=5, query=r"start_date=2025-02-01")
    res = run_cli("backfill", "--since", "2024-12-01", "--source", "openrouter", config=usage_cfg, today=TODAY,
                  env=KEYS)
    assert res.returncode == 3 and "rerun to resume" in res.stdout, res.stdout + res.stderr
    days = lambda: [d for (d,) in query_db(db(tmp_path), "SELECT DISTINCT day FROM observations "  # noqa: E731
                                                         "WHERE source = 'openrouter' ORDER BY 1")]
    assert days() == [dt.date(2025, 1, 1) + dt.timedelta(days=i) for i in range(31)]  # nothing before 2025
    fake.clear_faults()
    before = fake.count(r"^/openrouter/api/v1/datasets/")
    res = run_cli("backfill", "--since", "2024-12-01", "--source", "openrouter", config=usage_cfg, today=TODAY,
                  env=KEYS)
    assert res.returncode == 0, res.stdout + res.stderr
    assert fake.count(r"^/openrouter/api/v1/datasets/") - before == 2  # Feb 1..Mar 3, Mar 4..Mar 9
    assert days() == [dt.date(2025, 1, 1) + dt.timedelta(days=i) for i in range((D - dt.date(2025, 1, 1)).days)]
    # OpenRouter restates yesterday's figure and the as_of moves: the next daily run rewrites both
    day = D - dt.timedelta(days=1)
    fake.world.part("openrouter").set_day(day, {LLAMA[0]: 77_000_000_000})
    fake.world.part("openrouter").as_of = "2025-03-10T09:30:00Z"
    assert collect(usage_cfg, "openrouter").returncode == 0
    got = obs(tmp_path, "openrouter")
    assert got[(day, "tokens_day", LLAMA[0])][0] == 77_000_000_000
    as_of = dict(query_db(db(tmp_path), "SELECT day, as_of FROM openrouter_days"))
    assert as_of[day] == "2025-03-10T09:30:00Z" and as_of[dt.date(2025, 1, 5)] == f"{TODAY}T03:00:00Z"


def test_rankings_fault_fails_the_source_and_stores_nothing(fake, usage_cfg, tmp_path):
    fill_openrouter(fake.world, D - dt.timedelta(days=3), D)
    fake.inject("missing_field", r"^/openrouter/api/v1/datasets/", field="meta")
    res = collect(usage_cfg, "openrouter")
    assert res.returncode == 3 and "no meta.as_of" in res.stdout, res.stdout
    assert "Traceback" not in res.stderr
    assert obs(tmp_path, "openrouter") == {}


# -- Ollama ------------------------------------------------------------------------------------------
def test_ollama_pulls_parsed_exactly_and_rounded_ones_flagged(fake, usage_cfg, tmp_path):
    part = fake.world.part("ollama")
    part.set("llama3.1", "111.8M")
    part.set("llama3.2", 950)  # written out in full: exact, not flagged
    part.set("gpt-oss", 2_345_678)  # shown as 2.3M
    res = collect(usage_cfg, "ollama")
    assert res.returncode == 0, res.stdout + res.stderr
    got = obs(tmp_path, "ollama")
    assert got == {(D, "pulls", "llama3.1"): (111_800_000.0, "abbreviated"),
                   (D, "pulls", "llama3.2"): (950.0, ""),
                   (D, "pulls", "gpt-oss"): (2_300_000.0, "abbreviated")}
    assert query_db(db(tmp_path), "SELECT ecosystem, value FROM ecosystem_daily WHERE metric = 'pulls' "
                                  "ORDER BY 1") == [("gpt", 2_300_000.0), ("llama", 111_800_950.0)]
    assert fake.count(r"^/ollama/library/llama3\.1$") == 1


def test_ollama_page_without_a_count_fails_that_model_only(fake, usage_cfg, tmp_path):
    part = fake.world.part("ollama")
    part.set("llama3.1", "lots")
    part.set("gpt-oss", 5)
    res = collect(usage_cfg, "ollama")  # llama3.2 unknown: 404
    assert res.returncode == 3 and "Traceback" not in res.stderr
    assert "markup changed" in res.stdout and "llama3.2" in res.stdout
    assert obs(tmp_path, "ollama") == {(D, "pulls", "gpt-oss"): (5.0, "")}


# -- Replicate ---------------------------------------------------------------------------------------
def test_replicate_run_count_stored_as_given_and_runs_per_day_derived(fake, usage_cfg, tmp_path):
    part = fake.world.part("replicate")
    series = {D: 123_456_789, D + dt.timedelta(days=1): 123_460_000, D + dt.timedelta(days=2): 123_450_000,
              D + dt.timedelta(days=4): 123_470_000}
    part.set("meta/meta-llama-3-70b-instruct", series)
    part.set("openai/gpt-oss-120b", 4_321)
    for i in (0, 1, 2, 4):  # day 3 is missed
        day = (D + dt.timedelta(days=i)).isoformat()
        fake.world.set_today(day)
        res = collect(usage_cfg, "replicate", today=day)
        assert res.returncode == 0, res.stdout + res.stderr
    got = obs(tmp_path, "replicate")
    assert got[(D, "runs", "meta/meta-llama-3-70b-instruct")] == (123_456_789.0, "")
    assert got[(D, "runs", "openai/gpt-oss-120b")] == (4_321.0, "")
    derived = query_db(db(tmp_path), "SELECT day, value, delta, flags FROM replicate_runs_daily "
                                     "WHERE subject = 'meta/meta-llama-3-70b-instruct' ORDER BY day")
    assert derived == [(D + dt.timedelta(days=1), 3_211.0, 3_211.0, ""),
                       (D + dt.timedelta(days=2), None, -10_000.0, "counter_backwards")]  # day 4: a gap
    assert query_db(db(tmp_path), "SELECT value FROM ecosystem_daily WHERE metric = 'runs' AND ecosystem = 'gpt' "
                                  "AND day = ?", [D]) == [(4_321.0,)]


def test_replicate_token_goes_only_to_replicate(fake, usage_cfg, tmp_path):
    fake.world.part("replicate").set("meta/meta-llama-3-70b-instruct", 10)
    fake.world.part("replicate").set("openai/gpt-oss-120b", 20)
    fake.world.part("ollama").set("llama3.1", 1)
    assert collect(usage_cfg, "replicate", "ollama").returncode == 3  # two Ollama models unknown
    assert all(e["auth"] for e in fake.log if e["path"].startswith("/replicate/"))
    assert not any(e["auth"] for e in fake.log if e["path"].startswith("/ollama/"))


# -- config ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("key,value,says", [
    ("ollama_models", ["Llama3.1"], "is not an Ollama model name"),
    ("replicate_models", ["no-owner"], "is not owner/name"),
    ("openrouter_authors", ["meta llama"], "is not an author"),
    ("openrouter_models", ["open ai/*"], "is not a pattern on permaslugs"),
])
def test_bad_usage_keys_are_one_line_and_exit_2(config_data, write_config, key, value, says):
    config_data["ecosystem"][0][key] = value
    res = run_cli("config", "check", config=write_config())
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1 and says in res.stderr and key in res.stderr
