"""Flagship repository stats through the real CLI against the fake GitHub: ETag/304, renames, 404/451."""
from __future__ import annotations

import json

from conftest import CANARY, query_db, run_cli

STATS = ("stars", "forks", "watchers", "open_issues")


def core_used(world) -> int:
    """Core requests the fake has charted to any identity so far."""
    d = world.part("github")
    return sum(n for key, n in d._used.items() if key[1] == "core")


def snapshot(db, subject: str, day: str) -> dict[str, float]:
    rows = query_db(db, "SELECT metric, value FROM observations WHERE source = 'github' AND subject = ? "
                        "AND day = ? AND method = 'snapshot'", [subject, day])
    return dict(rows)


def repos_config(config_data, write_config, repos_by_eco: dict[str, list[str]]):
    for eco in config_data["ecosystem"]:
        eco["github_repos"] = repos_by_eco.get(eco["key"], [])
    return write_config()


def test_stats_then_free_304_repeats_todays_values(fake, world, config_data, write_config):
    gh = world.part("github")
    gh.add_repository("meta-llama/llama", stars=29_000, forks=4_900, subscribers=610, open_issues=88)
    cfg = repos_config(config_data, write_config, {"llama": ["meta-llama/llama"]})
    env = {"GITHUB_TOKEN": CANARY}
    db = config_data["storage"]["database"]

    r1 = run_cli("collect", "--source", "github_repos", config=cfg, today="2023-07-19", env=env)
    assert r1.returncode == 0, r1.stderr
    assert snapshot(db, "meta-llama/llama", "2023-07-19") == {
        "stars": 29_000, "forks": 4_900, "watchers": 610, "open_issues": 88}
    etag = query_db(db, "SELECT value FROM state WHERE source = 'github' AND key = ?",
                    ["repos.etag:meta-llama/llama"])
    assert etag and etag[0][0].startswith('W/"')

    used_before = core_used(world)
    r2 = run_cli("collect", "--source", "github_repos", config=cfg, today="2023-07-20", env=env)
    assert r2.returncode == 0, r2.stderr
    assert fake.count(r"^/github/repos/meta-llama/llama$", status=304) == 1
    assert core_used(world) == used_before  # an authorised 304 costs nothing
    assert snapshot(db, "meta-llama/llama", "2023-07-20") == snapshot(db, "meta-llama/llama", "2023-07-19")
    req = json.loads(query_db(db, "SELECT requests FROM runs WHERE collector = 'github_repos' "
                                  "AND day = '2023-07-20'")[0][0])
    assert req.get("core_304") == 1

    # A change upstream changes the ETag: the next day stores the new value.
    gh.repository("meta-llama/llama").stars = 29_050
    r3 = run_cli("collect", "--source", "github_repos", config=cfg, today="2023-07-21", env=env)
    assert r3.returncode == 0, r3.stderr
    assert snapshot(db, "meta-llama/llama", "2023-07-21")["stars"] == 29_050


def test_anonymous_304_is_charged(fake, world, config_data, write_config):
    world.part("github").add_repository("ggml-org/llama.cpp", stars=60_000, forks=9_000, subscribers=500,
                                        open_issues=700)
    cfg = repos_config(config_data, write_config, {"llama": ["ggml-org/llama.cpp"]})
    assert run_cli("collect", "--source", "github_repos", config=cfg, today="2023-07-19").returncode == 0
    used = core_used(world)
    r = run_cli("collect", "--source", "github_repos", config=cfg, today="2023-07-20")
    assert r.returncode == 0, r.stderr
    assert fake.count(r"^/github/repos/ggml-org/llama.cpp$", status=304) == 1
    assert core_used(world) == used + 1


def test_304_without_stored_rows_fetches_again(fake, world, config_data, write_config, tmp_path):
    world.part("github").add_repository("ollama/ollama", stars=100, forks=10, subscribers=5, open_issues=1)
    cfg = repos_config(config_data, write_config, {"llama": ["ollama/ollama"]})
    env = {"GITHUB_TOKEN": CANARY}
    db = config_data["storage"]["database"]
    assert run_cli("collect", "--source", "github_repos", config=cfg, today="2023-07-19", env=env).returncode == 0
    run_cli("sql", "DELETE FROM facts WHERE series_id IN "
                "(SELECT series_id FROM series WHERE subject = 'ollama/ollama')", "--write", config=cfg)
    r = run_cli("collect", "--source", "github_repos", config=cfg, today="2023-07-20", env=env)
    assert r.returncode == 0, r.stderr
    assert snapshot(db, "ollama/ollama", "2023-07-20") == {"stars": 100, "forks": 10, "watchers": 5,
                                                          "open_issues": 1}
    assert fake.count(r"^/github/repos/ollama/ollama$", status=200) == 2


