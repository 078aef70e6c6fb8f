"""The ``ecotrend`` command line: argument parsing and exit codes only; the work is in jobs.commands.

Exit codes: 0 all well; 1 the command itself failed (one line); 2 bad usage or config;
3 the run finished but some sources failed (what succeeded is stored).
"""
from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import sys
from pathlib import Path

from jobs import __version__

EPILOG_RUN = "example: ecotrend run --config ecotrend.toml"


def _day(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{value}' is not a day (YYYY-MM-DD)") from None


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2
        self.exit(2, f"{self.prog}: error: {message}\n")


def _common() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--config", metavar="PATH",
                   help="config file (default: $ECOTREND_CONFIG or ./ecotrend.toml)")
    p.add_argument("--today", metavar="DAY", type=_day,
                   help="pretend today is DAY (UTC, YYYY-MM-DD; also $ECOTREND_TODAY)")
    p.add_argument("-v", "--verbose", action="store_true", help="log debug lines to stderr")
    return p


COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("the daily job: collect every source, then build the dashboards",
            "example: ecotrend run --config ecotrend.toml"),
    "collect": ("collect only (no dashboards)",
                "examples:\n  ecotrend collect --source github_search\n  ecotrend collect --list\n"
                "  ecotrend collect --from-archive 2026-11-27"),
    "backfill": ("rebuild history where a source can (resumable)",
                 "example: ecotrend backfill --since 2023-01-01 --source github_search"),
    "build": ("build the dashboards from what is stored",
              "examples:\n  ecotrend build\n  ecotrend build --as-of 2026-06-30 --png"),
    "sql": ("ad hoc SQL on the warehouse (read-only unless --write)",
            "example: ecotrend sql \"SELECT * FROM ecosystem_daily WHERE metric = 'repo_count' "
            "ORDER BY day DESC LIMIT 10\" --format markdown"),
    "status": ("last runs, freshness, failures, gaps, rows per metric",
               "example: ecotrend status --json"),
    "export": ("the warehouse as a Parquet lake (facts by source/metric, dimensions, manifest); "
               "run again on the same folder it rewrites only what changed",
               "example: ecotrend export --to exports/lake"),
    "config": ("configuration tools", "example: ecotrend config check"),
    "schedule": ("long-running daily scheduler: runs each day once at [schedule] time, catches up missed days",
                 "examples:\n  ecotrend schedule              # until SIGTERM/Ctrl-C (systemd, launchd)\n"
                 "  ecotrend schedule --once       # one check: run what is due, catch up (cron, timers)"),
    "backup": ("a consistent copy of the warehouse that opens on its own",
               "example: ecotrend backup --to /mnt/backups/ecotrend"),
    "demo": ("the whole product offline: simulated upstream, history, daily runs and site in ./demo/",
             "examples:\n  ecotrend demo\n  ecotrend demo --dir /tmp/ecotrend-demo --days 7"),
}


