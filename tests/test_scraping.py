"""Scraped signals: GitHub "Used by" dependents and Trending, through the fake over real HTTP."""
from __future__ import annotations

import base64
import gzip
import json
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from collectors import github_dependents as gd
from collectors.errors import UpstreamError
from collectors.github_trending import matches, parse_rows
from collectors.web_common import parse_count
from jobs.config import ConfigError, parse_config
from tests.conftest import FakeTime, query_db, run_cli

FIXTURES = Path(__file__).parent / "fixtures" / "github_web"
DAY = "2026-11-20"


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def db(config_data: dict) -> Path:
    return Path(config_data["storage"]["database"])


def observed(config_data: dict, like: str) -> dict[tuple[str, str], tuple[float, str]]:
    rows = query_db(db(config_data), "SELECT subject, metric, value, flags FROM observations "
                                     "WHERE metric LIKE ? AND day = ?", [like, DAY])
    return {(s, m): (v, f) for s, m, v, f in rows}


def archived_bodies(config_data: dict, source: str = "github") -> list[bytes]:
    out = []
    for p in sorted((Path(config_data["storage"]["raw_dir"]) / DAY / source).rglob("*.json.gz")):
        with gzip.open(p, "rt", encoding="utf-8") as fh:
            out.append(base64.b64decode(json.load(fh)["body_b64"]))
    return out


@pytest.fixture
def scrape_config(config_data):
    config_data["github"]["web_pause_seconds"] = 0
    eco = {e["key"]: e for e in config_data["ecosystem"]}
    eco["llama"]["dependents"] = ["abetlen/llama-cpp-python", "ggml-org/llama.cpp", "ggml-org/llama.cpp:llama",
                                  "meta-llama/llama"]
    eco["gpt"]["dependents"] = ["openai/openai-python", "openai/openai-node"]
    return config_data


# -- numbers ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, value, abbreviated", [
    ("16,739", 16739, False), ("1,654", 1654, False), ("0", 0, False), ("316,905", 316905, False),
    ("1,234,567", 1234567, False), ("1.2k", 1200, True), ("2.5M", 2_500_000, True), ("16.7k", 16700, True),
    ("3k", 3000, True), (" 8,412\n ", 8412, False), ("1.05M", 1_050_000, True),
])
def test_counts_parse_exactly(text, value, abbreviated):
    assert parse_count(text) == (value, abbreviated)


@pytest.mark.parametrize("text", ["", "—", "1.2", "12,34", "1,2345", "about 5", "1.2345k", "-3"])
def test_non_counts_are_refused(text):
    with pytest.raises(ValueError):
        parse_count(text)


