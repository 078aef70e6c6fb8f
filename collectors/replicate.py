"""Replicate run counts: ``GET {api_url}/v1/models/{owner}/{name}`` with the API token.

The answer carries ``run_count`` (runs of the model since it was published, a cumulative level)
among ``owner``, ``name``, ``description``, ``url``, ``visibility`` and ``latest_version``.  It keeps
no history: the daily snapshots are the history, and the view ``replicate_runs_daily`` derives
``runs_day`` from consecutive snapshots as ``model_downloads_daily`` does for the Hub.

``runs`` is stored as given (source ``replicate``, subject ``owner/name`` as configured, role
``member``: a family's ``runs`` is the sum over its models).  A model answering 404, an answer that
is not JSON or lacks an integer ``run_count`` fails that model alone and stores nothing for it.
Without the token (``[replicate] token_env``) the source is skipped with one line.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from collectors.attempts import Attempts
from collectors.base import Batch, Context, Membership, Subject
from collectors.errors import ParseError
from collectors.settings import Settings


def models(cfg: Settings) -> list[str]:
    return cfg.distinct("replicate_models")


def token_notice(cfg: Settings) -> str | None:
    """The one line said when Replicate models are configured but its token is not set."""
    if not models(cfg) or cfg.replicate.token():
        return None
    env = cfg.replicate.token_env
    return (f"{env} is not set; set it to a Replicate API token (replicate.com/account/api-tokens) to collect "
            "run counts")


def parse_model(data: Any, model: str) -> tuple[int, str]:
    """An answer → (run_count, canonical owner/name)."""
    if not isinstance(data, dict):
        raise ParseError(f"model '{model}': the answer is not a JSON object")
    runs = data.get("run_count")
    if isinstance(runs, bool) or not isinstance(runs, int) or runs < 0:
        raise ParseError(f"model '{model}': run_count is missing or not a count")
    owner, name = data.get("owner"), data.get("name")
    canonical = f"{owner}/{name}" if isinstance(owner, str) and isinstance(name, str) and owner and name \
        else model
    return runs, canonical


class Replicate:
    name = "replicate"
    source = "replicate"
    description = "Replicate run counts per model (models API; needs an API token)"

    def memberships(self, cfg: Settings) -> Iterable[Membership]:
        for eco in cfg.ecosystems:
            for m in eco.replicate_models:
                yield Membership(eco.key, self.source, m, "member")

    def estimate(self, cfg: Settings) -> dict[str, int]:
        return {"models": len(models(cfg))} if cfg.replicate.token() else {}

    def token_notice(self, cfg: Settings) -> str | None:
        return token_notice(cfg)

    def fetch(self, ctx: Context, model: str) -> tuple[int, str]:
        cfg = ctx.settings.replicate
        resp = ctx.http.get(f"{cfg.api_url}/v1/models/{model}", source=self.source, resource="models",
                            token=cfg.token())
        return parse_model(resp.json(), model)

    def collect(self, ctx: Context) -> Batch:
        batch = Batch(self.source)
        ids = models(ctx.settings)
        if ids and not ctx.settings.replicate.token() and not ctx.http.replaying:
            batch.skipped = token_notice(ctx.settings) or ""
            return batch
        tries = Attempts(batch)
        for m in ids:
            got = tries.run(f"model '{m}'", lambda m=m: self.fetch(ctx, m))
            if got is None:
                continue
            runs, canonical = got
            batch.add(ctx.day, "runs", m, runs)
            batch.subjects.append(Subject(self.source, m, "model", canonical))
            if canonical.lower() != m.lower():
                batch.notes.append(f"model '{m}' is now '{canonical}' on Replicate; update replicate_models")
        tries.finish("models")
        return batch
