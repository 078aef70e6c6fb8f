"""Repository counts back in time from search windows with the ``created:`` qualifier.

For each query, ``repos_created`` per day (method ``backfill``) and a ``repo_count`` series
reconstructed as today's count of repositories created on or before ``until`` minus the creations
after each day.  Search calls are the scarce resource (30 a minute with a token), so each window is
resolved the cheaper way:

* the first page of ``q created:A..B`` (``per_page=100``, explicit ``sort=stars``) gives the
  window's ``total_count`` n and up to 100 items with their ``created_at``;
* n = 0: the whole stretch is empty, one call;
* n ≤ 1,000: either list the remaining pages (ceil(n/100) calls in all) and count the items per
  day, de-duplicated by id, or count day by day (one call a day), whichever costs less; when the
  listed items do not add up to ``total_count`` (repositories moving between pages of an unstable
  sort) the window falls back to counts;
* n > 1,000 (search lists only the first 1,000): the window is split and each part resolved alike.

Every finished window is committed on its own, with the covered span in state
(``search.backfill:{query}``), so a killed backfill resumes without repeating finished windows.
"""
from __future__ import annotations

import datetime as dt
import json
import math
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from collectors import github_budget, reference
from collectors import github_common as gh
from collectors.base import Batch, Context, Subject
from collectors.errors import RateLimitExhausted
from collectors.progress import Progress

SEARCH_CAP = 1000
PER_PAGE = 100
SORT = {"sort": "stars", "order": "desc"}  # search has no stable sort; stars moves least often
SPLIT_TARGET = 800  # aim split windows at this many repositories, below the 1,000 cap
STATE_KEY = "search.backfill:"  # + query → {"from": day, "to": day}: the span stored so far

ONE = dt.timedelta(days=1)


def _days(lo: dt.date, hi: dt.date) -> int:
    return (hi - lo).days + 1


@dataclass
class Leaf:
    """A finished window: creations per day (zeros included)."""

    lo: dt.date
    hi: dt.date
    counts: dict[dt.date, int]
    flags: str = ""
    how: str = ""


@dataclass
class Stats:
    calls: int = 0
    days: int = 0
    windows: int = 0
    splits: int = 0
    fallbacks: int = 0
    hows: dict[str, int] = field(default_factory=dict)


