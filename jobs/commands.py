"""What each CLI command does; jobs/cli.py only parses arguments and maps errors to exit codes."""
from __future__ import annotations

import datetime as dt
import json
import logging
import re
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import duckdb

import collectors
from collectors import archive as archive_mod
from jobs import runner
from jobs.config import Config
from jobs.output import render
from dashboards import freshness
from warehouse import db, facts, store
from warehouse.metrics import BY_NAME

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_PARTIAL = 0, 1, 2, 3


class UsageError(Exception):
    """Bad arguments for a command; exit 2."""


def say(msg: str) -> None:
    print(msg, file=sys.stderr)


def check_sources(names: list[str] | None, allowed: list[str] | None = None) -> list[str]:
    allowed = allowed if allowed is not None else collectors.names()
    if not names:
        return allowed
    for n in names:
        if n not in collectors.REGISTRY:
            raise UsageError(f"unknown source '{n}' (known: {', '.join(collectors.names())})")
        if n not in allowed:
            raise UsageError(f"source '{n}' cannot do this (these can: {', '.join(allowed)})")
    return list(dict.fromkeys(names))


def print_outcome(outcome: runner.Outcome, started: float) -> None:
    for line in outcome.lines:
        print(line)
    failed = sum(1 for r in outcome.records if r.status not in ("ok",))
    rows = sum(r.rows_written for r in outcome.records)
    reqs = sum(v for r in outcome.records for k, v in r.requests.items()
               if not k.endswith("_304") and k != "rate_limit")
    where = f"; rows spooled to {outcome.spooled}" if outcome.spooled else ""
    line = (f"summary: {len(outcome.records)} sources, {failed} not ok, {rows} rows, {reqs} requests, "
            f"{time.monotonic() - started:.1f}s{where}")
    print(line)
    logging.getLogger("ecotrend").info(line)  # one line per run in data/logs/ too


def cmd_collect(cfg: Config, today: dt.date, sources: list[str] | None, from_archive: dt.date | None
                ) -> int:
    started = time.monotonic()
    names = check_sources(sources)
    stop = runner.StopFlag().install()
    try:
        outcome = runner.collect(cfg, today if from_archive is None else from_archive, names,
                                 mode="collect", from_archive=from_archive, stop=stop, say=say)
    finally:
        stop.restore()
    print_outcome(outcome, started)
    return EXIT_PARTIAL if outcome.failed else EXIT_OK


def cmd_run(cfg: Config, today: dt.date, stop: runner.StopFlag | None = None) -> int:
    """The daily job: every collector, then the site; exit 3 when a source failed."""
    from jobs import alerts

    started = time.monotonic()
    own_stop = stop is None  # the scheduler passes its own flag (its signal handlers are installed)
    stop = runner.StopFlag().install() if stop is None else stop
    try:
        outcome = runner.collect(cfg, today, collectors.names(), mode="run", stop=stop, say=say)
    finally:
        if own_stop:
            stop.restore()
    if outcome.skipped:
        for line in outcome.lines:
            print(line)
        return EXIT_OK
    alerts.maybe_alert(cfg, outcome, today)
    try:
        archive_mod.prune(cfg.raw_dir, today, cfg.storage.raw_keep_days)
    except OSError as exc:
        say(f"raw archive retention skipped: {exc}")
    print_outcome(outcome, started)
    if not outcome.interrupted:
        build_rc = cmd_build(cfg, today, None, False, quiet=False)
        if build_rc != EXIT_OK:
            return build_rc
    return EXIT_PARTIAL if outcome.failed else EXIT_OK


def cmd_build(cfg: Config, today: dt.date, as_of: dt.date | None, png: bool, quiet: bool = False) -> int:
    from jobs import site

    started = time.monotonic()
    pages = site.build_site(cfg, today=today, as_of=as_of, png=png)
    if not quiet:
        total = sum(p.stat().st_size for p in pages)
        print(f"site: {len(pages)} pages, {total / 1024:.0f} KiB, in {time.monotonic() - started:.1f}s "
              f"→ {cfg.site_dir / 'index.html'}")
    return EXIT_OK


