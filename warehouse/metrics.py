"""The metric catalogue: every metric's unit, kind and how a family aggregates its subjects.

``aggregation``: ``sum`` adds the family's distinct subjects (roles primary and member); ``max`` takes
the largest; ``primary`` takes only the subject that stands for the family (e.g. its first query).
Subjects with role ``tracked`` or ``item`` are stored and charted one by one but never enter a
family total, so a query's total is never added to its own models' rows.
``title`` heads the metric's charts and ``fill`` names the command that fills it in an empty state.
The README's metric table is checked against this list by a test.
"""
from __future__ import annotations

from dataclasses import dataclass

REPOS = "ecotrend collect --source github_repos"
DEPENDENTS = "ecotrend collect --source github_dependents"
HF = "ecotrend collect --source hf_models"
ARENA = "ecotrend backfill --since 2023-05-01 --source arena"
OR_FILL = "ecotrend backfill --since 2025-01-01 --source openrouter"


# Preference among methods for the same (day, subject, metric): a snapshot taken on the day beats a
# value derived from snapshots, which beats a reconstruction; reference figures are charted apart.
METHOD_RANK_SQL = ("CASE method WHEN 'snapshot' THEN 1 WHEN 'derived' THEN 2 "
                   "WHEN 'backfill' THEN 3 ELSE 9 END")


@dataclass(frozen=True)
class Metric:
    name: str
    unit: str
    kind: str  # level | flow | rolling | ratio | score
    aggregation: str  # sum | max | primary
    description: str
    title: str = ""  # the dashboards' chart title (the description when empty)
    fill: str = "ecotrend run"  # the command that fills it, named where a chart has no data yet


