"""The static site without a browser: pages, shared offline assets, CSVs, escaping, empty states, as-of, PNG."""
from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import json
import re
from pathlib import Path

import pytest
import vl_convert as vlc

from collectors.base import Batch
from jobs.runner import rows_of
from jobs.site import build_site
from tests import site_data
from tests.conftest import run_cli
from warehouse import store

TODAY = dt.date(2023, 8, 8)
SPECS_RE = re.compile(r'<script type="application/json" id="chart-specs">(.*?)</script>', re.DOTALL)


@pytest.fixture(scope="module")
def full(tmp_path_factory):
    cfg = site_data.make_site_config(tmp_path_factory.mktemp("full"), banner="Demo data <b>not real</b>")
    site_data.populate(cfg, evil=True)
    pages = build_site(cfg, today=TODAY)
    return cfg, pages


def _specs(page: Path) -> dict:
    m = SPECS_RE.search(page.read_text(encoding="utf-8"))
    return json.loads(m.group(1)) if m else {}


def _csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as fh:  # provenance lines first, starting with '#'
        return list(csv.DictReader(line for line in fh if not line.startswith("#")))


def test_pages_built_for_overview_families_each_ecosystem_and_health(full):
    _cfg, pages = full
    names = {p.name for p in pages}
    assert names == {"index.html", "families.html", "capability.html", "health.html", "eco-llama.html",
                     "eco-gpt.html", "eco-qwen.html"}
    for p in pages:
        text = p.read_text(encoding="utf-8")
        assert "data as of 2023-08-08" in text, p.name
        for other in names:  # every page links every other page
            assert f'href="{other}"' in text


def test_assets_written_once_and_shared_no_remote_scripts(full):
    cfg, _pages = full
    site = cfg.site_dir
    bundles = list((site / "assets").glob("vega-*.js"))
    assert len(bundles) == 1
    bundle = bundles[0]
    assert bundle.stat().st_size > 500_000 and b"vegaEmbed" in bundle.read_bytes()
    for p in site.rglob("*.html"):
        text = p.read_text(encoding="utf-8")
        srcs = re.findall(r'<script[^>]*\ssrc="([^"]+)"', text)
        links = re.findall(r'<link[^>]*\shref="([^"]+)"', text)
        for ref in srcs + links:
            assert not re.match(r"(https?:)?//", ref), f"{p.name} loads {ref}"
            assert (site / ref).is_file(), f"{p.name} references missing {ref}"
        if _specs(p):
            assert f'src="assets/{bundle.name}"' in text
        assert "vega-embed" not in text.lower() or len(text) < 400_000  # the bundle is not inlined
        assert len(text) < 400_000, f"{p.name} is {len(text)} bytes"
    # a second build keeps the bundle as it is
    before = bundle.stat().st_mtime_ns
    build_site(cfg, today=TODAY)
    assert bundle.stat().st_mtime_ns == before
    assert list((site / "assets").glob("vega-*.js")) == [bundle]


