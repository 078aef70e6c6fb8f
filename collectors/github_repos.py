"""Flagship repository stats: ``GET /repos/{owner}/{repo}`` → stars, forks, watchers, open issues.

``watchers`` is ``subscribers_count`` (people watching the repository): GitHub's ``watchers_count``
merely repeats the star count.  ``open_issues`` is ``open_issues_count``, which includes open pull
requests.  Each repository's ETag is kept in state and sent as ``If-None-Match``: a 304 to an
authorised request costs no rate limit, and today's snapshot then repeats the values last stored.
A renamed or transferred repository answers 301 to ``/repositories/{id}``; the client follows it,
the new name is recorded as the subject's canonical name and the history stays under the name in
the config.  A 404 or 451 fails that repository with one line; the others go on.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from collectors import github_budget
from collectors import github_common as gh
from collectors.attempts import Attempts
from collectors.base import Batch, Context, Membership, Subject
from collectors.errors import NotFound, ParseError, SourceError
from collectors.settings import Settings

# metric -> field of the repository object
FIELDS = {"stars": "stargazers_count", "forks": "forks_count", "watchers": "subscribers_count",
          "open_issues": "open_issues_count"}
ETAG_KEY = "repos.etag:"  # + configured owner/repo; state lives under source 'github'
# why a repository is missing, by status (404 otherwise)
MISSING = {451: "unavailable for legal reasons (451)", 410: "gone (410)"}


def repos(cfg: Settings) -> list[str]:
    """Distinct configured repositories, in config order (GitHub names are case-insensitive)."""
    seen: dict[str, str] = {}
    for r in cfg.distinct("github_repos"):
        seen.setdefault(r.lower(), r)
    return list(seen.values())


def memberships(cfg: Settings, source: str) -> Iterable[Membership]:
    """Every configured repository is a member of the families listing it."""
    for eco in cfg.ecosystems:
        for r in eco.github_repos:
            yield Membership(eco.key, source, r, "member")


def parse_repo(data: Any, repo: str) -> tuple[dict[str, int], str, list[str]]:
    """The counters the answer gives, the canonical ``full_name`` and the fields it lacked (a counter
    that is missing or not a count costs that counter only); ParseError when it gives none at all."""
    if not isinstance(data, dict):
        raise ParseError(f"{repo}: repository answer is not an object")
    values = {metric: data[key] for metric, key in FIELDS.items() if gh.is_count(data.get(key)) and data[key] >= 0}
    missing = [key for metric, key in FIELDS.items() if metric not in values]
    if not values:
        raise ParseError(f"{repo}: repository answer lacks an integer '{missing[0]}'")
    name = data.get("full_name")
    return values, name if isinstance(name, str) and "/" in name else repo, missing


class GithubRepos:
    name = "github_repos"
    source = "github"
    description = "flagship repository stars, forks, watchers and open issues (conditional requests)"

    def memberships(self, cfg: Settings) -> Iterable[Membership]:
        return memberships(cfg, self.source)

    def estimate(self, cfg: Settings) -> dict[str, int]:
        return {"core": len(repos(cfg))}

    def stored(self, ctx: Context, repo: str) -> tuple[dict[str, float], str | None]:
        """The latest stored snapshot of each counter, and the canonical name, for a 304."""
        rows = ctx.query(
            """SELECT metric, value FROM observations
               WHERE source = ? AND subject = ? AND method = 'snapshot' AND metric IN (?, ?, ?, ?)
               QUALIFY row_number() OVER (PARTITION BY metric ORDER BY day DESC) = 1""",
            [self.source, repo, *FIELDS])
        canon = ctx.query("SELECT canonical FROM subjects WHERE source = ? AND subject = ?",
                          [self.source, repo])
        return {m: v for m, v in rows}, (canon[0][0] if canon and canon[0][0] else None)

    def fetch(self, ctx: Context, repo: str, etag: str | None) -> tuple[int, Any, str | None]:
        """One conditional GET (redirects followed) → (status, parsed body or None, new etag)."""
        extra = {"If-None-Match": etag} if etag else None
        resp = ctx.http.get(f"{ctx.settings.github.api_url}/repos/{repo}", source=self.source,
                            resource="core", headers=gh.headers(extra), token=gh.token(ctx), ok=(200, 304))
        if resp.status == 304:
            return 304, None, etag
        return 200, resp.json(), resp.headers.get("etag")

    def one(self, ctx: Context, repo: str, batch: Batch) -> None:
        etag = ctx.get_state(self.source, ETAG_KEY + repo)
        status, data, new_etag = self.fetch(ctx, repo, etag)
        if status == 304:
            values, canonical = self.stored(ctx, repo)
            if set(values) == set(FIELDS):
                self.add(ctx, batch, repo, values, canonical or repo)
                return
            # The ETag outlived the rows it stood for (a new warehouse): ask again, unconditionally.
            ctx.log.info("github_repos: %s answered 304 but nothing is stored; fetching it again", repo)
            status, data, new_etag = self.fetch(ctx, repo, None)
        values, canonical, missing = parse_repo(data, repo)
        self.add(ctx, batch, repo, values, canonical)
        if missing:
            batch.failures.append(f"{repo}: answer without {', '.join(missing)}; its other counters are stored")
        if new_etag:
            batch.state[ETAG_KEY + repo] = new_etag
        if canonical.lower() != repo.lower():
            batch.notes.append(f"{repo} is now {canonical} (renamed or transferred); its history stays "
                               f"under {repo} — update the config when convenient")

    def add(self, ctx: Context, batch: Batch, repo: str, values: dict[str, Any], canonical: str) -> None:
        """Today's counters of one repository, under its configured name."""
        for metric, v in values.items():
            batch.add(ctx.day, metric, repo, v)
        batch.subjects.append(Subject(self.source, repo, "repo", canonical))

    def attempt(self, ctx: Context, repo: str, batch: Batch) -> None:
        """:meth:`one`, a missing repository worded by its status."""
        try:
            self.one(ctx, repo, batch)
        except NotFound as exc:
            raise SourceError(MISSING.get(exc.status or 0, "not found (404): deleted, private or misspelt")) \
                from None

    def collect(self, ctx: Context) -> Batch:
        batch = Batch(self.source)
        rs = repos(ctx.settings)
        if not rs:
            return batch
        _resources, short = github_budget.plan(ctx, self.name, {"core": len(rs)})
        batch.notes += short
        tries = Attempts(batch)
        for repo in rs:
            tries.run(repo, lambda r=repo: self.attempt(ctx, r, batch))
        tries.finish("repositories", lambda exc, left: github_budget.deferral(
            f"deferred {len(left)} repositories ({', '.join(left[:3])}{'…' if len(left) > 3 else ''})", "they", exc))
        return batch
