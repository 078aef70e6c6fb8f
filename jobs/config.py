"""Load and validate ecotrend.toml: every problem is one line naming the file, the key and what is wrong."""
from __future__ import annotations

import datetime as dt
import json
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_CONFIG = "ecotrend.toml"
REPO_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$")
MODEL_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")
KEY_RE = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
COLOR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")
TIME_RE = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


class ConfigError(Exception):
    """A configuration problem, already phrased as one line for the user."""


def _str(v: Any) -> bool:
    return isinstance(v, str)


def _int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _num(v: Any) -> bool:
    return (isinstance(v, (int, float))) and not isinstance(v, bool)


def _strlist(v: Any) -> bool:
    return isinstance(v, list) and all(isinstance(x, str) for x in v)


TYPE_NAMES = {_str: "a string", _int: "an integer", _num: "a number", _strlist: "a list of strings"}


def _table(v: Any) -> bool:
    return isinstance(v, dict)


TYPE_NAMES[_table] = "a table"

# section -> key -> (type check, default)
SECTIONS: dict[str, dict[str, tuple[Any, Any]]] = {
    "storage": {
        "database": (_str, "data/ecotrend.duckdb"),
        "raw_dir": (_str, "data/raw"),
        "raw_keep_days": (_int, 400),
        "pending_dir": (_str, "data/pending"),
        "log_dir": (_str, "data/logs"),
        "lock_wait_seconds": (_num, 30),
    },
    "site": {"out_dir": (_str, "site"), "title": (_str, "ecotrend"), "demo_banner": (_str, "")},
    "http": {
        "max_wait_seconds": (_num, 900),
        "timeout_seconds": (_num, 30),
        "retries": (_int, 3),
        "backoff_seconds": (_num, 2),
        "secondary_wait_seconds": (_num, 60),
        "max_response_bytes": (_int, 50_000_000),
    },
    "github": {
        "api_url": (_str, "https://api.github.com"),
        "web_url": (_str, "https://github.com"),
        "token_env": (_str, "GITHUB_TOKEN"),
        "web_pause_seconds": (_num, 1.0),  # gap between scraped page requests (dependents, trending)
    },
    "huggingface": {
        "endpoint": (_str, "https://huggingface.co"),
        "token_env": (_str, "HF_TOKEN"),
        "top_models": (_int, 10),
    },
    "pypi": {"api_url": (_str, "https://pypistats.org/api"), "requests_per_minute": (_num, 30)},
    "npm": {"api_url": (_str, "https://api.npmjs.org"), "start": (_str, "2023-01-01")},
    "schedule": {"time": (_str, "02:00"), "timezone": (_str, "UTC")},
    "alerts": {"command": (_str, "")},
    # Arena leaderboard history (collectors/arena.py); checked by _check_arena
    "arena": {
        "endpoint": (_str, ""),  # empty: [huggingface] endpoint
        "space": (_str, "lmarena-ai/arena-leaderboard"),
        "dataset": (_str, "lmarena-ai/leaderboard-dataset"),
        "dataset_config": (_str, "text"),
        "dataset_split": (_str, "full"),
        "category": (_str, "overall"),
        "score_columns": (_strlist, ["Arena Elo rating", "Arena Score"]),
        "not_tracked": (_strlist, []),
        "licenses": (_table, {}),  # license text -> {open_weights, commercial_use}
    },
    # ModelScope model pages (collectors/modelscope.py)
    "modelscope": {"site": (_str, "modelscope.cn"), "api_url": (_str, "")},  # api_url empty: https://{site}
}

ECOSYSTEM_KEYS: dict[str, tuple[Any, Any]] = {
    "key": (_str, None),
    "label": (_str, None),
    "color": (_str, "#888888"),
    "first_release": (_str, ""),
    "github_queries": (_strlist, []),
    "github_repos": (_strlist, []),
    "hf_searches": (_strlist, []),
    "hf_authors": (_strlist, []),
    "hf_models": (_strlist, []),
    "hf_base_models": (_strlist, []),
    "pypi_packages": (_strlist, []),
    "npm_packages": (_strlist, []),
    "trending_keywords": (_strlist, []),
    "trending_exclude": (_strlist, []),
    "leaderboard_aliases": (_strlist, []),
    "modelscope_models": (_strlist, []),
    "dependents": (_strlist, []),  # "owner/repo" or "owner/repo:package" (GitHub "Used by")
}
EVENT_KEYS: dict[str, tuple[Any, Any]] = {"day": (_str, None), "label": (_str, None), "ecosystem": (_str, "")}