def test_every_chart_links_its_csv_and_the_numbers_are_the_warehouse_numbers(full):
    cfg, pages = full
    site = cfg.site_dir
    n_charts = 0
    for p in pages:
        text = p.read_text(encoding="utf-8")
        ids = re.findall(r'<div class="chart" id="([^"]+)" data-chart', text)
        assert set(ids) == set(_specs(p)), p.name
        links = re.findall(r'href="(data/[^"]+\.csv)"', text)
        assert len(links) == len(ids), p.name
        for link in links:
            rows = _csv_rows(site / link)
            assert rows, link
            n_charts += 1
    assert n_charts >= 20
    rows = _csv_rows(site / "data" / "index-repo_count.csv")
    measured = {(r["day"], r["ecosystem"]): float(r["value"]) for r in rows if r["method"] == "snapshot"}
    assert measured[("2023-08-08", "llama")] == site_data.llama_repos(TODAY)
    assert measured[("2023-08-08", "gpt")] == site_data.gpt_repos(TODAY)
    assert measured[("2023-08-03", "qwen")] == 40
    methods = {r["method"] for r in rows}
    assert methods == {"snapshot", "backfill", "reference"}
    refs = {(r["day"], r["ecosystem"]): float(r["value"]) for r in rows if r["method"] == "reference"}
    assert refs == {("2023-07-19", "llama"): 5600, ("2023-08-08", "llama"): 6200,
                    ("2023-07-19", "gpt"): 4100, ("2023-08-08", "gpt"): 4400}
    # the day the Hub collector failed is a gap in the series, not a zero
    hf = _csv_rows(site / "data" / "index-downloads_30d.csv")
    assert "2023-07-21" not in {r["day"] for r in hf if r["ecosystem"] == "llama"}
    assert all(float(r["value"]) > 0 for r in hf)
    # ...and the chart breaks its line there (a null row) instead of bridging the missing day
    values = _specs(site / "index.html")["downloads_30d"]["data"]["values"]
    breaks = [(v["day"], v["method"]) for v in values if v["value"] is None and v["label"] == "LLaMA"]
    assert breaks == [("2023-07-21", "snapshot"), ("2023-07-27", "snapshot")]


def test_headline_is_computed_from_the_data(full):
    cfg, _ = full
    text = (cfg.site_dir / "index.html").read_text(encoding="utf-8")
    na, nb = site_data.llama_repos(TODAY), site_data.gpt_repos(TODAY)
    d0 = TODAY - dt.timedelta(days=14)
    ga = (na - site_data.llama_repos(d0)) / site_data.llama_repos(d0) * 100
    gb = (nb - site_data.gpt_repos(d0)) / site_data.gpt_repos(d0) * 100
    assert (f"As of 2023-08-08, <b>{na:,.0f}</b> repositories match \u201cllama\u201d against "
            f"<b>{nb:,.0f}</b> for \u201cGPT-4\u201d; over the last 14 days each grew by "
            f"<b>{ga:+.1f}%</b> and <b>{gb:+.1f}%</b>.") in text


def test_chart_specs_are_valid_vega_lite_with_iso_days_and_float_values(full):
    _cfg, pages = full
    checked = 0
    for p in pages:
        for chart_id, spec in _specs(p).items():
            values = spec["data"]["values"]
            head = dict(spec, data={"values": values[:3]})  # the structure; every row is checked below
            assert site_data.vega_lite_errors(head) == [], (p.name, chart_id)
            vlc.vegalite_to_vega(head)  # compiles
            assert len(values) < 5000
            for row in values:
                if "day" in row:
                    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", row["day"]), (p.name, chart_id)
                for k in ("value", "requests"):
                    if k in row and row[k] is not None:  # None: a break in a line
                        assert isinstance(row[k], float), (p.name, chart_id, k)
            checked += 1
    assert checked >= 20
    # the check bites: a misspelt mark type and a misspelt encoding type are each reported
    broken = dict(head, layer=[dict(head["layer"][0], mark="lyne"), *head["layer"][1:]]) if "layer" in head \
        else dict(head, mark="lyne")
    assert site_data.vega_lite_errors(broken)
    enc = {"x": {"field": "day", "type": "temporall"}}
    assert site_data.vega_lite_errors({**{k: v for k, v in head.items() if k != "layer"}, "mark": "line",
                                       "encoding": enc})


