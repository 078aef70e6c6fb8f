"""The GitHub parsers on saved payloads, in process: exact values out, and a ParseError (never a stored
zero) for an answer or a page that lacks what it must hold."""
from __future__ import annotations

import datetime as dt
import json
import re
import logging
from pathlib import Path
from typing import Any

import pytest
from bs4 import BeautifulSoup

from collectors import github_common as gh
from collectors import github_dependents as gd
from collectors.base import Context
from collectors.errors import ParseError, SourceError
from collectors.github_repos import parse_repo
from collectors.github_stars import parse_weeks
from collectors.github_trending import parse_rows
from collectors.settings import Settings

FIXTURES = Path(__file__).parent / "fixtures"
DAY = dt.date(2026, 11, 20)
TRENDING_URL = "https://github.com/trending?since=daily"


def payload(name: str) -> Any:
    return json.loads((FIXTURES / "github" / name).read_text(encoding="utf-8"))


def page(name: str) -> str:
    return (FIXTURES / "github_web" / name).read_text(encoding="utf-8")


def soup(html: str) -> BeautifulSoup:
    return BeautifulSoup(html, "html.parser")


# -- search answer --------------------------------------------------------------------------------
def test_search_answer_total_items_and_completeness():
    total, items, incomplete = gh.parse_search(payload("search-llama.json"), "llama")
    assert (total, incomplete) == (61842, False)
    assert [(i["full_name"], i["created_at"]) for i in items] == [
        ("ggml-org/llama.cpp", "2023-03-10T18:58:00Z"), ("ollama/ollama", "2023-06-26T19:39:32Z")]
    total, items, incomplete = gh.parse_search(payload("search-incomplete.json"), "GPT-4")
    assert (total, len(items), incomplete) == (4102, 1, True)
    # a stated zero is a zero: total_count 0 with an empty list
    assert gh.parse_search(payload("search-empty.json"), "nothing") == (0, [], False)


def _broken_search(change: str) -> Any:
    data = payload("search-llama.json")
    if change == "no total":
        del data["total_count"]
    elif change == "total as text":
        data["total_count"] = "61842"
    elif change == "total as true":
        data["total_count"] = True
    elif change == "total as null":
        data["total_count"] = None
    elif change == "no items":
        del data["items"]
    elif change == "items as object":
        data["items"] = {}
    elif change == "a list":
        data = [data]
    elif change == "an HTML page":
        data = "<html><body>Unicorn!</body></html>"
    return data


@pytest.mark.parametrize("change", ["no total", "total as text", "total as true", "total as null", "no items",
                                    "items as object", "a list", "an HTML page"])
def test_search_answer_without_an_integer_total_or_items_is_a_parse_error(change):
    with pytest.raises(ParseError) as err:
        gh.parse_search(_broken_search(change), "llama")
    assert str(err.value) == "search answer for 'llama' has no integer total_count or no items"


class _Answer:
    status, headers = 200, {}  # type: ignore[var-annotated]

    def __init__(self, data: Any):
        self.data = data

    def json(self) -> Any:
        return self.data


class _ScriptedHttp:
    """Hands out the given answers in turn and records what was asked."""

    def __init__(self, *answers: Any):
        self.answers = list(answers)
        self.asked: list[dict[str, Any]] = []

    def get(self, url: str, **kw: Any) -> _Answer:
        self.asked.append({"url": url, **kw})
        return _Answer(self.answers.pop(0))


def _ctx(http: Any) -> Context:
    return Context(settings=Settings(), http=http, day=DAY, run_id="t", query=lambda sql, params=None: [],
                   state={}, log=logging.getLogger("test"))


