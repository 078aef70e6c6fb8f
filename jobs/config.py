"""Load and validate ecotrend.toml: every problem is one line naming the file, the key and what is wrong.

The shapes and defaults of the settings are declared by the layers that use them (``collectors.settings``,
``warehouse.settings``, ``dashboards.settings``, and the two job-level sections below).  This module
alone reads TOML, checks every value against those declarations and builds the frozen dataclasses.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import re
import tomllib
import typing
import zoneinfo
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from collectors.settings import (ArenaSettings, Family, GithubSettings, HttpSettings, HuggingfaceSettings,
                                 ModelscopeSettings, NpmSettings, OllamaSettings, OpenrouterSettings,
                                 PypiSettings, ReplicateSettings, Settings)
from dashboards.settings import SiteSettings
from warehouse.settings import PlausibilitySettings, StorageSettings
from warehouse.store import EcosystemRow, EventRow

DEFAULT_CONFIG = "ecotrend.toml"
REPO_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$")
MODEL_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")
# The Hub still serves ids from before namespaces ("gpt2", "bert-base-uncased"), many answering 307 to
# their namespaced name: both forms are accepted, and the collector records the name it lands on.
HUB_ID_RE = re.compile(r"^(?:[A-Za-z0-9][A-Za-z0-9._-]*/)?[A-Za-z0-9][A-Za-z0-9._-]*$")
KEY_RE = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
COLOR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")
TIME_RE = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
URL_RE = re.compile(r"^https?://[^\s/]+")
OLLAMA_RE = re.compile(r"^(?:[a-z0-9][a-z0-9._-]*/)?[a-z0-9][a-z0-9._-]*$")  # "llama3.1", "user/name"
PERMASLUG_RE = re.compile(r"^[A-Za-z0-9*?\[\]][A-Za-z0-9._:*?\[\]/-]*$")  # glob on OpenRouter permaslugs

Ecosystem = Family  # the name used by jobs and tests


class ConfigError(Exception):
    """A configuration problem, already phrased as one line for the user."""


@dataclass(frozen=True)
class ScheduleSettings:
    """[schedule]: when `ecotrend schedule` fires (the timezone only decides when; days are UTC)."""

    time: str = dataclasses.field(default="02:00", metadata={"form": "hh:mm"})
    timezone: str = dataclasses.field(default="UTC", metadata={"form": "timezone"})


@dataclass(frozen=True)
class AlertSettings:
    """[alerts]: a command run with a summary on stdin when a run has failures."""

    command: str = ""


@dataclass(frozen=True)
class Event:
    day: str
    label: str
    ecosystem: str = ""


SECTIONS: dict[str, type] = {
    "storage": StorageSettings, "site": SiteSettings, "http": HttpSettings, "github": GithubSettings,
    "huggingface": HuggingfaceSettings, "pypi": PypiSettings, "npm": NpmSettings,
    "schedule": ScheduleSettings, "alerts": AlertSettings, "arena": ArenaSettings,
    "modelscope": ModelscopeSettings, "openrouter": OpenrouterSettings, "ollama": OllamaSettings,
    "replicate": ReplicateSettings, "plausibility": PlausibilitySettings,
}
SECTION_KEYS: dict[str, set[str]] = {sec: {f.name for f in dataclasses.fields(cls)} for sec, cls in SECTIONS.items()}


@dataclass(frozen=True)
class Config:
    path: Path
    storage: StorageSettings
    site: SiteSettings
    http: HttpSettings
    github: GithubSettings
    huggingface: HuggingfaceSettings
    pypi: PypiSettings
    npm: NpmSettings
    schedule: ScheduleSettings
    alerts: AlertSettings
    arena: ArenaSettings
    modelscope: ModelscopeSettings
    openrouter: OpenrouterSettings
    ollama: OllamaSettings
    replicate: ReplicateSettings
    plausibility: PlausibilitySettings
    ecosystems: tuple[Family, ...]
    events: tuple[Event, ...]

    @property
    def base_dir(self) -> Path:
        return self.path.parent

    @property
    def database(self) -> Path:
        return self.storage.database

    @property
    def raw_dir(self) -> Path:
        return self.storage.raw_dir

    @property
    def pending_dir(self) -> Path:
        return self.storage.pending_dir

    @property
    def log_dir(self) -> Path:
        return self.storage.log_dir

    @property
    def site_dir(self) -> Path:
        return self.site.out_dir

    def section(self, name: str) -> Any:
        return getattr(self, name)

    def collector_settings(self) -> Settings:
        return Settings(http=self.http, github=self.github, huggingface=self.huggingface, pypi=self.pypi,
                        npm=self.npm, arena=self.arena, modelscope=self.modelscope, openrouter=self.openrouter,
                        ollama=self.ollama, replicate=self.replicate, ecosystems=self.ecosystems)

    def ecosystem_rows(self) -> list[EcosystemRow]:
        return [EcosystemRow(e.key, e.label, e.color, e.first_release or None) for e in self.ecosystems]

    def event_rows(self) -> list[EventRow]:
        return [EventRow(e.day, e.label, e.ecosystem) for e in self.events]

    def ecosystem(self, key: str) -> Family:
        for eco in self.ecosystems:
            if eco.key == key:
                return eco
        raise KeyError(key)

    def token(self, section: str) -> str | None:
        """The secret named by `[section] token_env`, read from the environment (never from the file)."""
        return getattr(self, section).token()

    def replace(self, **sections: Any) -> "Config":
        """A copy with some sections replaced (e.g. ``site=...`` for a build elsewhere)."""
        return dataclasses.replace(self, **sections)


# -- values ------------------------------------------------------------------------------------------
def _type_check(hint: Any) -> tuple[Callable[[Any], bool], str]:
    """How a TOML value is checked for a field annotated ``hint``, and its name in messages."""
    origin = typing.get_origin(hint)
    if hint is bool:
        return (lambda v: isinstance(v, bool)), "true or false"
    if hint is int:
        return (lambda v: isinstance(v, int) and not isinstance(v, bool)), "an integer"
    if hint is float:
        return (lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)), "a number"
    if hint in (str, Path):
        return (lambda v: isinstance(v, str)), "a string"
    if origin is tuple:
        return (lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v)), "a list of strings"
    return (lambda v: isinstance(v, dict)), "a table"


def _convert(hint: Any, value: Any, base: Path) -> Any:
    if hint is float:
        return float(value)
    if hint is Path:
        path = Path(os.path.expanduser(value))
        return path if path.is_absolute() else base / path
    if typing.get_origin(hint) is tuple:
        return tuple(value)
    return value


def _check_date(where: str, value: str) -> None:
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"{where}: '{value}' is not a date (YYYY-MM-DD)") from None


def _check_url(where: str, url: str) -> str:
    if not URL_RE.match(url):
        raise ConfigError(f"{where}: '{url}' is not an http(s) address")
    return url.rstrip("/")


def _check_form(where: str, form: str, value: Any) -> Any:
    """The string checks a field's metadata names; returns the value as stored (URLs lose a trailing /)."""
    if form == "url" or (form == "url?" and value):
        return _check_url(where, value)
    if form == "date":
        _check_date(where, value)
    elif form == "owner/name" and not MODEL_RE.match(value):
        raise ConfigError(f"{where}: '{value}' is not owner/name")
    elif form == "name" and not re.match(r"^[A-Za-z0-9_.-]+$", value):
        raise ConfigError(f"{where}: '{value}' must be letters, digits, '_', '.' or '-'")
    elif form == "domain" and not re.match(r"^[a-z0-9-]+(\.[a-z0-9-]+)+$", value):
        raise ConfigError(f"{where}: '{value}' is not a domain (e.g. modelscope.cn)")
    elif form == "hh:mm" and not TIME_RE.match(value):
        raise ConfigError(f"{where}: '{value}' is not HH:MM")
    elif form == "timezone":
        try:
            zoneinfo.ZoneInfo(value)
        except Exception:
            raise ConfigError(f"{where}: unknown time zone '{value}'") from None
    return value


