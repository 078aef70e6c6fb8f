"""The capability page and ModelScope on the family pages, from Arena boards written through warehouse.store.

The boards are tests/site_data.BOARDS, ranked and summed by the arena collector's own functions; the
expected figures below are worked out by hand from those tables.
"""
from __future__ import annotations

import csv
import datetime as dt
import html
import json
import re
from pathlib import Path

import pytest
import vl_convert as vlc

from jobs.site import build_site
from tests import site_data
from warehouse import store

TODAY = dt.date(2023, 8, 8)
SPECS_RE = re.compile(r'<script type="application/json" id="chart-specs">(.*?)</script>', re.DOTALL)
EVIL_MODEL = site_data.EVIL_MODEL[0]
BACKFILL_CMD = "ecotrend backfill --since 2023-05-01 --source arena"

# (day, best open, best proprietary, gap, best open model, best proprietary model, models, unmapped, flags)
GAP = [
    ("2023-05-25", 1054.0, 1225.0, 171.0, "Vicuna-13B", "GPT-4", 5.0, 0.0, ""),
    ("2023-06-22", 1096.0, 1227.0, 131.0, "Vicuna-33B", "GPT-4", 6.0, 0.0, ""),
    ("2023-07-20", 1095.0, 1207.0, 112.0, "Vicuna-33B", "GPT-4", 5.0, 0.0, ""),
    # 11 models and the <script> one; Qwen-7B-Chat (license unmapped) scores below both bests but is 9th,
    # so open_in_top10 carries the flag, which the day's row lists.
    ("2023-08-08", 1096.0, 1206.0, 110.0, "Vicuna-33B", "GPT-4", 12.0, 1.0, "unmapped_license"),
]
# (day, share, open in top 10, models): 05-25 Vicuna-13B, Koala-13B of 5; 06-22 three Vicunas/MPT of 6;
# 07-20 Vicuna-33B, Llama-2 of 5; 08-08 Vicuna-33B, Llama-2, WizardLM, Falcon of the top 10.
TOP10 = [("2023-05-25", 0.4, 2.0, 5.0), ("2023-06-22", 0.5, 3.0, 6.0), ("2023-07-20", 0.4, 2.0, 5.0),
         ("2023-08-08", 0.4, 4.0, 12.0)]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    cfg = site_data.make_site_config(tmp_path_factory.mktemp("cap"), banner="Demo data")
    site_data.populate(cfg, evil=True)
    build_site(cfg, today=TODAY)
    return cfg


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as fh:  # provenance lines first, starting with '#'
        return list(csv.DictReader(line for line in fh if not line.startswith("#")))


def _specs(page: Path) -> dict:
    m = SPECS_RE.search(page.read_text(encoding="utf-8"))
    return json.loads(m.group(1)) if m else {}


def test_capability_page_linked_from_every_page_with_as_of_and_banner(site):
    pages = sorted(site.site_dir.glob("*.html"))
    assert "capability.html" in {p.name for p in pages}
    for p in pages:
        text = p.read_text(encoding="utf-8")
        assert 'href="capability.html"' in text, p.name
    text = (site.site_dir / "capability.html").read_text(encoding="utf-8")
    assert "data as of 2023-08-08" in text
    assert '<div class="banner" role="note">Demo data</div>' in text
    assert set(_specs(site.site_dir / "capability.html")) == {"gap", "top10", "families"}


def test_gap_csv_holds_the_boards_figures_exactly(site):
    rows = _csv(site.site_dir / "data" / "capability-gap.csv")
    got = [(r["day"], float(r["best_open_score"]), float(r["best_proprietary_score"]), float(r["open_gap"]),
            r["best_open_model"], r["best_proprietary_model"], float(r["leaderboard_models"]),
            float(r["unmapped_license_models"]), r["flags"]) for r in rows]
    assert got == GAP
    assert {r["arena"] for r in rows} == {"text"}


