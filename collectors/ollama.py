"""Ollama library pull counts, read from each model's page: ``{web_url}/library/<name>``.

The library has no JSON API; a model page shows its pulls rounded to about three figures
("111.8M").  ``pulls`` is that cumulative level, converted exactly ("111.8M" → 111,800,000) and
flagged ``abbreviated`` whenever the page showed a rounded figure; a figure written out in full is
stored unflagged.  Models (``ollama_models``: a library name such as ``llama3.1``, or ``user/name``
for a user's model at ``{web_url}/user/name``) are memberships with role ``member``: a family's
``pulls`` is the sum over its models.

A page without the pull count (selector in ``SELECTORS``) fails that model with a ``markup changed``
line and stores nothing for it (never a zero); the page is in the raw archive, so a fixed selector
re-parses the day with ``ecotrend collect --from-archive DAY --source ollama``.
"""
from __future__ import annotations

from collections.abc import Iterable

from collectors.attempts import Attempts
from collectors.base import Batch, Context, Membership, Subject
from collectors.errors import ParseError, UpstreamError
from collectors.http import Response
from collectors.settings import Settings
from collectors.web_common import HTML_HEADERS, collapse, markup_changed, parse_count, short, soup

RESOURCE = "web"
SELECTORS = {"pulls": "[x-test-pull-count]"}


def models(cfg: Settings) -> list[str]:
    return cfg.distinct("ollama_models")


def page_path(model: str) -> str:
    return f"/{model}" if "/" in model else f"/library/{model}"


def parse_pulls(resp: Response, model: str, day: str) -> tuple[int, bool]:
    """A model page → (pulls, abbreviated)."""
    node = soup(resp).select_one(SELECTORS["pulls"])
    if node is None:
        raise markup_changed("ollama", resp.url, "pull count", SELECTORS["pulls"], day)
    text = collapse(node.get_text())
    try:
        return parse_count(text)
    except ValueError:
        raise ParseError(f"markup changed: {short(resp.url)} shows '{text[:40]}' where the pull count of "
                         f"'{model}' should be; nothing stored") from None


class Ollama:
    name = "ollama"
    source = "ollama"
    description = "Ollama library pulls per model (scraped model pages; rounded figures flagged)"

    def memberships(self, cfg: Settings) -> Iterable[Membership]:
        for eco in cfg.ecosystems:
            for m in eco.ollama_models:
                yield Membership(eco.key, self.source, m, "member")

    def estimate(self, cfg: Settings) -> dict[str, int]:
        return {RESOURCE: len(models(cfg))}

    def fetch(self, ctx: Context, model: str) -> tuple[int, bool]:
        cfg = ctx.settings.ollama
        resp = ctx.http.get(f"{cfg.web_url}{page_path(model)}", source=self.source, resource=RESOURCE,
                            headers=dict(HTML_HEADERS), min_interval=cfg.web_pause_seconds)
        if b"</html>" not in resp.body[-512:].lower():
            # a page cut short may still parse: never count from it
            raise UpstreamError(f"truncated page: {short(resp.url)} ends before </html>; nothing stored")
        return parse_pulls(resp, model, ctx.day.isoformat())

    def collect(self, ctx: Context) -> Batch:
        batch = Batch(self.source)
        tries = Attempts(batch)
        for m in models(ctx.settings):
            got = tries.run(f"model '{m}'", lambda m=m: self.fetch(ctx, m))
            if got is None:
                continue
            pulls, rounded = got
            batch.add(ctx.day, "pulls", m, pulls, flags="abbreviated" if rounded else "")
            batch.subjects.append(Subject(self.source, m, "model", m))
        tries.finish("models")
        return batch