def test_renamed_repository_keeps_one_history(fake, world, config_data, write_config):
    gh = world.part("github")
    gh.add_repository("THUDM/ChatGLM-6B", stars=32_000, forks=5_000, subscribers=300, open_issues=40)
    cfg = repos_config(config_data, write_config, {"llama": ["THUDM/ChatGLM-6B"]})
    env = {"GITHUB_TOKEN": CANARY}
    db = config_data["storage"]["database"]
    assert run_cli("collect", "--source", "github_repos", config=cfg, today="2023-08-08", env=env).returncode == 0

    info = gh.rename_repository("THUDM/ChatGLM-6B", "zai-org/ChatGLM-6B")
    info.stars = 32_100
    r = run_cli("collect", "--source", "github_repos", config=cfg, today="2023-08-09", env=env)
    assert r.returncode == 0, r.stderr
    assert fake.count(r"^/github/repos/THUDM/ChatGLM-6B$", status=301) == 1
    assert fake.count(rf"^/github/repositories/{info.id}$", status=200) == 1
    rows = query_db(db, "SELECT day, value FROM observations WHERE source = 'github' AND metric = 'stars' "
                        "AND method = 'snapshot' ORDER BY day")
    assert [(str(d), v) for d, v in rows] == [("2023-08-08", 32_000), ("2023-08-09", 32_100)]
    assert query_db(db, "SELECT DISTINCT subject FROM observations WHERE source = 'github'") == [
        ("THUDM/ChatGLM-6B",)]
    assert query_db(db, "SELECT subject, canonical FROM subjects WHERE source = 'github'") == [
        ("THUDM/ChatGLM-6B", "zai-org/ChatGLM-6B")]

    # The day after, the stored ETag is sent through the redirect and answered 304.
    r = run_cli("collect", "--source", "github_repos", config=cfg, today="2023-08-10", env=env)
    assert r.returncode == 0, r.stderr
    assert fake.count(rf"^/github/repositories/{info.id}$", status=304) == 1
    assert snapshot(db, "THUDM/ChatGLM-6B", "2023-08-10")["stars"] == 32_100
    assert query_db(db, "SELECT canonical FROM subjects WHERE subject = 'THUDM/ChatGLM-6B'") == [
        ("zai-org/ChatGLM-6B",)]


def test_missing_and_blocked_repositories_fail_alone(fake, world, config_data, write_config):
    gh = world.part("github")
    gh.add_repository("meta-llama/llama", stars=10, forks=1, subscribers=2, open_issues=3)
    gh.add_repository("openai/blocked-repo", stars=5).status = 451
    cfg = repos_config(config_data, write_config, {"llama": ["meta-llama/llama", "meta-llama/nope"],
                                                   "gpt": ["openai/blocked-repo"]})
    db = config_data["storage"]["database"]
    r = run_cli("collect", "--source", "github_repos", config=cfg, today="2023-07-19", env={"GITHUB_TOKEN": CANARY})
    assert r.returncode == 3, r.stderr
    out = r.stdout + r.stderr
    assert "meta-llama/nope: not found (404)" in out
    assert "openai/blocked-repo: unavailable for legal reasons (451)" in out
    assert "Traceback" not in out
    assert snapshot(db, "meta-llama/llama", "2023-07-19") == {"stars": 10, "forks": 1, "watchers": 2,
                                                             "open_issues": 3}
    assert query_db(db, "SELECT status FROM runs WHERE collector = 'github_repos'") == [("partial",)]


def test_family_sums_member_repositories(fake, world, config_data, write_config):
    gh = world.part("github")
    gh.add_repository("meta-llama/llama", stars=29_000, forks=1, subscribers=1, open_issues=1)
    gh.add_repository("ggml-org/llama.cpp", stars=12_000, forks=1, subscribers=1, open_issues=1)
    cfg = repos_config(config_data, write_config, {"llama": ["meta-llama/llama", "ggml-org/llama.cpp"]})
    db = config_data["storage"]["database"]
    assert run_cli("collect", "--source", "github_repos", config=cfg, today="2023-08-08",
                   env={"GITHUB_TOKEN": CANARY}).returncode == 0
    assert query_db(db, "SELECT value, subjects_reporting FROM ecosystem_daily WHERE ecosystem = 'llama' "
                        "AND metric = 'stars' AND day = '2023-08-08'") == [(41_000, 2)]