def test_top10_csv_and_headline(site):
    rows = _csv(site.site_dir / "data" / "capability-top10.csv")
    assert [(r["day"], float(r["open_share_top10"]), float(r["open_in_top10"]), float(r["leaderboard_models"]))
            for r in rows] == TOP10
    assert rows[-1]["flags"] == "unmapped_license"
    text = (site.site_dir / "capability.html").read_text(encoding="utf-8")
    headline = re.search(r'<p class="headline">(.*?)</p>', text, re.DOTALL).group(1)
    plain = re.sub(r"<[^>]+>", "", headline)
    assert "On the Arena board of 2023-08-08 (text)" in plain
    assert "GPT-4 (1,206)" in plain and "Vicuna-33B (1,096)" in plain and "110 points apart" in plain
    assert "4 of the top 10 have open weights" in plain
    assert "1 model(s) carry a license not in [arena.licenses] (unmapped)" in plain


def test_family_panels_put_best_score_beside_repositories_on_one_time_axis(site):
    rows = _csv(site.site_dir / "data" / "capability-families.csv")
    scores = [(r["label"], r["day"], float(r["value"]), r["detail"]) for r in rows
              if r["panel"] == "best Arena score"]
    assert scores == [
        ("LLaMA", "2023-05-25", 1054.0, "Vicuna-13B (rank 4)"), ("LLaMA", "2023-06-22", 1096.0, "Vicuna-33B (rank 4)"),
        ("LLaMA", "2023-07-20", 1095.0, "Vicuna-33B (rank 4)"), ("LLaMA", "2023-08-08", 1096.0, "Vicuna-33B (rank 5)"),
        ("GPT", "2023-05-25", 1225.0, "GPT-4 (rank 1)"), ("GPT", "2023-06-22", 1227.0, "GPT-4 (rank 1)"),
        ("GPT", "2023-07-20", 1207.0, "GPT-4 (rank 1)"), ("GPT", "2023-08-08", 1206.0, "GPT-4 (rank 1)"),
        ("Qwen", "2023-08-08", 1000.0, "Qwen-7B-Chat (rank 9)")]
    repos = {(r["label"], r["day"]): float(r["value"]) for r in rows if r["panel"] != "best Arena score"}
    assert repos[("LLaMA", "2023-08-08")] == site_data.llama_repos(TODAY)
    assert repos[("GPT", "2023-07-20")] == site_data.gpt_repos(dt.date(2023, 7, 20))
    assert min(day for _label, day in repos) == "2023-05-25"  # adoption starts with the first board
    spec = _specs(site.site_dir / "capability.html")["families"]
    assert spec["resolve"]["scale"]["x"] == "shared"  # one time axis for every panel
    score, repos = spec["hconcat"]
    assert score["facet"]["row"]["field"] == "label" and repos["facet"]["row"]["field"] == "label"
    assert score["resolve"]["scale"]["y"] == "shared"  # families' scores compare on one scale
    assert repos["resolve"]["scale"]["y"] == "independent"


def test_specs_valid_with_iso_days_and_float_numbers(site):
    specs = _specs(site.site_dir / "capability.html")
    for chart_id, spec in specs.items():
        values = spec["data"]["values"]
        head = dict(spec, data={"values": values[:3]})
        assert site_data.vega_lite_errors(head) == [], chart_id
        vlc.vegalite_to_vega(head)
        for row in values:
            assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", row["day"]), chart_id
            for k, v in row.items():
                if k not in ("day", "label", "panel", "detail", "method", "flags", "best_open_model",
                             "best_proprietary_model") and v is not None:
                    assert isinstance(v, float), (chart_id, k, v)
    gap = specs["gap"]
    assert {layer["mark"]["type"] for layer in gap["layer"] if "mark" in layer} >= {"area", "line", "circle"}
    area = next(layer for layer in gap["layer"] if layer.get("mark", {}).get("type") == "area")
    assert area["encoding"]["y"]["field"] == "best_open_score"
    assert area["encoding"]["y2"]["field"] == "best_proprietary_score"
    params = gap.get("params", []) + [p for layer in gap["layer"] for p in layer.get("params", [])]
    assert any(p.get("bind") == "scales" for p in params)  # zoom and pan on the time axis