def test_method_reference_and_events_are_drawn_apart(full):
    cfg, _ = full
    spec = _specs(cfg.site_dir / "index.html")["repo_count"]
    marks = [layer.get("mark", {}) for layer in spec["layer"]]
    kinds = [m.get("type") if isinstance(m, dict) else m for m in marks]
    assert "line" in kinds
    diamonds = [layer for layer in spec["layer"] if isinstance(layer.get("mark"), dict)
                and layer["mark"].get("shape") == "diamond"]
    assert diamonds and len(diamonds[0]["data"]["values"]) == 4
    line = spec["layer"][0]
    assert line["encoding"]["strokeDash"]["field"] == "method"
    assert line["encoding"]["strokeDash"]["scale"]["domain"] == ["snapshot", "derived", "backfill"]
    events = [layer for layer in spec["layer"] if "layer" in layer]
    labels = {v["label"] for v in events[0]["data"]["values"]}
    assert labels == {"LLaMA", "GPT-4", "Llama 2", "Qwen-7B"}
    # colours and labels come from the config
    color = line["encoding"]["color"]["scale"]
    assert dict(zip(color["domain"], color["range"])) == {"LLaMA": "#1f77b4", "GPT": "#d62728", "Qwen": "#9467bd"}
    # rolling metric says so
    text = (cfg.site_dir / "index.html").read_text(encoding="utf-8")
    assert "Hugging Face downloads, rolling 30-day window" in text
    assert _specs(cfg.site_dir / "index.html")["downloads_30d"]["layer"][0]["encoding"]["y"]["title"] == \
        "downloads, rolling 30 days"


def test_upstream_text_is_escaped(full):
    cfg, pages = full
    for p in cfg.site_dir.rglob("*.html"):
        text = p.read_text(encoding="utf-8")
        assert site_data.EVIL not in text, p.name
        assert "<b>not real</b>" not in text
        assert "Demo data &lt;b&gt;not real&lt;/b&gt;" in text  # the banner on every page
    eco = (cfg.site_dir / "eco-llama.html").read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in eco  # canonical name in the subjects table
    index = (cfg.site_dir / "index.html").read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in index  # trending description
    assert "LLM inference" not in index
    # only our own <script> elements exist
    for p in pages:
        text = p.read_text(encoding="utf-8")
        assert text.count("<script") == text.count("</script>") <= 3


def test_label_with_markup_escaped_in_html_and_in_chart_json(tmp_path):
    ecos = site_data.ecosystems()
    ecos[0]["label"] = "LLaMA </script><script>alert(1)</script>"
    cfg = site_data.make_site_config(tmp_path, ecos=ecos)
    _populate_small(cfg)
    build_site(cfg, today=TODAY)
    text = (cfg.site_dir / "index.html").read_text(encoding="utf-8")
    assert "<script>alert(1)" not in text
    assert "LLaMA \\u003c/script\\u003e" in text  # inside the JSON, the label cannot end the script
    assert "LLaMA &lt;/script&gt;" in text  # in HTML
    spec = _specs(cfg.site_dir / "index.html")["repo_count"]
    assert "LLaMA </script><script>alert(1)</script>" in spec["layer"][0]["encoding"]["color"]["scale"]["domain"]


def test_empty_states_name_the_command_that_fills_them(tmp_path):
    cfg = site_data.make_site_config(tmp_path)
    con = store.open_writer(cfg.storage, wait_seconds=5)  # a warehouse with the schema and nothing collected
    con.close()
    pages = build_site(cfg, today=TODAY)
    index = (cfg.site_dir / "index.html").read_text(encoding="utf-8")
    assert "No data yet for repo_count" in index
    assert "<code>ecotrend collect --source github_search</code>" in index
    assert "<code>ecotrend backfill --since 2023-01-01 --source github_search</code>" in index  # repos_created
    assert "<code>ecotrend collect --source hf_models</code>" in index
    assert "<code>ecotrend backfill --since 2023-01-01 --source pypi --source npm</code>" in index
    gpt = (cfg.site_dir / "eco-gpt.html").read_text(encoding="utf-8")
    assert "No data yet for stars" in gpt and "ecotrend collect --source github_repos" in gpt
    assert "No data yet for downloads_day" in gpt
    assert "No data yet for derivative_models" not in gpt  # gpt configures no hf_base_models here
    assert "no data collected yet" in index
    # nothing but the reference figures: no chart needs the scripts
    assert all('class="chart"' not in p.read_text(encoding="utf-8") or _specs(p) for p in pages)


