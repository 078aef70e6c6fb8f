"""GitHub Trending: which family holds today's attention (scraped, no API).

``GET {web_url}/trending?since=daily`` and ``?since=weekly``: one ``article.Box-row`` per repository.
Every row goes to the ``trending`` table (day, period, rank, repo, description, language, stars,
period_stars).  Per ecosystem with ``trending_keywords``, ``trending_repos`` counts the daily rows
that match a keyword and no ``trending_exclude`` term (subject ``trending:{ecosystem}``, role
primary: the count is a fact about the family, not about a repository); the weekly count is kept as
``trending:{ecosystem}:weekly`` (role tracked).

Matching (see :func:`matches`): case-insensitive, against ``owner/name`` plus the description; a term
matches only as a whole word — no letter or digit just before it, no letter just after (a digit may
follow, so "llama" finds "Llama3" and "gpt" finds "GPT4" but not "GPTQ" or "ollama"); punctuation
inside a term matches any punctuation or spacing, so "llama.cpp" also finds "llama-cpp" and "llama cpp".
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from functools import lru_cache
from urllib.parse import urlsplit

from bs4 import BeautifulSoup, Tag

from collectors import web_common as web
from collectors.base import Batch, Context, Membership, Subject
from collectors.settings import Settings

PERIODS = ("daily", "weekly")
PERIOD_WORDS = {"daily": "today", "weekly": "this week", "monthly": "this month"}

# Every selector this scraper depends on, in one place (see README "Scraped metrics").  The markups
# GitHub has served: rows as ``article.Box-row`` named in an ``h2`` (2022 on) or an ``h1`` (2019-2022),
# and before that ``li`` rows of ``ol.repo-list`` named in an ``h3``; archived pages of each re-parse.
SELECTORS = {
    "row": "article.Box-row, ol.repo-list > li",
    # a Sponsor link can come first in the row: only the heading names the repo
    "repo_link": "h2 a[href], h1 a[href], h3 a[href]",
    "description": "p",
    "language": '[itemprop="programmingLanguage"]',
    "stars": 'a[href$="/stargazers"]',
    "period_stars": "span.float-sm-right",
}
PERIOD_STARS_RE = re.compile(r"([\d.,]+\s*[kKmM]?)\s+stars?\s+(today|this week|this month)", re.IGNORECASE)
REPO_HREF_RE = re.compile(r"^/?([A-Za-z0-9][A-Za-z0-9-]*)/([A-Za-z0-9._-]+)/?$")


@lru_cache(maxsize=1024)
def term_pattern(term: str) -> re.Pattern[str]:
    """A term → a regex: whole words, any punctuation/spacing between its parts, digits may follow."""
    parts = re.findall(r"[^\W_]+", term.lower())
    if not parts:
        raise ValueError(f"trending term '{term}' has no letters or digits")
    body = r"[\W_]+".join(re.escape(p) for p in parts)
    return re.compile(rf"(?<![^\W_]){body}(?![^\W\d_])")


def matches(text: str, keywords: Iterable[str], exclude: Iterable[str] = ()) -> bool:
    """True when ``text`` holds a keyword and no excluded term (rules in the module docstring)."""
    low = text.lower()
    if not any(term_pattern(k).search(low) for k in keywords):
        return False
    return not any(term_pattern(x).search(low) for x in exclude)


def row_text(row: dict) -> str:
    return f"{row['repo']} {row.get('description') or ''}"


def parse_rows(html: bytes | str, period: str, day: dt.date, url: str) -> list[dict]:
    """The rows of one trending page.  Loud for the page (no rows, or a row that names no repository:
    ParseError "markup changed"); tolerant within a row (no description, language, star count or stars
    of the period: stored as NULL)."""
    page = BeautifulSoup(html, "html.parser")
    articles = page.select(SELECTORS["row"])
    if not articles:
        raise web.markup_changed(GithubTrending.name, url, "trending rows", SELECTORS["row"], day.isoformat())
    rows = []
    for rank, art in enumerate(articles, start=1):
        rows.append(_row(art, rank, period, day, url))
    return rows


def _row(art: Tag, rank: int, period: str, day: dt.date, url: str) -> dict:
    link = art.select_one(SELECTORS["repo_link"])
    m = REPO_HREF_RE.match(urlsplit(link.get("href", "")).path) if link else None
    if not m:
        raise web.markup_changed(GithubTrending.name, url, f"repository link in row {rank}",
                                 SELECTORS["repo_link"], day.isoformat())
    stars_el = art.select_one(SELECTORS["stars"])  # absent on a new repository with no star yet
    try:
        stars = web.parse_count(stars_el.get_text(" "))[0] if stars_el else None
    except ValueError:
        stars = None
    desc_el = art.select_one(SELECTORS["description"])
    lang_el = art.select_one(SELECTORS["language"])
    period_stars = None
    ps_el = art.select_one(SELECTORS["period_stars"])
    if ps_el is not None:
        pm = PERIOD_STARS_RE.search(web.collapse(ps_el.get_text(" ")))
        if pm:
            if pm.group(2).lower() != PERIOD_WORDS[period]:  # the page ignored ?since=
                raise web.markup_changed(GithubTrending.name, url, f"'stars {PERIOD_WORDS[period]}' "
                                         f"(row {rank} says '{pm.group(2)}')", SELECTORS["period_stars"],
                                         day.isoformat())
            period_stars = web.parse_count(pm.group(1))[0]
    return {
        "day": day, "period": period, "rank": rank, "repo": f"{m.group(1)}/{m.group(2)}",
        # stored as the page shows it (entities decoded, markup-like text kept verbatim);
        # escaping is the dashboards' job
        "description": _text(desc_el),
        "language": _text(lang_el),
        "stars": stars, "period_stars": period_stars,
    }


def _text(el: Tag | None) -> str | None:
    return (web.collapse(el.get_text(" ")) or None) if el is not None else None


def keyed_ecosystems(cfg: Settings) -> list:
    return [e for e in cfg.ecosystems if e.trending_keywords]


class GithubTrending:
    name = "github_trending"
    source = "github"
    description = "GitHub Trending rows (daily, weekly) and per family the rows matching its keywords"

    def memberships(self, cfg: Settings) -> Iterable[Membership]:
        for eco in keyed_ecosystems(cfg):
            yield Membership(eco.key, self.source, f"trending:{eco.key}", "primary")
            yield Membership(eco.key, self.source, f"trending:{eco.key}:weekly", "tracked")

    def estimate(self, cfg: Settings) -> dict[str, int]:
        return {web.RESOURCE: len(PERIODS)} if keyed_ecosystems(cfg) else {}

    def collect(self, ctx: Context) -> Batch:
        batch = Batch(self.source)
        ecos = keyed_ecosystems(ctx.settings)
        if not ecos:
            batch.notes.append("no ecosystem has trending_keywords; nothing to collect")
            return batch
        url = f"{ctx.settings.github.web_url}/trending"
        all_rows: list[dict] = []
        for period in PERIODS:
            resp = web.get_page(ctx, url, source=self.source, params={"since": period})
            rows = parse_rows(resp.body, period, ctx.day, resp.url)
            all_rows += rows
            for eco in ecos:
                n = sum(1 for r in rows if matches(row_text(r), eco.trending_keywords, eco.trending_exclude))
                subject = f"trending:{eco.key}" + ("" if period == "daily" else f":{period}")
                batch.add(ctx.day, "trending_repos", subject, n)
                batch.subjects.append(Subject(self.source, subject, "trending", subject))
        batch.tables["trending"] = all_rows
        return batch