def test_search_asks_once_more_when_incomplete_and_says_when_it_stays_so():
    complete, incomplete = payload("search-llama.json"), payload("search-incomplete.json")
    http = _ScriptedHttp(incomplete, complete)
    assert gh.search(_ctx(http), "llama", "github") == (61842, complete["items"], False)
    assert len(http.asked) == 2
    assert http.asked[0]["url"] == "https://api.github.com/search/repositories"
    assert http.asked[0]["params"] == {"q": "llama", "per_page": 1}
    assert http.asked[0]["resource"] == "search"
    http = _ScriptedHttp(incomplete, incomplete, complete)
    assert gh.search(_ctx(http), "GPT-4", "github") == (4102, incomplete["items"], True)
    assert len(http.asked) == 2  # asked twice, no more
    http = _ScriptedHttp(complete)
    calls: list[int] = []
    assert gh.search(_ctx(http), "llama", "github", 100, {"page": 2}, on_call=lambda: calls.append(1))[0] == 61842
    assert http.asked[0]["params"] == {"q": "llama", "per_page": 100, "page": 2} and calls == [1]


def test_search_stops_at_a_malformed_answer():
    http = _ScriptedHttp(_broken_search("no total"), payload("search-llama.json"))
    with pytest.raises(ParseError, match="no integer total_count"):
        gh.search(_ctx(http), "llama", "github")
    assert len(http.asked) == 1


# -- repository answer ----------------------------------------------------------------------------
def test_repository_answer_counters_and_name():
    values, canonical, missing = parse_repo(payload("repo-llama.json"), "meta-llama/llama")
    assert missing == []
    # watchers is subscribers_count (watchers_count repeats the stars); open_issues includes PRs
    assert values == {"stars": 58912, "forks": 9871, "watchers": 1003, "open_issues": 490}
    assert canonical == "meta-llama/llama"


def test_repository_answer_after_a_rename_names_the_new_repository():
    values, canonical, _ = parse_repo(payload("repo-renamed.json"), "ggerganov/llama.cpp")
    assert values == {"stars": 92410, "forks": 13870, "watchers": 604, "open_issues": 803}
    assert canonical == "ggml-org/llama.cpp"


@pytest.mark.parametrize("full_name", [None, "", "llama", 42])
def test_repository_answer_without_a_usable_full_name_keeps_the_configured_one(full_name):
    data = payload("repo-llama.json")
    data["full_name"] = full_name
    assert parse_repo(data, "meta-llama/llama")[1] == "meta-llama/llama"
    del data["full_name"]
    assert parse_repo(data, "meta-llama/llama")[1] == "meta-llama/llama"


@pytest.mark.parametrize("key,metric", [("stargazers_count", "stars"), ("forks_count", "forks"),
                                        ("subscribers_count", "watchers"), ("open_issues_count", "open_issues")])
@pytest.mark.parametrize("value", ["missing", None, "58912", 589.5, True, -1])
def test_repository_answer_without_one_counter_keeps_the_others(key, metric, value):
    """A counter that is missing or not a count costs that counter only (no row, never a zero)."""
    data = payload("repo-llama.json")
    if value == "missing":
        del data[key]
    else:
        data[key] = value
    values, canonical, missing = parse_repo(data, "meta-llama/llama")
    full = {"stars": 58912, "forks": 9871, "watchers": 1003, "open_issues": 490}
    assert values == {m: v for m, v in full.items() if m != metric} and missing == [key]


def test_repository_answer_without_any_counter_is_a_parse_error():
    data = {"full_name": "meta-llama/llama", "stargazers_count": "many"}
    with pytest.raises(ParseError) as err:
        parse_repo(data, "meta-llama/llama")
    assert str(err.value) == "meta-llama/llama: repository answer lacks an integer 'stargazers_count'"


@pytest.mark.parametrize("data", [[], "Not Found", None])
def test_repository_answer_that_is_no_object_is_a_parse_error(data):
    with pytest.raises(ParseError, match="^meta-llama/llama: repository answer is not an object$"):
        parse_repo(data, "meta-llama/llama")


def test_a_zero_counter_is_a_stated_zero():
    data = payload("repo-llama.json")
    data["open_issues_count"] = 0
    assert parse_repo(data, "meta-llama/llama")[0]["open_issues"] == 0


