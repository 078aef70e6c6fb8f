"""The scheduler: what is due (pure, DST dates, a fake clock), APScheduler settings, catch-up on start."""
from __future__ import annotations

import datetime as dt
import zoneinfo

from jobs import history
from jobs.config import parse_config
from jobs.history import DayRecord
from jobs.schedule import MISFIRE_GRACE_SECONDS, Daemon, build_scheduler, due_at, fire_time, plan
from tests.conftest import days, query_db, run_cli

LONDON = zoneinfo.ZoneInfo("Europe/London")
UTC = dt.UTC


def utc(s: str) -> dt.datetime:
    return dt.datetime.fromisoformat(s).replace(tzinfo=UTC)


# -- the pure "is it due" logic -------------------------------------------------------------------
def test_spring_forward_0130_london_falls_due_after_the_gap():
    # 2026-03-29: clocks jump 01:00 GMT -> 02:00 BST, so 01:30 local does not exist that night.
    day = dt.date(2026, 3, 29)
    assert fire_time(day, "01:30", LONDON) == utc("2026-03-29T01:30")  # = 02:30 BST
    assert due_at(day, "01:30", LONDON) == utc("2026-03-29T01:30")
    assert due_at(dt.date(2026, 3, 28), "01:30", LONDON) == utc("2026-03-28T01:30")  # GMT
    assert due_at(dt.date(2026, 3, 30), "01:30", LONDON) == utc("2026-03-30T00:30")  # BST
    before = plan(utc("2026-03-29T01:29"), "01:30", LONDON, {}, dt.date(2026, 3, 29))
    after = plan(utc("2026-03-29T01:31"), "01:30", LONDON, {}, dt.date(2026, 3, 29))
    assert before.today is None and not before.missed
    assert after.today == day and after.missed == []


def test_autumn_repeated_0130_london_runs_the_day_once():
    # 2026-10-25: 01:30 happens twice (00:30 UTC in BST, then 01:30 UTC in GMT).
    day = dt.date(2026, 10, 25)
    assert due_at(day, "01:30", LONDON) == utc("2026-10-25T00:30")  # the first occurrence
    first = plan(utc("2026-10-25T00:31"), "01:30", LONDON, {}, day)
    assert first.today == day
    done = {day: DayRecord(done=True)}
    second = plan(utc("2026-10-25T01:31"), "01:30", LONDON, done, day)  # the repeated 01:30
    assert second.today is None and second.missed == []


def simulate(start: str, end: str, at: str, tz: dt.tzinfo, sleeps: dict[str, str] | None = None,
             step_minutes: int = 5) -> tuple[list[tuple[dt.date, dt.datetime]], list[dt.date]]:
    """Drive plan() with a fake clock: ticks every few minutes, cron firings at the local time
    (both occurrences of a repeated hour), and jumps where the machine slept."""
    now, stop = utc(start), utc(end)
    step = dt.timedelta(minutes=step_minutes)
    sleeps = {utc(a): utc(b) for a, b in (sleeps or {}).items()}
    record: dict[dt.date, DayRecord] = {}
    runs: list[tuple[dt.date, dt.datetime]] = []
    caught: list[dt.date] = []
    first = None
    cron: set[dt.datetime] = set()
    local_day = (now - dt.timedelta(days=2)).astimezone(tz).date()
    while local_day <= stop.astimezone(tz).date() + dt.timedelta(days=1):
        h, m = map(int, at.split(":"))
        for fold in (0, 1):  # a repeated hour fires twice on a naive wall-clock cron
            cron.add(dt.datetime.combine(local_day, dt.time(h, m, fold=fold), tzinfo=tz).astimezone(UTC))
        local_day += dt.timedelta(days=1)
    instants = sorted({now + i * step for i in range(int((stop - now) / step) + 1)} | cron)
    for t in instants:
        if t < now or t > stop:
            continue
        if any(a <= t < b for a, b in sleeps.items()):
            continue  # asleep: nothing fires
        p = plan(t, at, tz, record, first)
        if p.today is not None:
            runs.append((p.today, t))
            record[p.today] = DayRecord(done=True)
            first = first or p.today
        for d in p.missed:
            caught.append(d)
            record[d] = DayRecord(done=True)
    return runs, caught


def test_fake_clock_across_both_dst_changes_runs_each_utc_day_once():
    for start, end in (("2026-03-26T00:00", "2026-04-02T00:00"), ("2026-10-22T00:00", "2026-10-29T00:00")):
        for at in ("01:30", "00:30", "02:00", "23:30"):
            runs, caught = simulate(start, end, at, LONDON)
            ran = [d for d, _ in runs]
            assert len(ran) == len(set(ran)), (at, ran)  # never twice
            assert caught == []  # awake all week: nothing missed
            first, last = ran[0], utc(end).date()
            expected = {first + dt.timedelta(days=i) for i in range((last - first).days + 1)
                        if due_at(first + dt.timedelta(days=i), at, LONDON) <= utc(end)}
            assert set(ran) == expected, (at, sorted(expected - set(ran)))
            for d, t in runs:
                assert t >= due_at(d, at, LONDON) and t.date() == d  # never early, on its own UTC day
                assert t - due_at(d, at, LONDON) < dt.timedelta(minutes=5)  # the tick is prompt


