"""What a cron job or a person at a terminal sees when things are not fine: exit codes, refused days,
SQL hints, and the cost of a missing token."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from jobs import cli
from tests.conftest import closed_port, run_cli
from warehouse import store

DAY = "2023-07-19"


def test_a_today_later_than_the_utc_date_is_refused(write_config, capsys, monkeypatch):
    cfg = write_config()
    tomorrow = (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)).isoformat()
    for args in (["collect", "--today", tomorrow], ["run", "--today", tomorrow], ["status", "--today", tomorrow]):
        assert cli.main([*args, "--config", str(cfg)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and f"--today {tomorrow} is later than today's UTC date" in err, err
    monkeypatch.setenv("ECOTREND_TODAY", tomorrow)
    assert cli.main(["collect", "--config", str(cfg)]) == 2
    assert "ECOTREND_TODAY" in capsys.readouterr().err


def test_sql_errors_keep_duckdbs_hints(write_config, capsys):
    from jobs.config import load_config

    cfg = write_config()
    store.open_writer(load_config(cfg).storage, wait_seconds=5).close()  # the schema, nothing collected
    assert cli.main(["sql", "SELECT subjct FROM observations", "--config", str(cfg)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("ecotrend: SQL error: Binder Error:") and "Traceback" not in err
    assert 'Candidate bindings: "subject"' in err.splitlines()[1]
    assert cli.main(["sql", "SELECT * FROM observatons", "--config", str(cfg)]) == 1
    err = capsys.readouterr().err
    assert 'Did you mean "observations"' in err and err.count("\n") == 2


def test_schedule_once_with_every_upstream_down_exits_3_and_alerts(config_data, write_config, tmp_path):
    closed = f"http://127.0.0.1:{closed_port()}"
    for section, key in (("github", "api_url"), ("github", "web_url"), ("huggingface", "endpoint"),
                         ("pypi", "api_url"), ("npm", "api_url")):
        config_data[section][key] = closed
    config_data["schedule"] = {"time": "00:00", "timezone": "UTC"}  # due at once
    alert = tmp_path / "alert.txt"
    config_data["alerts"] = {"command": f"cat > '{alert}'"}
    cfg = write_config()
    r = run_cli("schedule", "--once", config=cfg, today=DAY)
    assert r.returncode == 3, (r.stdout, r.stderr)
    assert "network unavailable" in r.stdout and "Traceback" not in r.stderr
    assert alert.is_file() and "not ok" in alert.read_text()
    alert.unlink()
    r = run_cli("run", config=cfg, today=DAY)
    assert r.returncode == 3 and alert.is_file()


def test_config_check_says_what_a_missing_token_costs(config_data, write_config, capsys, monkeypatch):
    """Against github.com (config check asks nothing of the network); a test double or an Enterprise
    server has budgets of its own, so nothing is said for those."""
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    assert cli.main(["config", "check", "--config", str(write_config())]) == 0
    assert "is not set:" not in capsys.readouterr().out
    del config_data["github"], config_data["huggingface"]
    cfg = write_config()
    assert cli.main(["config", "check", "--config", str(cfg)]) == 0
    out = capsys.readouterr().out
    assert "GITHUB_TOKEN is not set: GitHub allows 10 searches a minute" in out
    assert "today 2 searches take about 1 min at 10 a minute" in out  # the two configured queries
    assert "HF_TOKEN is not set" not in out  # no Hub collector is configured
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_x")
    assert cli.main(["config", "check", "--config", str(cfg)]) == 0
    assert "GITHUB_TOKEN is not set" not in capsys.readouterr().out


def test_a_collapse_to_zero_is_flagged_suspect_kept_out_of_the_total_and_alerted(fake, world, config_data,
                                                                                   write_config, tmp_path):
    """A search that answers 0 for a query that had hundreds the day before: stored flagged suspect,
    left out of the family total (the family shows a missing subject, not a fall), listed by status,
    and sent to [alerts] though every source answered."""
    from tests.conftest import days, query_db

    gh = world.part("github")
    gh.add_series("llama", days("2023-06-01", 40, 10))
    gh.add_series("GPT-4", days("2023-06-01", 40, 5))
    alert = tmp_path / "alert.txt"
    config_data["alerts"] = {"command": f"cat > '{alert}'"}
    cfg = write_config()
    assert run_cli("collect", "--source", "github_search", config=cfg, today="2023-07-18").returncode == 0
    assert gh.remove("llama") == 400  # the glitch: the query suddenly finds nothing
    r = run_cli("run", config=cfg, today="2023-07-19")
    assert "suspect: github_search:" in r.stdout and "llama" in r.stdout, r.stdout
    db = config_data["storage"]["database"]
    assert query_db(db, "SELECT value, flags FROM observations WHERE day = '2023-07-19' AND subject = 'llama' "
                        "AND metric = 'repo_count'") == [(0.0, "suspect")]
    assert query_db(db, "SELECT count(*) FROM ecosystem_daily WHERE day = '2023-07-19' AND ecosystem = 'llama' "
                        "AND metric = 'repo_count'") == [(0,)]  # no family total from a suspect value
    assert alert.is_file() and "flagged suspect" in alert.read_text()
    status = run_cli("status", config=cfg, today="2023-07-19")
    assert "suspect" in status.stdout and "llama" in status.stdout
    health = (Path(config_data["site"]["out_dir"]) / "health.html").read_text(encoding="utf-8")
    section = health[health.index("Values flagged suspect"):]
    assert "repo_count" in section[:2000] and "llama" in section[:2000]
