"""The Usage section (overview and family pages) on a hand-built warehouse: OpenRouter token share with
its citation and as-of on the chart, in the CSV and in the exported SVG; the tokenizer note; token-share
leads; Ollama pulls and Replicate runs; empty states naming what enables them."""
from __future__ import annotations

import csv
import datetime as dt
import json
import re

import pytest

from collectors.base import Batch, Membership
from jobs.site import build_site
from tests import site_data
from warehouse import store

TODAY = dt.date(2025, 3, 5)
DAYS = [dt.date(2025, 3, 1) + dt.timedelta(days=i) for i in range(4)]
AS_OF = {d: f"{(d + dt.timedelta(days=1)).isoformat()}T03:00:00Z" for d in DAYS}
CITATION = f"Source: OpenRouter (openrouter.ai/rankings), as of {AS_OF[DAYS[-1]]}"
SPECS_RE = re.compile(r'<script type="application/json" id="chart-specs">(.*?)</script>', re.S)
# GPT ahead on the first two days, LLaMA from the third on
SHARES = {"llama": [0.10, 0.11, 0.20, 0.22], "gpt": [0.15, 0.14, 0.12, 0.11]}


def usage_ecos() -> list[dict]:
    llama, gpt = site_data.ecosystems()[:2]
    llama.update(openrouter_authors=["meta-llama"], ollama_models=["llama3.1", "llama3.2"],
                 replicate_models=["meta/meta-llama-3-70b-instruct"])
    gpt.update(openrouter_authors=["openai"], ollama_models=["gpt-oss"])
    return [llama, gpt]


def populate(cfg) -> None:
    total = 1_000_000_000
    orb, oll, rep = Batch("openrouter"), Batch("ollama"), Batch("replicate")
    for i, day in enumerate(DAYS):
        for key, shares in SHARES.items():
            orb.add(day, "tokens_day", f"family:{key}", shares[i] * total)
            orb.add(day, "token_share", f"family:{key}", shares[i])
        orb.add(day, "tokens_day", "total", total)
        orb.add(day, "tokens_day", "open_weight", 0.4 * total)
        orb.add(day, "open_weight_token_share", "open_weight", 0.4)
        orb.tables.setdefault("openrouter_days", []).append(
            {"day": day, "as_of": AS_OF[day], "version": "v1", "row_count": 51})
        oll.add(day, "pulls", "llama3.1", 100_000_000 + 100_000 * i, flags="abbreviated")
        oll.add(day, "pulls", "llama3.2", 40_000_000 + 100_000 * i, flags="abbreviated")
        oll.add(day, "pulls", "gpt-oss", 3_000_000 + 10_000 * i)
        rep.add(day, "runs", "meta/meta-llama-3-70b-instruct", 1_000_000 + 500 * i)
    mem = [Membership(k, "openrouter", f"family:{k}", "primary") for k in SHARES]
    mem += [Membership("llama", "ollama", m, "member") for m in ("llama3.1", "llama3.2")]
    mem += [Membership("gpt", "ollama", "gpt-oss", "member"),
            Membership("llama", "replicate", "meta/meta-llama-3-70b-instruct", "member")]
    con = store.open_writer(cfg.storage, wait_seconds=5)
    try:
        store.sync_config(con, cfg.ecosystem_rows(), cfg.event_rows(), mem)
        at = dt.datetime.combine(TODAY, dt.time(3, 0))
        for batch in (orb, oll, rep):
            site_data.write(con, batch, "run-usage", TODAY, at)
    finally:
        con.close()


@pytest.fixture(scope="module")
def usage_site(tmp_path_factory):
    cfg = site_data.make_site_config(tmp_path_factory.mktemp("usage"), ecos=usage_ecos())
    populate(cfg)
    build_site(cfg, today=TODAY, png=True)
    return cfg.site_dir


def _specs(path) -> dict:
    m = SPECS_RE.search(path.read_text(encoding="utf-8"))
    return json.loads(m.group(1)) if m else {}