def test_fake_clock_sleep_over_days_runs_today_and_catches_up_the_rest():
    runs, caught = simulate("2026-03-26T00:00", "2026-04-01T12:00", "01:30", LONDON,
                            sleeps={"2026-03-27T22:00": "2026-03-31T09:17"})
    ran = [d for d, _ in runs]
    assert ran == [dt.date(2026, 3, 26), dt.date(2026, 3, 27), dt.date(2026, 3, 31), dt.date(2026, 4, 1)]
    assert caught == [dt.date(2026, 3, 28), dt.date(2026, 3, 29), dt.date(2026, 3, 30)]
    wake = next(t for d, t in runs if d == dt.date(2026, 3, 31))
    assert wake == utc("2026-03-31T09:20")  # the first tick after waking


def test_failed_day_is_retried_later_and_then_left_alone():
    day = dt.date(2026, 5, 4)
    failed_once = {day: DayRecord(failed_attempts=1, last_attempt=utc("2026-05-04T02:01"))}
    assert plan(utc("2026-05-04T02:10"), "02:00", UTC, failed_once, day).today is None  # too soon
    assert plan(utc("2026-05-04T02:40"), "02:00", UTC, failed_once, day).today == day
    spent = {day: DayRecord(failed_attempts=3, last_attempt=utc("2026-05-04T03:30"))}
    p = plan(utc("2026-05-04T09:00"), "02:00", UTC, spent, day)
    assert p.today is None and "failed 3 times" in p.waiting[0]


def test_summarise_reads_done_failed_and_interrupted_runs():
    d1, d2, d3, d4 = (dt.date(2026, 5, i) for i in (1, 2, 3, 4))
    end = dt.datetime(2026, 5, 4, 2, 5)
    rows = [
        (d1, "r1", "run", "ok", end), (d1, "r1", "run", "failed", end),  # partial success: done
        (d2, "r2", "run", "failed", end), (d2, "r3", "run", "failed", end + dt.timedelta(hours=1)),
        (d3, "r4", "run", "interrupted", end),  # killed: neither done nor a failure
        (d4, "c1", "catchup", "gap", end), (d4, "c1", "catchup", "ok", end),
    ]
    out = history.summarise(rows)
    assert out[d1].done and not out[d2].done and not out[d3].done and out[d4].done
    assert out[d2].failed_attempts == 2 and out[d2].last_attempt == (end + dt.timedelta(hours=1)).replace(
        tzinfo=UTC)
    assert out[d3].failed_attempts == 0


# -- APScheduler wiring ---------------------------------------------------------------------------
def test_scheduler_jobs_coalesce_one_instance_hours_of_grace_memory_store(tmp_path):
    raw = {"storage": {"database": str(tmp_path / "w.duckdb")},
           "schedule": {"time": "01:30", "timezone": "Europe/London"}}
    cfg = parse_config(raw, tmp_path / "ecotrend.toml")
    sched = build_scheduler(Daemon(cfg, stop=lambda: False))
    jobs = {j.id: j for j in sched.get_jobs()}
    assert set(jobs) == {"daily", "tick"}
    for job in jobs.values():
        assert job.coalesce is True and job.max_instances == 1
        assert job.misfire_grace_time == MISFIRE_GRACE_SECONDS >= 3600
    assert type(sched._jobstores["default"]).__name__ == "MemoryJobStore"
    trig = jobs["daily"].trigger
    assert str(trig.timezone) == "Europe/London"
    assert jobs["tick"].trigger.interval <= dt.timedelta(minutes=10)
    # The cron trigger on the spring-forward night: APScheduler's own answer, whatever it is, is
    # backed by the tick; the run log decides.
    nxt = trig.get_next_fire_time(None, dt.datetime(2026, 3, 28, 12, 0, tzinfo=LONDON))
    assert nxt is not None and nxt.date() >= dt.date(2026, 3, 29)


def test_daemon_runs_what_plan_says_and_one_check_at_a_time(tmp_path):
    raw = {"storage": {"database": str(tmp_path / "none.duckdb")},
           "schedule": {"time": "02:00", "timezone": "UTC"}}
    cfg = parse_config(raw, tmp_path / "ecotrend.toml")
    ran: list[dt.date] = []
    d = Daemon(cfg, stop=lambda: False, clock=lambda: utc("2026-06-01T02:03"), run_day=ran.append,
               catch_up=lambda days, today: None)
    assert d.check().today == dt.date(2026, 6, 1) and ran == [dt.date(2026, 6, 1)]
    d.busy.acquire()
    try:
        assert d.check() is None  # the cron and the tick never run a check at the same time
    finally:
        d.busy.release()
    early = Daemon(cfg, stop=lambda: False, clock=lambda: utc("2026-06-01T01:59"), run_day=ran.append)
    assert not early.check() and ran == [dt.date(2026, 6, 1)]


