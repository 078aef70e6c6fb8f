"""The 2023 analysis' own figures, stored as reference points beside the measured history.

Approximate figures as the analysis gave them ("~5,600"), with ``source='article'``,
``method='reference'`` and flag ``approximate``; ``ecosystem_daily`` never aggregates them.  The
subjects are the query texts and ``owner/repo`` names the GitHub collectors use, so a chart can put
each mark beside its measured line.  They are written (idempotently) by the GitHub backfills:
repository counts by ``github_search``'s, star counts by ``github_stars``'s.
"""
from __future__ import annotations

import datetime as dt

from collectors.base import Batch

SOURCE = "article"

# (day, metric, subject, value)
REFERENCES: list[tuple[str, str, str, int]] = [
    ("2023-07-19", "repo_count", "llama", 5_600),
    ("2023-08-08", "repo_count", "llama", 6_200),
    ("2023-07-19", "repo_count", "GPT-4", 4_100),
    ("2023-08-08", "repo_count", "GPT-4", 4_400),
    ("2023-08-08", "stars", "THUDM/ChatGLM-6B", 32_000),
    # "about 3,000 more than LLaMA": meta-llama/llama at about 29,000 on the same day
    ("2023-08-08", "stars", "meta-llama/llama", 29_000),
]


# What the analysis said of the Arena board on 2023-07-20, held against the board live that day
# (tests/test_arena.py; the capability page shows both side by side).
ARENA_2023_07_20: dict = {
    "day": "2023-07-20",
    "source": "the July-August 2023 analysis of open versus closed models",
    "models": 40,
    "top_proprietary": 5,  # "the top 5 are proprietary"
    "closed_in_rest": ["PaLM-Chat-Bison-001"],  # "of the rest, all open but PaLM-Chat-Bison-001"
    "non_commercial": 15,  # "15 are not licensed for commercial use"
}


def batch(metric: str) -> Batch:
    """The reference points of one metric, as a batch of their own (source 'article')."""
    b = Batch(SOURCE)
    for day, m, subject, value in REFERENCES:
        if m == metric:
            b.add(dt.date.fromisoformat(day), m, subject, value, method="reference", flags="approximate")
    return b
