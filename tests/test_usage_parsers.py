"""Fast parser tests for the usage sources, on made-up edge cases and on real recorded answers
(tests/fixtures/openrouter, ollama, replicate; provenance in each folder's README)."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from collectors import ollama, openrouter, replicate
from collectors.base import Batch
from collectors.errors import ParseError
from collectors.fake.ollama import PAGE, shown
from collectors.http import Response
from collectors.settings import Family

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def fixture(path: str):
    return json.loads((FIXTURES / path).read_text(encoding="utf-8"))


# -- OpenRouter ----------------------------------------------------------------------------------------
def recorded_answer() -> dict:
    """The recorded rows (verbatim) in the Data API's envelope (the recording kept only the rows)."""
    by_day = fixture("openrouter/rankings_daily_2026-05-24_2026-05-25.json")
    rows = [row for day in by_day.values() for row in day.values()]
    return {"data": rows, "meta": {"as_of": "2026-05-26T00:00:00Z", "start_date": "2026-05-24",
                                   "end_date": "2026-05-25", "version": "recorded"}}


def test_recorded_rankings_parse_exactly():
    answer = recorded_answer()
    days, meta = openrouter.parse_rankings(answer, "recorded")
    assert meta == {"as_of": "2026-05-26T00:00:00Z", "version": "recorded"}
    assert sorted(days) == [dt.date(2026, 5, 24), dt.date(2026, 5, 25)]
    assert all(len(models) == 51 for models in days.values())  # the top 50 and 'other'
    assert days[dt.date(2026, 5, 24)]["other"] == 363_600_933_954
    assert days[dt.date(2026, 5, 25)]["other"] == 421_172_080_828
    assert days[dt.date(2026, 5, 24)]["deepseek/deepseek-v4-flash-20260423"] == 595_090_081_549
    for row in answer["data"]:  # every decimal string read exactly
        assert days[dt.date.fromisoformat(row["date"])][row["model_permaslug"]] == int(row["total_tokens"])


def test_recorded_rankings_family_sums_by_author():
    days, _ = openrouter.parse_rankings(recorded_answer(), "recorded")
    fams = [Family("deepseek", "DeepSeek", openrouter_authors=("deepseek",)),
            Family("nemotron", "Nemotron", openrouter_models=("nvidia/nemotron-*",))]
    for day in sorted(days):  # every recorded day
        batch = Batch("openrouter")
        openrouter.day_rows(batch, day, days[day], fams, None)
        got = {(o.metric, o.subject): o.value for o in batch.observations}
        total = sum(days[day].values())
        deepseek = sum(n for s, n in days[day].items() if s.startswith("deepseek/"))
        nemotron = sum(n for s, n in days[day].items() if s.startswith("nvidia/nemotron-"))
        assert any(s.endswith(":free") and s.startswith("nvidia/nemotron-") for s in days[day])  # :free counted
        assert got[("tokens_day", "total")] == total
        assert got[("tokens_day", "family:deepseek")] == deepseek
        assert got[("token_share", "family:deepseek")] == pytest.approx(deepseek / total, rel=1e-15)
        assert got[("tokens_day", "family:nemotron")] == nemotron
        assert ("open_weight_token_share", "open_weight") not in got  # no model list: no share, never a guess
    assert len(days) == 2


@pytest.mark.parametrize("value,want", [("595090081549", 595_090_081_549), ("0", 0),
                                        ("123456789012345678901", 123_456_789_012_345_678_901), (42, 42)])
def test_tokens_exact(value, want):
    assert openrouter.parse_tokens(value, "t") == want


@pytest.mark.parametrize("value", ["1.5", "-3", "abc", "", None, True, 1.0, "NaN", "Infinity"])
def test_tokens_refused(value):
    with pytest.raises(ParseError):
        openrouter.parse_tokens(value, "t")


@pytest.mark.parametrize("answer,says", [
    ({"meta": {"as_of": "x"}}, "no data list"),
    ({"data": [], "meta": {}}, "no meta.as_of"),
    ({"data": [{"date": "2025-01-01", "total_tokens": "1"}], "meta": {"as_of": "x"}}, "no model_permaslug"),
    ({"data": [{"date": "soon", "model_permaslug": "a/b", "total_tokens": "1"}], "meta": {"as_of": "x"}},
     "bad date"),
])
def test_rankings_refused(answer, says):
    with pytest.raises(ParseError, match=says):
        openrouter.parse_rankings(answer, "w")