# -- dependents -------------------------------------------------------------------------------------
def test_dependents_variants_exact_counts(fake, scrape_config, write_config):
    cfg = write_config()
    r = run_cli("collect", "--source", "github_dependents", config=cfg, today=DAY)
    assert r.returncode == 0, r.stdout + r.stderr
    assert observed(scrape_config, "dependents_%") == {
        # first page of a single-package repository
        ("abetlen/llama-cpp-python", "dependents_repos"): (8412.0, ""),
        ("abetlen/llama-cpp-python", "dependents_packages"): (377.0, ""),
        # several packages: the default one (gguf) …
        ("ggml-org/llama.cpp", "dependents_repos"): (2961.0, ""),
        ("ggml-org/llama.cpp", "dependents_packages"): (143.0, ""),
        # … and the one the config names, fetched with its package_id
        ("ggml-org/llama.cpp:llama", "dependents_repos"): (1086.0, ""),
        ("ggml-org/llama.cpp:llama", "dependents_packages"): (0.0, ""),
        # GitHub's empty state says so explicitly: a real zero
        ("meta-llama/llama", "dependents_repos"): (0.0, ""),
        ("meta-llama/llama", "dependents_packages"): (0.0, ""),
        ("openai/openai-python", "dependents_repos"): (316905.0, ""),
        ("openai/openai-python", "dependents_packages"): (4118.0, ""),
        ("openai/openai-node", "dependents_repos"): (96114.0, ""),
        ("openai/openai-node", "dependents_packages"): (2730.0, ""),
    }
    # llama.cpp: the default page once per entry, the named package's page once
    assert fake.count(r"^/web/ggml-org/llama\.cpp/network/dependents$") == 3
    assert any(e["query"].get("package_id") == ["UGFja2FnZS01MjY4MDQ4Mw=="] for e in fake.log)
    kinds = dict(query_db(db(scrape_config), "SELECT subject, kind FROM subjects WHERE subject LIKE '%/%'"))
    assert kinds["ggml-org/llama.cpp:llama"] == "package" and kinds["openai/openai-node"] == "repo"
    family = {(e, m): v for e, m, v in query_db(
        db(scrape_config), "SELECT ecosystem, metric, value FROM ecosystem_daily WHERE metric LIKE "
                           "'dependents_%' AND day = ?", [DAY])}
    assert family == {("llama", "dependents_repos"): 8412 + 2961 + 1086 + 0,
                      ("llama", "dependents_packages"): 377 + 143 + 0 + 0,
                      ("gpt", "dependents_repos"): 316905 + 96114,
                      ("gpt", "dependents_packages"): 4118 + 2730}

    # the archive re-parses to the same observations, without the network
    before = fake.count(r"^/web/")
    stored = observed(scrape_config, "dependents_%")
    r = run_cli("collect", "--from-archive", DAY, "--source", "github_dependents", config=cfg)
    assert r.returncode == 0, r.stdout + r.stderr
    assert fake.count(r"^/web/") == before
    assert observed(scrape_config, "dependents_%") == stored


def test_dependents_changed_markup_fails_loudly_and_stores_nothing(fake, world, scrape_config, write_config):
    world.part("web").set_dependents("openai/openai-python", "dependents-changed-markup.html")
    scrape_config["ecosystem"][0].pop("dependents")
    scrape_config["ecosystem"][1]["dependents"] = ["openai/openai-node", "openai/openai-python"]
    cfg = write_config()
    r = run_cli("collect", "--source", "github_dependents", config=cfg, today=DAY)
    assert r.returncode == 3, r.stdout + r.stderr
    out = r.stdout + r.stderr
    assert "markup changed: /web/openai/openai-python/network/dependents has no 'N Repositories' count" in out
    assert "Traceback" not in out
    # openai-node parsed fine before the failure, but a markup change fails the whole source
    assert observed(scrape_config, "dependents_%") == {}
    status = query_db(db(scrape_config), "SELECT status, error FROM runs WHERE collector = 'github_dependents'")
    assert status[0][0] == "failed" and "markup changed" in status[0][1]
    # the raw page is archived, so a fixed selector can re-parse it …
    assert any(b"SegmentedControl" in b for b in archived_bodies(scrape_config))
    # … and re-parsing the archive now fails the same way, without the network and without a zero
    before = fake.count(r"^/web/")
    r = run_cli("collect", "--from-archive", DAY, "--source", "github_dependents", config=cfg)
    assert r.returncode == 3 and "markup changed" in r.stdout + r.stderr
    assert fake.count(r"^/web/") == before
    assert observed(scrape_config, "dependents_%") == {}


