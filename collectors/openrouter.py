"""Tokens per model and day on OpenRouter: ``GET {api_url}/api/v1/datasets/rankings-daily``.

The Data API answers ``{"data": [{"date", "model_permaslug", "total_tokens"}…], "meta": {"as_of",
"start_date", "end_date", "version"}}`` for ``?start_date=&end_date=`` (history from 2025-01-01): per
day the top 50 public models by tokens plus one row ``other`` summing the rest.  ``total_tokens`` is
a decimal string, read exactly.  Permaslugs carry the author (``meta-llama/…``) and keep dated
versions and ``:free`` variants as rows of their own.  The key goes in ``Authorization: Bearer``;
30 requests a minute per key (calls are spaced by ``[openrouter] requests_per_minute``), 500 a day
per account, so the backfill asks a month per call.

Stored (source ``openrouter``, method ``snapshot``: OpenRouter's own figure for that day):

- ``tokens_day`` for every row of the day (subject = the permaslug, ``other`` included), for
  ``total`` (every row, ``other`` included), for ``open_weight`` (models the public model list
  ``GET {api_url}/api/v1/models`` gives a ``hugging_face_id``) and for ``family:{key}`` (the
  family's listed models: first family in config order whose ``openrouter_authors`` or
  ``openrouter_models`` match, so no model counts for two families);
- ``token_share`` of ``family:{key}`` = its tokens over ``total`` of the same day, computed here from
  one answer, so numerator and denominator always come from the same restatement;
- ``open_weight_token_share`` of ``open_weight`` = its tokens over ``total``.

Licence CC BY 4.0: each day's ``meta.as_of`` goes to the table ``openrouter_days`` (keyed by day,
rewritten with the figures whenever the day is re-read), whence the views give the citation line
``Source: OpenRouter (openrouter.ai/rankings), as of {as_of}``.  Figures may be restated, so each
daily run re-reads the last ``REREAD_DAYS`` days already stored.
"""
from __future__ import annotations

import datetime as dt
import fnmatch
from collections.abc import Iterable, Iterator
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qs, urlsplit

from collectors.attempts import Attempts
from collectors.base import Batch, Context, Membership, Subject
from collectors.errors import NetworkUnavailable, ParseError, RateLimitExhausted, SourceError
from collectors.settings import Family, Settings

EARLIEST = dt.date(2025, 1, 1)
WINDOW_DAYS = 31  # one call per month of history: 2025-01-01 to the end of 2026 is 24 calls
REREAD_DAYS = 3
CITATION = "Source: OpenRouter (openrouter.ai/rankings), as of {as_of}"
RANKINGS_PATH = "/api/v1/datasets/rankings-daily"
OTHER = "other"

Days = dict[dt.date, dict[str, int]]


def configured(cfg: Settings) -> list[Family]:
    return [e for e in cfg.ecosystems if e.openrouter_authors or e.openrouter_models]


def token_notice(cfg: Settings) -> str | None:
    """The one line said when families are configured for OpenRouter but its key is not set."""
    if not configured(cfg) or cfg.openrouter.token():
        return None
    env = cfg.openrouter.token_env
    return (f"{env} is not set; set it to an OpenRouter API key (openrouter.ai/settings/keys) to collect "
            "tokens per model and day")


