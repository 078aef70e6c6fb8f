"""ModelScope (魔搭) model counters: ``GET {api_url}/api/v1/models/{owner}/{name}``.

``Data.Downloads`` is stored as ``downloads_all_time`` and ``Data.Stars`` as ``likes``, with
``source = 'modelscope'``.  The site differs between China (``modelscope.cn``) and the international
site (``modelscope.ai``): ``[modelscope] site`` picks it, ``api_url`` overrides the address.

The models are memberships with role ``item``: charted one by one beside the family's Hugging Face
models, never folded into a family total (``ecosystem_daily`` aggregates a metric over every source
of a family, and a maximum over two hubs' counters would mix them).

The envelope carries ``Code`` (200 when all is well) and ``Message``; a missing model answers 404 or
a ``Code`` other than 200.  A payload without an integer ``Downloads`` is a ParseError (never a zero);
a missing ``Stars`` only skips ``likes`` for that model, with a note.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from collectors.attempts import Attempts
from collectors.base import Batch, Context, Membership, Subject
from collectors.errors import NotFound, ParseError
from collectors.settings import Settings


def _count(v: Any) -> int | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, int) and v >= 0:
        return v
    if isinstance(v, float) and v >= 0 and v.is_integer():
        return int(v)
    return None


def parse_model(data: Any, model_id: str) -> tuple[int, int | None, str]:
    """One model's answer → (downloads, stars or None, canonical id); the model's own id when the answer
    names none.  NotFound for a Code other than 200 or Success false, ParseError for a broken answer."""
    if not isinstance(data, dict):
        raise ParseError("answer is not a JSON object")
    code = data.get("Code")
    if code is not None and str(code) != "200":
        message = str(data.get("Message") or "")[:100]
        raise NotFound(f"ModelScope answered Code {code} ({message})")
    if data.get("Success") is False:
        raise NotFound("ModelScope answered Success false")
    body = data.get("Data")
    if not isinstance(body, dict):
        raise ParseError("answer has no Data object")
    downloads = _count(body.get("Downloads"))
    if downloads is None:
        raise ParseError("Data.Downloads is missing or not a count")
    path, name = body.get("Path"), body.get("Name")
    canonical = f"{path}/{name}" if isinstance(path, str) and isinstance(name, str) and path and name \
        else model_id
    return downloads, _count(body.get("Stars")), canonical


class ModelScope:
    name = "modelscope"
    source = "modelscope"
    description = "ModelScope model downloads and stars (Data.Downloads, Data.Stars)"

    def memberships(self, cfg: Settings) -> Iterable[Membership]:
        for eco in cfg.ecosystems:
            for m in eco.modelscope_models:
                yield Membership(eco.key, self.source, m, "item")

    def estimate(self, cfg: Settings) -> dict[str, int]:
        return {"models": len(cfg.distinct("modelscope_models"))}

    def fetch(self, ctx: Context, model_id: str) -> tuple[int, int | None, str]:
        """One model → (downloads, stars or None, canonical id)."""
        url = f"{ctx.settings.modelscope.api_url}/api/v1/models/{model_id}"
        resp = ctx.http.get(url, source=self.source, resource="models")
        return parse_model(resp.json(), model_id)

    def collect(self, ctx: Context) -> Batch:
        batch = Batch(self.source)
        tries = Attempts(batch)
        for m in ctx.settings.distinct("modelscope_models"):
            got = tries.run(f"model '{m}'", lambda m=m: self.fetch(ctx, m))
            if got is not None:
                self._store(ctx, batch, m, *got)
        tries.finish("models")
        return batch

    def _store(self, ctx: Context, batch: Batch, m: str, downloads: int, stars: int | None, canonical: str) -> None:
        batch.add(ctx.day, "downloads_all_time", m, downloads)
        if stars is None:
            batch.notes.append(f"model '{m}': no Data.Stars in the answer; likes not stored")
        batch.add(ctx.day, "likes", m, stars)
        batch.subjects.append(Subject(self.source, m, "model", canonical))
        if canonical.lower() != m.lower():
            batch.notes.append(f"model '{m}' is now '{canonical}' on ModelScope; update modelscope_models")