def test_dependents_unknown_package_is_one_failure_others_stored(fake, scrape_config, write_config):
    scrape_config["ecosystem"][0]["dependents"] = ["ggml-org/llama.cpp:nope", "abetlen/llama-cpp-python:x",
                                                   "abetlen/llama-cpp-python", "acme/missing"]
    scrape_config["ecosystem"][1].pop("dependents")
    r = run_cli("collect", "--source", "github_dependents", config=write_config(), today=DAY)
    assert r.returncode == 3
    out = r.stdout + r.stderr
    assert "ggml-org/llama.cpp lists no package 'nope' (it lists: gguf, llama)" in out
    assert observed(scrape_config, "dependents_%") == {
        ("abetlen/llama-cpp-python", "dependents_repos"): (8412.0, ""),
        ("abetlen/llama-cpp-python", "dependents_packages"): (377.0, ""),
    }
    err = query_db(db(scrape_config), "SELECT status, error FROM runs WHERE collector = 'github_dependents'")
    assert err[0][0] == "partial"
    assert "abetlen/llama-cpp-python:x: abetlen/llama-cpp-python shows no package selector" in err[0][1]
    assert "acme/missing" in err[0][1] and "404" in err[0][1]


def test_dependents_page_parsers_on_saved_variants():
    def counts(name):
        return gd.parse_counts(BeautifulSoup(fixture(name), "html.parser"))

    assert counts("dependents-first-page.html") == ({"repos": (8412, False), "packages": (377, False)}, False)
    assert counts("dependents-none.html") == ({"repos": (0, False), "packages": (0, False)}, True)
    assert counts("dependents-changed-markup.html") == ({}, False)
    assert gd.parse_packages(BeautifulSoup(fixture("dependents-several-packages.html"), "html.parser")) == [
        ("gguf", "UGFja2FnZS0zNDk4MjcxNjU=", True), ("llama", "UGFja2FnZS01MjY4MDQ4Mw==", False)]
    assert gd.parse_packages(BeautifulSoup(fixture("dependents-first-page.html"), "html.parser")) == []
    # a page that only says "Sign in" is not an empty state: no counts, so the collector fails loudly
    assert gd.parse_counts(BeautifulSoup("<html><body>Sign in to GitHub</body></html>", "html.parser")) == (
        {}, False)


@pytest.mark.parametrize("entry, ok", [("ggml-org/llama.cpp", True), ("openai/openai-node:@openai/agents", True),
                                       ("llama.cpp", False), ("ggml-org/llama.cpp:", False),
                                       ("https://github.com/a/b", False)])
def test_dependents_config_validated(tmp_path, entry, ok):
    raw = {"ecosystem": [{"key": "llama", "label": "LLaMA", "dependents": [entry]}]}
    if ok:
        assert parse_config(raw, tmp_path / "e.toml").ecosystems[0].dependents == (entry,)
    else:
        with pytest.raises(ConfigError, match="dependents: .* is not owner/repo or owner/repo:package"):
            parse_config(raw, tmp_path / "e.toml")


# -- trending ---------------------------------------------------------------------------------------
TREND_ECOS = [
    {"key": "llama", "label": "LLaMA", "trending_keywords": ["llama", "llama.cpp", "ollama"],
     "trending_exclude": ["animal"]},
    {"key": "gpt", "label": "GPT", "trending_keywords": ["gpt", "openai", "chatgpt"],
     "trending_exclude": ["partition"]},
    {"key": "falcon", "label": "Falcon", "trending_keywords": ["falcon"],
     "trending_exclude": ["microservices", "wsgi"]},
    {"key": "qwen", "label": "Qwen", "trending_keywords": ["qwen"]},
    {"key": "deepseek", "label": "DeepSeek", "trending_keywords": ["deepseek"]},
    {"key": "mistral", "label": "Mistral", "trending_keywords": ["mistral", "mixtral"]},
]

DAILY_ROWS = [  # rank, repo, language, stars, period_stars — exactly as the saved page shows
    (1, "mattpocock/skills", "Shell", 248641, 1601),  # its row starts with a Sponsor link
    (2, "ggml-org/llama.cpp", "C++", 92410, 412),
    (3, "ollama/ollama", "Go", 158220, 389),
    (4, "openai/codex", "Rust", 51002, 350),
    (5, "andes-wool/llama-facts", None, 1204, 96),
    (6, "falconry/falcon", "Python", 9791, 45),
    (7, "tiiuae/Falcon-H1", "Python", 1321, 28),
    (8, "IST-DASLab/gptq", "Python", 2301, 12),
    (9, "QwenLM/Qwen3", "Python", 25331, 140),
    (10, "deepseek-ai/DeepSeek-V3", "Python", 101004, 210),
    (11, "xss-lab/payloads", "HTML", 3120, None),
    (12, "rhboot/gpt-tools", "C", 880, 9),
    (13, "advimman/lama", "Python", 9102, 7),
    (14, "run-llama/llama_index", "Python", 44870, 66),
    (15, "karpathy/llama2.c", "C", 18770, 21),
]


