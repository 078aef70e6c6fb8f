"""[storage]: where the warehouse and the run's files live, declared once (jobs/config.py builds it)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class StorageSettings:
    """Paths are absolute once built: relative ones are taken from the config file's folder."""

    database: Path = Path("data/ecotrend.duckdb")
    raw_dir: Path = Path("data/raw")
    raw_keep_days: int = field(default=400, metadata={"lo": 1, "hi": 100_000, "help": "raw archive retention"})
    pending_dir: Path = Path("data/pending")
    log_dir: Path = Path("data/logs")
    lock_wait_seconds: float = field(default=30, metadata={"lo": 0, "hi": 3600})


@dataclass(frozen=True)
class PlausibilitySettings:
    """[plausibility]: when a level (a count that only drifts: stars, repositories, all-time downloads)
    is stored as suspect and kept out of family totals until a later day confirms it."""

    max_fall_share: float = field(default=0.5, metadata={
        "lo": 0.01, "hi": 1.0, "help": "a level falling by more than this share overnight is suspect"})
    min_level: float = field(default=10, metadata={
        "lo": 0, "hi": 1e15, "help": "levels below this are too small to judge (a fall from 3 to 0 is plausible)"})
