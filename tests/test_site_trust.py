"""Issue 15: lead changes as data (the crossovers view) and in words, exports that carry their context,
honest chart shapes, and one definition of freshness shared by `status` and the data-health page."""
from __future__ import annotations

import csv
import datetime as dt
import html
import json
import re
from pathlib import Path

import pytest
import vl_convert as vlc

from collectors.base import Batch
from dashboards.images import PNG_SCALE
from jobs.runner import rows_of
from jobs.site import build_site
from tests import site_data
from tests.conftest import run_cli
from warehouse import store

TODAY = dt.date(2023, 8, 8)
SPECS_RE = re.compile(r'<script type="application/json" id="chart-specs">(.*?)</script>', re.DOTALL)
D = dt.date.fromisoformat


def _specs(page: Path) -> dict:
    m = SPECS_RE.search(page.read_text(encoding="utf-8"))
    return json.loads(m.group(1)) if m else {}


def _crossovers(cfg) -> list[tuple]:
    import duckdb

    con = duckdb.connect(str(cfg.database), read_only=True)
    try:
        return con.execute("""SELECT metric, ecosystem, other, CAST(since AS VARCHAR), value, other_value,
                                     CAST(day AS VARCHAR) FROM crossovers ORDER BY ALL""").fetchall()
    finally:
        con.close()


def _write(cfg, batch: Batch, members) -> None:
    con = store.open_writer(cfg.storage, wait_seconds=5)
    try:
        store.sync_config(con, cfg.ecosystem_rows(), cfg.event_rows(), members)
        store.commit(con, [(rows_of(batch), store.RunRecord("r1", "github_search", TODAY, "collect",
                                                    dt.datetime(2023, 8, 8, 2), None, "ok", {"search": 2}))])
    finally:
        con.close()


@pytest.fixture(scope="module")
def known(tmp_path_factory):
    """Two families whose answer is known: GPT leads until 2023-07-10, they tie on 07-12, LLaMA leads
    from 07-13 on except a dip on 07-20 that happens on a day one of LLaMA's two repositories did not
    report (a partial day: ignored); stars: LLaMA ahead from the first day."""
    cfg = site_data.make_site_config(tmp_path_factory.mktemp("known"), ecos=site_data.ecosystems()[:2])
    batch = Batch("github")
    day = D("2023-07-01")
    while day <= TODAY:
        i = (day - D("2023-07-01")).days
        llama = 100 + 20 * i if day != D("2023-07-12") else 340.0
        gpt = 300 + 4 * i if day != D("2023-07-12") else 340.0
        batch.add(day, "repo_count", "llama", llama)
        batch.add(day, "repo_count", "GPT-4", gpt)
        batch.add(day, "stars", "meta-llama/llama", 5000 + i)
        if day != D("2023-07-20"):  # one of LLaMA's repositories missing: the family total falls that day
            batch.add(day, "stars", "ggml-org/llama.cpp", 4000 + i)
        batch.add(day, "stars", "openai/openai-python", 8000 + i)
        day += dt.timedelta(days=1)
    members = [m for m in site_data.memberships()
               if m.subject in ("llama", "GPT-4", "meta-llama/llama", "ggml-org/llama.cpp", "openai/openai-python")]
    _write(cfg, batch, members)
    build_site(cfg, today=TODAY)
    return cfg


def test_crossovers_view_on_a_warehouse_where_the_answer_is_known(known):
    rows = _crossovers(known)
    # repo_count: 100+20i > 300+4i from i = 13 (07-14); 07-12 is a tie (340 = 340), 07-13 is 340 < 348
    assert ("repo_count", "llama", "gpt", "2023-07-14", 100 + 20 * 38, 300 + 4 * 38, "2023-08-08") in rows
    assert not [r for r in rows if r[0] == "repo_count" and r[1] == "gpt"]  # GPT is not ahead at the end
    # stars: LLaMA 9000+2i against 8000+i from the first day; the partial day (07-20, 5019 < 8019) is
    # ignored, so it does not reset the lead
    assert ("stars", "llama", "gpt", "2023-07-01", 9000 + 2 * 38, 8000 + 38, "2023-08-08") in rows