def test_token_share_carries_the_citation_and_latest_as_of_everywhere(usage_site):
    specs = _specs(usage_site / "index.html")
    for chart in ("usage-token-share", "usage-open-weight"):
        spec = specs[chart]
        assert spec["title"]["text"] == CITATION  # on the chart, below it
        assert CITATION in spec["usermeta"]["export"]["lines"]  # the page's save-as PNG/SVG
        lines = [ln for ln in (usage_site / "data" / f"index-{chart}.csv").read_text().splitlines()
                 if ln.startswith("#")]
        assert f"# {CITATION}" in lines
        assert any("OpenRouter" in ln and ln.startswith("# Source:") for ln in lines)
        svg = (usage_site / "png" / f"index-{chart}.svg").read_text(encoding="utf-8")
        assert CITATION in svg
    with (usage_site / "data" / "index-usage-token-share.csv").open() as fh:
        rows = list(csv.DictReader(ln for ln in fh if not ln.startswith("#")))
    assert {(r["day"], r["ecosystem"], float(r["value"])) for r in rows} == {
        (d.isoformat(), k, v[i]) for k, v in SHARES.items() for i, d in enumerate(DAYS)}
    assert {r["as_of"] for r in rows} == set(AS_OF.values())


def test_usage_section_says_who_leads_token_share_and_notes_the_tokenizer(usage_site):
    html = (usage_site / "index.html").read_text(encoding="utf-8")
    assert 'id="usage"' in html
    assert "counted by each provider&#x27;s own tokenizer" in html
    assert ("LLaMA has had the largest share of OpenRouter tokens of the 2 families charted since "
            "<b>2025-03-03</b>: 22.0% of all tokens on 2025-03-04.") in html
    specs = _specs(usage_site / "index.html")
    assert {"usage-pulls", "usage-runs"} <= set(specs)
    notes = [v for layer in specs["usage-token-share"]["layer"] for v in layer.get("data", {}).get("values", [])
             if "text" in v and "ahead" in str(v["text"])]
    assert notes and notes[0]["day"] == "2025-03-03"
    family = (usage_site / "eco-gpt.html").read_text(encoding="utf-8")
    assert "LLaMA has had a larger share of OpenRouter tokens than GPT since <b>2025-03-03</b>" in family
    assert "Who leads since when" in family and "share of OpenRouter tokens" in family


def test_family_page_charts_its_usage_per_model(usage_site):
    specs = _specs(usage_site / "eco-llama.html")
    assert specs["usage-token-share"]["title"]["text"] == CITATION
    pulls = {r["label"] for r in specs["usage-pulls"]["data"]["values"]}
    assert pulls == {"llama3.1", "llama3.2"}
    assert "usage-runs" in specs
    assert not any(k in specs for k in ("m-token_share", "m-pulls", "s-pulls"))  # not charted twice
    # --png writes a family page's first chart (its og:image) as files; the others are saved from the page
    first = next(iter(specs))
    assert sorted(p.name for p in (usage_site / "png").glob("eco-llama-*")) == [f"eco-llama-{first}.png",
                                                                               f"eco-llama-{first}.svg"]
    assert all((usage_site / "data" / f"eco-llama-{k}.csv").exists() for k in specs) and len(specs) >= 4
    gpt = (usage_site / "eco-gpt.html").read_text(encoding="utf-8")
    assert "Replicate runs, all time, per model" not in gpt  # GPT configures no Replicate model


def test_usage_empty_states_name_the_keys_and_the_token_variable(tmp_path):
    cfg = site_data.make_site_config(tmp_path, ecos=site_data.ecosystems()[:2])
    build_site(cfg, today=TODAY)
    html = (cfg.site_dir / "index.html").read_text(encoding="utf-8")
    section = html[html.index('id="usage"'):]
    assert "openrouter_authors or openrouter_models" in section and "OPENROUTER_API_KEY" in section
    assert "ollama_models" in section and "replicate_models" in section and "REPLICATE_API_TOKEN" in section
    assert "ecotrend backfill --since 2025-01-01 --source openrouter" in section
    family = (cfg.site_dir / "eco-llama.html").read_text(encoding="utf-8")
    assert 'id="usage"' in family and "OPENROUTER_API_KEY" in family