def build_parser() -> argparse.ArgumentParser:
    common = _common()
    parser = Parser(prog="ecotrend", description="Track open-model ecosystems every day.",
                    epilog="example: ecotrend run   (see 'ecotrend COMMAND --help')",
                    formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"ecotrend {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)

    def add(name: str) -> argparse.ArgumentParser:
        help_, epilog = COMMANDS[name]
        return sub.add_parser(name, parents=[common], help=help_, description=help_, epilog=epilog,
                              formatter_class=argparse.RawDescriptionHelpFormatter)

    add("run")
    p = add("collect")
    p.add_argument("--source", action="append", metavar="S", help="a collector (repeatable)")
    p.add_argument("--list", action="store_true", help="name the collectors and stop")
    p.add_argument("--from-archive", metavar="DAY", type=_day,
                   help="re-parse DAY's raw archive instead of the network")
    p = add("backfill")
    p.add_argument("--since", metavar="DAY", type=_day, required=True, help="first day to rebuild")
    p.add_argument("--until", metavar="DAY", type=_day, help="last day (default: today)")
    p.add_argument("--source", action="append", metavar="S", help="a collector (repeatable)")
    p = add("build")
    p.add_argument("--as-of", metavar="DAY", type=_day, help="only what had been collected by DAY")
    p.add_argument("--png", action="store_true",
                   help="also write PNG and SVG files: every chart of the overview, families and capability "
                        "pages, the first chart of the others")
    p = add("sql")
    p.add_argument("query", metavar="QUERY", help="the SQL to run")
    p.add_argument("--format", choices=["table", "csv", "json", "markdown"], default="table")
    p.add_argument("--write", action="store_true", help="open the warehouse read-write")
    p = add("status")
    p.add_argument("--json", action="store_true", help="machine-readable, for monitors")
    p = add("export")
    p.add_argument("--to", metavar="DIR", required=True, type=Path,
                   help="a new or empty folder, or a previous export to update")
    p = add("config")
    p = add("schedule")
    p.add_argument("--once", action="store_true",
                   help="check once (run today's job if due, catch up missed days) and exit")
    p = add("backup")
    p.add_argument("--to", metavar="DIR", required=True, type=Path, help="folder for the copy")
    p = add("demo")
    p.add_argument("--dir", metavar="DIR", type=Path, default=Path("demo"),
                   help="the demo's own folder (default ./demo; never your data)")
    p.add_argument("--days", metavar="N", type=int, default=3, help="simulated daily runs (default 3)")
    p = sub.choices["config"]
    csub = p.add_subparsers(dest="config_command", metavar="SUBCOMMAND", parser_class=Parser)
    csub.add_parser("check", parents=[common], help="validate the config and show what it will collect",
                    description="validate the config and show what it will collect, with its calls",
                    epilog="example: ecotrend config check --config ecotrend.toml")
    return parser


def today_from(args: argparse.Namespace) -> dt.date:
    """The day a snapshot is filed under: --today, else $ECOTREND_TODAY, else the UTC date; never later
    than the UTC date (a day that has not begun has no snapshot to take)."""
    from jobs.commands import UsageError

    now = dt.datetime.now(dt.UTC).date()
    day, where = getattr(args, "today", None), "--today"
    env = os.environ.get("ECOTREND_TODAY", "").strip()
    if day is None and env:
        where = "ECOTREND_TODAY"
        try:
            day = dt.date.fromisoformat(env)
        except ValueError:
            raise UsageError(f"ECOTREND_TODAY='{env}' is not a day (YYYY-MM-DD)") from None
    if day is not None and day > now:
        raise UsageError(f"{where} {day} is later than today's UTC date ({now}): nothing can be collected "
                         "for a day that has not begun")
    return day or now


def dispatch(args: argparse.Namespace) -> int:
    from jobs import commands as c
    from jobs import logs
    from jobs.config import load_config

    if args.command == "collect" and args.list:
        return c.sources_list()
    if args.command == "demo":
        return c.cmd_demo(args.config, today_from(args) if args.today else None, args.dir, args.days,
                          args.verbose)
    cfg = load_config(args.config)
    today = today_from(args)
    from jobs.runner import secrets

    logs.setup(args.verbose, cfg.log_dir if args.command in ("run", "collect", "backfill", "schedule") else None,
               secrets(cfg))
    if args.command == "run":
        return c.cmd_run(cfg, today)
    if args.command == "collect":
        return c.cmd_collect(cfg, today, args.source, args.from_archive)
    if args.command == "backfill":
        return c.cmd_backfill(cfg, today, args.since, args.until, args.source)
    if args.command == "build":
        return c.cmd_build(cfg, today, args.as_of, args.png)
    if args.command == "sql":
        return c.cmd_sql(cfg, args.query, args.format, args.write)
    if args.command == "status":
        return c.cmd_status(cfg, today, args.json)
    if args.command == "export":
        return c.cmd_export(cfg, args.to)
    if args.command == "schedule":
        return c.cmd_schedule(cfg, args.once, args.today)
    if args.command == "backup":
        return c.cmd_backup(cfg, args.to, today)
    if args.command == "config":
        if args.config_command != "check":
            raise c.UsageError("config needs a subcommand: check")
        return c.cmd_config_check(cfg)
    raise c.UsageError(f"unknown command {args.command}")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 2
    from jobs.commands import CommandError, UsageError
    from jobs.config import ConfigError
    from jobs.lock import RunLocked
    from warehouse.db import WarehouseError

    try:
        return dispatch(args)
    except ConfigError as exc:
        print(f"ecotrend: config error: {exc}", file=sys.stderr)
        return 2
    except UsageError as exc:
        print(f"ecotrend: error: {exc}", file=sys.stderr)
        return 2
    except (WarehouseError, RunLocked, CommandError) as exc:
        print(f"ecotrend: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("ecotrend: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # one line, never a traceback (--verbose logs it)
        logging.getLogger("ecotrend").debug("unexpected error", exc_info=True)
        from jobs.logs import redact

        if getattr(args, "verbose", False):
            import traceback

            print(redact(traceback.format_exc()), file=sys.stderr, end="")
        first = str(exc).splitlines()[0] if str(exc) else ""
        print(redact(f"ecotrend: unexpected {type(exc).__name__}: {first}"), file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