class Section(dict):
    """A config section: a dict whose keys read as attributes too."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError as exc:
            raise AttributeError(name) from exc


@dataclass
class Ecosystem:
    key: str
    label: str
    color: str = "#888888"
    first_release: str = ""
    github_queries: list[str] = field(default_factory=list)
    github_repos: list[str] = field(default_factory=list)
    hf_searches: list[str] = field(default_factory=list)
    hf_authors: list[str] = field(default_factory=list)
    hf_models: list[str] = field(default_factory=list)
    hf_base_models: list[str] = field(default_factory=list)
    pypi_packages: list[str] = field(default_factory=list)
    npm_packages: list[str] = field(default_factory=list)
    trending_keywords: list[str] = field(default_factory=list)
    trending_exclude: list[str] = field(default_factory=list)
    leaderboard_aliases: list[str] = field(default_factory=list)  # glob patterns on Arena model names
    modelscope_models: list[str] = field(default_factory=list)
    dependents: list[str] = field(default_factory=list)  # "owner/repo" or "owner/repo:package"


@dataclass
class Event:
    day: str
    label: str
    ecosystem: str = ""


@dataclass
class Config:
    path: Path
    sections: dict[str, Section]
    ecosystems: list[Ecosystem]
    events: list[Event]

    def __getattr__(self, name: str) -> Section:
        sections = self.__dict__.get("sections", {})
        if name in sections:
            return sections[name]
        raise AttributeError(name)

    @property
    def base_dir(self) -> Path:
        return self.path.parent

    def resolve(self, p: str) -> Path:
        """A configured path, relative ones taken from the config file's folder."""
        path = Path(os.path.expanduser(p))
        return path if path.is_absolute() else (self.base_dir / path)

    @property
    def database(self) -> Path:
        return self.resolve(self.storage.database)

    @property
    def raw_dir(self) -> Path:
        return self.resolve(self.storage.raw_dir)

    @property
    def pending_dir(self) -> Path:
        return self.resolve(self.storage.pending_dir)

    @property
    def log_dir(self) -> Path:
        return self.resolve(self.storage.log_dir)

    @property
    def site_dir(self) -> Path:
        return self.resolve(self.site.out_dir)

    def ecosystem(self, key: str) -> Ecosystem:
        for eco in self.ecosystems:
            if eco.key == key:
                return eco
        raise KeyError(key)

    def token(self, section: str) -> str | None:
        """The secret named by `[section] token_env`, read from the environment (never from the file)."""
        name = self.sections[section].get("token_env") or ""
        value = os.environ.get(name, "").strip() if name else ""
        return value or None


def _check_date(where: str, value: str) -> None:
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"{where}: '{value}' is not a date (YYYY-MM-DD)") from None


def _check_table(where: str, table: Any, spec: dict[str, tuple[Any, Any]]) -> dict:
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: must be a table")
    out: dict[str, Any] = {}
    for k, v in table.items():
        if k not in spec:
            known = ", ".join(sorted(spec))
            raise ConfigError(f"{where}.{k}: unknown key (known: {known})")
        check, _default = spec[k]
        if not check(v):
            raise ConfigError(f"{where}.{k}: must be {TYPE_NAMES[check]}, not {type(v).__name__}")
        out[k] = v
    for k, (_check, default) in spec.items():
        if k not in out:
            if default is None:
                raise ConfigError(f"{where}.{k}: required key is missing")
            out[k] = list(default) if isinstance(default, list) else default
    return out


def load_config(path: str | os.PathLike | None = None) -> Config:
    """Read and validate a config file; raise ConfigError with one line on any problem."""
    p = Path(path or os.environ.get("ECOTREND_CONFIG") or DEFAULT_CONFIG)
    name = str(p)
    if not p.is_file():
        raise ConfigError(f"{name}: config file not found")
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{name}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{name}: invalid TOML: {exc}") from None
    return parse_config(raw, p.resolve(), name)