def test_latest_board_table_escapes_names_and_marks_unmapped_licenses(site):
    text = (site.site_dir / "capability.html").read_text(encoding="utf-8")
    assert EVIL_MODEL not in text and "<b>org</b>" not in text
    assert html.escape(EVIL_MODEL) in text and "&lt;b&gt;org&lt;/b&gt;" in text
    table = text[text.index("The latest board: text arena, 2023-08-08"):]
    table = table[:table.index("</table>")]  # that section's table only
    rows = re.findall(r"<tr>(.*?)</tr>", table, re.DOTALL)[1:]
    cells = [re.findall(r"<td[^>]*>(.*?)</td>", r) for r in rows]
    assert len(cells) == 12
    assert [c[0] for c in cells[:4]] == ["GPT-4", "Claude-1", "Claude-2", "GPT-3.5-turbo"]
    qwen = next(r for r in rows if "Qwen-7B-Chat" in r)
    assert re.findall(r'<td class="bad">(.*?)</td>', qwen) == ["Tongyi Qianwen", "unmapped", "unmapped"]
    assert [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td[^>]*>.*?</td>", qwen)] == [
        "Qwen-7B-Chat", "Alibaba", "Tongyi Qianwen", "unmapped", "unmapped", "1,000", "9", "Qwen"]
    vicuna = next(c for c in cells if c[0] == "Vicuna-33B")
    assert vicuna[2:] == ["Non-commercial", "yes", "no", "1,096", "5", "LLaMA"]
    assert "Unmapped license(s), not guessed: Tongyi Qianwen" in text


def test_modelscope_beside_hugging_face_on_the_family_page(site):
    qwen = (site.site_dir / "eco-qwen.html").read_text(encoding="utf-8")
    assert "Downloads on Hugging Face and ModelScope, all time" in qwen
    rows = _csv(site.site_dir / "data" / "eco-qwen-hubs.csv")
    last = {r["label"]: float(r["value"]) for r in rows if r["day"] == "2023-08-08"}
    assert last == {"Hugging Face · Qwen/Qwen-7B-Chat": 24000.0, "ModelScope · qwen/Qwen-7B-Chat": 62000.0}
    assert len(rows) == 10  # five days on each hub
    table = qwen[qwen.index("The family's models on each hub, latest"):]
    table = table[:table.index("</table>")]
    cells = [re.findall(r"<td[^>]*>(.*?)</td>", r) for r in re.findall(r"<tr>(.*?)</tr>", table)[1:]]
    assert cells == [["Hugging Face", "Qwen/Qwen-7B-Chat", "24,000", "230", "2023-08-08"],
                     ["ModelScope", "qwen/Qwen-7B-Chat", "62,000", "60", "2023-08-08"]]
    # not charted twice, and no false "no data" box for the metrics the hub section shows
    assert not (site.site_dir / "data" / "eco-qwen-s-downloads_all_time.csv").exists()
    assert "No data yet for downloads_all_time" not in qwen
    # families without ModelScope models get no hub section
    assert "ModelScope" not in (site.site_dir / "eco-llama.html").read_text(encoding="utf-8")


def test_as_of_keeps_only_boards_collected_by_then(site, tmp_path):
    from dashboards.data import read_site_data
    from jobs.site import site_families
    data = read_site_data(site.storage, site_families(site), site.event_rows(), TODAY, as_of=dt.date(2023, 7, 25))
    assert [r["day"] for r in data.capability] == ["2023-05-25", "2023-06-22", "2023-07-20"]
    assert {r["day"] for r in data.board} == {"2023-07-20"}
    assert data.hub_models == []