def test_families_and_weights():
    fams = [Family("llama", "L", openrouter_authors=("meta-llama",)),
            Family("gpt", "G", openrouter_models=("openai/gpt-4o*",)),
            Family("all-openai", "O", openrouter_authors=("openai",))]
    assert openrouter.family_of("meta-llama/llama-3.1-8b-instruct:free", fams) == "llama"
    assert openrouter.family_of("Meta-Llama/Llama-3-70B", fams) == "llama"
    assert openrouter.family_of("meta-llama-fork/x", fams) is None  # an author is a whole prefix
    assert openrouter.family_of("openai/gpt-4o-2024-08-06", fams) == "gpt"  # first family wins
    assert openrouter.family_of("openai/o3", fams) == "all-openai"
    weights = openrouter.parse_models({"data": [
        {"id": "meta-llama/llama-3.1-8b-instruct", "canonical_slug": "meta-llama/llama-3.1-8b-instruct-2024-07-23",
         "hugging_face_id": "meta-llama/Meta-Llama-3.1-8B-Instruct"},
        {"id": "openai/gpt-4o", "canonical_slug": "openai/gpt-4o-2024-05-13", "hugging_face_id": ""},
        {"id": "x/y", "hugging_face_id": None}]})
    assert openrouter.weights_of("meta-llama/llama-3.1-8b-instruct-2024-07-23:free", weights) is True
    assert openrouter.weights_of("meta-llama/llama-3.1-8b-instruct", weights) is True
    assert openrouter.weights_of("openai/gpt-4o-2024-05-13", weights) is False
    assert openrouter.weights_of("gone/model", weights) is None


def test_windows_cover_each_day_once_and_replay_finds_them():
    ws = openrouter.chunks(dt.date(2025, 1, 1), dt.date(2025, 3, 9))
    assert ws[0] == (dt.date(2025, 1, 1), dt.date(2025, 1, 31)) and ws[-1][1] == dt.date(2025, 3, 9)
    assert sum((e - s).days + 1 for s, e in ws) == 68
    urls = [f"http://h/api/v1/datasets/rankings-daily?start_date={s}&end_date={e}" for s, e in ws]
    assert openrouter.windows_of(urls + ["http://h/api/v1/models"]) == ws


# -- Ollama --------------------------------------------------------------------------------------------
def page(text: str) -> Response:
    return Response(200, {}, PAGE.format(name="m", pulls=text).encode(), "http://h/library/m")


def test_recorded_pull_counts_parse_exactly_and_flagged():
    top = fixture("ollama/models_registry_2026-03-22_trimmed.json")["topModels"]
    got = {m["name"]: ollama.parse_pulls(page(m["pullCount"]), m["name"], "2026-03-22") for m in top}
    assert got["llama3.1"] == (111_800_000, True)
    assert got["deepseek-r1"] == (80_600_000, True)
    assert got["gemma3"] == (34_000_000, True)
    assert got["gpt-oss"] == (8_000_000, True)
    assert all(rounded for _, rounded in got.values())


@pytest.mark.parametrize("text,want", [("111.8M", (111_800_000, True)), ("2.3K", (2_300, True)),
                                       ("999", (999, False)), ("1,234", (1_234, False)),
                                       ("1.2B", (1_200_000_000, True))])
def test_pulls(text, want):
    assert ollama.parse_pulls(page(text), "m", "2025-01-01") == want


def test_pulls_missing_or_garbled_is_markup_changed():
    with pytest.raises(ParseError, match="markup changed"):
        ollama.parse_pulls(Response(200, {}, b"<html><body>no count</body></html>", "http://h/library/m"),
                           "m", "2025-01-01")
    with pytest.raises(ParseError, match="markup changed"):
        ollama.parse_pulls(page("many"), "m", "2025-01-01")


def test_fake_shows_what_ollama_shows():
    assert [shown(n) for n in (111_803_422, 80_649_000, 2_345, 999, 1_250_000_000)] == \
        ["111.8M", "80.6M", "2.3K", "999", "1.3B"]
    assert ollama.page_path("llama3.1") == "/library/llama3.1" and ollama.page_path("u/m") == "/u/m"


# -- Replicate -----------------------------------------------------------------------------------------
def test_recorded_models_run_count_as_given():
    for m in fixture("replicate/models_lite_trimmed.json"):
        key = f"{m['owner']}/{m['name']}"
        assert replicate.parse_model(m, key) == (m["run_count"], key)
    runs = {f"{m['owner']}/{m['name']}": m["run_count"] for m in fixture("replicate/models_lite_trimmed.json")}
    assert runs["nicolascoutureau/video-utils"] == 1_229_122 and runs["lucataco/video-merge"] == 613


@pytest.mark.parametrize("answer", [{}, {"run_count": "12"}, {"run_count": -1}, {"run_count": True},
                                    {"run_count": 1.5}, [], None])
def test_run_count_refused(answer):
    with pytest.raises(ParseError):
        replicate.parse_model(answer, "a/b")
