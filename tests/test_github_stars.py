"""Star history through the real CLI against the fake GitHub: exact daily gains, incremental paging."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from conftest import CANARY, query_db, run_cli

from collectors.fake.github import week_start

ENV = {"GITHUB_TOKEN": CANARY}
HISTORY = r"^/github/(repos/[^/]+/[^/]+|repositories/\d+)/stargazers/history$"


def gains(start: str, n: int) -> dict[dt.date, int]:
    """A lumpy, deterministic series of stars given per day (some days none)."""
    d0 = dt.date.fromisoformat(start)
    return {d0 + dt.timedelta(days=i): (i * 37 + 11) % 23 if i % 5 else 0 for i in range(n)}


def stored(db, repo: str) -> dict[dt.date, float]:
    rows = query_db(db, "SELECT day, value FROM observations WHERE source = 'github' AND metric = 'stars_gained' "
                        "AND subject = ? AND method = 'backfill'", [repo])
    return dict(rows)


def expected(series: dict[dt.date, int], today: dt.date) -> dict[dt.date, int]:
    """Every day the fake serves, from the first week's Sunday up to yesterday (today is not over)."""
    day, out = week_start(min(series)), {}
    while day < today:
        out[day] = series.get(day, 0)
        day += dt.timedelta(days=1)
    return out


def setup(world, config_data, write_config, repos: list[str]):
    config_data["ecosystem"][0]["github_repos"] = repos
    return write_config()


def test_whole_history_then_one_page_a_day(fake, world, config_data, write_config):
    gh = world.part("github")
    series = gains("2023-02-24", 290)  # ~43 weeks: two pages of 30 weeks
    info = gh.add_repository("meta-llama/llama", created=dt.date(2023, 2, 24), star_days=series)
    cfg = setup(world, config_data, write_config, ["meta-llama/llama"])
    db = config_data["storage"]["database"]
    world.set_today("2023-12-20")

    r = run_cli("collect", "--source", "github_stars", config=cfg, today="2023-12-20", env=ENV)
    assert r.returncode == 0, r.stderr
    assert fake.count(HISTORY, status=200) == 2
    assert stored(db, "meta-llama/llama") == expected(series, dt.date(2023, 12, 20))
    assert sum(stored(db, "meta-llama/llama").values()) == sum(series.values())

    # Three days later: new stars on the new days and a rename; only the newest page is fetched.
    before = fake.count(HISTORY, status=200)
    for d, n in {dt.date(2023, 12, 20): 5, dt.date(2023, 12, 21): 9, dt.date(2023, 12, 22): 4}.items():
        series[d] = n
    info.star_days = dict(series)
    gh.rename_repository("meta-llama/llama", "meta-llama/llama-legacy")
    world.set_today("2023-12-23")
    r = run_cli("collect", "--source", "github_stars", config=cfg, today="2023-12-23", env=ENV)
    assert r.returncode == 0, r.stderr
    assert fake.count(HISTORY, status=200) - before == 1
    assert fake.count(r"^/github/repos/meta-llama/llama/stargazers/history$", status=301) == 1
    assert stored(db, "meta-llama/llama") == expected(series, dt.date(2023, 12, 23))
    assert query_db(db, "SELECT DISTINCT subject FROM observations WHERE metric = 'stars_gained'") == [
        ("meta-llama/llama",)]
    # family total per day = the repository's gains (role member)
    assert query_db(db, "SELECT value FROM ecosystem_daily WHERE ecosystem = 'llama' AND metric = 'stars_gained' "
                        "AND day = '2023-12-21'") == [(9,)]


def test_endpoint_absent_on_older_enterprise_is_a_note(fake, world, config_data, write_config):
    gh = world.part("github")
    for name in ("meta-llama/llama", "ggml-org/llama.cpp"):
        gh.add_repository(name, star_days=gains("2023-06-01", 20))
    gh.star_history_mode = "404"
    cfg = setup(world, config_data, write_config, ["meta-llama/llama", "ggml-org/llama.cpp"])
    db = config_data["storage"]["database"]
    r = run_cli("collect", "--source", "github_stars", config=cfg, today="2023-07-19", env=ENV)
    assert r.returncode == 0, r.stdout + r.stderr
    assert query_db(db, "SELECT status FROM runs WHERE collector = 'github_stars'") == [("ok",)]
    log = Path(config_data["storage"]["log_dir"]) / "ecotrend.log"
    text = log.read_text(encoding="utf-8")
    assert text.count("star history unavailable") == 1
    assert stored(db, "meta-llama/llama") == {}

    gh.star_history_mode = "400"  # a server that does not know the API version: one call, then stop
    before = fake.count(HISTORY)
    r = run_cli("collect", "--source", "github_stars", config=cfg, today="2023-07-20", env=ENV)
    assert r.returncode == 0, r.stdout + r.stderr
    assert fake.count(HISTORY) - before == 1
    text = log.read_text(encoding="utf-8")
    assert "answers 400 to version 2026-03-10" in text


def test_version_header_is_required_by_the_fake(fake, world):
    import requests

    world.part("github").add_repository("o/r", star_days={dt.date(2023, 7, 1): 3})
    url = f"{fake.url}/github/repos/o/r/stargazers/history"
    assert requests.get(url, timeout=5).status_code == 404
    assert requests.get(url, headers={"X-GitHub-Api-Version": "2099-01-01"}, timeout=5).status_code == 400
    ok = requests.get(url, headers={"X-GitHub-Api-Version": "2026-03-10"}, timeout=5)
    assert ok.status_code == 200
    weeks = ok.json()
    assert weeks[0]["week"] > weeks[-1]["week"]  # newest first
    assert sum(w["total"] for w in weeks) == 3


def test_backfill_command_takes_star_history_within_range(fake, world, config_data, write_config):
    series = gains("2023-03-01", 120)
    world.part("github").add_repository("THUDM/ChatGLM-6B", star_days=series)
    cfg = setup(world, config_data, write_config, ["THUDM/ChatGLM-6B"])
    db = config_data["storage"]["database"]
    world.set_today("2023-08-08")
    r = run_cli("backfill", "--since", "2023-04-01", "--until", "2023-05-31", "--source", "github_stars",
                config=cfg, today="2023-08-08", env=ENV)
    assert r.returncode == 0, r.stdout + r.stderr
    want = {d: n for d, n in expected(series, dt.date(2023, 8, 8)).items()
            if dt.date(2023, 4, 1) <= d <= dt.date(2023, 5, 31)}
    assert stored(db, "THUDM/ChatGLM-6B") == want
    refs = query_db(db, "SELECT day, subject, value FROM observations WHERE source = 'article' "
                        "AND method = 'reference' AND metric = 'stars' ORDER BY subject")
    assert [(str(d), s, v) for d, s, v in refs] == [("2023-08-08", "THUDM/ChatGLM-6B", 32_000),
                                                     ("2023-08-08", "meta-llama/llama", 29_000)]
