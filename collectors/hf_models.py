"""Hugging Face model families: counts, downloads and likes per author/search, per model, derivatives.

Plain HTTP through the shared :class:`~collectors.http.HttpClient` rather than ``huggingface_hub``:
one session, one raw archive, one request budget for every source; ``huggingface_hub`` reads
``HF_ENDPOINT`` at import time and keeps its own session, retries and cache, none of which would
be archived or counted.

Calls:

- ``GET {endpoint}/api/models?author=A|search=S&sort=downloads&limit=1000&expand=downloads&
  expand=downloadsAllTime&expand=likes&expand=createdAt``, following ``link: <…>; rel="next"``
  cursors to the end: the list has no total in its body, and per-query sums need every model.
- ``GET {endpoint}/api/models?filter=base_model:{kind}:{base}&limit=1000&expand=likes`` per base
  model and kind (finetune, quantized, adapter, merge): only the count matters, so one small field
  is asked for; a ``x-total-count`` header, when the Hub sends one, ends the count after one page.
- ``GET {endpoint}/api/models/{id}?expand=…`` per explicitly configured model; a renamed model
  answers 307 to its new name, which is recorded as the subject's canonical id.

Subjects (source ``huggingface``):

- ``author:{name}`` / ``search:{text}`` (kind ``query``, role ``tracked``): ``model_count``,
  ``downloads_30d``, ``downloads_all_time``, ``likes`` summed over the query's distinct models.
- ``family:{ecosystem}`` (kind ``family``, role ``primary``): the same four metrics over the union
  of the family's queries, each model once.  Two queries of one family overlap (``author:meta-llama``
  and ``search:llama`` share most models), so adding queries would count models twice and taking
  the largest would miss the complement; the union is exact and costs no extra call.
- ``{owner/model}`` (kind ``model``, role ``item``): explicit ``hf_models`` and each family's top
  ``[huggingface] top_models`` by 30-day downloads (listed per day in ``hf_top_models``).
- ``{base}#{kind}`` (kind ``derivatives``, role ``member``): ``derivative_models``.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from collectors.attempts import Attempts
from collectors.base import Batch, Context, Membership, Subject
from collectors import paging
from collectors.errors import ParseError
from collectors.settings import Settings

PAGE_LIMIT = 1000  # the Hub's largest page; fewer calls per query
EXPAND = ("downloads", "downloadsAllTime", "likes", "createdAt")
DERIVATIVE_KINDS = ("finetune", "quantized", "adapter", "merge")
TOTAL_HEADERS = ("x-total-count",)


# The figures a model answer carries, by field name; a field the Hub leaves out (or answers with
# something that is not a count) costs that figure only: the model's other figures are stored.
COUNT_FIELDS = {"downloads": "downloads", "downloadsAllTime": "all_time", "likes": "likes"}


@dataclass
class ModelRow:
    id: str
    downloads: int | None  # rolling 30 days
    all_time: int | None
    likes: int | None

    @property
    def missing(self) -> list[str]:
        """The answer's fields that gave no figure."""
        return [name for name, attr in COUNT_FIELDS.items() if getattr(self, attr) is None]


def query_subject(kind: str, value: str) -> str:
    return f"{kind}:{value}"


def family_subject(eco_key: str) -> str:
    return f"family:{eco_key}"


def derivative_subject(base: str, kind: str) -> str:
    return f"{base}#{kind}"


def family_queries(eco: Any) -> list[tuple[str, str]]:
    """(param, value) for each of a family's list queries: authors first, then searches."""
    return [("author", a) for a in eco.hf_authors] + [("search", s) for s in eco.hf_searches]


def _count(v: Any) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) and v >= 0 else None


def parse_model(item: Any, where: str) -> ModelRow:
    """A model entry of a listing or a model answer. Only the id is required: a missing or malformed
    count leaves that figure None (no row, never a zero), and the caller says which were missing."""
    if not isinstance(item, dict) or not isinstance(item.get("id"), str):
        raise ParseError(f"{where}: a model entry has no id")
    return ModelRow(item["id"], *(_count(item.get(name)) for name in COUNT_FIELDS))


def totals(models: Iterable[ModelRow]) -> dict[str, tuple[int | None, str]]:
    """A listing's figures → {metric: (value, flags)}. A sum that lacks some models' figure is stored
    flagged ``incomplete`` (a lower bound); one that no model gave is not stored."""
    rows = list(models)
    out: dict[str, tuple[int | None, str]] = {"model_count": (len(rows), "")}
    for metric, attr in (("downloads_30d", "downloads"), ("downloads_all_time", "all_time"), ("likes", "likes")):
        have = [getattr(m, attr) for m in rows if getattr(m, attr) is not None]
        out[metric] = (sum(have) if have or not rows else None, "incomplete" if len(have) < len(rows) else "")
    return out


