"""Star history: ``GET /repos/{owner}/{repo}/stargazers/history`` → ``stars_gained`` per day.

Since July 2026 the stargazer list is closed to non-admins; the history endpoint (API version
2026-03-10) answers weekly buckets ``{"week": <unix seconds>, "total": N, "days": [7 counts]}``,
newest first, at most 30 weeks a page, with ``link`` pagination.  It counts stars still held, by
the day they were given: its running sum is not the star count on a past day, and unstars are
invisible.  Values are stored with method ``backfill``; today (not over yet) is left out.

The first run takes the whole history; later runs stop paging once a page reaches the week stored
last time (``stars.cursor:{repo}`` in state), so a daily run costs one page per repository.  Where
the endpoint or its API version is unavailable (older GitHub Enterprise answers 404 or 400) the run
says so once and goes on.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from typing import Any

from collectors import github_budget, reference
from collectors import github_common as gh
from collectors.attempts import Attempts
from collectors.base import Batch, Context, Membership
from collectors.errors import NotFound, ParseError, SourceError
from collectors.github_repos import memberships, repos
from collectors.settings import Settings

API_VERSION = "2026-03-10"
PER_PAGE = 30
CURSOR_KEY = "stars.cursor:"  # + owner/repo → ISO day of the newest week stored


class Unavailable(Exception):
    """The endpoint itself is missing (404 everywhere) or its API version is unknown (400)."""


def parse_weeks(data: Any, repo: str) -> list[tuple[dt.date, list[int]]]:
    """[(week start day, 7 daily counts)] from one page; ParseError when the shape is not as documented."""
    if not isinstance(data, list):
        raise ParseError(f"{repo}: star history page is not a list of weeks")
    out = []
    for w in data:
        if not isinstance(w, dict) or not isinstance(w.get("week"), int) or not isinstance(w.get("days"), list):
            raise ParseError(f"{repo}: star history week lacks 'week' or 'days'")
        days = w["days"]
        if len(days) != 7 or not all(gh.is_count(x) and x >= 0 for x in days):
            raise ParseError(f"{repo}: star history week {w['week']} does not hold 7 day counts")
        if isinstance(w.get("total"), int) and w["total"] != sum(days):
            raise ParseError(f"{repo}: star history week {w['week']}: total {w['total']} is not the sum "
                             f"of its days ({sum(days)})")
        start = dt.datetime.fromtimestamp(w["week"], dt.UTC).date()
        out.append((start, days))
    return out


class GithubStars:
    name = "github_stars"
    source = "github"
    description = "stars gained per day from the star history (new weeks each day, all weeks at first)"

    def memberships(self, cfg: Settings) -> Iterable[Membership]:
        return memberships(cfg, self.source)

    def estimate(self, cfg: Settings) -> dict[str, int]:
        return {"core": len(repos(cfg))}  # one page per repository once the history is stored

    def history(self, ctx: Context, repo: str, stop_at: dt.date | None
                ) -> Iterator[tuple[dt.date, list[int]]]:
        """Weeks newest first, following ``link`` until the end or a week at/before ``stop_at``."""
        url = f"{ctx.settings.github.api_url}/repos/{repo}/stargazers/history"
        try:
            for _resp, data in gh.paginate(ctx, url, source=self.source, resource="core",
                                           params={"per_page": PER_PAGE}, version=API_VERSION):
                weeks = parse_weeks(data, repo)
                yield from weeks
                if stop_at is not None and any(start <= stop_at for start, _ in weeks):
                    return
        except NotFound as exc:
            if exc.status == 404:
                raise Unavailable("404") from None
            raise
        except SourceError as exc:
            if getattr(exc, "status", None) == 400:
                raise Unavailable("400") from None
            raise

    def one(self, ctx: Context, repo: str, batch: Batch, since: dt.date | None = None,
            until: dt.date | None = None, incremental: bool = True) -> int:
        """Store one repository's daily gains; return the days stored."""
        # pages are gathered apart and handed over only once the history is read to its end: a
        # repository whose later page fails has no rows that day, not the newest weeks alone
        final, batch = batch, Batch(self.source)
        cursor_s = ctx.get_state(self.source, CURSOR_KEY + repo) if incremental else None
        cursor = dt.date.fromisoformat(cursor_s) if cursor_s else None
        last_day = min(until or ctx.day, ctx.day - dt.timedelta(days=1))  # today is not over
        newest: dt.date | None = None
        n = 0
        for start, days in self.history(ctx, repo, cursor):
            newest = max(newest or start, start)
            for i, count in enumerate(days):
                day = start + dt.timedelta(days=i)
                if day > last_day or (since is not None and day < since):
                    continue
                batch.add(day, "stars_gained", repo, count, method="backfill")
                n += 1
            if since is not None and start + dt.timedelta(days=6) < since:
                break  # older weeks fall outside the requested range
        if newest is not None and (cursor is None or newest >= cursor) and last_day >= ctx.day - dt.timedelta(days=1):
            # the newest weeks are stored: later runs page only until they reach this week again
            batch.state[CURSOR_KEY + repo] = newest.isoformat()
        final.extend(batch)
        return n

    def _run(self, ctx: Context, rs: list[str], batch_for: Any, since: dt.date | None = None,
             until: dt.date | None = None, incremental: bool = True) -> Iterator[Batch]:
        missing: list[str] = []
        got = 0
        for i, repo in enumerate(rs):
            batch = batch_for()
            tries = Attempts(batch)  # each repository's rows, and its failure line, in a batch of its own
            try:
                got += tries.run(repo, lambda r=repo: self.one(ctx, r, batch, since, until, incremental)) is not None
            except Unavailable as exc:
                if str(exc) == "400":
                    batch.notes.append(f"star history unavailable at {ctx.settings.github.api_url}: the API "
                                       f"answers 400 to version {API_VERSION} (older GitHub Enterprise?); "
                                       "skipped for every repository")
                    yield batch
                    return
                missing.append(repo)
            if tries.limit is not None:
                batch.failures.append(github_budget.deferral(
                    f"deferred star history of {len(rs) - i} repositories", "it", tries.limit))
                yield batch
                return
            yield batch
        if missing:
            yield self._missing(ctx, batch_for(), missing, got)

    def _missing(self, ctx: Context, batch: Batch, missing: list[str], got: int) -> Batch:
        """404s: the endpoint is missing when no repository answered, else those repositories are."""
        if not got:
            batch.notes.append(f"star history unavailable at {ctx.settings.github.api_url}: every "
                               "repository answered 404 (older GitHub Enterprise lacks "
                               "/stargazers/history); skipped")
        else:
            batch.failures += [f"{r}: star history answered 404 (repository missing?)" for r in missing]
        return batch

    def collect(self, ctx: Context) -> Batch:
        out = Batch(self.source)
        rs = repos(ctx.settings)
        if not rs:
            return out
        pending = sum(1 for r in rs if not ctx.get_state(self.source, CURSOR_KEY + r))
        _res, short = github_budget.plan(ctx, self.name, {"core": len(rs) + 3 * pending})
        out.notes += short
        for b in self._run(ctx, rs, lambda: Batch(self.source)):
            out.extend(b)
        if out.failures and not out.observations and len(out.failures) >= len(rs):
            raise SourceError(out.failures[0])
        return out

    def backfill(self, ctx: Context, since: dt.date, until: dt.date) -> Iterator[Batch]:
        """The whole star history within [since, until], one committed batch per repository."""
        rs = repos(ctx.settings)
        if not rs:
            return
        yield reference.batch("stars")  # the 2023 analysis' figures, beside the history
        github_budget.plan(ctx, self.name, {"core": 4 * len(rs)})
        for b in self._run(ctx, rs, lambda: Batch(self.source), since, until, incremental=False):
            for note in b.notes:
                ctx.log.warning("github_stars: %s", note)
            yield b