def test_headline_and_family_page_say_since_when(known):
    index = (known.site_dir / "index.html").read_text(encoding="utf-8")
    sentence = ("LLaMA has had more GitHub repositories than GPT since <b>2023-07-14</b>: 860 against 452 on "
                "2023-08-08.")
    assert sentence in index
    eco = (known.site_dir / "eco-gpt.html").read_text(encoding="utf-8")
    assert sentence in eco
    # the chart marks the day
    notes = [v for layer in _specs(known.site_dir / "index.html")["repo_count"]["layer"] if "layer" in layer
             for v in layer["data"]["values"] if "text" in v]
    assert {"day": "2023-07-14", "text": "LLaMA ahead of GPT from 2023-07-14"} in notes
    # and the family page's table names the stars lead from the first day both were counted
    assert "GitHub stars on its tracked repositories" in eco and "(since 2023-07-01)" in eco


def test_headline_matches_the_view_on_the_site_warehouse(tmp_path):
    cfg = site_data.make_site_config(tmp_path)
    site_data.populate(cfg)
    build_site(cfg, today=TODAY)
    rows = [r for r in _crossovers(cfg) if r[0] == "repo_count" and {r[1], r[2]} == {"llama", "gpt"}]
    assert len(rows) == 1
    metric, ahead, behind, since, value, other, day = rows[0]
    labels = {"llama": "LLaMA", "gpt": "GPT"}
    index = html.unescape((cfg.site_dir / "index.html").read_text(encoding="utf-8"))
    assert (f"{labels[ahead]} has had more GitHub repositories than {labels[behind]} since <b>{since}</b>"
            in index)
    assert f"{value:,.0f} against {other:,.0f} on {day}" in index


def test_png_and_svg_exports_carry_title_as_of_source_and_banner(tmp_path):
    cfg = site_data.make_site_config(tmp_path, banner="Simulated numbers", ecos=site_data.ecosystems()[:2])
    batch = Batch("github")
    for i in range(21):
        day = TODAY - dt.timedelta(days=20 - i)
        batch.add(day, "repo_count", "llama", site_data.llama_repos(day))
        batch.add(day, "repo_count", "GPT-4", site_data.gpt_repos(day))
    _write(cfg, batch, [m for m in site_data.memberships() if m.subject in ("llama", "GPT-4")])
    res = run_cli("build", "--png", config=cfg.path, today="2023-08-08")
    assert res.returncode == 0, res.stderr
    svg_path = cfg.site_dir / "png" / "index-repo_count.svg"
    svg = svg_path.read_text(encoding="utf-8")
    text = html.unescape(" ".join(re.findall(r"<(?:text|tspan)[^>]*>([^<]+)<", svg)))  # drawn text only
    assert "GitHub repositories matching the family's query" in text
    assert "data as of 2023-08-08" in text
    assert "Source: GitHub" in text and "SIMULATED DATA: Simulated numbers" in text
    # the PNG is that SVG rendered
    assert (cfg.site_dir / "png" / "index-repo_count.png").read_bytes() == vlc.svg_to_png(svg, scale=PNG_SCALE)
    # the CSV starts with the same provenance
    head = (cfg.site_dir / "data" / "index-repo_count.csv").read_text(encoding="utf-8").splitlines()[:5]
    assert head[0] == "# GitHub repositories matching the family's query"
    assert head[1].startswith("# data as of 2023-08-08") and head[2].startswith("# Source: GitHub")
    assert head[3] == "# SIMULATED DATA: Simulated numbers" and head[4].startswith("day,")
    # an unchanged chart is not rendered again
    before = svg_path.stat().st_mtime_ns
    assert run_cli("build", "--png", config=cfg.path, today="2023-08-08").returncode == 0
    assert svg_path.stat().st_mtime_ns == before
    page = (cfg.site_dir / "index.html").read_text(encoding="utf-8")
    assert '<meta property="og:image" content="png/index-repo_count.png">' in page
    assert '<meta property="og:title" content="Overview · ecotrend">' in page
    assert 'property="og:description" content="Simulated data: Simulated numbers' in page


def test_readable_values_and_honest_shapes(tmp_path):
    cfg = site_data.make_site_config(tmp_path, ecos=site_data.ecosystems()[:2])
    site_data.populate(cfg, capability=False)
    build_site(cfg, today=TODAY)
    site = cfg.site_dir
    with (site / "data" / "index-share.csv").open(encoding="utf-8") as fh:
        share = list(csv.DictReader(line for line in fh if not line.startswith("#")))
    assert {"day", "value", "repos_llama", "repos_gpt", "method"} <= set(share[0])
    assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", r["day"]) for r in share)
    specs = _specs(site / "index.html")
    line = specs["repo_count"]["layer"][0]
    assert line["encoding"]["y"]["scale"]["zero"] is True  # totals start at zero
    tips = specs["repo_count"]["layer"][1]["encoding"]["tooltip"]
    assert {"field": "day", "type": "temporal", "timeUnit": "utcyearmonthdate", "format": "%Y-%m-%d",
            "title": "day"} in tips
    assert any(t.get("format") == ",.0f" and t["title"] == "repositories" for t in tips)
    labels = [layer for layer in specs["repo_count"]["layer"] if layer.get("mark", {}).get("type") == "text"]
    assert {v["text"] for v in labels[0]["data"]["values"]} == {"LLaMA", "GPT"}  # names at the lines' ends
    half = [v for layer in specs["share"]["layer"] if "layer" in layer for v in layer["data"]["values"]
            if v.get("y") == 0.5]
    assert half and "equal" in half[0]["text"]  # the 50 % guide says what it is
    trending = (site / "index.html").read_text(encoding="utf-8")
    assert "<th>family</th>" in trending


