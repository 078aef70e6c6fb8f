"""Parsers on answers the real services gave to other projects (recorded in their test data; each
file's provenance is in the README of its folder under tests/fixtures/)."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from collectors.errors import UpstreamError
from collectors.github_common import parse_search
from collectors.github_repos import parse_repo
from collectors.hf_models import ModelRow, parse_model, totals
from collectors.npm import parse_range
from collectors.pypi import parse_overall

FIXTURES = Path(__file__).parent / "fixtures"


def recorded(path: str):
    return json.loads((FIXTURES / path).read_text(encoding="utf-8"))


def test_github_search_with_incomplete_results_true_is_kept_as_incomplete():
    total, items, incomplete = parse_search(recorded("github/search_repositories_incomplete_results_true.json"),
                                            "created:>2022-04-29")
    assert (total, len(items), incomplete) == (26_336_980, 2, True)


def test_github_search_of_2014_without_the_incomplete_field_reads_as_complete():
    total, items, incomplete = parse_search(recorded("github/search_repositories_2014-03-03_no_incomplete_field.json"),
                                            "github language:Python")
    assert (total, items[0]["full_name"], incomplete) == (2_723, "kennethreitz/legit", False)


def test_github_repository_answer_counts_subscribers_as_watchers():
    values, canonical, missing = parse_repo(recorded("github/repo_PyGithub_PyGithub_2025-01-07.json"),
                                            "PyGithub/PyGithub")
    # watchers_count (7122) repeats the stars: watchers are subscribers_count
    assert values == {"stars": 7_122, "forks": 1_793, "watchers": 111, "open_issues": 357}
    assert (canonical, missing) == ("PyGithub/PyGithub", [])


def test_hub_listing_without_downloads_all_time_keeps_downloads_and_likes():
    """A real listing answer carries no downloadsAllTime: the figures it does give are kept, the
    all-time sum is not stored (no row), never a zero."""
    listing = recorded("huggingface/models_listing_expand_2026-09_two_items.json")
    rows = [parse_model(item, "search:qwen") for item in listing]
    assert rows == [ModelRow("neonoodles/Qwen3.8-27B-Wildthing-ARA-MTP-GGUF", 6, None, 0),
                    ModelRow("mradermacher/Qwen3.8-27B-abliterated-GGUF", 1_795, None, 0)]
    assert totals(rows) == {"model_count": (2, ""), "downloads_30d": (1_801, ""),
                            "downloads_all_time": (None, "incomplete"), "likes": (0, "")}


@pytest.mark.parametrize("name,want", [
    ("pypi/overall_pip_2018-11-01_2018-11-02.json", None),
    ("pypi/overall_pip_2020-05-01_2020-05-02_with_and_without_mirrors.json",
     {dt.date(2020, 5, 1): 2_083_472, dt.date(2020, 5, 2): 1_475_979}),
])
def test_pypistats_answers_keep_the_days_without_mirrors(name, want):
    got = parse_overall(recorded(name), "pip")
    assert all(isinstance(v, int) for v in got.values()) and len(got) == 2
    if want is not None:
        assert got == want


def test_npm_range_keeps_a_stated_zero_day():
    got = parse_range(recorded("npm/range_tiptap_core_2022-10-05_2023-10-04_trimmed.json"), "@tiptap/core")
    assert got[dt.date(2022, 10, 5)] == 51_580 and got[dt.date(2023, 7, 1)] == 0 and len(got) == 16


def test_npm_unknown_package_answer_is_an_error_not_a_zero():
    with pytest.raises(UpstreamError, match="package react-dopzone not found"):
        parse_range(recorded("npm/range_error_package_not_found.json"), "react-dopzone")