class SearchBackfill:
    """Resolve one query's windows; ``source`` and ``who`` name the collector for the HTTP layer."""

    def __init__(self, ctx: Context, query: str, source: str, who: str):
        self.ctx = ctx
        self.q = query
        self.source = source
        self.who = who
        self.stats = Stats()
        self.first_total: int | None = None
        self.resolved = 0  # repositories in the windows finished so far
        self.announce: Callable[[], None] | None = None

    # -- calls ----------------------------------------------------------------------------------
    def search(self, q: str, per_page: int, page: int = 1) -> tuple[int, list[dict[str, Any]], bool]:
        """One search call, asked once more when incomplete → (total_count, items, incomplete)."""
        def count_call() -> None:
            self.stats.calls += 1
        return gh.search(self.ctx, q, self.source, per_page, {**SORT, "page": page} if per_page > 1 else None,
                         on_call=count_call)

    def window_q(self, lo: dt.date, hi: dt.date) -> str:
        return f"{self.q} created:{lo.isoformat()}" if lo == hi else \
            f"{self.q} created:{lo.isoformat()}..{hi.isoformat()}"

    def count(self, lo: dt.date, hi: dt.date) -> tuple[int, bool]:
        total, _items, incomplete = self.search(self.window_q(lo, hi), 1)
        return total, incomplete

    # -- windows --------------------------------------------------------------------------------
    def leaves(self, lo: dt.date, hi: dt.date, reverse: bool = False, known: int | None = None
               ) -> Iterator[Leaf]:
        """Resolve [lo, hi] into finished windows, in time order (newest first when ``reverse``).

        ``known`` is the window's total when its siblings' totals already tell it; a window known
        to be over the cap is split without spending a probe on it.
        """
        days = _days(lo, hi)
        if known is not None and known > SEARCH_CAP and days > 1:
            yield from self._split(lo, hi, known, False, reverse)
            return
        total, items, incomplete = self.search(self.window_q(lo, hi), PER_PAGE)
        if self.first_total is None:
            self.first_total = total
            if self.announce:
                self.announce()
        if total == 0 and not incomplete:
            yield self._leaf(lo, hi, {lo + ONE * i: 0 for i in range(days)}, how="empty")
            return
        if days == 1:
            yield self._leaf(lo, hi, {lo: total}, "incomplete" if incomplete else "", how="day")
            return
        if total > SEARCH_CAP or incomplete:
            yield from self._split(lo, hi, total, incomplete, reverse)
            return
        pages = math.ceil(total / PER_PAGE)
        if pages - 1 <= days:
            counts = self.listed(lo, hi, total, items, pages)
            if counts is not None:
                yield self._leaf(lo, hi, counts, how="listed")
                return
            self.stats.fallbacks += 1
            self.ctx.log.info("github_search: '%s' %s..%s: listed items do not add up to %d; counting "
                              "day by day", self.q, lo, hi, total)
        counts, flags = self.per_day(lo, hi, total)
        yield self._leaf(lo, hi, counts, flags, how="counted")

    def _leaf(self, lo: dt.date, hi: dt.date, counts: dict[dt.date, int], flags: str = "", how: str = ""
              ) -> Leaf:
        self.resolved += sum(counts.values())
        return Leaf(lo, hi, counts, flags, how)

    def _split(self, lo: dt.date, hi: dt.date, total: int, incomplete: bool, reverse: bool
               ) -> Iterator[Leaf]:
        """Only the first 1,000 can be listed (and an incomplete answer may hide more): split."""
        k = 2 if incomplete else max(2, math.ceil(total / SPLIT_TARGET))
        parts = split(lo, hi, min(k, _days(lo, hi)))
        self.stats.splits += 1
        ordered = list(reversed(parts)) if reverse else parts
        start = self.resolved
        for i, (a, b) in enumerate(ordered):
            # The last part's total is the window's minus its siblings'; it is only used to skip the
            # probe of a part that is over the cap anyway, so a slightly wrong figure costs nothing.
            last = i == len(ordered) - 1
            known = total - (self.resolved - start) if last and not incomplete else None
            yield from self.leaves(a, b, reverse, known)

    def listed(self, lo: dt.date, hi: dt.date, total: int, first: list[dict[str, Any]], pages: int
               ) -> dict[dt.date, int] | None:
        """Count a window's items per day from its pages; None when they do not add up to total."""
        seen: dict[Any, dt.date] = {}
        for page in range(1, pages + 1):
            items = first if page == 1 else self.search(self.window_q(lo, hi), PER_PAGE, page)[1]
            for it in items:
                created = str(it.get("created_at") or "")[:10] if isinstance(it, dict) else ""
                try:
                    day = dt.date.fromisoformat(created)
                except ValueError:
                    return None
                if not lo <= day <= hi:
                    return None
                seen[it.get("id")] = day
        if len(seen) != total:
            return None
        counts = {lo + ONE * i: 0 for i in range(_days(lo, hi))}
        for day in seen.values():
            counts[day] += 1
        return counts

    def per_day(self, lo: dt.date, hi: dt.date, total: int) -> tuple[dict[dt.date, int], str]:
        """Counts day by day; sparse stretches are halved first so that an empty one costs one call."""
        out: dict[dt.date, int] = {}
        flags = ""
        days = _days(lo, hi)
        if total == 0:
            return {lo + ONE * i: 0 for i in range(days)}, ""
        if days == 1:
            return {lo: total}, ""
        if total >= days / 2:  # dense: one count per day is the least it can cost
            for i in range(days):
                n, inc = self.count(lo + ONE * i, lo + ONE * i)
                out[lo + ONE * i] = n
                flags = "incomplete" if inc else flags
            return out, flags
        mid = lo + ONE * (days // 2 - 1)
        n1, inc = self.count(lo, mid)
        n2 = total - n1
        if n2 < 0:  # counts that disagree: measure the second half too
            n2, inc2 = self.count(mid + ONE, hi)
            inc = inc or inc2
        a, fa = self.per_day(lo, mid, n1)
        b, fb = self.per_day(mid + ONE, hi, n2)
        out.update(a)
        out.update(b)
        return out, ",".join(sorted({f for f in (fa, fb, "incomplete" if inc else "") if f}))


def split(lo: dt.date, hi: dt.date, k: int) -> list[tuple[dt.date, dt.date]]:
    """[lo, hi] cut into k runs of days as even as possible, in time order."""
    days = _days(lo, hi)
    bounds = [round(i * days / k) for i in range(k + 1)]
    return [(lo + ONE * bounds[i], lo + ONE * (bounds[i + 1] - 1)) for i in range(k)
            if bounds[i + 1] > bounds[i]]


def todo(covered: tuple[dt.date, dt.date] | None, since: dt.date, until: dt.date
         ) -> tuple[list[tuple[dt.date, dt.date, bool]], tuple[dt.date, dt.date] | None]:
    """Ranges still to do as (lo, hi, newest_first), and the span they extend.

    A range before the stored span is walked newest first and one after it oldest first, so the
    stored span stays contiguous as each window is committed.  A range that does not touch the
    stored span starts a new one.
    """
    if covered and covered[0] <= until + ONE and since <= covered[1] + ONE:
        out = []
        if since < covered[0]:
            out.append((since, covered[0] - ONE, True))
        if until > covered[1]:
            out.append((covered[1] + ONE, until, False))
        return out, covered
    return [(since, until, False)], None


def read_span(value: str | None) -> tuple[dt.date, dt.date] | None:
    if not value:
        return None
    try:
        d = json.loads(value)
        return dt.date.fromisoformat(d["from"]), dt.date.fromisoformat(d["to"])
    except (ValueError, KeyError, TypeError):
        return None


def say(ctx: Context, line: str) -> None:
    print(line, file=sys.stderr, flush=True)
    ctx.log.info("%s", line)


def backfill(ctx: Context, queries: list[str], since: dt.date, until: dt.date, source: str, who: str
             ) -> Iterator[Batch]:
    """The whole backfill: per query, finished windows then the reconstructed repo_count."""
    if not queries:
        return
    yield reference.batch("repo_count")  # the 2023 analysis' figures, beside the history
    resources = gh.rate_limit(ctx, who)
    search = resources.get("search") if isinstance(resources.get("search"), dict) else {}
    per_min = int(search.get("limit", 0)) or None
    grand = Stats()
    for q in queries:
        bf = SearchBackfill(ctx, q, source, who)
        span = read_span(ctx.get_state(source, STATE_KEY + q))
        ranges, span = todo(span, since, until)
        ndays = sum(_days(a, b) for a, b, _ in ranges)
        fresh: dict[dt.date, tuple[int, str]] = {}
        bar = Progress(ndays, f"backfill '{q}'")
        bf.announce = announcer(bar, q, ndays, bf, per_min)
        try:
            for lo, hi, newest_first in ranges:
                for leaf in bf.leaves(lo, hi, newest_first):
                    batch = Batch(source)
                    for day, n in leaf.counts.items():
                        batch.add(day, "repos_created", q, n, method="backfill", flags=leaf.flags)
                        fresh[day] = (n, leaf.flags)
                    span = (min(span[0], leaf.lo), max(span[1], leaf.hi)) if span else (leaf.lo, leaf.hi)
                    batch.state[STATE_KEY + q] = json.dumps({"from": span[0].isoformat(),
                                                             "to": span[1].isoformat()})
                    bf.stats.windows += 1
                    bf.stats.days += _days(leaf.lo, leaf.hi)
                    bf.stats.hows[leaf.how] = bf.stats.hows.get(leaf.how, 0) + 1
                    bar.update(_days(leaf.lo, leaf.hi), calls=bf.stats.calls)
                    yield batch
        except RateLimitExhausted as exc:
            left = ndays - bf.stats.days
            say(ctx, f"github_search backfill '{q}': deferred {left} of {ndays} days ({exc}); rerun the "
                     f"same command from {github_budget.when(exc.resume_at)} to resume where it stopped")
            raise
        finally:
            bar.close()
        yield repo_count_batch(ctx, bf, q, since, until, fresh, source)
        st = bf.stats
        if st.windows:
            say(ctx, f"github_search backfill '{q}': {st.days} days in {st.calls} search calls "
                     f"({st.days / max(1, st.calls):.1f} days a call; {st.windows} windows: "
                     + ", ".join(f"{v} {k}" for k, v in sorted(st.hows.items()))
                     + f"; {st.splits} splits, {st.fallbacks} fallbacks to counts)")
        else:
            say(ctx, f"github_search backfill '{q}': no new days; repo_count rebuilt with {st.calls} "
                     "search call")
        grand.calls += st.calls
        grand.days += st.days
    if len(queries) > 1:
        say(ctx, f"github_search backfill: {len(queries)} queries, {grand.days} days in {grand.calls} "
                 f"search calls")


def announcer(bar: Progress, q: str, ndays: int, bf: SearchBackfill, per_min: int | None
              ) -> Callable[[], None]:
    return lambda: bar.write(estimate_line(q, ndays, bf, per_min))


def estimate_line(q: str, ndays: int, bf: SearchBackfill, per_min: int | None) -> str:
    """After the first answer: roughly how many calls (and minutes at the search budget) it takes."""
    total = bf.first_total or 0
    # listing costs ceil(n/100); over the cap, split probes and partial last pages add about a tenth
    # (measured on the fake with bench/github_calls.py), plus the anchor count
    est = max(1, math.ceil(total / PER_PAGE)) if total <= SEARCH_CAP else math.ceil(total / PER_PAGE * 1.1) + 1
    line = (f"github_search backfill '{q}': {ndays} days to rebuild (first range), about {total} "
            f"repositories, about {est} search calls")
    if per_min:
        line += f" (about {max(1, math.ceil(est / per_min))} min at {per_min} a minute)"
    return line


def repo_count_batch(ctx: Context, bf: SearchBackfill, q: str, since: dt.date, until: dt.date,
                     fresh: dict[dt.date, tuple[int, str]], source: str) -> Batch:
    """repo_count(d) = count today of repositories created up to ``until`` − creations in (d, until]."""
    batch = Batch(source)
    batch.subjects.append(Subject(source, q, "query", q))
    anchor, incomplete = _anchor(bf, until)
    rows = ctx.query("""SELECT day, value FROM observations WHERE source = ? AND metric = 'repos_created'
                        AND subject = ? AND method = 'backfill' AND day > ? AND day <= ?""",
                     [source, q, since, until])
    created = {r[0]: int(r[1]) for r in rows}
    created.update({d: n for d, (n, _f) in fresh.items()})
    later = 0
    day = until
    while day >= since:
        batch.add(day, "repo_count", q, anchor - later, method="backfill",
                  flags="incomplete" if incomplete else "")
        if day == since:
            break
        if day not in created:
            batch.notes.append(f"'{q}': repos_created missing for {day}; repo_count rebuilt only back to it")
            say(ctx, f"github_search backfill '{q}': repos_created missing for {day}; repo_count stops there")
            break
        later += created[day]
        day -= ONE
    return batch


def _anchor(bf: SearchBackfill, until: dt.date) -> tuple[int, bool]:
    total, _items, incomplete = bf.search(f"{bf.q} created:<={until.isoformat()}", 1)
    return total, incomplete