def test_build_without_any_warehouse(tmp_path):
    cfg = site_data.make_site_config(tmp_path)
    pages = build_site(cfg, today=TODAY)
    assert (cfg.site_dir / "index.html") in pages
    assert "No data yet for repo_count" in (cfg.site_dir / "index.html").read_text(encoding="utf-8")
    assert "ecotrend run" in (cfg.site_dir / "health.html").read_text(encoding="utf-8")
    assert not cfg.database.exists()  # building never creates a warehouse


def test_as_of_shows_only_what_was_collected_by_the_end_of_that_day(full, tmp_path):
    cfg, _ = full
    cfg = cfg.replace(site=dataclasses.replace(cfg.site, out_dir=tmp_path / "asof"))
    if True:
        build_site(cfg, today=TODAY, as_of=dt.date(2023, 7, 20))
        site = cfg.site_dir
        index = (site / "index.html").read_text(encoding="utf-8")
        assert "As of 2023-07-20" in index
        assert "as it stood on 2023-07-20" in index
        rows = _csv_rows(site / "data" / "index-repo_count.csv")
        assert max(r["day"] for r in rows) == "2023-07-20"
        assert {r["method"] for r in rows} == {"snapshot", "backfill", "reference"}
        assert {(r["day"], r["method"]) for r in rows if r["method"] == "reference"} == \
            {("2023-07-19", "reference")}
        health = (site / "health.html").read_text(encoding="utf-8")
        assert "2023-07-21" not in health  # the later failure is not known yet
        # before the backfill ran (2023-07-05), its reconstruction did not exist
        build_site(cfg, today=TODAY, as_of=dt.date(2023, 7, 4))
        index = (site / "index.html").read_text(encoding="utf-8")
        assert "No data yet for repo_count" in index
        assert not (site / "data" / "index-repo_count.csv").exists()  # pruned from the earlier build


def test_health_page_reports_runs_failures_gaps_and_budget(full):
    cfg, _ = full
    health = (cfg.site_dir / "health.html").read_text(encoding="utf-8")
    assert "huggingface: network unavailable" in health
    assert "2023-07-27" in health  # a day without a daily run
    assert "the Hub keeps no history" in health  # a day a catch-up could not rebuild
    budget = _csv_rows(cfg.site_dir / "data" / "health-budget.csv")
    per_day = {(r["day"], r["collector"]): float(r["requests"]) for r in budget}
    assert per_day[("2023-08-08", "github_search")] == 4
    assert per_day[("2023-08-08", "github_repos")] == 1  # the two 304s cost nothing
    assert per_day[("2023-07-21", "hf_models")] == 0


def test_no_banner_without_demo_banner(tmp_path):
    cfg = site_data.make_site_config(tmp_path)
    build_site(cfg, today=TODAY)
    assert 'class="banner"' not in (cfg.site_dir / "index.html").read_text(encoding="utf-8")


def _populate_small(cfg) -> None:
    """Three weeks of repository counts for two families: a handful of charts."""
    batch = Batch("github")
    for i in range(21):
        day = TODAY - dt.timedelta(days=20 - i)
        batch.add(day, "repo_count", "llama", site_data.llama_repos(day))
        batch.add(day, "repo_count", "GPT-4", site_data.gpt_repos(day))
    con = store.open_writer(cfg.storage, wait_seconds=5)
    try:
        store.sync_config(con, cfg.ecosystem_rows(), cfg.event_rows(),
                          [m for m in site_data.memberships() if m.subject in ("llama", "GPT-4")])
        store.commit(con, [(rows_of(batch), store.RunRecord("r1", "github_search", TODAY, "collect",
                                                    dt.datetime(2023, 8, 8, 2), None, "ok", {"search": 2}))])
    finally:
        con.close()