def _check_range(where: str, meta: Any, value: Any) -> None:
    lo, hi = meta.get("lo"), meta.get("hi")
    if lo is not None and value < lo or hi is not None and value > hi:
        raise ConfigError(f"{where}: must be between {lo:g} and {hi:g}, not {value:g}")


def build(cls: type, where: str, table: Any, base: Path, required: tuple[str, ...] = ()) -> Any:
    """Check a TOML table against a settings dataclass and build it: unknown keys, types, ranges, forms."""
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: must be a table")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    for key, value in table.items():
        if key not in fields:
            raise ConfigError(f"{where}.{key}: unknown key (known: {', '.join(sorted(fields))})")
        check, type_name = _type_check(hints[key])
        if not check(value):
            raise ConfigError(f"{where}.{key}: must be {type_name}, not {type(value).__name__}")
        meta = fields[key].metadata
        _check_range(f"{where}.{key}", meta, value)
        value = _check_form(f"{where}.{key}", meta.get("form", ""), value)
        values[key] = _convert(hints[key], value, base)
    for key, f in fields.items():
        if key not in values and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ConfigError(f"{where}.{key}: required key is missing")
        if key not in values and hints[key] is Path:
            values[key] = _convert(Path, str(f.default), base)
    return cls(**values)


def defaults(cls: type) -> dict[str, Any]:
    """A section's declared defaults, as TOML values (for `config check` and the docs)."""
    out = {}
    for f in dataclasses.fields(cls):
        value = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
        out[f.name] = str(value) if isinstance(value, Path) else list(value) if isinstance(value, tuple) else value
    return out


