"""npm downloads per day: ``GET {api_url}/downloads/range/{start}:{end}/{pkg}``.

npm's limits: a single-package range covers at most 18 months (``SINGLE_DAYS``), the bulk form
(comma-separated names, unscoped packages only) at most 128 packages and 365 days; nothing exists
before 2015-01-10.  A day is processed soon after UTC midnight, so runs ask up to yesterday and
re-read the last ``REREAD_DAYS`` already stored (late or corrected figures).

The first run of a package goes back to ``[npm] start``; later runs add the new days.  Unscoped
packages that need the same range are asked in bulk when that takes fewer calls than one range per
package; scoped packages are always asked alone, their name URL-encoded (``@scope%2Fname``).
Rows are upserted by day (method ``snapshot``: npm's own figure for that day), never duplicated.
"""
from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from collectors.attempts import Attempts
from collectors.base import Batch, Context, DaySeries, Membership, Subject
from collectors.errors import NetworkUnavailable, ParseError, RateLimitExhausted, SourceError, UpstreamError
from collectors.settings import Settings

EARLIEST = dt.date(2015, 1, 10)
SINGLE_DAYS = 540  # a little under 18 months, so every call stays inside npm's limit
BULK_DAYS = 365
BULK_NAMES = 128
REREAD_DAYS = 3

Call = tuple[tuple[str, ...], dt.date, dt.date]  # (packages, start, end); bulk when several


def chunks(start: dt.date, end: dt.date, days: int) -> list[tuple[dt.date, dt.date]]:
    out = []
    s = start
    while s <= end:
        e = min(end, s + dt.timedelta(days=days - 1))
        out.append((s, e))
        s = e + dt.timedelta(days=1)
    return out


def plan(starts: dict[str, dt.date], end: dt.date) -> list[Call]:
    """The fewest calls covering each package from its start to ``end``, within npm's limits."""
    calls: list[Call] = []
    groups: dict[dt.date, list[str]] = {}
    for pkg, start in starts.items():
        if start > end:
            continue
        if pkg.startswith("@"):
            calls += [((pkg,), s, e) for s, e in chunks(start, end, SINGLE_DAYS)]
        else:
            groups.setdefault(start, []).append(pkg)
    for start, pkgs in sorted(groups.items()):
        single = len(pkgs) * len(chunks(start, end, SINGLE_DAYS))
        bulk = math.ceil(len(pkgs) / BULK_NAMES) * len(chunks(start, end, BULK_DAYS))
        if len(pkgs) >= 2 and bulk < single:
            for i in range(0, len(pkgs), BULK_NAMES):
                names = tuple(pkgs[i:i + BULK_NAMES])
                calls += [(names, s, e) for s, e in chunks(start, end, BULK_DAYS)]
        else:
            for pkg in pkgs:
                calls += [((pkg,), s, e) for s, e in chunks(start, end, SINGLE_DAYS)]
    return calls


RANGE_PATH_RE = re.compile(r"/downloads/range/(\d{4}-\d\d-\d\d):(\d{4}-\d\d-\d\d)/([^/]+(?:/[^/]+)?)$")


def calls_of(urls: list[str]) -> list[Call]:
    """The range calls behind archived URLs, oldest first (to replay a day's run exactly)."""
    out: list[Call] = []
    for url in urls:
        m = RANGE_PATH_RE.search(urlsplit(url).path)
        if m:
            names = tuple(unquote(n) for n in m.group(3).split(","))
            out.append((names, dt.date.fromisoformat(m.group(1)), dt.date.fromisoformat(m.group(2))))
    return sorted(out, key=lambda c: (c[1], c[0]))


def parse_range(data: Any, pkg: str) -> DaySeries:
    """Downloads per day of one package; a day without an integer count is left out and named."""
    if not isinstance(data, dict):
        raise ParseError(f"npm answer for '{pkg}' is not an object")
    if "error" in data:
        raise UpstreamError(f"npm: {pkg}: {str(data['error'])[:80]}")
    rows = data.get("downloads")
    if not isinstance(rows, list):
        raise ParseError(f"npm answer for '{pkg}' has no downloads list")
    out = DaySeries()
    for row in rows:
        try:
            day = dt.date.fromisoformat(str(row.get("day")))
        except (AttributeError, ValueError):
            raise ParseError(f"npm answer for '{pkg}': a row has no day") from None
        n = row.get("downloads")
        if not isinstance(n, int) or isinstance(n, bool) or n < 0:
            out.skipped.append(day.isoformat())
            continue
        out[day] = n
    return out