# -- star history ---------------------------------------------------------------------------------
def test_star_history_weeks_newest_first_with_seven_days_each():
    weeks = parse_weeks(payload("star-history.json"), "meta-llama/llama")
    assert weeks == [
        (dt.date(2026, 11, 15), [41, 58, 66, 73, 74, 0, 0]),
        (dt.date(2026, 11, 8), [39, 61, 70, 55, 62, 58, 44]),
        (dt.date(2026, 11, 1), [0, 0, 0, 0, 0, 0, 0]),
    ]
    assert all(start.weekday() == 6 for start, _ in weeks)  # GitHub's weeks start on Sunday (UTC)
    assert parse_weeks([], "meta-llama/llama") == []  # no stars yet: no weeks


def test_star_history_week_without_total_is_accepted():
    data = payload("star-history.json")
    del data[0]["total"]
    assert parse_weeks(data, "r/r")[0] == (dt.date(2026, 11, 15), [41, 58, 66, 73, 74, 0, 0])


def _history_with(change: str) -> Any:
    data = payload("star-history.json")
    w = data[1]
    if change == "six days":
        w["days"] = w["days"][:6]
    elif change == "eight days":
        w["days"] = w["days"] + [0]
    elif change == "a negative day":
        w["days"][2] = -1
    elif change == "a day as text":
        w["days"][2] = "70"
    elif change == "a day as true":
        w["days"][2] = True
    elif change == "a wrong total":
        w["total"] = 390
    elif change == "no week":
        del w["week"]
    elif change == "week as text":
        w["week"] = "2026-11-08"
    elif change == "no days":
        del w["days"]
    elif change == "a week that is a number":
        data[1] = 389
    elif change == "an object":
        data = {"weeks": data}
    return data


@pytest.mark.parametrize("change, message", [
    ("six days", "r/r: star history week 1794096000 does not hold 7 day counts"),
    ("eight days", "r/r: star history week 1794096000 does not hold 7 day counts"),
    ("a negative day", "r/r: star history week 1794096000 does not hold 7 day counts"),
    ("a day as text", "r/r: star history week 1794096000 does not hold 7 day counts"),
    ("a day as true", "r/r: star history week 1794096000 does not hold 7 day counts"),
    ("a wrong total", "r/r: star history week 1794096000: total 390 is not the sum of its days (389)"),
    ("no week", "r/r: star history week lacks 'week' or 'days'"),
    ("week as text", "r/r: star history week lacks 'week' or 'days'"),
    ("no days", "r/r: star history week lacks 'week' or 'days'"),
    ("a week that is a number", "r/r: star history week lacks 'week' or 'days'"),
    ("an object", "r/r: star history page is not a list of weeks"),
])
def test_star_history_of_another_shape_is_a_parse_error(change, message):
    with pytest.raises(ParseError) as err:
        parse_weeks(_history_with(change), "r/r")
    assert str(err.value) == message


# -- dependents page ------------------------------------------------------------------------------
@pytest.mark.parametrize("name, counts", [
    ("dependents-first-page.html", {"repos": (8412, False), "packages": (377, False)}),
    ("dependents-openai-python.html", {"repos": (316905, False), "packages": (4118, False)}),
    ("dependents-openai-node.html", {"repos": (96114, False), "packages": (2730, False)}),
    ("dependents-several-packages.html", {"repos": (2961, False), "packages": (143, False)}),
    ("dependents-several-packages-llama.html", {"repos": (1086, False), "packages": (0, False)}),
])
def test_dependents_counts(name, counts):
    assert gd.parse_counts(soup(page(name))) == (counts, False)
    assert gd.require_counts(soup(page(name)), "https://github.com/a/b/network/dependents", "2026-11-20") == counts


def test_dependents_abbreviated_count_is_flagged():
    html = page("dependents-first-page.html").replace("8,412", "8.4k")
    assert gd.parse_counts(soup(html))[0]["repos"] == (8400, True)


def test_dependents_empty_state_is_a_stated_zero():
    assert gd.parse_counts(soup(page("dependents-none.html"))) == (
        {"repos": (0, False), "packages": (0, False)}, True)