# -- through the real CLI -------------------------------------------------------------------------
def test_missed_days_are_caught_up_on_start_and_not_run_twice(fake, world, config_data, write_config):
    world.part("github").add_series("llama", days("2023-07-01", 19, 3))
    config_data["schedule"] = {"time": "00:00", "timezone": "UTC"}  # due at once on any clock
    cfg_path = write_config()
    first = run_cli("run", config=cfg_path, today="2023-07-15")
    assert first.returncode == 0, first.stderr
    start = run_cli("schedule", "--once", config=cfg_path, today="2023-07-19")
    assert start.returncode == 0, start.stderr
    db = config_data["storage"]["database"]
    daily = query_db(db, "SELECT DISTINCT day FROM runs WHERE mode = 'run' AND status IN ('ok','partial') "
                         "ORDER BY day")
    assert [r[0] for r in daily] == [dt.date(2023, 7, 15), dt.date(2023, 7, 19)]
    assert query_db(db, "SELECT count(*) FROM observations WHERE day = '2023-07-19' AND metric = "
                        "'repo_count' AND subject = 'llama' AND method = 'snapshot'")[0][0] == 1
    missed = [dt.date(2023, 7, d) for d in (16, 17, 18)]
    catchup = query_db(db, "SELECT day, collector, status FROM runs WHERE mode = 'catchup' ORDER BY ALL")
    assert sorted({r[0] for r in catchup}) == missed
    import collectors
    snapshot_only = sorted(n for n, c in collectors.REGISTRY.items() if not hasattr(c, "backfill"))
    assert "github_search" in collectors.REGISTRY
    for day in missed:
        assert sorted(r[1] for r in catchup if r[0] == day and r[2] == "gap") == snapshot_only
    gaps = query_db(db, "SELECT day, collector FROM gaps ORDER BY ALL")
    assert sorted({g[0] for g in gaps}) == (missed if snapshot_only else [])

    searches = fake.count(r"/search/repositories")
    again = run_cli("schedule", "--once", config=cfg_path, today="2023-07-19")
    assert again.returncode == 0 and "nothing due" in again.stdout
    assert fake.count(r"/search/repositories") == searches  # the day is not collected twice
    status = run_cli("status", "--json", config=cfg_path, today="2023-07-19")
    import json
    data = json.loads(status.stdout)
    expected = [str(d) for d in reversed(missed)] if snapshot_only else []
    assert [g["day"] for g in data["gaps_recorded"]] == expected
    text = run_cli("status", config=cfg_path, today="2023-07-19").stdout
    assert ("not reconstructable" in text) == bool(snapshot_only)


def test_daemon_reads_the_run_log_through_the_autumn_repeat(tmp_path):
    """Fake clock, real warehouse: the repeated 01:30 finds the day in `runs` and does nothing."""
    from warehouse import store

    raw = {"storage": {"database": str(tmp_path / "data" / "w.duckdb"), "pending_dir": str(tmp_path / "p")},
           "schedule": {"time": "01:30", "timezone": "Europe/London"}}
    cfg = parse_config(raw, tmp_path / "ecotrend.toml")
    now = {"t": utc("2026-10-24T00:31")}
    ran: list[dt.date] = []

    def run_day(day: dt.date) -> int:
        ran.append(day)
        con = store.open_writer(cfg.storage)
        try:
            t = now["t"]
            store.commit(con, [(None, store.RunRecord(f"r{len(ran)}", "github_search", day, "run", t, t))])
        finally:
            con.close()
        return 0

    d = Daemon(cfg, stop=lambda: False, clock=lambda: now["t"], run_day=run_day,
               catch_up=lambda days, today: ran.extend(days))
    for t in ("2026-10-24T00:31",  # Saturday 01:31 BST: due, runs
              "2026-10-24T12:00",  # later that day: done
              "2026-10-25T00:29",  # Sunday, before the first 01:30 (BST)
              "2026-10-25T00:31",  # the first 01:30: runs
              "2026-10-25T01:31",  # the repeated 01:30 (GMT): nothing
              "2026-10-25T23:59", "2026-10-26T01:31"):  # Monday 01:30 GMT: runs
        now["t"] = utc(t)
        d.check("tick")
    assert ran == [dt.date(2026, 10, 24), dt.date(2026, 10, 25), dt.date(2026, 10, 26)]
    rows = query_db(cfg.database, "SELECT day, count(*) FROM runs GROUP BY day ORDER BY day")
    assert [n for _, n in rows] == [1, 1, 1]