# -- the file ----------------------------------------------------------------------------------------
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
    for key in raw:
        if key not in SECTIONS and key not in ("ecosystem", "event"):
            known = ", ".join(sorted([*SECTIONS, "ecosystem", "event"]))
            raise ConfigError(f"{name}: [{key}]: unknown section (known: {known})")
    sections = {sec: build(cls, f"{name}: {sec}", raw.get(sec, {}), path.parent) for sec, cls in SECTIONS.items()}
    sections["arena"] = _check_arena(name, sections["arena"], sections["huggingface"].endpoint)
    modelscope = sections["modelscope"]
    if not modelscope.api_url:
        sections["modelscope"] = dataclasses.replace(modelscope, api_url=f"https://{modelscope.site}")
    ecosystems = _ecosystems(name, raw.get("ecosystem", []), path.parent)
    events = _events(name, raw.get("event", []), {e.key for e in ecosystems}, path.parent)
    return Config(path=path, ecosystems=ecosystems, events=events, **sections)


def _array(name: str, key: str, value: Any) -> list:
    if not isinstance(value, list):
        raise ConfigError(f"{name}: {key}: must be an array of tables ([[{key}]])")
    return value


def _ecosystems(name: str, tables: Any, base: Path) -> tuple[Family, ...]:
    out: list[Family] = []
    seen: set[str] = set()
    for i, table in enumerate(_array(name, "ecosystem", tables)):
        where = f"{name}: ecosystem[{i}]"
        if isinstance(table, dict) and isinstance(table.get("key"), str):
            where = f"{name}: ecosystem '{table['key']}'"
        eco = build(Family, where, table, base)
        if eco.key in seen:
            raise ConfigError(f"{where}.key: duplicate ecosystem key '{eco.key}'")
        seen.add(eco.key)
        _check_family(where, eco)
        out.append(eco)
    return tuple(out)


