"""GitHub "Used by": how many repositories and packages depend on a project (scraped, no API).

``GET {web_url}/{owner}/{repo}/network/dependents`` shows two header toggles, "16,739 Repositories"
and "1,654 Packages", counted for one package of the repository.  A repository that publishes several
packages has a package selector; its links carry ``?package_id=…``.  The ecosystem key ``dependents``
lists ``owner/repo`` (the package GitHub shows by default) or ``owner/repo:package`` (that package,
looked up by name in the selector).

Subject: ``owner/repo`` or ``owner/repo:package``.  Metrics ``dependents_repos`` and
``dependents_packages``.  A page without the counts raises ParseError for the whole source: the
markup changed, and one zero stored per repository would read as a collapse.  The only zero we
store is one the page states: GitHub's "We haven't found any dependents" empty state.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import parse_qs, urlsplit

from bs4 import BeautifulSoup

from collectors import web_common as web
from collectors.attempts import Attempts
from collectors.base import Batch, Context, Membership, Subject
from collectors.errors import ParseError, SourceError
from collectors.http import Response
from collectors.settings import Settings

# Every selector this scraper depends on, in one place (see README "Scraped metrics").
SELECTORS = {
    # the two header toggles: "N Repositories" and "N Packages"
    "toggle": "div.table-list-header-toggle a.btn-link",
    # package selector entries (only on repositories publishing several packages)
    "package_item": 'a[href*="/network/dependents?package_id="]:not([href*="dependent_type="])',
    "package_name": "span",
    "package_checked": '[aria-checked="true"]',
    # GitHub's empty state: an explicit statement that there are no dependents
    "empty_state": ".blankslate",
}
TOGGLE_RE = re.compile(r"^(?P<n>[\d.,]+\s*[kKmMbB]?)\s+(?P<kind>Repositor(?:y|ies)|Packages?)$")
EMPTY_RE = re.compile(r"haven.t found any dependents", re.IGNORECASE)
FINAL_REPO_RE = re.compile(r"/([A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]+)/network/dependents/?$")


def parse_entry(entry: str) -> tuple[str, str | None]:
    """``owner/repo`` → (repo, None); ``owner/repo:package`` → (repo, package)."""
    repo, sep, package = entry.partition(":")
    return repo.strip(), (package.strip() or None) if sep else None


def parse_counts(page: BeautifulSoup) -> tuple[dict[str, tuple[int, bool]], bool]:
    """{'repos': (n, abbreviated), 'packages': (…)} from the toggles; ({}, True) for the empty state."""
    counts: dict[str, tuple[int, bool]] = {}
    for a in page.select(SELECTORS["toggle"]):
        m = TOGGLE_RE.match(web.collapse(a.get_text(" ")))
        if not m:
            continue
        key = "repos" if m.group("kind").startswith("Repositor") else "packages"
        try:
            counts[key] = web.parse_count(m.group("n"))
        except ValueError:
            continue
    if not counts:
        empty = page.select_one(SELECTORS["empty_state"])
        if empty is not None and EMPTY_RE.search(web.collapse(empty.get_text(" "))):
            return {"repos": (0, False), "packages": (0, False)}, True
    return counts, False


def parse_packages(page: BeautifulSoup) -> list[tuple[str, str, bool]]:
    """The package selector: [(name, package_id, selected)]; [] when the repository has one package."""
    out: list[tuple[str, str, bool]] = []
    seen: set[str] = set()
    for a in page.select(SELECTORS["package_item"]):
        span = a.select_one(SELECTORS["package_name"])
        name = web.collapse(span.get_text() if span else a.get_text())
        pid = (parse_qs(urlsplit(a.get("href", "")).query).get("package_id") or [""])[0]
        if not name or "{{" in name or not pid or pid in seen:  # skip client-side template rows
            continue
        seen.add(pid)
        checked = a.select_one(SELECTORS["package_checked"]) is not None or a.get("aria-checked") == "true"
        out.append((name, pid, checked))
    return out


def require_counts(page: BeautifulSoup, url: str, day: str) -> dict[str, tuple[int, bool]]:
    """Both counts of a dependents page; ParseError ("markup changed") when either is missing."""
    counts, _empty = parse_counts(page)
    for what in ("repos", "packages"):
        if what not in counts:
            label = "'N Repositories'" if what == "repos" else "'N Packages'"
            raise web.markup_changed(GithubDependents.name, url, f"{label} count", SELECTORS["toggle"], day)
    return counts


def pick_package(packages: list[tuple[str, str, bool]], repo: str, package: str) -> tuple[str, bool]:
    """The named package in the selector → (package_id, selected); SourceError when it is not listed."""
    if not packages:
        raise SourceError(f"{repo} shows no package selector, so package '{package}' cannot be "
                          f"picked; configure plain '{repo}'")
    match = [p for p in packages if p[0] == package]
    if not match:
        listed = ", ".join(p[0] for p in packages)
        raise SourceError(f"{repo} lists no package '{package}' (it lists: {listed})")
    _, pid, selected = match[0]
    return pid, selected


def current_name(resp: Response, repo: str) -> str:
    """The repository's name after a redirect (renamed or transferred), else the one asked for."""
    if resp.redirected_from:
        m = FINAL_REPO_RE.search(urlsplit(resp.url).path)
        if m:
            return m.group(1)
    return repo