@pytest.fixture
def trend_config(config_data):
    config_data["github"]["web_pause_seconds"] = 0
    config_data["ecosystem"] = [dict(e) for e in TREND_ECOS]
    config_data["event"] = []
    return config_data


def test_trending_rows_and_family_counts_exact(fake, trend_config, write_config):
    r = run_cli("collect", "--source", "github_trending", config=write_config(), today=DAY)
    assert r.returncode == 0, r.stdout + r.stderr
    daily = query_db(db(trend_config), "SELECT rank, repo, language, stars, period_stars FROM trending "
                                       "WHERE day = ? AND period = 'daily' ORDER BY rank", [DAY])
    assert daily == DAILY_ROWS
    weekly = query_db(db(trend_config), "SELECT rank, repo, period_stars FROM trending "
                                        "WHERE period = 'weekly' ORDER BY rank")
    assert weekly == [(1, "openai/gpt-oss", 2904), (2, "ggml-org/llama.cpp", 1877), (3, "microsoft/vscode", 640),
                      (4, "mattpocock/skills", 9950), (5, "unslothai/unsloth", 1020)]
    # upstream text is stored verbatim (entities decoded); escaping is the dashboards' job
    desc = dict(query_db(db(trend_config), "SELECT repo, description FROM trending WHERE period = 'daily'"))
    assert desc["xss-lab/payloads"] == "Collection of <script>alert(1)</script> payloads & filter bypasses"
    assert desc["deepseek-ai/DeepSeek-V3"] is None
    assert observed(trend_config, "trending_repos") == {
        # llama.cpp, ollama, llama_index, llama2.c — not the animal, not LaMa
        ("trending:llama", "trending_repos"): (4.0, ""),
        # ollama (OpenAI gpt-oss), openai/codex — not GPTQ, not the partition tool
        ("trending:gpt", "trending_repos"): (2.0, ""),
        # Falcon-H1 — not the falconry web framework
        ("trending:falcon", "trending_repos"): (1.0, ""),
        ("trending:qwen", "trending_repos"): (1.0, ""),
        ("trending:deepseek", "trending_repos"): (2.0, ""),  # ollama's description, DeepSeek-V3
        ("trending:mistral", "trending_repos"): (0.0, ""),  # the page had rows, none of them Mistral
        ("trending:llama:weekly", "trending_repos"): (1.0, ""),
        ("trending:gpt:weekly", "trending_repos"): (2.0, ""),
        ("trending:falcon:weekly", "trending_repos"): (0.0, ""),
        ("trending:qwen:weekly", "trending_repos"): (1.0, ""),
        ("trending:deepseek:weekly", "trending_repos"): (1.0, ""),
        ("trending:mistral:weekly", "trending_repos"): (0.0, ""),
    }
    fam = dict(query_db(db(trend_config), "SELECT ecosystem, value FROM ecosystem_daily "
                                          "WHERE metric = 'trending_repos' AND day = ?", [DAY]))
    assert fam == {"llama": 4, "gpt": 2, "falcon": 1, "qwen": 1, "deepseek": 2, "mistral": 0}
    # same day again: upserts, no duplicates
    r = run_cli("collect", "--source", "github_trending", config=write_config(), today=DAY)
    assert r.returncode == 0
    assert query_db(db(trend_config), "SELECT count(*), count(DISTINCT (day, period, rank)) FROM trending") == [
        (20, 20)]


