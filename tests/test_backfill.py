"""Repository counts back in time through the real CLI against the fake GitHub search.

The fake holds a known creation series; the backfill must rebuild it exactly, spend about
min(ceil(n/100), days) search calls per window (plus the probes of split windows), and resume
after being stopped without repeating finished windows.
"""
from __future__ import annotations

import datetime as dt
import math
import os
import re
import signal
import subprocess
import sys
import time

from conftest import CANARY, ROOT, query_db, run_cli

from collectors.fake.github import Limits

ENV = {"GITHUB_TOKEN": CANARY}
SEARCH = r"^/github/search/repositories$"
SINCE, UNTIL = dt.date(2023, 1, 1), dt.date(2023, 12, 31)
ONE = dt.timedelta(days=1)


def span(a: dt.date, b: dt.date):
    d = a
    while d <= b:
        yield d
        d += ONE


def llama_series() -> dict[dt.date, int]:
    """Empty until LLaMA, a few a day, Llama 2's release day over the 1,000 cap, a dense week, a tail."""
    s = {d: 0 for d in span(SINCE, UNTIL)}
    for d in span(dt.date(2023, 2, 24), dt.date(2023, 7, 17)):
        s[d] = d.toordinal() % 5
    s[dt.date(2023, 7, 18)] = 1200
    for d in span(dt.date(2023, 7, 19), dt.date(2023, 7, 25)):
        s[d] = 150 + (d.day % 3) * 10
    for d in span(dt.date(2023, 7, 26), UNTIL):
        s[d] = d.toordinal() % 7 + 3
    return s


def gpt_series() -> dict[dt.date, int]:
    return {d: (2 if d.toordinal() % 3 else 1) if d >= dt.date(2023, 3, 14) else 0 for d in span(SINCE, UNTIL)}


def greedy_windows(series: dict[dt.date, int]) -> list[tuple[int, int]]:
    """(repositories, days) of windows of at most 1,000 repositories, walking the days in order."""
    out, n, days = [], 0, 0
    for d in sorted(series):
        if days and n + series[d] > 1000:
            out.append((n, days))
            n, days = 0, 0
        n, days = n + series[d], days + 1
    out.append((n, days))
    return out


def cost_bound(series: dict[dt.date, int]) -> int:
    """min(ceil(n/100), days) per window of ≤1,000 (at least one call each), plus the probes of the
    splits that find those windows (at most log2(days) levels each)."""
    wins = greedy_windows(series)
    levels = math.ceil(math.log2(len(series)))
    return sum(max(1, min(math.ceil(n / 100), days)) for n, days in wins) + (len(wins) + 1) * levels


def check_policy(fake, q: str, series: dict[dt.date, int]) -> int:
    """Each window searched was either split because it held over 1,000, or resolved in
    min(ceil(n/100), days + 1) calls (its first page, then listing or one count a day); the finished
    windows tile the range.  Returns the calls spent on windows."""
    reqs = [r for r in searched_ranges(fake) if r[0] == q]
    windows = {(a, b) for _q, a, b, per_page in reqs if per_page == 100}

    def n(a, b):
        return sum(series[d] for d in span(a, b))
    split = {w for w in windows if any(o != w and w[0] <= o[0] and o[1] <= w[1] for o in windows)}
    leaves = sorted(windows - split)
    expected = len(split)
    for w in split:
        assert n(*w) > 1000, f"{w} was split with only {n(*w)} repositories"
    for a, b in leaves:
        nn, days = n(a, b), (b - a).days + 1
        assert nn <= 1000 or days == 1
        expected += 1 if nn == 0 or days == 1 else min(math.ceil(nn / 100), days + 1)
    assert leaves[0][0] == SINCE and leaves[-1][1] == UNTIL
    assert all(leaves[i][1] + ONE == leaves[i + 1][0] for i in range(len(leaves) - 1))
    assert len(reqs) == expected
    return len(reqs)


def seed(world) -> None:
    gh = world.part("github")
    gh.limits = Limits(search=(100_000, 100_000, 60), core=(5000, 5000, 3600))
    gh.add_series("llama", {dt.date(2022, 6, 1): 40})  # before the range: counted in repo_count only
    gh.add_series("llama", {d: n for d, n in llama_series().items() if n})
    gh.add_series("GPT-4", {d: n for d, n in gpt_series().items() if n})
    world.set_today(UNTIL)


def stored(db, metric: str, q: str) -> dict[dt.date, float]:
    return dict(query_db(db, "SELECT day, value FROM observations WHERE source = 'github' AND metric = ? "
                             "AND subject = ? AND method = 'backfill'", [metric, q]))