class GithubDependents:
    name = "github_dependents"
    source = "github"
    description = "GitHub 'Used by' counts: dependent repositories and packages (scraped)"

    def memberships(self, cfg: Settings) -> Iterable[Membership]:
        for eco in cfg.ecosystems:
            for entry in eco.dependents:
                yield Membership(eco.key, self.source, entry, "member")

    def estimate(self, cfg: Settings) -> dict[str, int]:
        # one page per entry, a second when a named package is not the one shown by default
        n = sum(1 + (parse_entry(e)[1] is not None) for e in cfg.distinct("dependents"))
        return {web.RESOURCE: n} if n else {}

    def url(self, cfg: Settings, repo: str) -> str:
        return f"{cfg.github.web_url}/{repo}/network/dependents"

    def fetch(self, ctx: Context, entry: str) -> tuple[dict[str, tuple[int, bool]], str]:
        """Counts for one entry and the repository's current name; ParseError on odd markup."""
        repo, package = parse_entry(entry)
        resp = web.get_page(ctx, self.url(ctx.settings, repo), source=self.source)
        current = current_name(resp, repo)
        url = self.url(ctx.settings, current)
        page = web.soup(resp)
        if package is not None:
            pid, selected = pick_package(parse_packages(page), repo, package)
            if not selected:
                resp = web.get_page(ctx, url, source=self.source, params={"package_id": pid})
                page = web.soup(resp)
                if not any(p[1] == pid and p[2] for p in parse_packages(page)):
                    raise web.markup_changed(self.name, resp.url, f"selected package '{package}'",
                                             SELECTORS["package_checked"], ctx.day.isoformat())
        return require_counts(page, resp.url, ctx.day.isoformat()), current

    def add(self, ctx: Context, batch: Batch, entry: str, counts: dict[str, tuple[int, bool]], current: str
            ) -> None:
        """One entry's counts; figures stay under the configured name, subjects.canonical records a rename."""
        for metric, key in (("dependents_repos", "repos"), ("dependents_packages", "packages")):
            value, abbreviated = counts[key]
            batch.add(ctx.day, metric, entry, value, flags="abbreviated" if abbreviated else "")
        _, package = parse_entry(entry)
        canonical = current + (f":{package}" if package else "")
        batch.subjects.append(Subject(self.source, entry, "package" if package else "repo", canonical))
        if canonical != entry:
            batch.notes.append(f"{entry} is now {canonical}; update the config when convenient")

    def collect(self, ctx: Context) -> Batch:
        batch = Batch(self.source)
        # a markup change hits every page alike: the source fails, nothing stored
        tries = Attempts(batch, fatal=(ParseError,))
        for entry in ctx.settings.distinct("dependents"):
            got = tries.run(entry, lambda e=entry: self.fetch(ctx, e))
            if got is not None:
                self.add(ctx, batch, entry, *got)
        tries.finish("repositories")
        return batch