@pytest.mark.parametrize("html, what", [
    (page("dependents-changed-markup.html"), "'N Repositories'"),
    ("<html><body>Sign in to GitHub</body></html>", "'N Repositories'"),  # not an empty state
    (page("dependents-first-page.html").replace("Packages", "Paquets"), "'N Packages'"),
])
def test_dependents_page_without_counts_is_a_parse_error(html, what):
    with pytest.raises(ParseError) as err:
        gd.require_counts(soup(html), "https://github.com/a/b/network/dependents", "2026-11-20")
    assert str(err.value) == (
        f"markup changed: /a/b/network/dependents has no {what} count (selector "
        "'div.table-list-header-toggle a.btn-link'); nothing stored. The page is in the raw archive: fix "
        "SELECTORS in collectors/github_dependents.py, then "
        "`ecotrend collect --from-archive 2026-11-20 --source github_dependents`")


def test_dependents_package_selector():
    gguf, llama = "UGFja2FnZS0zNDk4MjcxNjU=", "UGFja2FnZS01MjY4MDQ4Mw=="
    several = gd.parse_packages(soup(page("dependents-several-packages.html")))
    assert several == [("gguf", gguf, True), ("llama", llama, False)]
    assert gd.parse_packages(soup(page("dependents-several-packages-llama.html"))) == [
        ("gguf", gguf, False), ("llama", llama, True)]
    assert gd.parse_packages(soup(page("dependents-first-page.html"))) == []
    assert gd.pick_package(several, "ggml-org/llama.cpp", "llama") == (llama, False)
    assert gd.pick_package(several, "ggml-org/llama.cpp", "gguf") == (gguf, True)


def test_dependents_package_not_in_the_selector_fails_that_entry():
    several = gd.parse_packages(soup(page("dependents-several-packages.html")))
    with pytest.raises(SourceError) as err:
        gd.pick_package(several, "ggml-org/llama.cpp", "gguf-py")
    assert not isinstance(err.value, ParseError)
    assert str(err.value) == "ggml-org/llama.cpp lists no package 'gguf-py' (it lists: gguf, llama)"
    with pytest.raises(SourceError) as err:
        gd.pick_package([], "openai/openai-python", "openai")
    assert str(err.value) == ("openai/openai-python shows no package selector, so package 'openai' cannot be "
                              "picked; configure plain 'openai/openai-python'")


@pytest.mark.parametrize("entry, parsed", [
    ("ggml-org/llama.cpp", ("ggml-org/llama.cpp", None)),
    ("openai/openai-node:@openai/agents", ("openai/openai-node", "@openai/agents")),
    (" ggml-org/llama.cpp : llama ", ("ggml-org/llama.cpp", "llama")),
])
def test_dependents_entry(entry, parsed):
    assert gd.parse_entry(entry) == parsed


class _Redirected:
    def __init__(self, url: str, redirected_from: str | None):
        self.url, self.redirected_from = url, redirected_from


def test_dependents_current_name_follows_a_redirect():
    moved = _Redirected("https://github.com/ggml-org/llama.cpp/network/dependents",
                        "https://github.com/ggerganov/llama.cpp/network/dependents")
    assert gd.current_name(moved, "ggerganov/llama.cpp") == "ggml-org/llama.cpp"
    stayed = _Redirected("https://github.com/ggml-org/llama.cpp/network/dependents", None)
    assert gd.current_name(stayed, "ggml-org/llama.cpp") == "ggml-org/llama.cpp"
    elsewhere = _Redirected("https://github.com/login", "https://github.com/a/b/network/dependents")
    assert gd.current_name(elsewhere, "a/b") == "a/b"