def test_one_day_collapse_is_left_out_and_a_change_of_parts_is_named():
    from dashboards import charts

    rows = [{"day": f"2023-07-{d:02d}", "label": "A", "value": v, "method": "snapshot", "parts": p}
            for d, v, p in [(1, 10.0, "npm"), (2, 11.0, "npm"), (3, 0.0, "npm"), (4, 12.0, "npm"),
                            (5, 40.0, "PyPI + npm"), (6, 41.0, "PyPI + npm")]]
    spec = charts.timeseries(rows, y_title="downloads")
    line_days = [r["day"] for r in spec["data"]["values"] if r["value"] is not None]
    assert "2023-07-03" not in line_days  # the one-day drop to 0 is not part of the line...
    hollow = [layer for layer in spec["layer"] if layer.get("mark", {}).get("filled") is False]
    assert hollow[0]["data"]["values"][0]["day"] == "2023-07-03"  # ...it is drawn apart, with its reason
    assert {r.get("seg") or 0 for r in spec["data"]["values"] if r["value"] is not None} == {0, 1}
    notes = [v for layer in spec["layer"] if "layer" in layer for v in layer["data"]["values"]]
    assert {"day": "2023-07-05", "text": "PyPI figures begin"} in notes
    rank = charts.timeseries(rows, y_title="rank", y_scale={"reverse": True, "zero": False})
    assert rank["layer"][0]["encoding"]["y"]["scale"]["reverse"] is True


def test_status_and_health_page_agree_on_freshness_and_what_is_not_collected(tmp_path):
    cfg = site_data.make_site_config(tmp_path)
    site_data.populate(cfg)
    build_site(cfg, today=TODAY)
    res = run_cli("status", "--json", config=cfg.path, today="2023-09-30")  # asked weeks later
    assert res.returncode == 0, res.stderr
    status = json.loads(res.stdout)
    assert status["reference_day"] == "2023-08-08" and status["last_run_days_ago"] == 53
    health = (cfg.site_dir / "health.html").read_text(encoding="utf-8")
    section = health.split("Freshness per source")[1].split("</section>")[0]
    cells = re.findall(r"<tr><td>([^<]+)</td><td>([^<]+)</td><td[^>]*>([^<]+)</td>", section)
    assert {c[0]: int(c[2]) for c in cells} == {s["source"]: s["days_behind"] for s in status["sources"]}
    families = (cfg.site_dir / "families.html").read_text(encoding="utf-8")
    listed = re.findall(r"<li><b>([^<]+)</b>", families.split("Not collected yet")[1])
    assert listed == status["not_collected"]
    assert "best_open_score" not in listed  # the capability page charts it


def test_demo_headline_matches_the_crossovers_view(demo_run):
    import duckdb

    result, folder = demo_run
    assert result.returncode == 0, result.stderr[-2000:]
    con = duckdb.connect(str(folder / "data" / "ecotrend.duckdb"), read_only=True)
    try:
        got = con.execute("""SELECT e.label, o.label, CAST(c.since AS VARCHAR), c.value, c.other_value,
                                    CAST(c.day AS VARCHAR)
                             FROM crossovers c JOIN ecosystems e ON e.ecosystem = c.ecosystem
                             JOIN ecosystems o ON o.ecosystem = c.other
                             WHERE c.metric = 'repo_count' AND c.ecosystem IN ('llama', 'gpt')
                               AND c.other IN ('llama', 'gpt')""").fetchall()
    finally:
        con.close()
    index = html.unescape((folder / "site" / "index.html").read_text(encoding="utf-8"))
    if not got:
        assert "has had more GitHub repositories than" not in index
        return
    ahead, behind, since, value, other, day = got[0]
    assert (f"{ahead} has had more GitHub repositories than {behind} since <b>{since}</b>" in index
            and f"{value:,.0f} against {other:,.0f} on {day}" in index)
