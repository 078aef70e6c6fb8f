"""The fault matrix as data: for each fault the fake upstream can inject, what each collector does.

Outcomes (what ``ecotrend collect --source NAME`` ends with, and what is stored):

- ``retried``: the fault is waited out or retried; exit 0 and exactly the values of a clean run;
- ``partial``: the subject hit fails with one line, the others are stored exactly; exit 3;
- ``failed``: the source fails with one line and stores nothing; exit 3;
- ``flagged``: stored, flagged ``incomplete`` (never as a plain count); exit 0;
- ``spooled``: rows kept in data/pending and merged by the next run; exit 0;
- ``suspect``: a level that falls to 0 overnight is stored flagged ``suspect`` beside the previous
  day's, named in the run's output and kept out of family totals; exit 0;
- ``n.a.``: the fault cannot reach this collector (e.g. a field of a JSON object on an HTML page), or
  the collector gives no level for it to collapse.

Each cell is one run of one day, with the fault queued; a collapse needs a day before it, so the
``zero_field`` row's cells run a clean day first and the faulty one after it, in one warehouse.

tests/test_fault_matrix.py runs every cell through the real CLI; ``jobs/docs.py`` renders the
README's "Fault matrix" table from the same data.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

COLLECTORS = ("github_search", "github_repos", "github_stars", "hf_models", "pypi", "npm",
              "github_dependents", "github_trending", "arena", "modelscope", "openrouter", "ollama", "replicate")
RETRIES = 2  # [http] retries in the matrix's config: a fault met RETRIES + 1 times is persistent


@dataclass(frozen=True)
class Fault:
    """One row: a fault kind of collectors/fake/server.py, how often it fires and where."""

    label: str
    kind: str  # a FAULT_KINDS entry, or "locked" (the warehouse held by a reader at commit time)
    times: int = 1
    params: dict[str, Any] = field(default_factory=dict)
    # which request it hits: "one" (the first subject's), "later" (after another subject was fetched),
    # "json" (a JSON answer), "field" (a JSON object with a field to drop), "subject" (a configured
    # subject's own address), "level" (a JSON object with a level's count to set to 0)
    target: str = "one"


R, T, P, K, F, FL, S, SU, NA = ("retried", "tolerated", "partial", "kept", "failed", "flagged", "spooled", "suspect",
                                "n.a.")
GH_API = ("github_search", "github_repos", "github_stars")


def row(default: str, **cells: str) -> dict[str, str]:
    return {c: cells.get(c, default) for c in COLLECTORS}


# fault → collector → outcome
MATRIX: list[tuple[Fault, dict[str, str]]] = [
    (Fault("timeout (slow answer past `timeout_seconds`), once", "slow", 1, {"seconds": 1.5}), row(R)),
    (Fault("timeout, every attempt", "slow", RETRIES + 1, {"seconds": 1.5}),
     row(P, github_trending=F, openrouter=F)),
    (Fault("connection reset, once", "reset"), row(R)),
    (Fault("connection reset, every attempt", "reset", RETRIES + 1), row(P, github_trending=F, openrouter=F)),
    (Fault("HTTP 500, once", "http_500"), row(R)),
    (Fault("HTTP 502, every attempt", "http_502", RETRIES + 1), row(P, github_trending=F, openrouter=F)),
    (Fault("HTML error page where JSON was expected", "html", target="json"),
     row(P, github_dependents=F, github_trending=F, arena=F, openrouter=F)),
    (Fault("truncated body", "truncated"), row(P, github_trending=F, openrouter=F)),
    (Fault("missing or renamed field", "missing_field", params={"field": "{field}", "rename_to": "{field}_v2"},
           target="field"),
     row(P, github_repos=K, hf_models=K, github_stars=NA, github_dependents=NA, github_trending=NA, arena=NA,
         openrouter=F, ollama=NA)),
    (Fault("a trending row without star count or language (a new repository)", "bare_row"),
     row(NA, github_trending=T)),
    (Fault("`incomplete_results`, once", "incomplete"), row(NA, github_search=R)),
    (Fault("`incomplete_results`, twice", "incomplete", 2), row(NA, github_search=FL)),
    (Fault("primary limit (403), resets in 1 s", "primary_limit", params={"reset_in": 1}),
     row(NA, **dict.fromkeys(GH_API, R))),
    (Fault("primary limit (429), resets in 1 s", "primary_limit_429", params={"reset_in": 1}),
     row(NA, **dict.fromkeys(GH_API, R))),
    (Fault("primary limit, resets in 10 min", "primary_limit", params={"reset_in": 600}, target="later"),
     row(NA, github_search=P, github_repos=P, github_stars=P)),
    (Fault("secondary limit with `retry-after`", "retry_after", params={"seconds": 1}), row(R)),
    (Fault("secondary limit without `retry-after`, once", "secondary"), row(NA, **dict.fromkeys(GH_API, R))),
    (Fault("secondary limit, every attempt", "secondary", 10, target="later"),
     row(NA, github_search=P, github_repos=P, github_stars=P)),
    (Fault("Hub rate limit (`RateLimit` header), resets in 1 s", "hf_rate_limit", params={"reset_in": 1}),
     row(NA, hf_models=R, arena=R)),
    (Fault("Hub rate limit, resets in 10 min", "hf_rate_limit", params={"reset_in": 600}, target="later"),
     row(NA, hf_models=P, arena=F)),
    (Fault("redirect loop", "redirect_loop", 11), row(P, github_trending=F, openrouter=F)),
    (Fault("404 for a configured subject", "not_found", target="subject"),
     row(P, github_search=NA, github_trending=NA, arena=F, openrouter=NA)),
    (Fault("oversized response (over `max_response_bytes`)", "oversized", params={"bytes": 3_000_000}),
     row(P, github_trending=F, openrouter=F)),
    (Fault("empty page whose cursor goes on", "empty"), row(NA, hf_models=R)),
    (Fault("a level collapses to zero overnight (after a clean day)", "zero_field", params={"field": "{level}"},
           target="level"),
     row(NA, github_search=SU, github_repos=SU, hf_models=SU, modelscope=SU, replicate=SU)),
    (Fault("warehouse locked by a reader at commit time", "locked"), row(S)),
]

MEANING = {
    R: "retried or waited out; exit 0, the values of a clean run",
    T: "the row is stored with the parts it lacks NULL; every figure as in a clean run; exit 0",
    P: "that subject fails with one line, the others are stored exactly; exit 3",
    K: "that subject keeps the figures the answer gave; the missing one gets no row (never a 0) and the run "
       "names it; the others are stored exactly; exit 3",
    F: "the source fails with one line and stores nothing; exit 3",
    FL: "stored flagged `incomplete`, never as a plain count; exit 0",
    S: "rows kept in `data/pending/`, merged by the next run; exit 0",
    SU: "that subject's level is stored as 0 flagged `suspect` beside the previous day's, and the run names it "
        "(`suspect: …`); where the subject is a family member it counts as not reporting in the family total "
        "until a later day confirms the fall; the others are stored exactly; exit 0",
    NA: "the fault cannot reach this collector (an HTML page, a CSV file), or the collector gives no level "
        "for it to collapse (flows, rolling windows, scores)",
}


def cases() -> list[tuple[str, Fault, str]]:
    """(collector, fault, outcome) for every applicable cell."""
    return [(c, f, cells[c]) for f, cells in MATRIX for c in COLLECTORS if cells[c] != NA]


def table() -> str:
    """The README table: rows = faults, columns = collectors."""
    lines = ["| fault | " + " | ".join(f"`{c}`" for c in COLLECTORS) + " |",
             "|---|" + "---|" * len(COLLECTORS)]
    for f, cells in MATRIX:
        lines.append(f"| {f.label} | " + " | ".join(cells[c] for c in COLLECTORS) + " |")
    lines.append("")
    lines += [f"- **{k}**: {v}." for k, v in MEANING.items()]
    return "\n".join(lines)
