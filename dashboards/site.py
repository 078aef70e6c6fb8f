"""Building the static site from what is stored (a minimal page until the dashboards land)."""
from __future__ import annotations

import datetime as dt
import html
from pathlib import Path

from jobs.config import Config
from warehouse import db


def build_site(cfg: Config, today: dt.date, as_of: dt.date | None = None, png: bool = False) -> list[Path]:
    out = cfg.site_dir
    out.mkdir(parents=True, exist_ok=True)
    cutoff = as_of or today
    rows = db.read_query(cfg.database, """
        SELECT ecosystem, metric, arg_max(value, day), max(day)
        FROM ecosystem_daily WHERE day <= ? GROUP BY ALL ORDER BY ALL""", [cutoff])
    labels = {e.key: e.label for e in cfg.ecosystems}
    body = "".join(
        f"<tr><td>{html.escape(labels.get(e, e))}</td><td>{html.escape(m)}</td>"
        f"<td>{v:,.0f}</td><td>{d.isoformat()}</td></tr>" for e, m, v, d in rows)
    table = (f"<table><tr><th>ecosystem</th><th>metric</th><th>latest value</th><th>day</th></tr>{body}</table>"
             if rows else "<p>Nothing stored yet: run <code>ecotrend run</code>.</p>")
    page = out / "index.html"
    tmp = page.with_suffix(".html.tmp")
    tmp.write_text(f"""<!doctype html><html><head><meta charset="utf-8"><title>ecotrend</title></head>
<body><h1>ecotrend</h1><p>Data as of {cutoff.isoformat()}.</p>{table}</body></html>""", encoding="utf-8")
    tmp.replace(page)
    return [page]