def cmd_sql(cfg: Config, query: str, fmt: str, write: bool) -> int:
    if not query.strip().strip(";").strip():
        raise UsageError("sql: the query is empty")
    if write:
        con = store.open_writer(cfg.storage, say=say, rules=cfg.plausibility)
    else:
        con = db.connect(cfg.database, read_only=True, wait_seconds=cfg.storage.lock_wait_seconds, say=say)
        # Read-only means no file is written at all: COPY TO / EXPORT / ATTACH could otherwise drop
        # files into data/pending (merged into the warehouse by the next run) or over the config.
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
    try:
        cur = con.execute(query)
        if cur is None:
            raise UsageError("sql: no SQL statement in the query")
        columns = [d[0] for d in cur.description] if cur.description is not None else []
        rows = cur.fetchall() if columns else []
        if write:  # facts or memberships may have changed by hand: the family totals follow
            store.after_manual_write(con)
    except duckdb.Error as exc:
        raise CommandError(sql_error(exc, write, query)) from None
    finally:
        con.close()
    print(render(columns, rows, fmt) if columns else "ok")
    return EXIT_OK


SQL_HINTS = ("Did you mean", "Candidate bindings")  # DuckDB's suggestion lines, kept under the error
# The views of the query contract, and where a write meant for one has to go instead.
VIEW_BASES = {
    "observations": "facts (series_id, day, value, flags, run_id, collected_at; series names each series_id), "
                    "e.g. DELETE FROM facts WHERE series_id IN (SELECT series_id FROM series WHERE subject = '…')",
    "best_observations": "facts (series_id, day, value, flags, run_id, collected_at)",
    "ecosystem_daily": "facts; the family totals (table family_daily) are recomputed from facts by every write",
}
WRITE_TARGET = re.compile(r"\b(?:DELETE\s+FROM|UPDATE|INSERT\s+(?:OR\s+\w+\s+)?INTO|TRUNCATE(?:\s+TABLE)?"
                          r"|COPY|(?:DROP|ALTER)\s+TABLE(?:\s+IF\s+EXISTS)?)\s+(?:\w+\.)?\"?(\w+)", re.IGNORECASE)


def sql_error(exc: Exception, write: bool, query: str = "") -> str:
    """DuckDB's error as its first line plus its hint lines ("Did you mean …", "Candidate bindings: …");
    a write meant for a view names the base table to use."""
    lines = [ln.strip() for ln in str(exc).strip().splitlines() if ln.strip()] or [type(exc).__name__]
    first = lines[0]
    views = [m.group(1).lower() for m in WRITE_TARGET.finditer(query) if m.group(1).lower() in VIEW_BASES]
    if views and ("base table" in first or "is not an table" in first or "is not a table" in first):
        first += f" ({views[0]} is a view: write to the base table {VIEW_BASES[views[0]]})"
    if not write and (views or "read-only" in first or "read only" in first
                      or "disabled by configuration" in first or "configuration has been locked" in first):
        first += " (the warehouse is opened read-only; add --write to change it)"
    hints = [f"  {ln}" for ln in lines[1:] if ln.startswith(SQL_HINTS)]
    return "\n".join([f"SQL error: {first}", *hints])


class CommandError(Exception):
    """A failure of the command itself, one line; exit 1."""


def status_data(cfg: Config, today: dt.date) -> dict[str, Any]:
    if not cfg.database.exists():
        return {"warehouse": str(cfg.database), "exists": False, "runs": [], "sources": [],
                "metrics": [], "gaps": [], "gaps_recorded": []}
    con = db.connect(cfg.database, read_only=True, wait_seconds=cfg.storage.lock_wait_seconds, say=say)
    try:
        def q(sql: str, params: list | None = None) -> list[dict[str, Any]]:
            cur = con.execute(sql, params or [])
            cols = [d[0] for d in cur.description]
            return [{c: (v.isoformat() if isinstance(v, (dt.date, dt.datetime)) else v)
                     for c, v in zip(cols, r)} for r in cur.fetchall()]
        last = q("""SELECT collector, day, mode, status, started_at, ended_at, rows_written, requests, error
                    FROM runs QUALIFY row_number() OVER (PARTITION BY collector ORDER BY started_at DESC) = 1
                    ORDER BY collector""")
        for r in last:
            r["requests"] = json.loads(r["requests"] or "{}")
        fresh = freshness.source_freshness(q)  # the same figures as the data-health page
        reference = freshness.reference_day(q)
        missing = freshness.not_collected(BY_NAME, freshness.metrics_collected(q))
        metrics = q("""SELECT source, metric, method, count(*) AS rows, min(day) AS first_day,
                       max(day) AS last_day FROM observations GROUP BY ALL ORDER BY ALL""")
        failures = q("""SELECT day, collector, status, error FROM runs
                        WHERE status NOT IN ('ok', 'running') ORDER BY started_at DESC LIMIT 20""")
        gaps = q("""WITH days AS (SELECT DISTINCT day FROM runs WHERE mode IN ('run', 'collect')
                                   AND status IN ('ok', 'partial')),
                     span AS (SELECT min(day) AS a, max(day) AS b FROM days)
                     SELECT CAST(g.d AS DATE) AS day FROM span,
                            generate_series(span.a, span.b, INTERVAL 1 DAY) AS g(d)
                     WHERE span.a IS NOT NULL AND CAST(g.d AS DATE) NOT IN (SELECT day FROM days)
                     ORDER BY 1""")
        try:  # days a catch-up could not reconstruct (snapshot-only sources)
            unrebuilt = q("""SELECT day, string_agg(collector, ', ' ORDER BY collector) AS collectors,
                             any_value(reason) AS reason FROM gaps GROUP BY day ORDER BY day DESC""")
        except duckdb.CatalogException:  # a warehouse from before migration 7
            unrebuilt = []
        integrity, suspects = _fact_checks(con, q)
        from collectors.arena import status_section

        arena = status_section(cfg.collector_settings(), q)  # unmapped licenses and model names on the Arena boards
    finally:
        con.close()
    return {"warehouse": str(cfg.database), "exists": True, "today": today.isoformat(), "runs": last,
            "reference_day": reference, "last_run_days_ago": freshness.days_ago(reference, today),
            "not_collected": missing, "sources": fresh, "metrics": metrics, "failures": failures,
            "gaps": [g["day"] for g in gaps], "gaps_recorded": unrebuilt, "arena": arena,
            "integrity": integrity, "suspects": suspects}