METRICS: list[Metric] = [
    Metric("repo_count", "repositories", "level", "primary",
           "GitHub search total_count for the query (name, description, topics) on that day",
           title="GitHub repositories matching the family's query", fill="ecotrend collect --source github_search"),
    Metric("repos_created", "repositories", "flow", "primary",
           "repositories matching the query created on that day (search with created:)",
           title="New GitHub repositories per week",
           fill="ecotrend backfill --since 2023-01-01 --source github_search"),
    Metric("stars", "stars", "level", "sum", "stargazers_count of a repository",
           title="Stars of the family's flagship repositories", fill=REPOS),
    Metric("forks", "forks", "level", "sum", "forks_count of a repository",
           title="Forks of the flagship repositories", fill=REPOS),
    Metric("watchers", "watchers", "level", "sum",
           "subscribers_count of a repository (GitHub's watchers_count repeats the stars)",
           title="Watchers (subscribers) of the flagship repositories", fill=REPOS),
    Metric("open_issues", "issues", "level", "sum", "open_issues_count (issues and pull requests)",
           title="Open issues and pull requests", fill=REPOS),
    Metric("stars_gained", "stars", "flow", "sum",
           "stars given on that day and still held (star history); unstars are invisible",
           title="Stars gained per week (still held; unstars invisible)",
           fill="ecotrend backfill --since 2023-01-01 --source github_stars"),
    Metric("dependents_repos", "repositories", "level", "sum",
           "repositories listed as depending on the package (GitHub 'Used by')",
           title="Repositories depending on the family's packages (GitHub 'Used by')", fill=DEPENDENTS),
    Metric("dependents_packages", "packages", "level", "sum",
           "packages listed as depending on the package (GitHub 'Used by')",
           title="Packages depending on the family's packages (GitHub 'Used by')", fill=DEPENDENTS),
    Metric("trending_repos", "repositories", "level", "primary",
           "rows of GitHub Trending matching the family's keywords",
           title="Rows on GitHub Trending matching the family", fill="ecotrend collect --source github_trending"),
    Metric("model_count", "models", "level", "max",
           "distinct models the Hub lists for an author or search; a family's is the union of its queries",
           title="Models on the Hugging Face Hub", fill=HF),
    Metric("derivative_models", "models", "level", "sum",
           "models declaring a base model of the family (fine-tunes, quantizations, adapters, merges), "
           "per base and relation",
           title="Derivative models on the Hub (fine-tunes, quantizations, adapters, merges)", fill=HF),
    Metric("downloads_30d", "downloads", "rolling", "max",
           "Hub downloads over the last 30 days (rolling window; never summed across days), summed over "
           "a query's or family's distinct models",
           title="Hugging Face downloads, rolling 30-day window", fill=HF),
    Metric("downloads_all_time", "downloads", "level", "max",
           "Hub downloadsAllTime (since creation), summed over a query's or family's distinct models",
           title="Hugging Face downloads, all time", fill=HF),
    Metric("likes", "likes", "level", "max", "Hub likes, summed over a query's or family's distinct models",
           title="Hugging Face likes", fill=HF),
    Metric("downloads_day", "downloads", "flow", "sum",
           "downloads on that day (PyPI without mirrors, npm; for models derived from all-time)",
           title="Downloads per week", fill="ecotrend backfill --since 2023-01-01 --source pypi --source npm"),
    # Arena leaderboard (source 'arena'); day = the published table's date, subject = the arena
    Metric("best_open_score", "Arena score", "score", "max",
           "highest Arena score of an open-weights model on that day's board",
           title="Best Arena score of an open-weights model", fill=ARENA),
    Metric("best_proprietary_score", "Arena score", "score", "max",
           "highest Arena score of a proprietary (closed-weights) model on that day's board",
           title="Best Arena score of a proprietary model", fill=ARENA),
    Metric("open_gap", "Arena score", "score", "max",
           "best proprietary minus best open-weights score (positive: proprietary ahead)",
           title="Arena score gap: best proprietary minus best open-weights", fill=ARENA),
    Metric("open_in_top10", "models", "level", "max",
           "open-weights models among the 10 best-scored models of the board",
           title="Open-weights models in the Arena top 10", fill=ARENA),
    Metric("leaderboard_models", "models", "level", "max", "models with a score on that day's board",
           title="Models with a score on the Arena board", fill=ARENA),
    Metric("best_score", "Arena score", "score", "primary",
           "a family's best Arena score (subject '<arena>:<family>', models matched by leaderboard_aliases)",
           title="Best Arena score of the family's models", fill=ARENA),
    Metric("best_rank", "rank", "level", "primary",
           "the board's rank of the family's best-scored model (1 = top)",
           title="Arena rank of the family's best-scored model (1 = top)", fill=ARENA),
    # Usage (sources 'openrouter', 'ollama', 'replicate'); OpenRouter tokens are counted by each model's
    # own tokenizer, so token figures of two models are not the same unit of text
    Metric("tokens_day", "tokens", "flow", "sum",
           "OpenRouter tokens on that day: per permaslug as listed (the top 50 and 'other'); 'total' = every "
           "row; 'open_weight' = models with a hugging_face_id; a family = its listed models, ':free' and "
           "dated variants included",
           title="Tokens per day on OpenRouter (each model's own tokenizer)", fill=OR_FILL),
    Metric("token_share", "share", "ratio", "primary",
           "a family's tokens_day over all OpenRouter tokens of that day ('other' included), both from one "
           "answer", title="Share of all OpenRouter tokens", fill=OR_FILL),
    Metric("open_weight_token_share", "share", "ratio", "primary",
           "OpenRouter tokens of models with published weights (a hugging_face_id in its model list) over "
           "all tokens of that day ('other' included)",
           title="Share of OpenRouter tokens served by open-weight models", fill=OR_FILL),
    Metric("pulls", "pulls", "level", "sum",
           "Ollama library pulls of a model since published, as its page shows them (flag 'abbreviated' "
           "when the page rounds, e.g. 111.8M)",
           title="Ollama library pulls (rounded by the page)", fill="ecotrend collect --source ollama"),
    Metric("runs", "runs", "level", "sum", "Replicate run_count of a model (runs since it was published)",
           title="Replicate runs, all time", fill="ecotrend collect --source replicate"),
    Metric("runs_day", "runs", "flow", "sum",
           "Replicate runs on that day: the difference of two consecutive days' runs snapshots (view "
           "replicate_runs_daily)",
           title="Replicate runs per week", fill="ecotrend collect --source replicate"),
]

BY_NAME = {m.name: m for m in METRICS}

# What a metric counts, as a sentence names it: "LLaMA has had more <noun> than GPT since DAY"
# (the crossovers view; a metric not listed here is named by its unit).
NOUNS = {
    "repo_count": "GitHub repositories", "repos_created": "new GitHub repositories a day",
    "stars": "GitHub stars on its tracked repositories", "forks": "forks of its tracked repositories",
    "watchers": "watchers of its tracked repositories", "open_issues": "open issues and pull requests",
    "stars_gained": "stars gained a day", "dependents_repos": "dependent repositories",
    "dependents_packages": "dependent packages", "trending_repos": "rows on GitHub Trending",
    "model_count": "models on the Hugging Face Hub", "derivative_models": "derivative models on the Hub",
    "downloads_all_time": "all-time Hugging Face downloads", "likes": "Hugging Face likes",
    "downloads_day": "package downloads a day", "tokens_day": "OpenRouter tokens a day",
    "pulls": "Ollama pulls", "runs": "Replicate runs", "runs_day": "Replicate runs a day",
}


def noun(metric: str) -> str:
    m = BY_NAME.get(metric)
    return NOUNS.get(metric) or (m.unit if m else metric)