def test_trending_changed_markup_fails_loudly_and_stores_nothing(fake, world, trend_config, write_config):
    # a redesign: rows became <li> items; nothing the selectors know remains
    redesign = fixture("trending-daily.html").replace("<article class=\"Box-row\">", "<li class=\"TrendRow\">") \
        .replace("</article>", "</li>")
    world.part("web").add_page("trending-redesign.html", redesign)
    world.part("web").trending["weekly"] = "trending-redesign.html"
    r = run_cli("collect", "--source", "github_trending", config=write_config(), today=DAY)
    assert r.returncode == 3
    assert ("markup changed: /web/trending?since=weekly has no trending rows "
            "(selector 'article.Box-row, ol.repo-list > li')") in r.stdout + r.stderr
    assert query_db(db(trend_config), "SELECT count(*) FROM trending") == [(0,)]  # not even the daily rows
    assert observed(trend_config, "trending_repos") == {}


def test_trending_bare_row_is_stored_with_null_parts(fake, trend_config, write_config):
    """Through the fake: the first daily row comes without star count and language (a new repository);
    the day's rows are all stored, that one with NULLs, and the family counts are as on a clean page."""
    fake.inject("bare_row", r"^/web/trending$", 1)
    r = run_cli("collect", "--source", "github_trending", config=write_config(trend_config), today=DAY)
    assert r.returncode == 0, r.stdout + r.stderr
    rows = query_db(db(trend_config), "SELECT rank, stars, language FROM trending WHERE period = 'daily' "
                                      "ORDER BY rank")
    assert rows[0] == (1, None, None) and all(s is not None for _, s, _ in rows[1:])


def test_trending_honours_429(fake, trend_config, write_config):
    fake.inject("retry_after", r"^/web/trending", times=1, seconds=0.2, status=429)
    r = run_cli("collect", "--source", "github_trending", config=write_config(), today=DAY)
    assert r.returncode == 0, r.stdout + r.stderr
    assert fake.count(r"^/web/trending", status=429) == 1
    assert fake.count(r"^/web/trending", status=200) == 2
    assert query_db(db(trend_config), "SELECT count(*) FROM trending") == [(20,)]


# -- keyword matching -------------------------------------------------------------------------------
@pytest.mark.parametrize("text, keywords, exclude, expected", [
    # word boundaries, case-insensitive
    ("ggml-org/llama.cpp LLM inference in C/C++", ["llama"], [], True),
    ("meta-llama/Llama-3.1 models", ["llama"], [], True),
    ("karpathy/llama2.c Inference Llama 2", ["llama"], [], True),  # a version may follow
    ("ollama/ollama Get up and running", ["llama"], [], False),  # not inside another word
    ("advimman/lama LaMa Image Inpainting", ["llama"], [], False),
    ("alpaca/llamas-of-peru photos of llamas", ["llama"], [], False),  # plural animal: a letter follows
    ("andes/llama-facts the llama, a South American animal", ["llama"], ["animal"], False),  # excluded
    ("LLAMA-Factory unified fine-tuning", ["llama"], [], True),
    # tokens with punctuation
    ("abetlen/llama-cpp-python bindings", ["llama.cpp"], [], True),  # '.' ~ '-'
    ("someone/notes about llama cpp", ["llama.cpp"], [], True),
    ("someone/llamacpp-ui", ["llama.cpp"], [], False),
    # GPT false friends
    ("IST-DASLab/gptq GPTQ quantization", ["gpt"], [], False),
    ("rhboot/gpt-tools repair GPT partition tables", ["gpt"], ["partition"], False),
    ("gdisk/gptfdisk GPT fdisk", ["gpt"], ["partition"], True),  # "GPT fdisk" still names GPT
    ("nomic-ai/gpt4all run LLMs locally", ["gpt"], [], True),
    ("ChatGPTNextWeb/NextChat", ["gpt"], [], False),
    ("ChatGPTNextWeb/NextChat", ["chatgpt"], [], False),  # camel case: one word
    ("lencx/ChatGPT desktop app", ["chatgpt"], [], True),
    ("openai/codex coding agent", ["openai"], [], True),
    ("x/y uses gpt-partition helpers", ["gpt"], ["gpt-partition"], False),
    # Falcon frameworks vs the model
    ("falconry/falcon The no-magic web API and microservices framework", ["falcon"], ["microservices"], False),
    ("falconry/falcon The no-magic web API", ["falcon-7b", "falcon3"], [], False),
    ("tiiuae/falcon3 Falcon3 family", ["falcon-7b", "falcon3"], [], True),
    ("x/run-falcon-7b-instruct", ["falcon-7b"], [], True),
    ("crowdstrike/falcon-scripts", ["falcon"], ["crowdstrike"], False),
    # others
    ("QwenLM/Qwen3 model series", ["qwen"], [], True),
    ("QwenLM/docs", ["qwen"], [], False),
    ("deepseek-ai/DeepSeek-R1", ["deepseek"], [], True),
    ("mistralai/mistral-inference", ["mistral", "mixtral"], [], True),
    ("x/mistrals-cookbook", ["mistral"], [], False),
])
def test_keyword_matching_false_friends(text, keywords, exclude, expected):
    assert matches(text, keywords, exclude) is expected