def parse_tokens(value: Any, where: str) -> int:
    """'123456789' → 123456789, exactly; a non-integral, negative or non-numeric value is a ParseError."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ParseError(f"{where}: total_tokens is not a decimal string")
    try:
        d = Decimal(str(value).strip())
    except InvalidOperation:
        raise ParseError(f"{where}: total_tokens '{value}' is not a number") from None
    if not d.is_finite() or d < 0 or d != d.to_integral_value():
        raise ParseError(f"{where}: total_tokens '{value}' is not a whole count")
    return int(d)


def _day(value: Any, where: str) -> dt.date:
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        raise ParseError(f"{where}: bad date {value!r}") from None


def parse_rankings(data: Any, what: str) -> tuple[Days, dict[str, str]]:
    """An answer → ({day: {permaslug: tokens}}, {"as_of", "version"}); duplicate rows of a day add up."""
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise ParseError(f"rankings {what}: the answer has no data list")
    meta = data.get("meta")
    as_of = meta.get("as_of") if isinstance(meta, dict) else None
    if not isinstance(as_of, str) or not as_of.strip():
        raise ParseError(f"rankings {what}: no meta.as_of (its figures could not be cited)")
    days: Days = {}
    for row in data["data"]:
        if not isinstance(row, dict):
            raise ParseError(f"rankings {what}: a row is not an object")
        slug = row.get("model_permaslug")
        if not isinstance(slug, str) or not slug.strip():
            raise ParseError(f"rankings {what}: a row has no model_permaslug")
        day = _day(row.get("date"), f"rankings {what}")
        n = parse_tokens(row.get("total_tokens"), f"rankings {what}, {day} {slug}")
        models = days.setdefault(day, {})
        models[slug] = models.get(slug, 0) + n
    return days, {"as_of": as_of.strip(), "version": str(meta.get("version") or "")}


def parse_models(data: Any) -> dict[str, bool]:
    """The public model list → {id or canonical slug: weights published (has a hugging_face_id)}."""
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise ParseError("model list: the answer has no data list")
    out: dict[str, bool] = {}
    for m in data["data"]:
        if not isinstance(m, dict) or not isinstance(m.get("id"), str):
            raise ParseError("model list: a model has no id")
        hf = m.get("hugging_face_id")
        open_weights = isinstance(hf, str) and bool(hf.strip())
        for key in (m.get("id"), m.get("canonical_slug")):
            if isinstance(key, str) and key:
                out[key.lower()] = out.get(key.lower(), False) or open_weights
    return out


def family_of(slug: str, families: list[Family]) -> str | None:
    """The first family (config order) whose authors or permaslug patterns match ``slug``."""
    s = slug.lower()
    for eco in families:
        if any(s.startswith(a.lower() + "/") for a in eco.openrouter_authors):
            return eco.key
        if any(fnmatch.fnmatchcase(s, p.lower()) for p in eco.openrouter_models):
            return eco.key
    return None


def weights_of(slug: str, weights: dict[str, bool]) -> bool | None:
    """Published weights for a permaslug (its ``:variant`` dropped); None when the list lacks it."""
    return weights.get(slug.split(":", 1)[0].lower())


def chunks(start: dt.date, end: dt.date, days: int = WINDOW_DAYS) -> list[tuple[dt.date, dt.date]]:
    out = []
    while start <= end:
        stop = min(end, start + dt.timedelta(days=days - 1))
        out.append((start, stop))
        start = stop + dt.timedelta(days=1)
    return out


def windows_of(urls: list[str]) -> list[tuple[dt.date, dt.date]]:
    """The windows a replayed day asked for, from its archived rankings URLs."""
    out = []
    for url in urls:
        parts = urlsplit(url)
        q = parse_qs(parts.query)
        if parts.path.endswith(RANKINGS_PATH) and q.get("start_date") and q.get("end_date"):
            try:
                out.append((dt.date.fromisoformat(q["start_date"][0]), dt.date.fromisoformat(q["end_date"][0])))
            except ValueError:
                continue
    return sorted(set(out))


def day_rows(batch: Batch, day: dt.date, models: dict[str, int], families: list[Family],
             weights: dict[str, bool] | None) -> None:
    """One day's observations: every row, the day's total, each family and the open-weight share."""
    total = sum(models.values())
    for slug, n in sorted(models.items()):
        batch.add(day, "tokens_day", slug, n)
    batch.add(day, "tokens_day", "total", total)
    per_family = {eco.key: 0 for eco in families}
    for slug, n in models.items():
        key = family_of(slug, families) if slug != OTHER else None
        if key is not None:
            per_family[key] += n
    for key, n in per_family.items():
        flags = "" if n else "none_listed"  # none of its models among the day's top 50
        batch.add(day, "tokens_day", f"family:{key}", n, flags=flags)
        if total:
            batch.add(day, "token_share", f"family:{key}", n / total, flags=flags)
    if weights is None or not total:
        return
    known = {s: weights_of(s, weights) for s in models if s != OTHER}
    open_tokens = sum(models[s] for s, w in known.items() if w)
    flags = "unknown_weights" if any(w is None for w in known.values()) else ""
    batch.add(day, "tokens_day", "open_weight", open_tokens, flags=flags)
    batch.add(day, "open_weight_token_share", "open_weight", open_tokens / total, flags=flags)


class OpenRouter:
    name = "openrouter"
    source = "openrouter"
    description = "tokens per model and day on OpenRouter (rankings Data API; needs an API key)"

    def memberships(self, cfg: Settings) -> Iterable[Membership]:
        for eco in configured(cfg):
            yield Membership(eco.key, self.source, f"family:{eco.key}", "primary")

    def estimate(self, cfg: Settings) -> dict[str, int]:
        return {"rankings": 1, "models": 1} if configured(cfg) and cfg.openrouter.token() else {}

    def token_notice(self, cfg: Settings) -> str | None:
        return token_notice(cfg)

    # -- fetch ------------------------------------------------------------------------------------
    def fetch(self, ctx: Context, start: dt.date, end: dt.date) -> tuple[Days, dict[str, str]]:
        cfg = ctx.settings.openrouter
        resp = ctx.http.get(f"{cfg.api_url}{RANKINGS_PATH}", source=self.source, resource="rankings",
                            params={"start_date": start.isoformat(), "end_date": end.isoformat()},
                            token=cfg.token(), min_interval=60.0 / cfg.requests_per_minute)
        days, meta = parse_rankings(resp.json(), f"{start}..{end}")
        return {d: m for d, m in days.items() if start <= d <= end}, meta

    def fetch_models(self, ctx: Context) -> dict[str, bool]:
        # public: the key is not sent
        resp = ctx.http.get(f"{ctx.settings.openrouter.api_url}/api/v1/models", source=self.source,
                            resource="models")
        return parse_models(resp.json())

    def _weights(self, ctx: Context, batch: Batch) -> dict[str, bool] | None:
        if ctx.http.replaying and not any(urlsplit(u).path.endswith("/api/v1/models")
                                          for u in ctx.http.archived_urls(self.source)):
            return None
        try:
            return self.fetch_models(ctx)
        except NetworkUnavailable:
            raise
        except SourceError as exc:  # the tokens stand without it; only the open-weight share is missing
            batch.failures.append(f"model list: {exc}; open-weight share not stored")
            return None

    def _store(self, batch: Batch, days: Days, meta: dict[str, str], families: list[Family],
               weights: dict[str, bool] | None) -> None:
        for day in sorted(days):
            day_rows(batch, day, days[day], families, weights)
            batch.tables.setdefault("openrouter_days", []).append(
                {"day": day, "as_of": meta["as_of"], "version": meta["version"], "row_count": len(days[day])})
            for slug in days[day]:
                kind = "remainder" if slug == OTHER else "model"
                batch.subjects.append(Subject(self.source, slug, kind, slug))
        for eco in families:
            batch.subjects.append(Subject(self.source, f"family:{eco.key}", "family"))
        if days:
            batch.subjects += [Subject(self.source, "total", "total"), Subject(self.source, "open_weight", "total")]

    # -- daily ------------------------------------------------------------------------------------
    def _daily_windows(self, ctx: Context) -> list[tuple[dt.date, dt.date]]:
        if ctx.http.replaying:
            return windows_of(ctx.http.archived_urls(self.source))
        end = ctx.day - dt.timedelta(days=1)
        through = ctx.get_state(self.source, "through")
        start = dt.date.fromisoformat(through) - dt.timedelta(days=REREAD_DAYS - 1) if through \
            else ctx.day - dt.timedelta(days=REREAD_DAYS)
        return chunks(max(EARLIEST, start), end)

    def collect(self, ctx: Context) -> Batch:
        batch = Batch(self.source)
        families = configured(ctx.settings)
        if not families:
            return batch  # nothing configured: idle, no request
        if not ctx.settings.openrouter.token() and not ctx.http.replaying:
            batch.skipped = token_notice(ctx.settings) or ""
            return batch
        tries = Attempts(batch)
        got: list[tuple[Days, dict[str, str]]] = []
        for start, end in self._daily_windows(ctx):
            answer = tries.run(f"rankings {start}..{end}", lambda s=start, e=end: self.fetch(ctx, s, e))
            if answer is not None:
                got.append(answer)
        tries.finish("windows")
        weights = self._weights(ctx, batch)
        for days, meta in got:
            self._store(batch, days, meta, families, weights)
        last = max((d for days, _ in got for d in days), default=None)
        self._note_through(ctx, batch, last)
        return batch

    def _note_through(self, ctx: Context, batch: Batch, last: dt.date | None) -> None:
        if last is None or ctx.http.replaying:
            return
        old = ctx.get_state(self.source, "through")
        if not old or last > dt.date.fromisoformat(old):
            batch.state["through"] = last.isoformat()

    # -- backfill ---------------------------------------------------------------------------------
    def backfill(self, ctx: Context, since: dt.date, until: dt.date) -> Iterator[Batch]:
        """Month windows from ``since`` (not before 2025-01-01), oldest first; each committed on its own.

        A rerun with the same ``--since`` resumes after the last finished window; a window that
        fails ends the backfill there (rerun to resume), so no window is ever skipped."""
        families = configured(ctx.settings)
        if not families:
            return
        if not ctx.settings.openrouter.token():
            yield Batch(self.source, skipped=token_notice(ctx.settings) or "")
            return
        since, until = max(since, EARLIEST), min(until, ctx.day - dt.timedelta(days=1))
        key = f"backfill:{since.isoformat()}"
        done = ctx.get_state(self.source, key)
        todo = [(s, e) for s, e in chunks(since, until) if not done or e > dt.date.fromisoformat(done)]
        if not todo:
            return
        first = Batch(self.source)
        weights = self._weights(ctx, first)
        for i, (start, end) in enumerate(todo):
            batch = first if i == 0 else Batch(self.source)
            try:
                days, meta = self.fetch(ctx, start, end)
            except (NetworkUnavailable, RateLimitExhausted):
                raise
            except SourceError as exc:
                raise SourceError(f"rankings {start}..{end}: {exc}") from None
            self._store(batch, days, meta, families, weights)
            batch.state[key] = end.isoformat()
            self._note_through(ctx, batch, max(days, default=None))
            yield batch
