"""[site]: where and how the dashboards are written, declared once (jobs/config.py builds it)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class SiteSettings:
    out_dir: Path = Path("site")
    title: str = "ecotrend"
    demo_banner: str = ""  # set by `ecotrend demo`: every page says its data is simulated