def test_trending_terms_validated(tmp_path):
    raw = {"ecosystem": [{"key": "x", "label": "X", "trending_keywords": ["c++", "++"]}]}
    with pytest.raises(ConfigError, match=r"trending_keywords: '\+\+' has no letter or digit"):
        parse_config(raw, tmp_path / "e.toml")


def test_fixture_pages_are_the_pages_the_fake_serves():
    """One home for saved pages: tests/fixtures/github_web is the fake's package data."""
    from collectors.fake.web import page, page_names

    assert FIXTURES.resolve() == (Path(__file__).parents[1] / "collectors" / "fake" / "pages").resolve()
    assert {p.name for p in FIXTURES.glob("*.html")} == set(page_names())
    assert page("trending-daily.html") == fixture("trending-daily.html")


# -- politeness -------------------------------------------------------------------------------------
def test_page_requests_are_spaced_per_host(fake):
    """Scraped pages keep [github] web_pause_seconds apart per host, on the client's own clock."""
    from collectors.http import HttpClient, ReplayClient
    from collectors.settings import HttpSettings

    t = FakeTime()
    slept = t.slept
    client = HttpClient(HttpSettings(retries=0), sleep=t.sleep, clock=t.clock)
    page = f"{fake.url}/pypistats/api/packages/nope/overall"
    get = lambda url: client.get(url, source="web", resource="web", ok=(200, 404), min_interval=2)
    get(page)
    assert slept == []  # the first request goes at once
    t.now += 0.5
    get(page)
    assert sum(slept) == pytest.approx(1.5)  # 2 s after the previous one
    get(page.replace("127.0.0.1", "localhost"))  # another host has its own spacing
    assert sum(slept) == pytest.approx(1.5)
    replay = ReplayClient({})
    assert replay.replaying and not client.replaying
    with pytest.raises(UpstreamError, match="not in the archive"):  # replaying never waits
        replay.get(page, source="web", resource="web", min_interval=2)
    assert sum(slept) == pytest.approx(1.5)


def test_estimate_counts_pages(tmp_path):
    from collectors.github_dependents import GithubDependents
    from collectors.github_trending import GithubTrending

    cfg = parse_config({"ecosystem": [
        {"key": "llama", "label": "L", "dependents": ["ggml-org/llama.cpp", "ggml-org/llama.cpp:llama"],
         "trending_keywords": ["llama"]},
        {"key": "gpt", "label": "G", "dependents": ["ggml-org/llama.cpp", "openai/openai-node"]},
    ]}, tmp_path / "e.toml").collector_settings()
    # an entry listed by two families is fetched once; a named package may need its own page
    assert GithubDependents().estimate(cfg) == {"web": 4}
    assert GithubTrending().estimate(cfg) == {"web": 2}
    mem = {(m.ecosystem, m.subject, m.role) for m in GithubDependents().memberships(cfg)}
    assert ("gpt", "ggml-org/llama.cpp", "member") in mem and ("llama", "ggml-org/llama.cpp", "member") in mem