def test_cli_build_png_and_as_of(tmp_path):
    cfg = site_data.make_site_config(tmp_path, ecos=site_data.ecosystems()[:2])
    _populate_small(cfg)
    res = run_cli("build", "--png", config=cfg.path, today="2023-08-08")
    assert res.returncode == 0, res.stderr
    assert "site:" in res.stdout
    site = cfg.site_dir
    csvs = sorted(p.stem for p in (site / "data").glob("*.csv"))
    pngs = sorted(p.stem for p in (site / "png").glob("*.png"))
    svgs = sorted(p.stem for p in (site / "png").glob("*.svg"))
    # every chart of the overview, families and capability pages; of the other pages, the first chart
    # (their og:image); each image beside its CSV
    compared = [c for c in csvs if c.split("-")[0] in ("index", "families", "capability")]
    firsts = {}
    for page in site.glob("*.html"):
        text = page.read_text(encoding="utf-8")
        m = re.search(r'<div class="chart" id="([^"]+)"', text)
        if m and page.name not in ("index.html", "families.html", "capability.html"):
            firsts[page.stem] = f"{page.stem}-{m.group(1)}"
            assert f'<meta property="og:image" content="png/{firsts[page.stem]}.png">' in text
    assert {"eco-llama", "eco-gpt", "health"} <= set(firsts)
    assert pngs == svgs == sorted(compared + list(firsts.values())) and len(pngs) >= 6
    assert set(pngs) <= set(csvs)
    assert (site / "png" / "index-repo_count.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"<svg" in (site / "png" / "index-repo_count.svg").read_bytes()[:400]
    assert 'href="png/index-repo_count.png"' in (site / "index.html").read_text(encoding="utf-8")
    res = run_cli("build", "--as-of", "2023-07-20", config=cfg.path, today="2023-08-08")
    assert res.returncode == 0, res.stderr
    index = (site / "index.html").read_text(encoding="utf-8")
    # these rows were collected today (2026), so on 2023-07-20 nothing of them existed yet
    assert "as it stood on 2023-07-20" in index and "No data yet for repo_count" in index
    assert not (site / "png").exists() or not list((site / "png").iterdir())  # stale images removed


def test_long_series_are_weekly_and_short_ones_daily_per_metric(tmp_path):
    from dashboards.data import read_site_data
    from jobs.site import site_families

    cfg = site_data.make_site_config(tmp_path, ecos=site_data.ecosystems()[:2])
    batch = Batch("github")
    start = TODAY - dt.timedelta(days=450)
    for i in range(451):
        day = start + dt.timedelta(days=i)
        batch.add(day, "stars", "meta-llama/llama", 1000 + i, "backfill")
    for i in range(10):
        day = TODAY - dt.timedelta(days=9 - i)
        batch.add(day, "repo_count", "llama", 100 + i)
    con = store.open_writer(cfg.storage, wait_seconds=5)
    try:
        store.sync_config(con, cfg.ecosystem_rows(), cfg.event_rows(), site_data.memberships()[:6])
        store.commit(con, [(rows_of(batch), store.RunRecord("r1", "github_repos", TODAY, "collect",
                                                    dt.datetime(2023, 8, 8, 2), None, "ok", {}))])
    finally:
        con.close()
    data = read_site_data(cfg.storage, site_families(cfg), cfg.event_rows(), TODAY)
    assert data.weekly == {"stars"}
    stars = [r for r in data.daily if r["metric"] == "stars"]
    recent = dt.date(2023, 5, 8)  # the Monday on or before 90 days ago: day by day from there
    weekly = [r for r in stars if r["day"] < recent.isoformat()]
    daily = [r for r in stars if r["day"] >= recent.isoformat()]
    assert all(dt.date.fromisoformat(r["day"]).weekday() == 0 for r in weekly)  # one point per week
    assert len(weekly) == 52 and weekly[0]["day"] == "2022-05-09"
    last_week = weekly[-1]  # the week's last value (Sunday 2023-05-07), not a sum
    assert last_week["day"] == "2023-05-01" and last_week["days"] == 7
    assert last_week["value"] == 1000 + (dt.date(2023, 5, 7) - start).days
    assert [r["day"] for r in daily] == [(recent + dt.timedelta(days=i)).isoformat() for i in range(93)]
    assert daily[-1]["value"] == 1000 + 450
    counts = [r for r in data.daily if r["metric"] == "repo_count"]
    assert [r["day"] for r in counts] == [(TODAY - dt.timedelta(days=9 - i)).isoformat() for i in range(10)]
    assert [r["value"] for r in counts] == [100.0 + i for i in range(10)]


def test_line_breaks_only_where_a_regular_series_misses_a_step():
    from dashboards.charts import with_breaks

    def rows(days: list[str]) -> list[dict]:
        return [{"day": d, "label": "A", "value": 1.0, "method": "snapshot"} for d in days]

    # weeks (Mondays), a missing week, then day by day with a missing day
    out = with_breaks(rows(["2023-01-02", "2023-01-09", "2023-01-23", "2023-01-30", "2023-01-31",
                            "2023-02-01", "2023-02-03"]), "label")
    assert [r["day"] for r in out if r["value"] is None] == ["2023-01-16", "2023-02-02"]
    # an irregular series (a board published now and then) is drawn as it is
    sparse = rows(["2023-01-02", "2023-01-20", "2023-03-01", "2023-03-20"])
    assert with_breaks(sparse, "label") == sparse


def test_headline_escapes_queries_and_reads_an_old_warehouse(tmp_path):
    ecos = site_data.ecosystems()[:2]
    ecos[0]["github_queries"] = ["<i>llama</i>"]
    cfg = site_data.make_site_config(tmp_path, ecos=ecos)
    build_site(cfg, today=TODAY)
    index = (cfg.site_dir / "index.html").read_text(encoding="utf-8")
    assert "No repository counts yet for \u201c&lt;i&gt;llama&lt;/i&gt;\u201d" in index
    assert "<i>llama</i>" not in index
    # counts last collected months ago still make the headline, dated by their own day
    cfg = site_data.make_site_config(tmp_path / "old", ecos=site_data.ecosystems()[:2])
    _populate_small(cfg)
    build_site(cfg, today=TODAY + dt.timedelta(days=120))
    index = (cfg.site_dir / "index.html").read_text(encoding="utf-8")
    assert "As of 2023-08-08, <b>" in index and "over the last 14 days each grew by" in index


def test_a_chart_on_two_pages_is_rendered_once_and_kept_while_unchanged(tmp_path):
    from dashboards.builder import write
    from dashboards.images import IMAGE_MANIFEST, ImageRenderer

    spec = {"data": {"values": [{"x": 1, "y": 2}, {"x": 2, "y": 3}]}, "mark": "line", "title": "Shared chart",
            "encoding": {"x": {"field": "x", "type": "quantitative"}, "y": {"field": "y", "type": "quantitative"}}}
    other = dict(spec, title="Another chart")
    r = ImageRenderer(tmp_path, None, workers=1)
    r.add("index-a", spec)
    r.add("families-a", json.loads(json.dumps(spec)))
    r.add("families-b", other)
    assert r.finish() == 2  # three stems, two distinct specs
    png = tmp_path / "png"
    svg = (png / "index-a.svg").read_text(encoding="utf-8")
    assert svg == (png / "families-a.svg").read_text(encoding="utf-8") and "Shared chart" in svg
    assert "Another chart" in (png / "families-b.svg").read_text(encoding="utf-8")
    assert (png / "index-a.png").read_bytes() == (png / "families-a.png").read_bytes()
    assert set(json.loads((png / IMAGE_MANIFEST).read_text())) == {"index-a", "families-a", "families-b"}
    # the next build (here in a worker process) renders only what changed or went missing
    (png / "families-b.png").unlink()
    write(png / "index-a.svg", "kept")
    r = ImageRenderer(tmp_path, None, workers=2)
    for stem, s in (("index-a", spec), ("families-a", spec), ("families-b", other)):
        r.add(stem, s)
    assert r.finish() == 1 and (png / "families-b.png").read_bytes()[:4] == b"\x89PNG"
    assert (png / "index-a.svg").read_text(encoding="utf-8") == "kept"