# -- trending page --------------------------------------------------------------------------------
def test_trending_daily_rows():
    rows = parse_rows(page("trending-daily.html"), "daily", DAY, TRENDING_URL)
    assert len(rows) == 15 and [r["rank"] for r in rows] == list(range(1, 16))
    assert all(r["day"] == DAY and r["period"] == "daily" for r in rows)
    assert rows[0] == {  # its row starts with a Sponsor link: the h2 names the repository
        "day": DAY, "period": "daily", "rank": 1, "repo": "mattpocock/skills",
        "description": "Skills for Real Engineers. Straight from my .agents directory.",
        "language": "Shell", "stars": 248641, "period_stars": 1601}
    assert rows[1] == {"day": DAY, "period": "daily", "rank": 2, "repo": "ggml-org/llama.cpp",
                       "description": "LLM inference in C/C++", "language": "C++", "stars": 92410,
                       "period_stars": 412}
    by_repo = {r["repo"]: r for r in rows}
    # optional parts: no language, no description, no "stars today"
    assert by_repo["andes-wool/llama-facts"]["language"] is None
    assert by_repo["deepseek-ai/DeepSeek-V3"]["description"] is None
    assert by_repo["xss-lab/payloads"]["period_stars"] is None
    assert by_repo["xss-lab/payloads"]["stars"] == 3120
    # text as the page shows it, entities decoded
    assert by_repo["xss-lab/payloads"]["description"] == \
        "Collection of <script>alert(1)</script> payloads & filter bypasses"
    assert [(r["repo"], r["stars"], r["period_stars"]) for r in rows[-3:]] == [
        ("advimman/lama", 9102, 7), ("run-llama/llama_index", 44870, 66), ("karpathy/llama2.c", 18770, 21)]


def test_trending_weekly_rows():
    rows = parse_rows(page("trending-weekly.html"), "weekly", DAY, TRENDING_URL)
    assert [(r["rank"], r["repo"], r["language"], r["stars"], r["period_stars"]) for r in rows] == [
        (1, "openai/gpt-oss", "Python", 19220, 2904), (2, "ggml-org/llama.cpp", "C++", 92410, 1877),
        (3, "microsoft/vscode", "TypeScript", 176000, 640), (4, "mattpocock/skills", "Shell", 248641, 9950),
        (5, "unslothai/unsloth", "Python", 47100, 1020)]
    assert {r["period"] for r in rows} == {"weekly"}


def test_trending_abbreviated_stars_are_read_as_numbers():
    html = page("trending-weekly.html").replace("176,000</a>", "176k</a>")
    rows = parse_rows(html, "weekly", DAY, TRENDING_URL)
    assert rows[2]["stars"] == 176000


@pytest.mark.parametrize("html, period, message", [
    ("<html><body><p>Trending</p></body></html>", "daily",
     "has no trending rows (selector 'article.Box-row, ol.repo-list > li')"),
    (page("trending-daily.html").replace('<h2 class="h3 lh-condensed">', '<div class="h3 lh-condensed">', 1),
     "daily", "has no repository link in row 1 (selector 'h2 a[href], h1 a[href], h3 a[href]')"),
    (page("trending-weekly.html"), "daily", "has no 'stars today' (row 1 says 'this week')"),
])
def test_trending_page_without_what_it_must_hold_is_a_parse_error(html, period, message):
    with pytest.raises(ParseError) as err:
        parse_rows(html, period, DAY, TRENDING_URL)
    assert f"markup changed: /trending?since=daily {message}" in str(err.value)
    assert str(err.value).endswith("`ecotrend collect --from-archive 2026-11-20 --source github_trending`")



# -- one failure policy over the parsed answers ----------------------------------------------------
class _Routes:
    """An HTTP client answering by path: a payload, or an error to raise."""

    def __init__(self, routes: dict[str, Any]):
        self.routes = routes
        self.asked: list[str] = []

    def get(self, url: str, **kw: Any) -> Any:
        path = url.split("://", 1)[1].split("/", 1)[1]
        self.asked.append(path)
        out = self.routes.get(path, SourceError(f"unexpected {path}"))
        if isinstance(out, Exception):
            raise out
        return _Page(out) if isinstance(out, str) else _Answer(out)

    def note_budget(self, *a: Any) -> None:
        pass


class _Page(_Answer):
    def __init__(self, html: str):
        super().__init__(None)
        self.body, self.url, self.redirected_from = html.encode(), "x", None


