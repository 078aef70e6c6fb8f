"""GitHub repository counts per keyword: ``GET /search/repositories?q=<query>&per_page=1``.

``total_count`` is what we count (search looks in name, description and topics by default).
``incomplete_results: true`` means the search timed out upstream and the count may be low: we ask
once more, and if it is still incomplete we store the value flagged ``incomplete``, never as a
plain complete count.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator

from collectors import github_backfill
from collectors import github_common as gh
from collectors.attempts import Attempts
from collectors.base import Batch, Context, Membership, Subject
from collectors.errors import SourceError
from collectors.settings import Settings


def deferred_line(qs: list[str]):
    """How a spent search budget is worded: the queries it leaves for the next run, the first five named."""
    def line(exc: SourceError, deferred: list[str]) -> str:
        left = qs[len(qs) - len(deferred):]
        return (f"{exc}; deferred {len(left)} of {len(qs)} queries: " + ", ".join(f"'{x}'" for x in left[:5])
                + (" …" if len(left) > 5 else ""))
    return line


class GithubSearch:
    name = "github_search"
    source = "github"
    description = "repository counts per keyword (GitHub search total_count)"

    def memberships(self, cfg: Settings) -> Iterable[Membership]:
        for eco in cfg.ecosystems:
            for i, q in enumerate(eco.github_queries):
                yield Membership(eco.key, self.source, q, "primary" if i == 0 else "tracked")

    def estimate(self, cfg: Settings) -> dict[str, int]:
        return {"search": len(cfg.distinct("github_queries"))}

    def count(self, ctx: Context, q: str) -> tuple[int, bool]:
        """One search call (plus one retry when incomplete) → (total_count, still_incomplete)."""
        total, _, incomplete = gh.search(ctx, q, self.source)
        return total, incomplete

    def backfill(self, ctx: Context, since: dt.date, until: dt.date) -> Iterator[Batch]:
        """repos_created per day and a reconstructed repo_count from created: windows (see
        collectors/github_backfill.py); one committed batch per finished window, resumable."""
        yield from github_backfill.backfill(ctx, ctx.settings.distinct("github_queries"), since, until,
                                            self.source, self.name)

    def collect(self, ctx: Context) -> Batch:
        batch = Batch(self.source)
        qs = ctx.settings.distinct("github_queries")
        if qs:
            gh.rate_limit(ctx, self.name)
        tries = Attempts(batch)
        for q in qs:
            got = tries.run(f"query '{q}'", lambda q=q: self.count(ctx, q))
            if got is None:
                continue
            total, incomplete = got
            batch.add(ctx.day, "repo_count", q, total, flags="incomplete" if incomplete else "")
            batch.subjects.append(Subject(self.source, q, "query", q))
            if incomplete:
                batch.notes.append(f"query '{q}': incomplete_results twice; stored flagged 'incomplete'")
        tries.finish("queries", deferred_line(qs))
        return batch