def parse_config(raw: dict, path: Path, name: str | None = None) -> Config:
    name = name or str(path)
    all_sections = SECTIONS
    sections: dict[str, Section] = {}
    for key, value in raw.items():
        if key in ("ecosystem", "event"):
            continue
        if key not in all_sections:
            known = ", ".join(sorted([*all_sections, "ecosystem", "event"]))
            raise ConfigError(f"{name}: [{key}]: unknown section (known: {known})")
    for sec, spec in all_sections.items():
        sections[sec] = Section(_check_table(f"{name}: {sec}", raw.get(sec, {}), spec))

    if sections["storage"]["raw_keep_days"] < 1:
        raise ConfigError(f"{name}: storage.raw_keep_days: must be at least 1")
    if not 0 <= sections["github"]["web_pause_seconds"] <= 60:
        raise ConfigError(f"{name}: github.web_pause_seconds: must be between 0 and 60")
    for sec in ("github", "huggingface", "pypi", "npm"):
        for k in ("api_url", "web_url", "endpoint"):
            url = sections[sec].get(k)
            if url is not None and not re.match(r"^https?://[^\s/]+", url):
                raise ConfigError(f"{name}: {sec}.{k}: '{url}' is not an http(s) address")
            if url is not None:
                sections[sec][k] = url.rstrip("/")
    if not TIME_RE.match(sections["schedule"]["time"]):
        raise ConfigError(f"{name}: schedule.time: '{sections['schedule']['time']}' is not HH:MM")
    try:
        import zoneinfo

        zoneinfo.ZoneInfo(sections["schedule"]["timezone"])
    except Exception:
        raise ConfigError(f"{name}: schedule.timezone: unknown time zone "
                          f"'{sections['schedule']['timezone']}'") from None
    _check_date(f"{name}: npm.start", sections["npm"]["start"])
    if sections["pypi"]["requests_per_minute"] <= 0:
        raise ConfigError(f"{name}: pypi.requests_per_minute: must be above 0")
    if sections["huggingface"]["top_models"] < 0:
        raise ConfigError(f"{name}: huggingface.top_models: must be 0 or more")

    _check_arena(name, sections["arena"], sections["huggingface"]["endpoint"])
    _check_modelscope(name, sections["modelscope"])

    ecos_raw = raw.get("ecosystem", [])
    if not isinstance(ecos_raw, list):
        raise ConfigError(f"{name}: ecosystem: must be an array of tables ([[ecosystem]])")
    ecosystems: list[Ecosystem] = []
    seen: set[str] = set()
    for i, table in enumerate(ecos_raw):
        where = f"{name}: ecosystem[{i}]"
        if isinstance(table, dict) and isinstance(table.get("key"), str):
            where = f"{name}: ecosystem '{table['key']}'"
        data = _check_table(where, table, ECOSYSTEM_KEYS)
        key = data["key"]
        if not KEY_RE.match(key):
            raise ConfigError(f"{where}.key: '{key}' must be lower-case letters, digits, '-' or '_'")
        if key in seen:
            raise ConfigError(f"{where}.key: duplicate ecosystem key '{key}'")
        seen.add(key)
        if not COLOR_RE.match(data["color"]):
            raise ConfigError(f"{where}.color: '{data['color']}' is not a #rrggbb colour")
        if data["first_release"]:
            _check_date(f"{where}.first_release", data["first_release"])
        for repo in data["github_repos"]:
            if not REPO_RE.match(repo):
                raise ConfigError(f"{where}.github_repos: '{repo}' is not owner/repo")
        for entry in data["dependents"]:
            repo, sep, package = entry.partition(":")
            if not REPO_RE.match(repo) or (sep and not package.strip()):
                raise ConfigError(f"{where}.dependents: '{entry}' is not owner/repo or owner/repo:package")
        for k in ("trending_keywords", "trending_exclude"):
            for v in data[k]:
                if not any(ch.isalnum() for ch in v):
                    raise ConfigError(f"{where}.{k}: '{v}' has no letter or digit to match")
        for k in ("hf_models", "hf_base_models", "modelscope_models"):
            for model in data[k]:
                if not MODEL_RE.match(model):
                    raise ConfigError(f"{where}.{k}: '{model}' is not owner/model")
        for k in ("github_queries", "hf_searches", "hf_authors", "pypi_packages", "npm_packages",
                  "trending_keywords", "leaderboard_aliases"):
            for v in data[k]:
                if not v.strip():
                    raise ConfigError(f"{where}.{k}: empty entry")
        ecosystems.append(Ecosystem(**data))

    events_raw = raw.get("event", [])
    if not isinstance(events_raw, list):
        raise ConfigError(f"{name}: event: must be an array of tables ([[event]])")
    events: list[Event] = []
    for i, table in enumerate(events_raw):
        where = f"{name}: event[{i}]"
        data = _check_table(where, table, EVENT_KEYS)
        _check_date(f"{where}.day", data["day"])
        if data["ecosystem"] and data["ecosystem"] not in seen:
            raise ConfigError(f"{where}.ecosystem: unknown ecosystem '{data['ecosystem']}'")
        events.append(Event(**data))
    return Config(path=path, sections=sections, ecosystems=ecosystems, events=events)