def _settings(**family: Any) -> Settings:
    from collectors.settings import Family
    return Settings(ecosystems=(Family("llama", "LLaMA", **family),))


def _run(collector: Any, routes: dict[str, Any], **family: Any) -> tuple[Any, _Routes]:
    http = _Routes(routes)
    ctx = Context(settings=_settings(**family), http=http, day=DAY, run_id="t",
                  query=lambda sql, params=None: [], state={}, log=logging.getLogger("test"))
    return collector.collect(ctx), http


def test_search_keeps_the_counts_before_a_spent_limit_and_names_the_rest():
    from collectors.errors import RateLimitExhausted
    from collectors.github_search import GithubSearch
    answers = iter([payload("search-llama.json"), RateLimitExhausted("search limit spent")])

    class Http(_Routes):
        def get(self, url: str, **kw: Any) -> Any:
            if url.endswith("/rate_limit"):
                return _Answer({})
            out = next(answers)
            if isinstance(out, Exception):
                raise out
            return _Answer(out)

    ctx = Context(settings=_settings(github_queries=("llama", "ollama", "llama.cpp", "llama")), http=Http({}),
                  day=DAY, run_id="t", query=lambda sql, params=None: [], state={}, log=logging.getLogger("t"))
    batch = GithubSearch().collect(ctx)
    assert [(o.subject, o.value) for o in batch.observations] == [("llama", 61842.0)]
    assert batch.failures == ["search limit spent; deferred 2 of 3 queries: 'ollama', 'llama.cpp'"]


def test_repos_fail_one_subject_and_defer_the_rest_at_a_spent_limit():
    from collectors.errors import NotFound, RateLimitExhausted
    from collectors.github_repos import GithubRepos
    batch, http = _run(GithubRepos(), {
        "rate_limit": {},
        "repos/meta-llama/llama": payload("repo-llama.json"),
        "repos/meta-llama/gone": NotFound("HTTP 451", status=451),
        "repos/meta-llama/broken": {"full_name": "meta-llama/broken"},
        "repos/a/b": RateLimitExhausted("core limit spent"),
    }, github_repos=("meta-llama/llama", "meta-llama/gone", "meta-llama/broken", "a/b", "c/d", "e/f", "g/h"))
    assert {(o.subject, o.metric): o.value for o in batch.observations} == {
        ("meta-llama/llama", "stars"): 58912.0, ("meta-llama/llama", "forks"): 9871.0,
        ("meta-llama/llama", "watchers"): 1003.0, ("meta-llama/llama", "open_issues"): 490.0}
    assert batch.failures == [
        "meta-llama/gone: unavailable for legal reasons (451)",
        "meta-llama/broken: meta-llama/broken: repository answer lacks an integer 'stargazers_count'",
        "deferred 4 repositories (a/b, c/d, e/f…): core limit spent; they can resume at its reset"]
    assert "repos/c/d" not in http.asked  # nothing asked after the limit


def test_repos_all_failing_fail_the_source():
    from collectors.github_repos import GithubRepos
    with pytest.raises(SourceError) as err:
        _run(GithubRepos(), {"rate_limit": {}, "repos/a/b": {}, "repos/c/d": {}}, github_repos=("a/b", "c/d"))
    assert str(err.value) == "all 2 repositories failed; first: a/b: a/b: repository answer lacks an integer " \
                             "'stargazers_count'"


def test_dependents_markup_change_fails_the_source_an_unknown_package_only_its_entry():
    from collectors.github_dependents import GithubDependents
    ok = page("dependents-openai-python.html")
    batch, _ = _run(GithubDependents(), {
        "openai/openai-python/network/dependents": ok,
        "ggml-org/llama.cpp/network/dependents": page("dependents-several-packages.html"),
    }, dependents=("openai/openai-python", "ggml-org/llama.cpp:gguf-py"))
    assert {(o.subject, o.metric): o.value for o in batch.observations} == {
        ("openai/openai-python", "dependents_repos"): 316905.0,
        ("openai/openai-python", "dependents_packages"): 4118.0}
    assert batch.failures == ["ggml-org/llama.cpp:gguf-py: ggml-org/llama.cpp lists no package 'gguf-py' "
                              "(it lists: gguf, llama)"]
    with pytest.raises(ParseError, match="markup changed"):
        _run(GithubDependents(), {
            "openai/openai-python/network/dependents": ok,
            "a/b/network/dependents": page("dependents-changed-markup.html"),
        }, dependents=("openai/openai-python", "a/b"))