def _partial_line(what: str, rows: Iterable[ModelRow]) -> str | None:
    """One run line naming the models whose answer lacked a figure (their other figures are stored)."""
    short = {m.id: m.missing for m in rows if m.missing}
    if not short:
        return None
    named = "; ".join(f"{mid} without {', '.join(f)}" for mid, f in list(short.items())[:5])
    more = f" (+{len(short) - 5} more)" if len(short) > 5 else ""
    return f"{what}: answer lacked figures for {len(short)} model(s): {named}{more}; the figures it gave are stored"


class HfModels:
    name = "hf_models"
    source = "huggingface"
    description = "Hugging Face model counts, downloads (30-day and all-time), likes, derivatives"

    # -- config -----------------------------------------------------------------------------------
    def memberships(self, cfg: Settings) -> Iterable[Membership]:
        for eco in cfg.ecosystems:
            qs = family_queries(eco)
            if qs:
                yield Membership(eco.key, self.source, family_subject(eco.key), "primary")
            for param, value in qs:
                yield Membership(eco.key, self.source, query_subject(param, value), "tracked")
            for m in eco.hf_models:
                yield Membership(eco.key, self.source, m, "item")
            for base in eco.hf_base_models:
                for kind in DERIVATIVE_KINDS:
                    yield Membership(eco.key, self.source, derivative_subject(base, kind), "member")

    @staticmethod
    def distinct_queries(cfg: Settings) -> list[tuple[str, str]]:
        seen: dict[tuple[str, str], None] = {}
        for eco in cfg.ecosystems:
            for q in family_queries(eco):
                seen.setdefault(q, None)
        return list(seen)

    def estimate(self, cfg: Settings) -> dict[str, int]:
        """The fewest calls: one page per query and derivative count, one per explicit model."""
        return {"models": len(self.distinct_queries(cfg))
                + len(DERIVATIVE_KINDS) * len(cfg.distinct("hf_base_models")),
                "model_info": len(cfg.distinct("hf_models"))}

    # -- fetch ------------------------------------------------------------------------------------
    def _get(self, ctx: Context, url: str, resource: str, params: Any = None):
        return ctx.http.get(url, source=self.source, resource=resource, params=params,
                            token=ctx.settings.huggingface.token())

    def pages(self, ctx: Context, params: list[tuple[str, Any]], what: str):
        """Yield (response, list) per page, following link rel="next" cursors."""
        url = f"{ctx.settings.huggingface.endpoint}/api/models"
        for resp in paging.pages(lambda u, p: self._get(ctx, u, "models", p), url, params, what=what):
            data = resp.json()
            if not isinstance(data, list):
                raise ParseError(f"{what}: expected a JSON list of models")
            yield resp, data

    def list_query(self, ctx: Context, param: str, value: str) -> dict[str, ModelRow]:
        """Every model of one author/search, by id (distinct even if a page repeats one)."""
        params: list[tuple[str, Any]] = [(param, value), ("sort", "downloads"), ("limit", PAGE_LIMIT)]
        params += [("expand", e) for e in EXPAND]
        what = query_subject(param, value)
        out: dict[str, ModelRow] = {}
        for _resp, items in self.pages(ctx, params, what):
            for item in items:
                m = parse_model(item, what)
                out[m.id] = m
        return out

    def count_derivatives(self, ctx: Context, base: str, kind: str) -> int:
        params: list[tuple[str, Any]] = [("filter", f"base_model:{kind}:{base}"), ("limit", PAGE_LIMIT),
                                         ("expand", "likes")]
        what = derivative_subject(base, kind)
        ids: set[str] = set()
        for i, (resp, items) in enumerate(self.pages(ctx, params, what)):
            if i == 0:
                for h in TOTAL_HEADERS:
                    v = resp.headers.get(h, "")
                    if v.strip().isdigit():
                        return int(v)
            for item in items:
                if not isinstance(item, dict) or not isinstance(item.get("id"), str):
                    raise ParseError(f"{what}: a model entry has no id")
                ids.add(item["id"])
        return len(ids)

    def model_info(self, ctx: Context, model: str) -> tuple[ModelRow, str]:
        """One model's figures and its canonical id (after a 307 rename)."""
        url = f"{ctx.settings.huggingface.endpoint}/api/models/{model}"
        resp = self._get(ctx, url, "model_info", [("expand", e) for e in EXPAND])
        data = resp.json()
        row = parse_model(data, model)
        return row, row.id

    # -- collect ----------------------------------------------------------------------------------
    def collect(self, ctx: Context) -> Batch:
        batch = Batch(self.source)
        tries = Attempts(batch)
        results = self._collect_queries(ctx, batch, tries)
        top = self._collect_families(ctx, batch, results)
        self._collect_models(ctx, batch, tries, top)
        self._collect_derivatives(ctx, batch, tries)
        tries.finish("Hub subjects")
        return batch

    def _collect_queries(self, ctx: Context, batch: Batch, tries: Attempts
                         ) -> dict[tuple[str, str], dict[str, ModelRow]]:
        """1. list queries, each fetched once even when two families share it → models per query."""
        results: dict[tuple[str, str], dict[str, ModelRow]] = {}
        for param, value in self.distinct_queries(ctx.settings):
            subj = query_subject(param, value)
            models = tries.run(subj, lambda p=param, v=value: self.list_query(ctx, p, v))
            if models is None:
                continue
            results[(param, value)] = models
            self._totals(batch, ctx.day, subj, models.values())
            batch.subjects.append(Subject(self.source, subj, "query", subj))
        return results

    def _collect_families(self, ctx: Context, batch: Batch, results: dict[tuple[str, str], dict[str, ModelRow]]
                          ) -> dict[str, ModelRow]:
        """2. families: the union of their queries, nothing when one of them failed; each family's top
        models are listed in ``hf_top_models`` → those models, by id."""
        top_n = int(ctx.settings.huggingface.top_models)
        top_models: dict[str, ModelRow] = {}
        top_rows: list[dict[str, Any]] = []
        for eco in ctx.settings.ecosystems:
            qs = family_queries(eco)
            if not qs:
                continue
            if any(q not in results for q in qs):
                batch.notes.append(f"family:{eco.key}: not stored, a query of the family failed")
                continue
            union: dict[str, ModelRow] = {}
            for q in qs:
                union.update(results[q])
            subj = family_subject(eco.key)
            for metric, (v, flags) in totals(union.values()).items():
                batch.add(ctx.day, metric, subj, v, flags=flags)
            batch.subjects.append(Subject(self.source, subj, "family", subj))
            ranked = sorted(union.values(), key=lambda m: (-(m.downloads or 0), m.id))[:top_n]
            for rank, m in enumerate(ranked, 1):
                top_models[m.id] = m
                top_rows.append({"day": ctx.day, "ecosystem": eco.key, "rank": rank, "model": m.id,
                                 "downloads_30d": m.downloads})
        if top_rows:
            batch.tables["hf_top_models"] = top_rows
        return top_models

    def _collect_models(self, ctx: Context, batch: Batch, tries: Attempts, top: dict[str, ModelRow]) -> None:
        """3. explicit models, one call each so renames are seen; then the top models no call covered."""
        top = dict(top)
        for model in ctx.settings.distinct("hf_models"):
            got = tries.run(f"model {model}", lambda m=model: self.model_info(ctx, m))
            if got is None:
                continue
            row, canonical = got
            if canonical != model:
                batch.notes.append(f"model {model} is now {canonical} (redirected); stored under "
                                   f"{model}, canonical id recorded")
            self._model_rows(batch, ctx.day, model, row, canonical)
            top.pop(model, None)
        for mid, row in top.items():
            self._model_rows(batch, ctx.day, mid, row, mid)

    def _collect_derivatives(self, ctx: Context, batch: Batch, tries: Attempts) -> None:
        """4. derivatives per base model and relation."""
        for base in ctx.settings.distinct("hf_base_models"):
            for kind in DERIVATIVE_KINDS:
                subj = derivative_subject(base, kind)
                n = tries.run(subj, lambda b=base, k=kind: self.count_derivatives(ctx, b, k))
                if n is None:
                    continue
                batch.add(ctx.day, "derivative_models", subj, n)
                batch.subjects.append(Subject(self.source, subj, "derivatives", subj))

    @staticmethod
    def _totals(batch: Batch, day: dt.date, subject: str, models: Iterable[ModelRow]) -> None:
        models = list(models)
        for metric, (v, flags) in totals(models).items():
            batch.add(day, metric, subject, v, flags=flags)
        line = _partial_line(subject, models)
        if line:
            batch.failures.append(line)

    def _model_rows(self, batch: Batch, day: dt.date, subject: str, row: ModelRow, canonical: str) -> None:
        if row.missing:
            batch.failures.append(f"model {subject}: answer without {', '.join(row.missing)}; "
                                  "its other figures are stored")
        batch.add(day, "downloads_30d", subject, row.downloads)
        batch.add(day, "downloads_all_time", subject, row.all_time)
        batch.add(day, "likes", subject, row.likes)
        batch.subjects.append(Subject(self.source, subject, "model", canonical))
