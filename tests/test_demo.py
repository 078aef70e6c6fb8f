"""`ecotrend demo`: the whole product offline, in its own folder, every page saying it is simulated."""
from __future__ import annotations

import tomllib
from pathlib import Path

from tests.conftest import ROOT, query_db, run_cli


def test_demo_builds_a_labelled_site_from_simulated_history(demo_run):
    result, folder = demo_run
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    index = folder / "site" / "index.html"
    assert index.is_file()
    assert f"open the site: {index.as_uri()}" in result.stdout
    pages = sorted((folder / "site").glob("*.html"))
    assert len(pages) > 1
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert "simulated" in text and "Demo data" in text, page.name  # the banner on every page


def test_demo_keeps_everything_in_its_own_folder(demo_run):
    _, folder = demo_run
    assert (folder / ".ecotrend-demo").is_file()
    cfg = tomllib.loads((folder / "ecotrend.toml").read_text(encoding="utf-8"))
    for key in ("database", "raw_dir", "pending_dir", "log_dir"):
        assert not Path(cfg["storage"][key]).is_absolute()  # resolved from the demo folder
    assert cfg["site"]["out_dir"] == "site"
    for section, keys in (("github", ("api_url", "web_url")), ("huggingface", ("endpoint",)),
                          ("pypi", ("api_url",)), ("npm", ("api_url",))):
        for k in keys:
            assert cfg[section][k].startswith("http://127.0.0.1:"), (section, k)
    assert (folder / "data" / "ecotrend.duckdb").is_file()
    assert any((folder / "data" / "raw").iterdir())
    assert (folder / "data" / "logs" / "ecotrend.log").is_file()


def test_demo_history_covers_two_years_for_every_configured_family(demo_run):
    _, folder = demo_run
    shipped = tomllib.loads((ROOT / "ecotrend.toml").read_text(encoding="utf-8"))
    families = {e["key"] for e in shipped["ecosystem"] if e.get("github_queries")}
    db = folder / "data" / "ecotrend.duckdb"
    rows = query_db(db, """SELECT ecosystem, count(DISTINCT day), min(day), max(day) FROM ecosystem_daily
                           WHERE metric = 'repo_count' GROUP BY ecosystem""")
    spans = {r[0]: r for r in rows}
    assert set(spans) == families
    for eco, n, first, last in spans.values():
        assert n >= 700 and (last - first).days >= 700, eco
    # growth, not a flat line: each family has more repositories at the end than a year before
    grown = query_db(db, """SELECT ecosystem, arg_max(value, day) > arg_min(value, day) FROM ecosystem_daily
                            WHERE metric = 'repo_count' GROUP BY ecosystem""")
    assert all(g for _, g in grown)
    daily = query_db(db, "SELECT count(DISTINCT day) FROM runs WHERE mode = 'run' AND status = 'ok'")
    assert daily == [(2,)]


def test_demo_refuses_a_folder_that_is_not_a_demo(tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    r = run_cli("demo", "--dir", str(mine), config=ROOT / "ecotrend.toml")
    assert r.returncode == 2
    assert "not a demo folder" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]


def test_scenario_fills_only_the_fake_modules_present(monkeypatch):
    import datetime as dt

    from collectors.fake import routes, scenario
    from collectors.fake.world import World

    fam = scenario.Family("llama", dt.date(2025, 2, 1), [dt.date(2025, 9, 1)], ["llama"], ["meta-llama/llama"],
                          hf_models=["meta-llama/Llama-3.1-8B-Instruct"], pypi=["llama-cpp-python"])
    monkeypatch.setattr(routes, "MODULES", {"github": "collectors.fake.github",
                                            "pypistats": "collectors.fake.pypi"})
    world = World("2026-01-31")
    done = scenario.fill(world, [fam], dt.date(2024, 2, 1), dt.date(2026, 1, 31))
    assert set(done) == {"github", "pypistats"}
    assert "hf" not in world._parts  # no module, no part
    gh = world.part("github")
    created = sorted(r.created for r in gh.repos)
    assert created[0] >= fam.launch - dt.timedelta(days=20)  # nothing long before the launch
    assert gh.repository("meta-llama/llama").stars > 0
    assert world.part("pypistats").packages["llama-cpp-python"]
    # the shapes: a launch burst, then a plateau below it, then a fresh burst at the event
    curve = scenario.adoption(fam, dt.date(2024, 2, 1), dt.date(2026, 1, 31))

    def mean(a: str, b: str) -> float:
        days = [d for d in curve if dt.date.fromisoformat(a) <= d <= dt.date.fromisoformat(b)]
        return sum(curve[d] for d in days) / len(days)
    assert mean("2024-02-01", "2024-12-31") == 0
    assert mean("2025-08-01", "2025-08-28") < mean("2025-09-01", "2025-09-14")
    assert mean("2026-01-01", "2026-01-31") < mean("2025-09-01", "2025-09-14")


def test_demo_collects_usage_and_shows_the_usage_section(demo_run):
    result, folder = demo_run
    assert "skipped" not in result.stdout + result.stderr  # the demo's own made-up keys are set
    db = folder / "data" / "ecotrend.duckdb"
    got = dict(query_db(db, """SELECT source, count(*) FROM observations
                               WHERE source IN ('openrouter', 'ollama', 'replicate') GROUP BY source"""))
    assert set(got) == {"openrouter", "ollama", "replicate"}
    index = (folder / "site" / "index.html").read_text(encoding="utf-8")
    assert 'id="usage"' in index and "has had the largest share of OpenRouter tokens" in index
    assert '"text":"Source: OpenRouter (openrouter.ai/rankings), as of ' in index
    csv_text = (folder / "site" / "data" / "index-usage-token-share.csv").read_text(encoding="utf-8")
    assert "# Source: OpenRouter (openrouter.ai/rankings), as of " in csv_text
    cfg = tomllib.loads((folder / "ecotrend.toml").read_text(encoding="utf-8"))
    assert cfg["openrouter"]["token_env"].startswith("ECOTREND_DEMO_")  # never a real token's variable
