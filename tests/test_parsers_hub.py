"""The hub and registry parsers, in process: exact values from well-formed answers, a ParseError (never a
zero) from malformed ones.  Hugging Face model answers and listing totals, pypistats' overall, npm's
ranges, the Arena Space's tables (2023 and 2024 shapes) and dataset Parquet, ModelScope's model answer."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest

from collectors.arena import parse_table, read_dataset
from collectors.errors import NotFound, ParseError, UpstreamError
from collectors.hf_models import ModelRow, parse_model, totals
from collectors.modelscope import parse_model as parse_modelscope
from collectors.npm import parse_range
from collectors.pypi import parse_overall

FIXTURES = Path(__file__).resolve().parent / "fixtures"
SCORES = ("Arena Elo rating", "Arena Score")


# -- Hugging Face -----------------------------------------------------------------------------------
def test_hub_model_answer_gives_its_four_figures():
    item = {"_id": "64b7f9", "id": "meta-llama/Llama-2-7b-hf", "downloads": 1_234_567,
            "downloadsAllTime": 98_765_432, "likes": 2_048, "createdAt": "2023-07-13T16:17:54.000Z"}
    assert parse_model(item, "author:meta-llama") == ModelRow("meta-llama/Llama-2-7b-hf", 1_234_567,
                                                             98_765_432, 2_048)
    assert parse_model({**item, "downloads": 0, "likes": 0}, "x") == ModelRow(item["id"], 0, 98_765_432, 0)


@pytest.mark.parametrize("item,says", [
    ([], "a model entry has no id"),
    (None, "a model entry has no id"),
    ({"downloads": 1, "downloadsAllTime": 2, "likes": 3}, "a model entry has no id"),
    ({"id": 7, "downloads": 1, "downloadsAllTime": 2, "likes": 3}, "a model entry has no id"),
])
def test_hub_model_answer_without_an_id_is_a_parse_error(item, says):
    with pytest.raises(ParseError, match=f"^search:llama: .*{says}"):
        parse_model(item, "search:llama")


@pytest.mark.parametrize("item,row,missing", [
    ({"id": "a/b", "downloadsAllTime": 2, "likes": 3}, ModelRow("a/b", None, 2, 3), ["downloads"]),
    ({"id": "a/b", "downloads": 1, "likes": 3}, ModelRow("a/b", 1, None, 3), ["downloadsAllTime"]),
    ({"id": "a/b", "downloads": 1, "downloadsAllTime": 2}, ModelRow("a/b", 1, 2, None), ["likes"]),
    ({"id": "a/b", "downloads": "1", "downloadsAllTime": 2, "likes": 3}, ModelRow("a/b", None, 2, 3), ["downloads"]),
    ({"id": "a/b", "downloads": 1.5, "downloadsAllTime": 2, "likes": 3}, ModelRow("a/b", None, 2, 3), ["downloads"]),
    ({"id": "a/b", "downloads": True, "downloadsAllTime": 2, "likes": 3}, ModelRow("a/b", None, 2, 3), ["downloads"]),
    ({"id": "a/b", "downloads": 1, "downloadsAllTime": -2, "likes": 3}, ModelRow("a/b", 1, None, 3),
     ["downloadsAllTime"]),
    ({"id": "a/b", "downloads": 1, "downloadsAllTime": 2, "likes": None}, ModelRow("a/b", 1, 2, None), ["likes"]),
])
def test_hub_model_answer_missing_a_figure_keeps_the_others(item, row, missing):
    """A missing or malformed count costs that figure only (None: no row, never a zero)."""
    got = parse_model(item, "search:llama")
    assert got == row and got.missing == missing


def test_hub_listing_totals_sum_each_model_once():
    rows = [ModelRow("a/x", 10, 100, 1), ModelRow("a/y", 20, 200, 2), ModelRow("b/z", 5, 7_000, 0)]
    assert totals(rows) == {"model_count": (3, ""), "downloads_30d": (35, ""), "downloads_all_time": (7_300, ""),
                            "likes": (3, "")}
    assert totals(iter(rows)) == totals(rows)  # any iterable, read once
    assert totals([]) == {"model_count": (0, ""), "downloads_30d": (0, ""), "downloads_all_time": (0, ""),
                          "likes": (0, "")}


def test_hub_listing_totals_without_some_figures_are_lower_bounds():
    rows = [ModelRow("a/x", 10, None, 1), ModelRow("a/y", 20, 200, None), ModelRow("b/z", 5, None, None)]
    assert totals(rows) == {"model_count": (3, ""), "downloads_30d": (35, ""),
                            "downloads_all_time": (200, "incomplete"), "likes": (1, "incomplete")}
    assert totals([ModelRow("a/x", 10, None, 1)])["downloads_all_time"] == (None, "incomplete")  # no row


# -- pypistats --------------------------------------------------------------------------------------
def test_pypistats_overall_keeps_the_days_without_mirrors():
    data = {"category": None, "package": "llama-cpp-python", "type": "overall_downloads", "data": [
        {"category": "with_mirrors", "date": "2024-05-01", "downloads": 9_999},
        {"category": "without_mirrors", "date": "2024-05-01", "downloads": 1_234},
        {"category": "without_mirrors", "date": "2024-05-02", "downloads": 0},
        {"category": "with_mirrors", "date": "2024-05-02", "downloads": 8_888},
        {"category": "without_mirrors", "date": "2024-05-03", "downloads": 5_678},
    ]}
    assert parse_overall(data, "llama-cpp-python") == {
        dt.date(2024, 5, 1): 1_234, dt.date(2024, 5, 2): 0, dt.date(2024, 5, 3): 5_678}
    assert parse_overall({"data": []}, "p") == {}
    assert parse_overall({"data": [{"category": "with_mirrors", "date": "x", "downloads": "y"}]}, "p") == {}


@pytest.mark.parametrize("data,says", [
    ([], "has no data list"),
    ({"data": None}, "has no data list"),
    ({"rows": []}, "has no data list"),
    ({"data": ["2024-05-01"]}, "a row is not an object"),
    ({"data": [{"category": "without_mirrors", "date": "05/01/2024", "downloads": 1}]}, "bad date '05/01/2024'"),
    ({"data": [{"category": "without_mirrors", "downloads": 1}]}, "bad date None"),
])
def test_pypistats_overall_malformed_is_a_parse_error(data, says):
    with pytest.raises(ParseError, match=f"^pypistats answer for 'openai'.*{says}"):
        parse_overall(data, "openai")


@pytest.mark.parametrize("bad", [{}, {"downloads": "12"}, {"downloads": -1}, {"downloads": False}])
def test_pypistats_day_without_a_count_costs_that_day_only(bad):
    """A day row without an integer count: that day has no row (never a zero), the others are kept and
    the day is named; strict parsing still refuses it."""
    data = {"data": [{"category": "without_mirrors", "date": "2024-05-01", **bad},
                     {"category": "without_mirrors", "date": "2024-05-02", "downloads": 7}]}
    got = parse_overall(data, "openai")
    assert got == {dt.date(2024, 5, 2): 7} and got.skipped == ["2024-05-01"]
    with pytest.raises(ParseError, match="no integer downloads on 2024-05-01"):
        parse_overall(data, "openai", strict=True)


# -- npm --------------------------------------------------------------------------------------------
def test_npm_range_gives_each_day():
    data = {"start": "2024-05-01", "end": "2024-05-03", "package": "@mistralai/mistralai", "downloads": [
        {"downloads": 1_200, "day": "2024-05-01"}, {"downloads": 0, "day": "2024-05-02"},
        {"downloads": 3_400, "day": "2024-05-03"}]}
    assert parse_range(data, "@mistralai/mistralai") == {
        dt.date(2024, 5, 1): 1_200, dt.date(2024, 5, 2): 0, dt.date(2024, 5, 3): 3_400}
    assert parse_range({"downloads": []}, "openai") == {}


@pytest.mark.parametrize("bad", [{}, {"downloads": 2.5}, {"downloads": -3}])
def test_npm_day_without_a_count_costs_that_day_only(bad):
    got = parse_range({"downloads": [{"day": "2024-05-01", **bad}, {"day": "2024-05-02", "downloads": 4}]}, "openai")
    assert got == {dt.date(2024, 5, 2): 4} and got.skipped == ["2024-05-01"]


def test_npm_error_answer_is_an_upstream_error():
    with pytest.raises(UpstreamError, match="^npm: no-such-pkg: package no-such-pkg not found$"):
        parse_range({"error": "package no-such-pkg not found"}, "no-such-pkg")


@pytest.mark.parametrize("data,says", [
    (["2024-05-01"], "is not an object"),
    (None, "is not an object"),
    ({"start": "2024-05-01"}, "has no downloads list"),
    ({"downloads": {"2024-05-01": 3}}, "has no downloads list"),
    ({"downloads": [{"downloads": 3}]}, "a row has no day"),
    ({"downloads": ["2024-05-01"]}, "a row has no day"),
    ({"downloads": [{"day": "May 1", "downloads": 3}]}, "a row has no day"),
])
def test_npm_range_malformed_is_a_parse_error(data, says):
    with pytest.raises(ParseError, match=f"^npm answer for 'openai'.* {says}"):
        parse_range(data, "openai")


# -- Arena: the Space's tables ------------------------------------------------------------------------
def test_space_table_2023_shape_from_the_blog_fixture():
    path = FIXTURES / "arena" / "lmsys_blog_20230622_table1.csv"
    table = parse_table(path, "leaderboard_table_20230622.csv", dt.date(2023, 6, 22), SCORES)
    assert table.score_column == "Arena Elo rating"
    assert table.notes == []  # every column of the 2023 shape is known
    assert len(table.rows) == 31
    assert table.rows[0] == {"day": dt.date(2023, 6, 22), "arena": "text", "model": "GPT-4", "organization": None,
                             "license": "Proprietary", "score": 1227.0, "rank": None, "votes": None,
                             "origin": "space:leaderboard_table_20230622.csv"}
    by_model = {r["model"]: r for r in table.rows}
    assert by_model["Vicuna-33B"]["score"] is None  # "-": no score, never a zero
    assert by_model["Vicuna-33B"]["license"] == "Non-commercial"
    assert by_model["LLaMA-13B"]["score"] == 826.0
    assert sum(1 for r in table.rows if r["score"] is not None) == 20


def test_space_table_2024_shape_has_no_score(tmp_path):
    path = tmp_path / "leaderboard_table_20240202.csv"
    path.write_text("key,Model,MT-bench (score),MMLU,Knowledge cutoff date,License,Organization,Link\n"
                    "gpt-4-turbo,GPT-4-Turbo,9.32,-,2023/4,Proprietary,OpenAI,https://openai.com\n"
                    "mixtral-8x7b-instruct-v0.1,Mixtral-8x7b-Instruct-v0.1,8.30,70.6,2023/12,Apache 2.0,"
                    "Mistral,https://mistral.ai\n"
                    "gpt-4-turbo,GPT-4-Turbo,9.32,-,2023/4,Proprietary,OpenAI,https://openai.com\n",
                    encoding="utf-8")
    table = parse_table(path, path.name, dt.date(2024, 2, 2), SCORES)
    assert table.score_column is None
    assert [(r["model"], r["organization"], r["license"], r["score"]) for r in table.rows] == [
        ("GPT-4-Turbo", "OpenAI", "Proprietary", None),
        ("Mixtral-8x7b-Instruct-v0.1", "Mistral", "Apache 2.0", None)]
    assert table.notes == [f"{path.name}: model 'GPT-4-Turbo' listed twice; the first row kept"]


def test_space_table_renamed_score_column_is_found_by_its_configured_name(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("Model,Arena Score,License\nA,\"1,250\",MIT\nB,1100.5,Proprietary\n", encoding="utf-8")
    table = parse_table(path, "t.csv", dt.date(2023, 12, 6), SCORES)
    assert table.score_column == "Arena Score"
    assert [(r["model"], r["score"]) for r in table.rows] == [("A", 1250.0), ("B", 1100.5)]


@pytest.mark.parametrize("text,says", [
    ("Name,Arena Elo rating\nGPT-4,1200\n", "no 'Model' column"),
    ("Model,Arena Elo\nGPT-4,1200\n", "column 'Arena Elo' looks like a renamed score column"),
    ("Model,Arena Elo rating,License\n", "the table has no rows"),
    ("Model,Arena Elo rating\n-,1200\n,1100\n", "no row names a model"),
    ("Model,Arena Elo rating\nGPT-4,high\n", "model 'GPT-4': 'high' is not a number"),
])
def test_space_table_malformed_is_a_parse_error(tmp_path, text, says):
    path = tmp_path / "t.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ParseError, match=f"^t.csv.*{says}"):
        parse_table(path, "t.csv", dt.date(2023, 6, 22), SCORES)


def test_space_table_that_is_no_csv_is_a_parse_error(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00")
    with pytest.raises(ParseError, match="^t.csv: "):
        parse_table(path, "t.csv", dt.date(2023, 6, 22), SCORES)


# -- Arena: the dataset's Parquet --------------------------------------------------------------------
def write_parquet(path: Path, select: str) -> Path:
    con = duckdb.connect()
    try:
        con.execute(f"COPY ({select}) TO '{path}' (FORMAT parquet)")
    finally:
        con.close()
    return path


DATASET_ROWS = """SELECT * FROM (VALUES
    ('gpt-4-0314', 'OpenAI', 'Proprietary', 1186.5, 3, 80000, 'overall', TIMESTAMP '2024-03-01 00:00:00'),
    ('llama-2-70b-chat', 'Meta', 'Llama 2 Community', 1077.0, 20, 40000, 'overall', TIMESTAMP '2024-03-01'),
    ('llama-2-70b-chat', 'Meta', 'Llama 2 Community', 1090.0, 18, 41000, 'coding', TIMESTAMP '2024-03-01'),
    ('gpt-4-0314', 'OpenAI', 'Proprietary', 1190.0, 2, 90000, 'overall', TIMESTAMP '2024-03-15'),
    ('gpt-4-0314', 'OpenAI', 'Proprietary', 1190.0, 2, 90000, 'overall', TIMESTAMP '2024-03-15')
) AS t(model_name, organization, license, rating, rank, vote_count, category, leaderboard_publish_date)"""


def test_dataset_rows_of_one_category_by_day(tmp_path):
    path = write_parquet(tmp_path / "full-00000-of-00001.parquet", DATASET_ROWS)
    got = read_dataset([path], "ds text/full", "overall", "text")
    origin = "dataset:ds text/full"
    assert got == {
        dt.date(2024, 3, 1): [
            {"day": dt.date(2024, 3, 1), "arena": "text", "model": "gpt-4-0314", "organization": "OpenAI",
             "license": "Proprietary", "score": 1186.5, "rank": 3, "votes": 80000, "origin": origin},
            {"day": dt.date(2024, 3, 1), "arena": "text", "model": "llama-2-70b-chat", "organization": "Meta",
             "license": "Llama 2 Community", "score": 1077.0, "rank": 20, "votes": 40000, "origin": origin}],
        # a model listed twice on one day is stored once
        dt.date(2024, 3, 15): [
            {"day": dt.date(2024, 3, 15), "arena": "text", "model": "gpt-4-0314", "organization": "OpenAI",
             "license": "Proprietary", "score": 1190.0, "rank": 2, "votes": 90000, "origin": origin}],
    }
    assert set(read_dataset([path], "ds", "coding", "text")) == {dt.date(2024, 3, 1)}


def test_dataset_score_column_named_score_and_optional_columns_absent(tmp_path):
    path = write_parquet(tmp_path / "x.parquet", "SELECT 'm' AS model_name, 1000 AS score, 'overall' AS category, "
                                                 "'2024-04-02' AS leaderboard_publish_date")
    assert read_dataset([path], "ds", "overall", "vision") == {dt.date(2024, 4, 2): [
        {"day": dt.date(2024, 4, 2), "arena": "vision", "model": "m", "organization": None, "license": None,
         "score": 1000.0, "rank": None, "votes": None, "origin": "dataset:ds"}]}


@pytest.mark.parametrize("select,says", [
    ("SELECT 'm' AS model_name, 1 AS rating, 'overall' AS category", "lacks column\\(s\\) leaderboard_publish_date"),
    ("SELECT 'm' AS model_name, 'overall' AS category, DATE '2024-01-01' AS leaderboard_publish_date",
     "lacks column\\(s\\) rating"),
    ("SELECT 'm' AS model_name, 1 AS rating, 'overall' AS category, 'soon' AS leaderboard_publish_date",
     "leaderboard_publish_date 'soon' is not a date"),
])
def test_dataset_malformed_is_a_parse_error(tmp_path, select, says):
    path = write_parquet(tmp_path / "x.parquet", select)
    with pytest.raises(ParseError, match=f"^ds text/full: .*{says}"):
        read_dataset([path], "ds text/full", "overall", "text")


def test_dataset_file_that_is_no_parquet_is_a_parse_error(tmp_path):
    path = tmp_path / "x.parquet"
    path.write_text("<html>moved</html>", encoding="utf-8")
    with pytest.raises(ParseError, match="^ds: not readable Parquet"):
        read_dataset([path], "ds", "overall", "text")


# -- ModelScope -------------------------------------------------------------------------------------
MS_ANSWER = {"Code": 200, "Message": "success", "RequestId": "5b2c8f0e", "Success": True,
             "Data": {"Id": 1234, "Path": "qwen", "Name": "Qwen-7B-Chat", "ChineseName": "通义千问-7B-Chat",
                      "Downloads": 1_234_567, "Stars": 890, "License": "Apache License 2.0"}}


def test_modelscope_answer_gives_downloads_stars_and_canonical_id():
    assert parse_modelscope(MS_ANSWER, "qwen/qwen-7b-chat") == (1_234_567, 890, "qwen/Qwen-7B-Chat")
    no_stars = {**MS_ANSWER, "Data": {"Downloads": 12.0}}  # a whole float is a count; no Path/Name: as asked
    assert parse_modelscope(no_stars, "a/b") == (12, None, "a/b")
    assert parse_modelscope({"Data": {"Downloads": 0, "Stars": "many"}}, "a/b") == (0, None, "a/b")


@pytest.mark.parametrize("data,error,says", [
    ([], ParseError, "answer is not a JSON object"),
    ({"Code": 10010205, "Message": "model not found", "Data": None}, NotFound,
     r"ModelScope answered Code 10010205 \(model not found\)"),
    ({"Code": 200, "Success": False, "Data": {"Downloads": 1}}, NotFound, "ModelScope answered Success false"),
    ({"Code": 200, "Data": None}, ParseError, "answer has no Data object"),
    ({"Code": 200, "Data": {"DownloadCount": 5}}, ParseError, "Data.Downloads is missing or not a count"),
    ({"Code": 200, "Data": {"Downloads": "5"}}, ParseError, "Data.Downloads is missing or not a count"),
    ({"Code": 200, "Data": {"Downloads": -5}}, ParseError, "Data.Downloads is missing or not a count"),
    ({"Code": 200, "Data": {"Downloads": 2.5}}, ParseError, "Data.Downloads is missing or not a count"),
    ({"Code": 200, "Data": {"Downloads": True}}, ParseError, "Data.Downloads is missing or not a count"),
])
def test_modelscope_answer_malformed_or_missing(data, error, says):
    with pytest.raises(error, match=f"^{says}$"):
        parse_modelscope(data, "qwen/Qwen-7B-Chat")