def test_trending_page_for_another_period_is_refused():
    import datetime as dt

    from collectors.errors import ParseError
    with pytest.raises(ParseError, match="row 1 says 'this week'"):
        parse_rows(fixture("trending-weekly.html"), "daily", dt.date(2026, 11, 20), "http://x/trending?since=daily")


def test_dependents_of_a_renamed_repository_follow_the_redirect(fake, world, scrape_config, write_config):
    world.part("web").renamed["ggerganov/llama.cpp"] = "ggml-org/llama.cpp"
    scrape_config["ecosystem"][0]["dependents"] = ["ggerganov/llama.cpp", "ggerganov/llama.cpp:llama"]
    scrape_config["ecosystem"][1].pop("dependents")
    r = run_cli("collect", "--source", "github_dependents", config=write_config(), today=DAY)
    assert r.returncode == 0, r.stdout + r.stderr
    assert observed(scrape_config, "dependents_%") == {
        ("ggerganov/llama.cpp", "dependents_repos"): (2961.0, ""),
        ("ggerganov/llama.cpp", "dependents_packages"): (143.0, ""),
        ("ggerganov/llama.cpp:llama", "dependents_repos"): (1086.0, ""),
        ("ggerganov/llama.cpp:llama", "dependents_packages"): (0.0, ""),
    }
    assert dict(query_db(db(scrape_config), "SELECT subject, canonical FROM subjects")) == {
        "ggerganov/llama.cpp": "ggml-org/llama.cpp", "ggerganov/llama.cpp:llama": "ggml-org/llama.cpp:llama"}
    # the named package's page is asked at the new address, not through the redirect again
    assert fake.count(r"^/web/ggerganov/") == 2
    assert fake.count(r"^/web/ggml-org/llama\.cpp/network/dependents$") == 3


def test_fixed_selector_reparses_the_archived_day(fake, world, scrape_config, write_config, monkeypatch):
    """The workflow README promises: markup changes → fix SELECTORS → re-parse the archive, no network."""
    import datetime as dt

    from jobs import runner
    from jobs.config import load_config

    renamed_class = fixture("dependents-openai-python.html").replace("table-list-header-toggle",
                                                                     "dependents-type-toggle")
    world.part("web").add_page("openai-python-renamed-class.html", renamed_class)
    world.part("web").set_dependents("openai/openai-python", "openai-python-renamed-class.html")
    scrape_config["ecosystem"][0].pop("dependents")
    scrape_config["ecosystem"][1]["dependents"] = ["openai/openai-python"]
    cfg = write_config()
    r = run_cli("collect", "--source", "github_dependents", config=cfg, today=DAY)
    assert r.returncode == 3 and "markup changed" in r.stdout + r.stderr
    assert observed(scrape_config, "dependents_%") == {}

    before = fake.count(r"^/web/")
    monkeypatch.setitem(gd.SELECTORS, "toggle", "div.dependents-type-toggle a.btn-link")  # the fix
    day = dt.date.fromisoformat(DAY)
    outcome = runner.collect(load_config(cfg), day, ["github_dependents"], from_archive=day, say=lambda m: None)
    assert [(rec.collector, rec.status) for rec in outcome.records] == [("github_dependents", "ok")]
    assert fake.count(r"^/web/") == before
    assert observed(scrape_config, "dependents_%") == {
        ("openai/openai-python", "dependents_repos"): (316905.0, ""),
        ("openai/openai-python", "dependents_packages"): (4118.0, ""),
    }