def test_empty_states_name_the_backfill_and_the_config_it_needs(tmp_path):
    cfg = site_data.make_site_config(tmp_path)
    con = store.open_writer(cfg.storage, wait_seconds=5)  # the schema, nothing collected
    con.close()
    build_site(cfg, today=TODAY)
    text = (cfg.site_dir / "capability.html").read_text(encoding="utf-8")
    assert text.count(f"<code>{BACKFILL_CMD}</code>") == 3  # the gap, the family panels, the board
    assert "<code>[arena.licenses]</code>" in text and "<code>leaderboard_aliases</code>" in text
    assert _specs(cfg.site_dir / "capability.html") == {}
    assert 'src="assets/site.js"' in text  # the page still says when it is done
    qwen = (cfg.site_dir / "eco-qwen.html").read_text(encoding="utf-8")
    assert "<code>ecotrend collect --source modelscope</code>" in qwen and "qwen/Qwen-7B-Chat" in qwen


def test_build_without_capability_data_keeps_the_page(tmp_path):
    cfg = site_data.make_site_config(tmp_path)
    site_data.populate(cfg, capability=False)
    build_site(cfg, today=TODAY)
    text = (cfg.site_dir / "capability.html").read_text(encoding="utf-8")
    assert "No data yet for Arena boards" in text and BACKFILL_CMD in text
    assert not list((cfg.site_dir / "data").glob("capability-*.csv"))


def test_the_board_live_on_2023_07_20_is_set_beside_what_was_said_of_it(tmp_path):
    """The recorded board of 2023-07-17 (live on 2023-07-20), classified by the shipped [arena.licenses]
    and stored as the arena collector stores it, beside the 2023 analysis' statements: the page says where
    they agree and, plainly, where they differ."""
    import tomllib

    from collectors.arena import Classifier, parse_table, rank_rows
    from collectors.base import Batch
    from jobs.config import parse_config
    from jobs.runner import rows_of

    root = Path(__file__).resolve().parents[1]
    shipped = tomllib.loads((root / "ecotrend.toml").read_text())["arena"]
    cfg = site_data.make_site_config(tmp_path)
    settings = parse_config({"arena": {"licenses": shipped["licenses"]}}, tmp_path / "x.toml").collector_settings()
    board = root / "tests" / "fixtures" / "arena" / "leaderboard_table_20230717.csv"
    cls = Classifier(settings)
    rows = [cls.apply({**r, "arena": "text", "origin": "space:2023-07-17"})
            for r in parse_table(board, board.name, dt.date(2023, 7, 17), ["Arena Elo rating"]).rows]
    rank_rows(rows)
    batch = Batch("arena", tables={"leaderboard": rows})
    con = store.open_writer(cfg.storage, wait_seconds=5)
    try:
        store.commit(con, [(rows_of(batch), store.RunRecord("r", "arena", TODAY, "collect",
                                                           dt.datetime(2023, 8, 8), None, "ok"))])
    finally:
        con.close()
    build_site(cfg, today=TODAY)
    text = html.unescape(re.sub(r"<[^>]+>", " ", (cfg.site_dir / "capability.html").read_text(encoding="utf-8")))
    text = " ".join(text.split())
    assert "What was said on 2023-07-20, and what the board said" in text
    assert "the text arena board of 2023-07-17, the one live on 2023-07-20" in text
    assert "models on the board 40 38 (22 with a score)" in text
    assert "proprietary among the rest (with a score) PaLM-Chat-Bison-001 PaLM-Chat-Bison-001" in text
    assert "not licensed for commercial use 15 21" in text
    assert ("Where they differ: models on the board: said 40, the board 38 (22 with a score); top 5 by score: "
            "said all proprietary, the board 4 proprietary; open: Vicuna-33B; not licensed for commercial use: "
            "said 15, the board 21; 16 models had no score yet, the proprietary Claude-2 among them") in text
