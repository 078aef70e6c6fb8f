"""pypi and npm through the real CLI against the fake registries: backfill, increments, late days, faults."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from collectors.errors import SourceError
from collectors.pypi import Pypi
from conftest import FakeTime, query_db, run_cli

D = dt.date(2026, 11, 20)


def db(cfg) -> Path:
    return Path(cfg["storage"]["database"])


def series(source_cfg, source: str, subject: str) -> dict[dt.date, float]:
    return dict(query_db(db(source_cfg), "SELECT day, value FROM observations WHERE source = ? AND "
                         "metric = 'downloads_day' AND subject = ?", [source, subject]))


def no_duplicates(cfg, source: str) -> None:
    n, distinct = query_db(db(cfg), "SELECT count(*), count(DISTINCT (day, subject)) FROM observations "
                           "WHERE source = ? AND metric = 'downloads_day'", [source])[0]
    assert n == distinct


def known(start: dt.date, n: int, base: int) -> dict[dt.date, int]:
    """A known series: base + day index * 3 (distinct values so a shifted day would show)."""
    return {start + dt.timedelta(days=i): base + 3 * i for i in range(n)}


# -- PyPI -------------------------------------------------------------------------------------------
def pypi_config(config_data, packages):
    config_data["pypi"]["requests_per_minute"] = 6000
    config_data["ecosystem"][0]["pypi_packages"] = packages
    return config_data


def test_pypi_first_run_backfills_then_increments_and_corrects_late_days(fake, world, config_data,
                                                                         write_config):
    py = world.part("pypistats")
    full = known(D - dt.timedelta(days=250), 260, 1000)  # more than pypistats keeps
    py.set("llama-cpp-python", {d: v for d, v in full.items() if d < D})
    world.set_today(D.isoformat())
    path = write_config(pypi_config(config_data, ["llama_cpp.python"]))  # normalised on the way

    r = run_cli("collect", "--source", "pypi", config=path, today=D.isoformat())
    assert r.returncode == 0, r.stdout + r.stderr
    got = series(config_data, "pypi", "llama-cpp-python")
    oldest, newest = D - dt.timedelta(days=180), D - dt.timedelta(days=1)
    want = {d: float(v) for d, v in full.items() if oldest <= d <= newest}
    assert got == want and len(got) == 180
    assert fake.count(r"/pypistats/api/packages/llama-cpp-python/overall") == 1
    assert all(e["query"].get("mirrors") == ["false"] for e in fake.log if e["path"].startswith("/pypistats"))

    # the same day again: cached, no call
    r = run_cli("collect", "--source", "pypi", config=path, today=D.isoformat())
    assert r.returncode == 0
    assert fake.count(r"/pypistats/") == 1

    # two days later: two new days, yesterday's figure corrected upstream, an old day changed too
    later = D + dt.timedelta(days=2)
    world.set_today(later.isoformat())
    py.set("llama-cpp-python", {D: 77, D + dt.timedelta(days=1): 88, D - dt.timedelta(days=1): 5555,
                                D - dt.timedelta(days=60): 1})
    r = run_cli("collect", "--source", "pypi", config=path, today=later.isoformat())
    assert r.returncode == 0, r.stdout + r.stderr
    got = series(config_data, "pypi", "llama-cpp-python")
    assert got[D] == 77 and got[D + dt.timedelta(days=1)] == 88
    assert got[D - dt.timedelta(days=1)] == 5555  # re-read: published late, corrected
    assert got[D - dt.timedelta(days=60)] == float(full[D - dt.timedelta(days=60)])  # outside the re-read
    assert len(got) == 182
    no_duplicates(config_data, "pypi")
    daily = query_db(db(config_data), "SELECT value FROM ecosystem_daily WHERE ecosystem = 'llama' "
                     "AND metric = 'downloads_day' AND day = ?", [D])
    assert daily == [(77.0,)]


def test_pypi_unknown_package_and_bad_answers_store_nothing_wrong(fake, world, config_data, write_config):
    py = world.part("pypistats")
    world.set_today(D.isoformat())
    py.set("openai", known(D - dt.timedelta(days=10), 10, 50))
    py.set("mistralai", known(D - dt.timedelta(days=10), 10, 70))
    fake.inject("truncated", r"/pypistats/api/packages/mistralai/", times=1)
    path = write_config(pypi_config(config_data, ["no-such-package", "openai", "mistralai"]))
    r = run_cli("collect", "--source", "pypi", config=path, today=D.isoformat())
    assert r.returncode == 3
    out = r.stdout + r.stderr
    assert "no-such-package" in out and "mistralai" in out and "Traceback" not in out
    assert len(series(config_data, "pypi", "openai")) == 10
    assert series(config_data, "pypi", "no-such-package") == {}
    assert series(config_data, "pypi", "mistralai") == {}
    # a failed package is not marked fetched: asked again the same day, and stored then
    r = run_cli("collect", "--source", "pypi", config=path, today=D.isoformat())
    assert fake.count(r"/pypistats/api/packages/openai/") == 1
    assert fake.count(r"/pypistats/api/packages/mistralai/") == 2
    assert series(config_data, "pypi", "mistralai") == {d: float(v) for d, v in
                                                        known(D - dt.timedelta(days=10), 10, 70).items()}


def test_pypi_429_is_waited_out(fake, world, config_data, write_config):
    py = world.part("pypistats")
    world.set_today(D.isoformat())
    py.set("openai", known(D - dt.timedelta(days=5), 5, 50))
    fake.inject("retry_after", r"^/pypistats/", times=1, seconds=0)
    path = write_config(pypi_config(config_data, ["openai"]))
    r = run_cli("collect", "--source", "pypi", config=path, today=D.isoformat())
    assert r.returncode == 0, r.stdout + r.stderr
    assert fake.count(r"^/pypistats/", status=429) == 1
    assert series(config_data, "pypi", "openai") == {d: float(v) for d, v in
                                                     known(D - dt.timedelta(days=5), 5, 50).items()}


def test_pypi_backfill_command(fake, world, config_data, write_config):
    py = world.part("pypistats")
    world.set_today(D.isoformat())
    py.set("openai", known(D - dt.timedelta(days=100), 100, 10))
    path = write_config(pypi_config(config_data, ["openai"]))
    since, until = D - dt.timedelta(days=30), D - dt.timedelta(days=21)
    r = run_cli("backfill", "--since", since.isoformat(), "--until", until.isoformat(), "--source", "pypi",
                config=path, today=D.isoformat())
    assert r.returncode == 0, r.stdout + r.stderr
    got = series(config_data, "pypi", "openai")
    assert sorted(got) == [since + dt.timedelta(days=i) for i in range(10)]
    # the daily run afterwards adds the rest without duplicating the backfilled days
    r = run_cli("collect", "--source", "pypi", config=path, today=D.isoformat())
    assert r.returncode == 0
    assert len(series(config_data, "pypi", "openai")) == 100
    no_duplicates(config_data, "pypi")


# -- npm --------------------------------------------------------------------------------------------
NPM_START = dt.date(2025, 1, 1)


def npm_config(config_data, packages):
    config_data["npm"]["start"] = NPM_START.isoformat()
    config_data["ecosystem"][0]["npm_packages"] = packages
    return config_data


def npm_world(world):
    npm = world.part("npm")
    world.set_today(D.isoformat())
    span = (D - NPM_START).days
    npm.set("node-llama-cpp", known(NPM_START + dt.timedelta(days=40), span - 40, 100))
    npm.set("openai", known(NPM_START, span, 5000))
    npm.set("@mistralai/mistralai", known(NPM_START, span, 300))
    return npm


def expected(npm, name: str, start: dt.date, end: dt.date) -> dict[dt.date, float]:
    out = {}
    d = start
    while d <= end:
        out[d] = float(npm.packages[name].get(d, 0))  # npm answers 0 before a package existed
        d += dt.timedelta(days=1)
    return out


def test_npm_first_run_backfills_in_chunks_then_increments(fake, world, config_data, write_config):
    npm = npm_world(world)
    pkgs = ["node-llama-cpp", "openai", "@mistralai/mistralai"]
    path = write_config(npm_config(config_data, pkgs))
    r = run_cli("collect", "--source", "npm", config=path, today=D.isoformat())
    assert r.returncode == 0, r.stdout + r.stderr
    yesterday = D - dt.timedelta(days=1)
    for p in pkgs:
        assert series(config_data, "npm", p) == expected(npm, p, NPM_START, yesterday), p
    # 2025-01-01 … 2026-11-19 is 688 days: 2 bulk calls of ≤365 days for the two unscoped packages,
    # 2 single calls of ≤18 months for the scoped one (URL-encoded)
    paths = [e["path"] for e in fake.log if e["path"].startswith("/npm/")]
    assert len(paths) == 4
    assert sum(1 for p in paths if p.endswith("/node-llama-cpp,openai")) == 2
    assert sum(1 for p in paths if p.endswith("/@mistralai%2Fmistralai")) == 2
    runs = query_db(db(config_data), "SELECT requests FROM runs WHERE collector = 'npm'")
    assert json.loads(runs[0][0]) == {"range": 4}

    # three days later: the new days, and the last stored day corrected upstream
    later = D + dt.timedelta(days=3)
    world.set_today(later.isoformat())
    npm.set("openai", {yesterday: 1, D: 2, D + dt.timedelta(days=1): 3, D + dt.timedelta(days=2): 4})
    npm.set("@mistralai/mistralai", {D: 9})
    before = len(fake.log)
    r = run_cli("collect", "--source", "npm", config=path, today=later.isoformat())
    assert r.returncode == 0, r.stdout + r.stderr
    new_paths = [e["path"] for e in fake.log[before:]]
    assert len(new_paths) == 2  # one bulk range, one scoped range
    got = series(config_data, "npm", "openai")
    assert got[yesterday] == 1 and got[D] == 2 and got[D + dt.timedelta(days=2)] == 4
    assert series(config_data, "npm", "@mistralai/mistralai")[D] == 9
    for p in pkgs:
        assert len(series(config_data, "npm", p)) == (later - NPM_START).days
    no_duplicates(config_data, "npm")
    daily = query_db(db(config_data), "SELECT value, subjects_reporting FROM ecosystem_daily "
                     "WHERE ecosystem = 'llama' AND metric = 'downloads_day' AND day = ?", [D])
    assert daily == [(2.0 + 9 + npm.packages["node-llama-cpp"].get(D, 0), 3)]


def test_npm_unknown_packages_fail_alone(fake, world, config_data, write_config):
    npm = npm_world(world)
    config_data["npm"]["start"] = (D - dt.timedelta(days=10)).isoformat()
    config_data["ecosystem"][0]["npm_packages"] = ["openai", "no-such-pkg", "@nobody/nothing",
                                                   "node-llama-cpp"]
    path = write_config(config_data)
    r = run_cli("collect", "--source", "npm", config=path, today=D.isoformat())
    assert r.returncode == 3
    out = r.stdout + r.stderr
    assert "no-such-pkg" in out and "@nobody/nothing" in out and "Traceback" not in out
    assert fake.count(r"/npm/downloads/range/.*/@nobody%2Fnothing", status=404) == 1
    assert series(config_data, "npm", "no-such-pkg") == {}
    assert series(config_data, "npm", "@nobody/nothing") == {}
    first = D - dt.timedelta(days=10)
    assert series(config_data, "npm", "openai") == expected(npm, "openai", first, D - dt.timedelta(days=1))
    assert len(series(config_data, "npm", "node-llama-cpp")) == 10


def test_npm_retries_a_502_and_backfill_command(fake, world, config_data, write_config):
    npm = npm_world(world)
    path = write_config(npm_config(config_data, ["openai", "node-llama-cpp", "@mistralai/mistralai"]))
    fake.inject("http_502", r"^/npm/", times=1)
    since, until = dt.date(2015, 1, 1), dt.date(2016, 3, 31)
    r = run_cli("backfill", "--since", since.isoformat(), "--until", until.isoformat(), "--source", "npm",
                config=path, today=D.isoformat())
    assert r.returncode == 0, r.stdout + r.stderr
    got = series(config_data, "npm", "openai")
    assert min(got) == dt.date(2015, 1, 10)  # nothing exists before
    assert max(got) == until and len(got) == (until - dt.date(2015, 1, 10)).days + 1
    assert set(got.values()) == {0.0}
    # a second identical backfill resumes past its finished windows: no calls
    before = fake.count(r"^/npm/")
    r = run_cli("backfill", "--since", since.isoformat(), "--until", until.isoformat(), "--source", "npm",
                config=path, today=D.isoformat())
    assert r.returncode == 0
    assert fake.count(r"^/npm/") == before
    # an old backfill does not move the daily run's start: it still begins at [npm] start
    before = fake.count(r"^/npm/")
    r = run_cli("collect", "--source", "npm", config=path, today=D.isoformat())
    assert r.returncode == 0, r.stdout + r.stderr
    assert fake.count(r"^/npm/") - before == 4
    got = series(config_data, "npm", "openai")
    assert not [d for d in got if until < d < NPM_START]
    assert {d: v for d, v in got.items() if d >= NPM_START} == expected(npm, "openai", NPM_START,
                                                                      D - dt.timedelta(days=1))
    no_duplicates(config_data, "npm")


def test_replay_from_archive_gives_the_same_rows(fake, world, config_data, write_config):
    npm_world(world)
    world.part("pypistats").set("openai", known(D - dt.timedelta(days=30), 30, 40))
    pypi_config(config_data, ["openai"])
    path = write_config(npm_config(config_data, ["openai", "node-llama-cpp", "@mistralai/mistralai"]))
    r = run_cli("collect", "--source", "pypi", "--source", "npm", config=path, today=D.isoformat())
    assert r.returncode == 0, r.stdout + r.stderr
    sql = "SELECT source, subject, day, value FROM observations WHERE source IN ('pypi', 'npm') ORDER BY ALL"
    first = query_db(db(config_data), sql)
    served = len(fake.log)
    r = run_cli("collect", "--source", "pypi", "--source", "npm", "--from-archive", D.isoformat(),
                config=path, today=D.isoformat())
    assert r.returncode == 0, r.stdout + r.stderr
    assert len(fake.log) == served  # no network
    assert query_db(db(config_data), sql) == first
    rows = query_db(db(config_data), "SELECT collector, rows_written FROM runs WHERE mode = 'replay' "
                    "ORDER BY collector")
    assert rows == [("npm", 3 * (D - NPM_START).days), ("pypi", 30)]


def test_npm_plan_stays_within_limits_and_takes_the_fewest_calls():
    from collectors.npm import BULK_DAYS, BULK_NAMES, SINGLE_DAYS, plan

    start, end = dt.date(2015, 1, 10), dt.date(2026, 11, 19)
    names = [f"pkg{i}" for i in range(300)] + ["@scope/a"]
    calls = plan({n: start for n in names}, end)
    for pkgs, s, e in calls:
        span = (e - s).days + 1
        if len(pkgs) > 1:
            assert len(pkgs) <= BULK_NAMES and span <= BULK_DAYS
            assert not any(p.startswith("@") for p in pkgs)
        else:
            assert span <= SINGLE_DAYS
    covered: dict[str, set[dt.date]] = {}
    for pkgs, s, e in calls:
        for p in pkgs:
            days = covered.setdefault(p, set())
            d = s
            while d <= e:
                assert d not in days  # no day asked twice
                days.add(d)
                d += dt.timedelta(days=1)
    assert all(len(covered[n]) == (end - start).days + 1 for n in names)
    # 4,332 days: 300 unscoped in 3 bulk groups × 12 chunks of ≤365 days, the scoped one in 9 of ≤540
    assert len(calls) == 3 * 12 + 9
    # one unscoped package alone: single ranges (fewer than bulk's yearly ones)
    assert len(plan({"openai": start}, end)) == 9
    # a daily increment of two unscoped packages and a scoped one: 2 calls
    assert len(plan({"a": end - dt.timedelta(days=2), "b": end - dt.timedelta(days=2),
                     "@s/c": end - dt.timedelta(days=2)}, end)) == 2


def test_pypi_calls_are_spaced_to_the_configured_rate(fake):
    from collectors.http import HttpClient
    from collectors.settings import HttpSettings, PypiSettings, Settings

    t = FakeTime()
    slept = t.slept
    http = HttpClient(HttpSettings(retries=0), sleep=t.sleep, clock=t.clock)
    settings = Settings(pypi=PypiSettings(api_url=f"{fake.url}/pypistats/api", requests_per_minute=30))
    ctx = SimpleNamespace(settings=settings, http=http)
    waited = []
    for _ in range(3):
        before = sum(slept)
        with pytest.raises(SourceError):
            Pypi().fetch(ctx, "not-a-tracked-package")
        waited.append(sum(slept) - before)
    assert waited == [0, pytest.approx(2.0), pytest.approx(2.0)]  # 30 a minute: 2 s apart