def _fact_checks(con: duckdb.DuckDBPyConnection, q: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Keys held twice (only a hand-made write can do that) and the facts flagged suspect now."""
    try:
        n, examples = facts.duplicates(con)
    except duckdb.CatalogException:  # a warehouse from before migration 12
        return {"duplicate_keys": 0, "examples": []}, []
    integrity = {"duplicate_keys": n, "examples": [[v.isoformat() if isinstance(v, dt.date) else v for v in r]
                                                   for r in examples]}
    suspects = q(facts.SUSPECTS_SQL, ["9999-12-31"])
    return integrity, suspects


def cmd_status(cfg: Config, today: dt.date, as_json: bool) -> int:
    data = status_data(cfg, today)
    if as_json:
        print(json.dumps(data, indent=2, default=str))
        return EXIT_OK
    if not data["exists"]:
        print(f"no warehouse yet at {data['warehouse']}; run 'ecotrend run'")
        return EXIT_OK
    print(f"warehouse: {data['warehouse']}")
    print("\nlast run per collector:")
    print(render(["collector", "day", "status", "rows", "requests", "error"],
                 [(r["collector"], r["day"], r["status"], r["rows_written"],
                   sum(v for k, v in r["requests"].items() if not k.endswith("_304")), r["error"] or "")
                  for r in data["runs"]], "table"))
    print(f"\nfreshness per source (days behind the latest daily run, {data['reference_day']}; "
          f"{data['last_run_days_ago']} day(s) before {data['today']}):")
    print(render(["source", "last_day", "days_behind", "rows"],
                 [(r["source"], r["last_day"], r["days_behind"], r["rows"]) for r in data["sources"]],
                 "table"))
    print("\nrows per metric:")
    print(render(["source", "metric", "method", "rows", "first_day", "last_day"],
                 [tuple(r.values()) for r in data["metrics"]], "table"))
    if data["not_collected"]:
        print(f"\nnot collected yet: {', '.join(data['not_collected'])}")
    if data["failures"]:
        print("\nrecent failures:")
        print(render(["day", "collector", "status", "error"], [tuple(r.values()) for r in data["failures"]],
                     "table"))
    print(f"\ngaps (days without a daily run): {', '.join(data['gaps']) if data['gaps'] else 'none'}")
    if data.get("gaps_recorded"):
        print("\nmissed days not reconstructable (recorded by catch-up):")
        print(render(["day", "collectors", "reason"], [tuple(r.values()) for r in data["gaps_recorded"]],
                     "table"))
    _print_fact_checks(data)
    arena = data.get("arena") or {}
    if arena.get("unmapped_licenses"):
        print("\nArena licenses not in [arena.licenses] (open_weights/commercial_use unknown):")
        print(render(["license", "models", "first_day", "last_day", "example"],
                     [tuple(r.values()) for r in arena["unmapped_licenses"]], "table"))
    if arena.get("unmapped_models"):
        print(f"\nArena models no family claims ({arena['unmapped_models_total']}; add leaderboard_aliases "
              "or [arena] not_tracked):")
        print(render(["model", "last_day", "best_score"], [tuple(r.values()) for r in arena["unmapped_models"]],
                     "table"))
    return EXIT_OK


def _print_fact_checks(data: dict[str, Any]) -> None:
    integrity = data.get("integrity") or {}
    if integrity.get("duplicate_keys"):
        print(f"\nintegrity violation: {integrity['duplicate_keys']} (series, day) keys held more than once "
              "(a hand-made write to facts?); examples:")
        print(render(["day", "source", "metric", "subject", "method", "copies"], integrity["examples"], "table"))
    if data.get("suspects"):
        print("\nsuspect facts (kept out of family totals until a later day confirms them):")
        print(render(["day", "source", "metric", "subject", "value", "collected_at"],
                     [tuple(r.values()) for r in data["suspects"]], "table"))


def cmd_export(cfg: Config, to: Path) -> int:
    from jobs import lake

    return lake.export_command(cfg, Path(to))


def cmd_config_check(cfg: Config) -> int:
    print(f"{cfg.path}: ok")
    print(f"warehouse {cfg.database}; raw archive {cfg.raw_dir} (kept {cfg.storage.raw_keep_days} days); "
          f"site {cfg.site_dir}")
    print(f"{len(cfg.ecosystems)} ecosystems: " + ", ".join(f"{e.key} ({e.label})" for e in cfg.ecosystems))
    for name, c in collectors.REGISTRY.items():
        est = getattr(c, "estimate", None)
        cost = est(cfg.collector_settings()) if est else {}
        cost_s = ", ".join(f"{v} {k}" for k, v in cost.items()) or "no calls"
        print(f"  {name}: {c.description}; a daily run costs about {cost_s}")
    for sec, label in (("github", "GitHub"), ("huggingface", "Hugging Face"), ("openrouter", "OpenRouter"),
                       ("replicate", "Replicate")):
        env = getattr(cfg, sec).token_env
        print(f"{label} token ({env}): {'set' if cfg.token(sec) else 'not set'}")
    from jobs import tokens

    for line in tokens.notices(cfg, collectors.names()):
        print(f"  {line}")
    alert = (cfg.alerts.command or "").strip()
    print(f"schedule: daily at {cfg.schedule.time} {cfg.schedule.timezone} ('ecotrend schedule'); "
          f"alerts: {alert if alert else 'none ([alerts] command is empty)'}")
    return EXIT_OK


def sources_list() -> int:
    for name, c in collectors.REGISTRY.items():
        extra = " (backfill)" if hasattr(c, "backfill") else ""
        print(f"{name}\t{c.description}{extra}")
    return EXIT_OK


def cmd_backfill(cfg: Config, today: dt.date, since: dt.date, until: dt.date | None,
                 sources: list[str] | None) -> int:
    until = until or today
    if since > until:
        raise UsageError(f"--since {since} is after --until {until}")
    if until > today:
        raise UsageError(f"--until {until} is in the future (today is {today})")
    able = [n for n, c in collectors.REGISTRY.items() if hasattr(c, "backfill")]
    names = check_sources(sources, able)
    if not names:
        raise UsageError("no configured collector can backfill yet")
    started = time.monotonic()
    stop = runner.StopFlag().install()
    try:
        outcome = runner.backfill(cfg, since, until, names, today, stop=stop, say=say)
    finally:
        stop.restore()
    print_outcome(outcome, started)
    return EXIT_PARTIAL if outcome.failed else EXIT_OK


def copy_tree(src: Path, dst: Path) -> None:
    shutil.copytree(src, dst, dirs_exist_ok=True)


def cmd_schedule(cfg: Config, once: bool, today: dt.date | None) -> int:
    """The long-running scheduler (or one check with --once); --today moves its clock's date."""
    from jobs import schedule

    clock = None
    if today is not None:
        def clock() -> dt.datetime:
            now = dt.datetime.now(dt.UTC)
            return dt.datetime.combine(today, now.timetz())
    return schedule.serve(cfg, once=once, clock=clock)


def cmd_backup(cfg: Config, to: Path, today: dt.date) -> int:
    from jobs import backup

    started = time.monotonic()
    try:
        path = backup.backup(cfg, to, today, say=say)
    except FileExistsError as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        raise CommandError(f"backup failed: {exc}") from None
    print(f"backup: {path} ({path.stat().st_size / 1024:.0f} KiB, {time.monotonic() - started:.1f}s); "
          f"open it with: duckdb -readonly {path}")
    return EXIT_OK


def cmd_demo(config: str | None, today: dt.date | None, folder: Path, days: int, verbose: bool) -> int:
    from jobs import demo

    if days < 1 or days > 60:
        raise UsageError("--days must be between 1 and 60")
    return demo.run(config, folder, days=days, today=today, verbose=verbose)
