"""ModelScope counters through the fake ModelScope API (prefix /modelscope), real CLI."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from jobs.config import ConfigError, parse_config
from tests.conftest import query_db, run_cli

TODAY = "2024-05-01"
MODELS = {"qwen": ["qwen/Qwen-7B-Chat"], "llama": ["ZhipuAI/chatglm3-6b", "baichuan-inc/Baichuan2-7B-Chat"]}


@pytest.fixture
def ms_cfg(fake, config_data, write_config):
    config_data["modelscope"] = {"api_url": fake.config_urls()["modelscope"]["api_url"]}
    config_data["ecosystem"].append({"key": "qwen", "label": "Qwen", "color": "#9467bd",
                                     "github_queries": ["qwen"]})
    for eco in config_data["ecosystem"]:
        eco["modelscope_models"] = MODELS.get(eco["key"], [])
    data = fake.world.part("modelscope")
    data.models.clear()
    data.set("qwen/Qwen-7B-Chat", Downloads=1_234_567, Stars=890)
    data.set("ZhipuAI/chatglm3-6b", Downloads=456_789, Stars=321)
    data.set("baichuan-inc/Baichuan2-7B-Chat", Downloads=98_765, Stars=43)
    return write_config()


def db_of(fake_tmp: Path) -> Path:
    return fake_tmp / "data" / "ecotrend.duckdb"


def stored(db: Path) -> dict[tuple[str, str], float]:
    rows = query_db(db, "SELECT subject, metric, value FROM observations WHERE source = 'modelscope'")
    return {(s, m): v for s, m, v in rows}


def collect(cfg: Path):
    return run_cli("collect", "--source", "modelscope", config=cfg, today=TODAY)


def test_numbers_exact_and_kept_out_of_family_totals(fake, ms_cfg, tmp_path):
    res = collect(ms_cfg)
    assert res.returncode == 0, res.stdout + res.stderr
    db = db_of(tmp_path)
    assert stored(db) == {
        ("qwen/Qwen-7B-Chat", "downloads_all_time"): 1_234_567.0, ("qwen/Qwen-7B-Chat", "likes"): 890.0,
        ("ZhipuAI/chatglm3-6b", "downloads_all_time"): 456_789.0, ("ZhipuAI/chatglm3-6b", "likes"): 321.0,
        ("baichuan-inc/Baichuan2-7B-Chat", "downloads_all_time"): 98_765.0,
        ("baichuan-inc/Baichuan2-7B-Chat", "likes"): 43.0,
    }
    assert query_db(db, "SELECT DISTINCT day, method FROM observations WHERE source = 'modelscope'") == \
        [(dt.date(2024, 5, 1), "snapshot")]
    assert fake.count(r"^/modelscope/api/v1/models/qwen/Qwen-7B-Chat$") == 1
    roles = query_db(db, "SELECT ecosystem, subject, role FROM memberships WHERE source = 'modelscope' "
                         "ORDER BY 1, 2")
    assert roles == [("llama", "ZhipuAI/chatglm3-6b", "item"), ("llama", "baichuan-inc/Baichuan2-7B-Chat", "item"),
                     ("qwen", "qwen/Qwen-7B-Chat", "item")]
    # items are charted one by one, never folded into a family total beside the Hub's counters
    assert query_db(db, "SELECT count(*) FROM ecosystem_daily WHERE metric IN ('downloads_all_time', 'likes')") \
        == [(0,)]
    # the same day again: same rows, no duplicates
    assert collect(ms_cfg).returncode == 0
    assert query_db(db, "SELECT count(*) FROM observations WHERE source = 'modelscope'") == [(6,)]


def test_missing_model_and_error_code_reported_rest_stored(fake, ms_cfg, tmp_path):
    data = fake.world.part("modelscope")
    del data.models["ZhipuAI/chatglm3-6b"]  # HTTP 404 with Code != 200
    res = collect(ms_cfg)
    assert res.returncode == 3
    assert "ZhipuAI/chatglm3-6b" in res.stdout and "Traceback" not in res.stderr
    db = db_of(tmp_path)
    assert ("ZhipuAI/chatglm3-6b", "downloads_all_time") not in stored(db)
    assert stored(db)[("qwen/Qwen-7B-Chat", "downloads_all_time")] == 1_234_567.0
    data.missing_status = 200  # a 200 whose Code says not found
    res = collect(ms_cfg)
    assert res.returncode == 3 and "Code 10010205" in res.stdout
    assert ("ZhipuAI/chatglm3-6b", "likes") not in stored(db)


@pytest.mark.parametrize("kind,times,says", [
    ("http_502", 5, "HTTP 502"),
    ("truncated", 1, "expected JSON"),
    ("html", 1, "expected JSON"),
])
def test_faults_store_nothing_for_that_model(fake, ms_cfg, tmp_path, kind, times, says):
    fake.inject(kind, r"/modelscope/api/v1/models/qwen/", times=times)
    res = collect(ms_cfg)
    assert res.returncode == 3, res.stdout
    assert says in res.stdout and "Traceback" not in res.stderr
    got = stored(db_of(tmp_path))
    assert not any(s == "qwen/Qwen-7B-Chat" for s, _ in got)
    assert got[("baichuan-inc/Baichuan2-7B-Chat", "downloads_all_time")] == 98_765.0


def test_schema_change_is_a_parse_error_never_a_zero(fake, ms_cfg, tmp_path):
    data = fake.world.part("modelscope")
    data.models["qwen/Qwen-7B-Chat"] = {"DownloadCount": 5, "Stars": 1}  # Downloads renamed
    data.models["ZhipuAI/chatglm3-6b"] = {"Downloads": 456_789}  # no Stars: downloads only
    res = collect(ms_cfg)
    assert res.returncode == 3
    assert "Data.Downloads is missing" in res.stdout
    got = stored(db_of(tmp_path))
    assert not any(s == "qwen/Qwen-7B-Chat" for s, _ in got)
    assert got[("ZhipuAI/chatglm3-6b", "downloads_all_time")] == 456_789.0
    assert ("ZhipuAI/chatglm3-6b", "likes") not in got


def test_all_models_failing_fails_the_source(fake, ms_cfg, tmp_path):
    fake.inject("not_found", r"/modelscope/", times=10)
    res = collect(ms_cfg)
    assert res.returncode == 3
    assert "modelscope: failed" in res.stdout and "all 3 models failed" in res.stdout


def test_site_and_address_config(tmp_path):
    base = {"ecosystem": [{"key": "qwen", "label": "Qwen", "modelscope_models": ["qwen/Qwen-7B-Chat"]}]}
    cfg = parse_config(base, tmp_path / "x.toml")
    assert cfg.modelscope.api_url == "https://modelscope.cn"
    cfg = parse_config({**base, "modelscope": {"site": "modelscope.ai"}}, tmp_path / "x.toml")
    assert cfg.modelscope.api_url == "https://modelscope.ai"
    cfg = parse_config({**base, "modelscope": {"api_url": "http://127.0.0.1:9/ms/"}}, tmp_path / "x.toml")
    assert cfg.modelscope.api_url == "http://127.0.0.1:9/ms"
    with pytest.raises(ConfigError, match="modelscope.site"):
        parse_config({**base, "modelscope": {"site": "not a domain"}}, tmp_path / "x.toml")
    with pytest.raises(ConfigError, match="modelscope_models: 'Qwen-7B' is not owner/model"):
        parse_config({"ecosystem": [{"key": "q", "label": "Q", "modelscope_models": ["Qwen-7B"]}]},
                     tmp_path / "x.toml")


def test_rate_limit_mid_run_keeps_the_models_fetched_before_it(fake, ms_cfg, tmp_path):
    # the last model asked (config order: llama's two, then qwen's) meets a limit that resets far past
    # [http] max_wait_seconds: the source stops, the two models fetched before stay stored
    fake.inject("hf_rate_limit", r"^/modelscope/api/v1/models/qwen/", times=1, reset_in=600)
    res = collect(ms_cfg)
    assert res.returncode == 3, res.stdout + res.stderr
    assert "modelscope: partial" in res.stdout and "1 models left for the next run" in res.stdout
    assert "Traceback" not in res.stderr
    assert stored(db_of(tmp_path)) == {
        ("ZhipuAI/chatglm3-6b", "downloads_all_time"): 456_789.0, ("ZhipuAI/chatglm3-6b", "likes"): 321.0,
        ("baichuan-inc/Baichuan2-7B-Chat", "downloads_all_time"): 98_765.0,
        ("baichuan-inc/Baichuan2-7B-Chat", "likes"): 43.0,
    }