def _check_url(where: str, url: str) -> str:
    if not re.match(r"^https?://[^\s/]+", url):
        raise ConfigError(f"{where}: '{url}' is not an http(s) address")
    return url.rstrip("/")


def _check_arena(name: str, sec: dict, hf_endpoint: str) -> None:
    """[arena]: addresses, repo ids, score column aliases and the license table."""
    sec["endpoint"] = _check_url(f"{name}: arena.endpoint", sec["endpoint"]) if sec["endpoint"] \
        else hf_endpoint.rstrip("/")
    for k in ("space", "dataset"):
        if not MODEL_RE.match(sec[k]):
            raise ConfigError(f"{name}: arena.{k}: '{sec[k]}' is not owner/name")
    for k in ("dataset_config", "dataset_split", "category"):
        if not re.match(r"^[A-Za-z0-9_.-]+$", sec[k]):
            raise ConfigError(f"{name}: arena.{k}: '{sec[k]}' must be letters, digits, '_', '.' or '-'")
    if not sec["score_columns"] or any(not c.strip() for c in sec["score_columns"]):
        raise ConfigError(f"{name}: arena.score_columns: needs at least one non-empty column name")
    seen: dict[str, str] = {}
    for text, value in sec["licenses"].items():
        where = f"{name}: arena.licenses.\"{text}\""
        norm = " ".join(text.split()).casefold()
        if not norm:
            raise ConfigError(f"{where}: empty license text")
        if norm in seen:
            raise ConfigError(f"{where}: same license as \"{seen[norm]}\" (case and spaces are ignored)")
        seen[norm] = text
        if not isinstance(value, dict) or set(value) != {"open_weights", "commercial_use"} \
                or not all(isinstance(v, bool) for v in value.values()):
            raise ConfigError(f"{where}: must be {{ open_weights = true|false, commercial_use = true|false }}")


def _check_modelscope(name: str, sec: dict) -> None:
    if not re.match(r"^[a-z0-9-]+(\.[a-z0-9-]+)+$", sec["site"]):
        raise ConfigError(f"{name}: modelscope.site: '{sec['site']}' is not a domain (e.g. modelscope.cn)")
    sec["api_url"] = _check_url(f"{name}: modelscope.api_url", sec["api_url"]) if sec["api_url"] \
        else f"https://{sec['site']}"


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)  # a JSON string is a valid TOML basic string
    if isinstance(v, (dt.date, dt.datetime)):
        return json.dumps(v.isoformat())
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {_toml_value(x)}" for k, x in v.items()) + "}"
    raise TypeError(f"cannot write {type(v).__name__} to TOML")


def dump_toml(data: dict[str, Any], header: str = "") -> str:
    """Write a config dict back as TOML: tables of scalars/lists/inline tables, then arrays of tables."""
    out = [f"# {line}" for line in header.splitlines()] + ([""] if header else [])
    for key, val in data.items():
        if isinstance(val, dict):
            out.append(f"[{key}]")
            out += [f"{k} = {_toml_value(v)}" for k, v in val.items()]
            out.append("")
    for key, val in data.items():
        if isinstance(val, list) and val and all(isinstance(t, dict) for t in val):
            for table in val:
                out.append(f"[[{key}]]")
                out += [f"{k} = {_toml_value(v)}" for k, v in table.items()]
                out.append("")
    return "\n".join(out)