def _check_family(where: str, eco: Family) -> None:
    """The checks of one [[ecosystem]] that go beyond types."""
    if not KEY_RE.match(eco.key):
        raise ConfigError(f"{where}.key: '{eco.key}' must be lower-case letters, digits, '-' or '_'")
    if not COLOR_RE.match(eco.color):
        raise ConfigError(f"{where}.color: '{eco.color}' is not a #rrggbb colour")
    if eco.first_release:
        _check_date(f"{where}.first_release", eco.first_release)
    for repo in eco.github_repos:
        if not REPO_RE.match(repo):
            raise ConfigError(f"{where}.github_repos: '{repo}' is not owner/repo")
    for entry in eco.dependents:
        repo, sep, package = entry.partition(":")
        if not REPO_RE.match(repo) or (sep and not package.strip()):
            raise ConfigError(f"{where}.dependents: '{entry}' is not owner/repo or owner/repo:package")
    for k in ("trending_keywords", "trending_exclude"):
        for v in getattr(eco, k):
            if not any(ch.isalnum() for ch in v):
                raise ConfigError(f"{where}.{k}: '{v}' has no letter or digit to match")
    for model in eco.modelscope_models:
        if not MODEL_RE.match(model):
            raise ConfigError(f"{where}.modelscope_models: '{model}' is not owner/model")
    for k in ("hf_models", "hf_base_models"):
        for model in getattr(eco, k):
            if not HUB_ID_RE.match(model) or ".." in model:
                raise ConfigError(f"{where}.{k}: '{model}' is not a Hub model id (owner/model, or a legacy "
                                  "id such as gpt2)")
    _check_usage(where, eco)
    for k in ("github_queries", "hf_searches", "hf_authors", "pypi_packages", "npm_packages",
              "trending_keywords", "leaderboard_aliases"):
        if any(not v.strip() for v in getattr(eco, k)):
            raise ConfigError(f"{where}.{k}: empty entry")


def _check_usage(where: str, eco: Family) -> None:
    """OpenRouter authors and permaslug patterns, Ollama library names, Replicate models."""
    for author in eco.openrouter_authors:
        if not re.match(r"^[A-Za-z0-9][A-Za-z0-9._-]*$", author):
            raise ConfigError(f"{where}.openrouter_authors: '{author}' is not an author (the part of a "
                              "permaslug before '/', e.g. meta-llama)")
    for pattern in eco.openrouter_models:
        if not PERMASLUG_RE.match(pattern):
            raise ConfigError(f"{where}.openrouter_models: '{pattern}' is not a pattern on permaslugs "
                              "(e.g. openai/gpt-4o*)")
    for model in eco.ollama_models:
        if not OLLAMA_RE.match(model) or ".." in model:
            raise ConfigError(f"{where}.ollama_models: '{model}' is not an Ollama model name (lower-case, "
                              "e.g. llama3.1, or user/name)")
    for model in eco.replicate_models:
        if not MODEL_RE.match(model):
            raise ConfigError(f"{where}.replicate_models: '{model}' is not owner/name")


def _events(name: str, tables: Any, families: set[str], base: Path) -> tuple[Event, ...]:
    out: list[Event] = []
    for i, table in enumerate(_array(name, "event", tables)):
        where = f"{name}: event[{i}]"
        event = build(Event, where, table, base)
        _check_date(f"{where}.day", event.day)
        if event.ecosystem and event.ecosystem not in families:
            raise ConfigError(f"{where}.ecosystem: unknown ecosystem '{event.ecosystem}'")
        out.append(event)
    return tuple(out)


def _check_arena(name: str, sec: ArenaSettings, hf_endpoint: str) -> ArenaSettings:
    """[arena]: score column aliases and the license table; an empty endpoint is the Hub's."""
    if not sec.score_columns or any(not c.strip() for c in sec.score_columns):
        raise ConfigError(f"{name}: arena.score_columns: needs at least one non-empty column name")
    seen: dict[str, str] = {}
    for text, value in sec.licenses.items():
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
    return sec if sec.endpoint else dataclasses.replace(sec, endpoint=hf_endpoint.rstrip("/"))
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