# -- trending pages of the markups GitHub has served (archived days re-parse) -----------------------
def test_trending_2026_markup_recorded_row():
    """A real row (tests/fixtures/github_trending/README.md): name in an h2."""
    html = (FIXTURES / "github_trending" / "trending_2026_box_row_h2_excerpt.html").read_text(encoding="utf-8")
    (row,) = parse_rows(html, "daily", DAY, TRENDING_URL)
    assert (row["repo"], row["language"], row["stars"], row["period_stars"]) == ("tester-army/e2e", "TypeScript",
                                                                              4548, 1430)


def test_trending_2020_markup_recorded_row():
    """A real row of 2019-2022 (fixture README): name in an h1, description and language as then."""
    html = (FIXTURES / "github_trending" / "trending_2020_box_row_h1.html").read_text(encoding="utf-8")
    (row,) = parse_rows(html, "daily", DAY, TRENDING_URL)
    assert row["repo"] == "facebookexperimental/Recoil"
    assert row["description"].startswith("Recoil is an experimental state management library for React apps.")
    assert (row["language"], row["stars"], row["period_stars"], row["rank"]) == ("JavaScript", 2519, 876, 1)


def test_trending_list_item_markup_of_before_2019():
    """The shape of the rows before 2019 (``ol.repo-list > li``, name in an h3), reconstructed by hand
    from that markup: no recorded page of it was found."""
    html = """<html><body><ol class="repo-list">
      <li class="col-12 d-block width-full py-4 border-bottom" id="pa-alpha">
        <div class="d-inline-block col-9 mb-1"><h3><a href="/owner/alpha"><span class="text-normal">owner /
        </span>alpha</a></h3></div>
        <div class="py-1"><p class="col-9 d-inline-block text-gray m-0 pr-4">A llama runner.</p></div>
        <div class="f6 text-gray mt-2">
          <span class="d-inline-block mr-3"><span itemprop="programmingLanguage">Go</span></span>
          <a class="muted-link d-inline-block mr-3" href="/owner/alpha/stargazers">2,345</a>
          <span class="d-inline-block float-sm-right">120 stars today</span></div></li>
      <li class="col-12 d-block width-full py-4 border-bottom" id="pa-beta">
        <div class="d-inline-block col-9 mb-1"><h3><a href="/someone/beta">someone / beta</a></h3></div>
      </li></ol></body></html>"""
    rows = parse_rows(html, "daily", DAY, TRENDING_URL)
    assert [(r["rank"], r["repo"], r["description"], r["language"], r["stars"], r["period_stars"]) for r in rows] == [
        (1, "owner/alpha", "A llama runner.", "Go", 2345, 120), (2, "someone/beta", None, None, None, None)]


def test_trending_bare_row_keeps_its_place_with_the_missing_parts_null():
    """A new repository's row shows no star count (and may show no language or description): the row is
    stored with those NULL, and the page's other rows are read as usual."""
    html = page("trending-daily.html")
    bare = re.sub(r'<a[^>]*href="[^"]*/stargazers"[^>]*>.*?</a>', "", html, count=1, flags=re.S)
    bare = re.sub(r'<span itemprop="programmingLanguage">[^<]*</span>', "", bare, count=1)
    full, got = parse_rows(html, "daily", DAY, TRENDING_URL), parse_rows(bare, "daily", DAY, TRENDING_URL)
    assert len(got) == len(full) and got[1:] == full[1:]
    assert got[0] == {**full[0], "stars": None, "language": None}