@dataclass
class Ranges:
    """What one run of range calls gave."""

    tries: Attempts  # the per-package attempts
    last: dict[str, dt.date]  # the last day stored, per package
    failed: set[str]  # packages that failed or were left for the next run
    left: int  # ranges not asked when a spent limit stopped the calls

    def finish(self) -> None:
        """The policy's end (raise when nothing succeeded); a stop is counted in ranges, as npm asks."""
        self.tries.finish("packages", stop_line=lambda exc, _pkgs: (
            f"stopped: {exc}; {self.left} ranges left for the next run"))


class Npm:
    name = "npm"
    source = "npm"
    description = "npm downloads per day (api.npmjs.org ranges, backfilled to [npm] start)"

    def memberships(self, cfg: Settings) -> Iterable[Membership]:
        for eco in cfg.ecosystems:
            for p in eco.npm_packages:
                yield Membership(eco.key, self.source, p, "member")

    def packages(self, cfg: Settings) -> list[str]:
        return cfg.distinct("npm_packages")

    def estimate(self, cfg: Settings) -> dict[str, int]:
        """A daily increment: one range for the unscoped packages together, one per scoped one."""
        pkgs = self.packages(cfg)
        day = dt.date.today()
        calls = plan({p: day - dt.timedelta(days=REREAD_DAYS) for p in pkgs}, day - dt.timedelta(days=1))
        return {"range": len(calls)}

    # -- fetch ------------------------------------------------------------------------------------
    def fetch(self, ctx: Context, call: Call) -> dict[str, dict[dt.date, int] | SourceError]:
        """One range call → per package its days, or the error that package met."""
        pkgs, start, end = call
        names = ",".join(quote(p, safe="@") for p in pkgs)
        url = f"{ctx.settings.npm.api_url}/downloads/range/{start.isoformat()}:{end.isoformat()}/{names}"
        resp = ctx.http.get(url, source=self.source, resource="range")
        data = resp.json()
        if len(pkgs) == 1:
            return {pkgs[0]: parse_range(data, pkgs[0])}
        if not isinstance(data, dict):
            raise ParseError("npm bulk answer is not an object")
        if "error" in data:
            raise UpstreamError(f"npm bulk: {str(data['error'])[:80]}")
        out: dict[str, dict[dt.date, int] | SourceError] = {}
        for p in pkgs:
            if data.get(p) is None:  # the registry nulls unknown names in bulk answers
                out[p] = UpstreamError(f"npm does not know '{p}'")
            else:
                try:
                    out[p] = parse_range(data[p], p)
                except SourceError as exc:
                    out[p] = exc
        return out

    def run_calls(self, ctx: Context, batch: Batch, calls: list[Call],
                  clip: tuple[dt.date, dt.date] | None = None) -> Ranges:
        """Make the calls package by package and add rows to the batch.

        A package is one subject of the failure policy; a bulk range serves all its packages and is
        asked once, in the order of the plan.  A spent rate limit stops the calls but keeps the days
        already fetched (the packages not finished count as failed, so their "through" marker stays
        and the next run asks again)."""
        tries = Attempts(batch)
        answers: dict[Call, dict[str, dict[dt.date, int] | SourceError]] = {}
        last: dict[str, dt.date] = {}
        failed: set[str] = set()
        for pkg in dict.fromkeys(p for call in calls for p in call[0]):
            if ctx.interrupted():
                break
            mine = [call for call in calls if pkg in call[0]]
            done = tries.run(f"package {pkg}", lambda p=pkg, c=mine: self._package(ctx, batch, p, c, answers,
                                                                                  clip, last))
            if done is None:
                failed.add(pkg)
        return Ranges(tries, last, failed, left=len(calls) - len(answers))

    def _package(self, ctx: Context, batch: Batch, pkg: str, calls: list[Call],
                 answers: dict[Call, dict[str, dict[dt.date, int] | SourceError]],
                 clip: tuple[dt.date, dt.date] | None, last: dict[str, dt.date]) -> bool:
        """One package's ranges (each call made once, kept in ``answers``): every day fetched is added,
        then the first error its ranges met is raised."""
        error: SourceError | None = None
        for call in calls:
            if call not in answers:
                if ctx.interrupted():
                    break
                try:
                    answers[call] = self.fetch(ctx, call)
                except (NetworkUnavailable, RateLimitExhausted):
                    raise
                except SourceError as exc:  # the whole range failed: each of its packages met it
                    answers[call] = {p: exc for p in call[0]}
            series = answers[call][pkg]
            if isinstance(series, SourceError):
                error = error or series
                continue
            for day, n in sorted(series.items()):
                if clip and not clip[0] <= day <= clip[1]:
                    continue
                batch.add(day, "downloads_day", pkg, n)
                last[pkg] = max(last.get(pkg, day), day)
            if series.skipped:
                batch.failures.append(series.skipped_line(f"package {pkg}"))
            batch.subjects.append(Subject(self.source, pkg, "package", pkg))
        if error is not None:
            raise error
        return True

    def _start(self, ctx: Context) -> dt.date:
        return max(EARLIEST, dt.date.fromisoformat(ctx.settings.npm.start))

    def _note_through(self, ctx: Context, batch: Batch, last: dict[str, dt.date], failed: set[str]) -> None:
        for pkg, day in last.items():
            if pkg in failed:
                continue
            old = ctx.get_state(self.source, f"through:{pkg}")
            if not old or day > dt.date.fromisoformat(old):
                batch.state[f"through:{pkg}"] = day.isoformat()

    def collect(self, ctx: Context) -> Batch:
        batch = Batch(self.source)
        end = ctx.day - dt.timedelta(days=1)
        starts: dict[str, dt.date] = {}
        for pkg in self.packages(ctx.settings):
            through = ctx.get_state(self.source, f"through:{pkg}")
            if through:
                reread = dt.date.fromisoformat(through) - dt.timedelta(days=REREAD_DAYS - 1)
                starts[pkg] = max(EARLIEST, reread)
            else:
                starts[pkg] = self._start(ctx)
        replay = ctx.http.archived_urls(self.source) if ctx.http.replaying else None
        calls = plan(starts, end) if replay is None else calls_of(replay)
        ranges = self.run_calls(ctx, batch, calls)
        if replay is None:
            self._note_through(ctx, batch, ranges.last, ranges.failed)
        ranges.finish()
        return batch

    def backfill(self, ctx: Context, since: dt.date, until: dt.date) -> Iterator[Batch]:
        """Windows from ``since`` (not before 2015-01-10) to ``until``, oldest first; resumable."""
        pkgs = self.packages(ctx.settings)
        since = max(since, EARLIEST)
        until = min(until, ctx.day - dt.timedelta(days=1))
        if not pkgs or since > until:
            return
        unscoped = [p for p in pkgs if not p.startswith("@")]
        window = BULK_DAYS if len(unscoped) >= 2 else SINGLE_DAYS
        key = f"backfill:{since.isoformat()}"
        done = ctx.get_state(self.source, key)
        for s, e in chunks(since, until, window):
            if done and e <= dt.date.fromisoformat(done):
                continue  # finished by an earlier, interrupted backfill
            batch = Batch(self.source)
            ranges = self.run_calls(ctx, batch, plan({p: s for p in pkgs}, e), clip=(s, e))
            # "through" promises every day from [npm] start up to it is stored: only windows of a
            # backfill that began at or before the start and has reached it may move it
            start = self._start(ctx)
            if since <= start and e >= start - dt.timedelta(days=1):
                self._note_through(ctx, batch, ranges.last, ranges.failed)
            if not ranges.failed:
                batch.state[key] = e.isoformat()
            if ranges.tries.limit is not None:
                ranges.finish()  # raises when the window got nothing; else notes the stop
                yield batch
                return  # the rate limit is spent; a rerun resumes from the last finished window
            yield batch