def assert_exact(world, db) -> None:
    gh = world.part("github")
    for q in ("llama", "GPT-4"):
        want = gh.created_counts([q], SINCE, UNTIL)
        assert stored(db, "repos_created", q) == want
        before = len(gh.search([q], None, SINCE - ONE, UNTIL))
        counts, running = {}, before
        for d in span(SINCE, UNTIL):
            running += want[d]
            counts[d] = running
        assert stored(db, "repo_count", q) == counts


def searched_ranges(fake, start: int = 0) -> list[tuple[str, dt.date, dt.date, int]]:
    """(query, lo, hi, per_page) of every created: window searched, from the fake's request log."""
    out = []
    for e in fake.log[start:]:
        if not re.match(SEARCH, e["path"]):
            continue
        m = re.match(r"^(.*) created:(\d{4}-\d\d-\d\d)(?:\.\.(\d{4}-\d\d-\d\d))?$", e["query"]["q"][0])
        if m:
            lo = dt.date.fromisoformat(m.group(2))
            out.append((m.group(1), lo, dt.date.fromisoformat(m.group(3)) if m.group(3) else lo,
                        int(e["query"].get("per_page", ["30"])[0])))
    return out


def test_backfill_rebuilds_the_series_exactly_within_the_call_bound(fake, world, config_data, write_config):
    seed(world)
    cfg = write_config()
    db = config_data["storage"]["database"]
    r = run_cli("backfill", "--since", str(SINCE), "--until", str(UNTIL), "--source", "github_search",
                config=cfg, today=str(UNTIL), env=ENV)
    assert r.returncode == 0, r.stdout + r.stderr
    assert_exact(world, db)

    calls = {"llama": check_policy(fake, "llama", llama_series()),
             "GPT-4": check_policy(fake, "GPT-4", gpt_series())}
    # anchor counts ("created:<=…") are not windows; one per query
    anchors = sum(1 for e in fake.log if "created:<=" in e["query"].get("q", [""])[0])
    assert anchors == 2
    assert calls["llama"] <= cost_bound(llama_series())
    assert calls["llama"] < 365 / 5  # far from one call a day
    # a small family: the whole year listed in ceil(n/100) calls, no per-day counting
    n_gpt = sum(gpt_series().values())
    assert calls["GPT-4"] == math.ceil(n_gpt / 100)
    # the day over the cap was counted, not listed; the 1,000 cap was never hit
    assert fake.count(SEARCH, status=422) == 0
    # reported: calls spent against days covered, and progress lines off a terminal
    assert re.search(rf"'GPT-4': 365 days in {math.ceil(n_gpt / 100) + 1} search calls", r.stderr)
    assert re.search(r"backfill 'llama': 365/365 days \(100%\)", r.stderr)
    assert query_db(db, "SELECT status FROM runs WHERE collector = 'github_search' AND mode = 'backfill' "
                        "AND status <> 'running'") == [("ok",)]
    # the 2023 analysis' figures stored beside the history, never in family totals
    refs = query_db(db, "SELECT day, subject, value, flags FROM observations WHERE source = 'article' "
                        "AND method = 'reference' AND metric = 'repo_count' ORDER BY subject, day")
    assert [(str(d), s, v, f) for d, s, v, f in refs] == [
        ("2023-07-19", "GPT-4", 4100, "approximate"), ("2023-08-08", "GPT-4", 4400, "approximate"),
        ("2023-07-19", "llama", 5600, "approximate"), ("2023-08-08", "llama", 6200, "approximate")]
    assert query_db(db, "SELECT value, method FROM ecosystem_daily WHERE ecosystem = 'llama' "
                        "AND metric = 'repo_count' AND day = '2023-07-19'") == [
        (stored(db, "repo_count", "llama")[dt.date(2023, 7, 19)], "backfill")]

    # Run again over the same range: nothing to redo but the anchor count.
    before = len(fake.log)
    r = run_cli("backfill", "--since", str(SINCE), "--until", str(UNTIL), "--source", "github_search",
                config=cfg, today=str(UNTIL), env=ENV)
    assert r.returncode == 0, r.stderr
    assert searched_ranges(fake, before) == []
    assert sum(1 for e in fake.log[before:] if re.match(SEARCH, e["path"])) == 2
    assert_exact(world, db)


def test_empty_stretch_costs_one_call(fake, world, config_data, write_config):
    seed(world)
    config_data["ecosystem"] = [{"key": "baichuan", "label": "Baichuan", "github_queries": ["baichuan"]}]
    config_data["event"] = []
    cfg = write_config()
    r = run_cli("backfill", "--since", str(SINCE), "--until", str(UNTIL), "--source", "github_search",
                config=cfg, today=str(UNTIL), env=ENV, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert searched_ranges(fake) == [("baichuan", SINCE, UNTIL, 100)]
    assert set(stored(config_data["storage"]["database"], "repos_created", "baichuan").values()) == {0}


def test_unstable_listing_falls_back_to_counts(fake, world, config_data, write_config):
    seed(world)
    config_data["ecosystem"] = [{"key": "gpt", "label": "GPT", "github_queries": ["GPT-4"]}]
    config_data["event"] = []
    world.part("github").listing_glitch = 1  # one page repeats an item of the page before
    cfg = write_config()
    r = run_cli("backfill", "--since", "2023-03-01", "--until", "2023-05-31", "--source", "github_search",
                config=cfg, today=str(UNTIL), env=ENV)
    assert r.returncode == 0, r.stdout + r.stderr
    want = world.part("github").created_counts(["GPT-4"], dt.date(2023, 3, 1), dt.date(2023, 5, 31))
    assert stored(config_data["storage"]["database"], "repos_created", "GPT-4") == want
    assert "1 fallbacks to counts" in r.stderr


def test_backfill_deferred_by_the_budget_resumes_without_repeating(fake, world, config_data, write_config):
    seed(world)
    gh = world.part("github")
    gh.limits = Limits(search=(12, 12, 3600), core=(5000, 5000, 3600))  # spent long before its reset
    cfg = write_config()
    db = config_data["storage"]["database"]
    args = ("backfill", "--since", str(SINCE), "--until", str(UNTIL), "--source", "github_search")
    r1 = run_cli(*args, config=cfg, today=str(UNTIL), env=ENV)
    assert r1.returncode == 3, r1.stdout + r1.stderr
    assert "deferred" in r1.stderr and "to resume where it stopped" in r1.stderr
    assert "Traceback" not in r1.stderr
    run1 = len(fake.log)
    done = query_db(db, "SELECT value FROM state WHERE source = 'github' AND key = 'search.backfill:llama'")
    assert done, "some windows must have been committed before the budget ran out"

    gh.limits = Limits(search=(100_000, 100_000, 60), core=(5000, 5000, 3600))
    r2 = run_cli(*args, config=cfg, today=str(UNTIL), env=ENV)
    assert r2.returncode == 0, r2.stdout + r2.stderr
    assert_exact(world, db)
    _assert_not_repeated(fake, run1, done[0][0])

    # Stopping and resuming costs at most the probes of re-splitting the rest (log2(days) of them)
    # more than the bound of one uninterrupted backfill.
    llama_calls = sum(1 for q, *_ in searched_ranges(fake) if q == "llama")
    assert llama_calls <= cost_bound(llama_series()) + math.ceil(math.log2(365))


def _assert_not_repeated(fake, start: int, state_json: str) -> None:
    import json

    s = json.loads(state_json)
    lo, hi = dt.date.fromisoformat(s["from"]), dt.date.fromisoformat(s["to"])
    again = [(q, a, b) for q, a, b, _pp in searched_ranges(fake, start) if q == "llama" and lo <= a and b <= hi]
    assert again == [], f"finished windows searched again: {again[:3]}"


def test_backfill_killed_mid_way_resumes(fake, world, config_data, write_config):
    seed(world)
    gh = world.part("github")
    gh.limits = Limits(search=(300, 300, 60), core=(5000, 5000, 3600))  # paced: ~0.2 s a call
    config_data["ecosystem"] = [config_data["ecosystem"][0]]  # llama only
    cfg = write_config()
    db = config_data["storage"]["database"]
    cmd = [sys.executable, "-m", "jobs.cli", "backfill", "--since", str(SINCE), "--until", str(UNTIL),
           "--source", "github_search", "--config", str(cfg), "--today", str(UNTIL)]
    env = {**os.environ, "PYTHONPATH": str(ROOT), **ENV}
    proc = subprocess.Popen(cmd, env=env, cwd=str(ROOT), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while fake.count(SEARCH) < 12 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert proc.poll() is None, "the backfill ended before it could be killed"
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    run1 = len(fake.log)
    done = query_db(db, "SELECT value FROM state WHERE source = 'github' AND key = 'search.backfill:llama'")
    assert done, "windows finished before the kill must be committed"

    gh.limits = Limits(search=(100_000, 100_000, 60), core=(5000, 5000, 3600))
    r = run_cli("backfill", "--since", str(SINCE), "--until", str(UNTIL), "--source", "github_search",
                config=cfg, today=str(UNTIL), env=ENV)
    assert r.returncode == 0, r.stdout + r.stderr
    gh_ = world.part("github")
    want = gh_.created_counts(["llama"], SINCE, UNTIL)
    assert stored(db, "repos_created", "llama") == want
    _assert_not_repeated(fake, run1, done[0][0])
