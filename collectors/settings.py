"""The settings collectors need, declared once: each field's type, default and allowed range.

These are frozen, typed dataclasses.  ``jobs/config.py`` alone reads the TOML file, checks every value
against the declarations here (type from the annotation, range and form from the field's metadata)
and builds them; collectors only read them.  A default or a range is written nowhere else.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Mapping


def setting(default: Any, *, lo: float | None = None, hi: float | None = None, form: str = "",
            help: str = "") -> Any:
    """A settings field: its default, an inclusive range for numbers, and a form for strings.

    ``form`` names a check in ``jobs/config.py``: ``url`` (http(s) address, trailing / dropped),
    ``url?`` (the same, or empty), ``date`` (YYYY-MM-DD), ``owner/name``, ``name`` (letters, digits,
    ``_ . -``), ``domain``.
    """
    meta = {"lo": lo, "hi": hi, "form": form, "help": help}
    if isinstance(default, (list, tuple)):
        return field(default=tuple(default), metadata=meta)
    if isinstance(default, dict):
        return field(default_factory=lambda: dict(default), metadata=meta)
    return field(default=default, metadata=meta)


def read_token(env_name: str) -> str | None:
    """The secret named by a ``token_env`` setting, from the environment (never from the file)."""
    value = os.environ.get(env_name, "").strip() if env_name else ""
    return value or None


@dataclass(frozen=True)
class HttpSettings:
    """[http]: the shared client's manners and bounds."""

    max_wait_seconds: float = setting(900, lo=0, hi=86_400,
                                      help="longest wait for a rate-limit reset before a source is stopped")
    timeout_seconds: float = setting(30, lo=0.1, hi=600, help="per-request timeout")
    retries: int = setting(3, lo=0, hi=20, help="retries on 5xx, timeouts and resets")
    backoff_seconds: float = setting(2, lo=0, hi=600, help="first retry delay, doubling each time")
    secondary_wait_seconds: float = setting(
        60, lo=0, hi=3600, help="wait after a secondary limit without `retry-after` (doubles each time)")
    max_response_bytes: int = setting(50_000_000, lo=1024, hi=2_000_000_000, help="larger answers are refused")


class _TokenFromEnv:
    token_env: str

    def token(self) -> str | None:
        """The secret named by ``token_env``, read from the environment."""
        return read_token(self.token_env)


@dataclass(frozen=True)
class GithubSettings(_TokenFromEnv):
    """[github]: REST API and scraped pages."""

    api_url: str = setting("https://api.github.com", form="url", help="GitHub REST API")
    web_url: str = setting("https://github.com", form="url", help="github.com pages (dependents, trending)")
    token_env: str = setting("GITHUB_TOKEN", help="environment variable holding the token")
    web_pause_seconds: float = setting(1.0, lo=0, hi=60, help="gap between scraped page requests")


@dataclass(frozen=True)
class HuggingfaceSettings(_TokenFromEnv):
    """[huggingface]: the Hub API."""

    endpoint: str = setting("https://huggingface.co", form="url", help="Hugging Face Hub")
    token_env: str = setting("HF_TOKEN", help="environment variable holding the token")
    top_models: int = setting(10, lo=0, hi=1000, help="per family, tracked model by model")


@dataclass(frozen=True)
class PypiSettings:
    """[pypi]: pypistats.org."""

    api_url: str = setting("https://pypistats.org/api", form="url", help="pypistats API")
    requests_per_minute: float = setting(
        30, lo=0.01, hi=1_000_000, help="calls to pypistats are spaced to this rate (it announces no budget)")


@dataclass(frozen=True)
class NpmSettings:
    """[npm]: the npm download counts API."""

    api_url: str = setting("https://api.npmjs.org", form="url", help="npm downloads API")
    start: str = setting("2023-01-01", form="date", help="first day to backfill")


@dataclass(frozen=True)
class ArenaSettings:
    """[arena]: the leaderboard Space and dataset on the Hub."""

    endpoint: str = setting("", form="url?", help="empty: [huggingface] endpoint")
    space: str = setting("lmarena-ai/arena-leaderboard", form="owner/name", help="the Space with dated tables")
    dataset: str = setting(
        "lmarena-ai/leaderboard-dataset", form="owner/name", help="the dataset with the history as Parquet")
    dataset_config: str = setting("text", form="name", help="the dataset's config (arena)")
    dataset_split: str = setting("full", form="name", help="the dataset's split")
    category: str = setting("overall", form="name", help="the board category stored")
    score_columns: tuple[str, ...] = setting(("Arena Elo rating", "Arena Score"),
                                             help="names the score column has had in the Space's tables")
    not_tracked: tuple[str, ...] = setting((), help="glob patterns of model names never reported as unmapped")
    # license text -> {open_weights, commercial_use}; checked by jobs/config.py
    licenses: Mapping[str, Mapping[str, bool]] = setting(
        {}, help="license text → `{ open_weights, commercial_use }`")


@dataclass(frozen=True)
class ModelscopeSettings:
    """[modelscope]: model pages on ModelScope."""

    site: str = setting("modelscope.cn", form="domain", help="ModelScope's domain")
    api_url: str = setting("", form="url?", help="empty: https://{site}")


@dataclass(frozen=True)
class OpenrouterSettings:
    """[openrouter]: the rankings Data API (tokens per model per day) and the public model list."""

    api_url: str = setting("https://openrouter.ai", form="url", help="OpenRouter API")
    token_env: str = setting("OPENROUTER_API_KEY", help="environment variable holding the API key")
    requests_per_minute: float = setting(
        30, lo=0.01, hi=1_000_000, help="calls to the rankings API are spaced to this rate (30 a minute per key)")

    def token(self) -> str | None:
        return read_token(self.token_env)


@dataclass(frozen=True)
class OllamaSettings:
    """[ollama]: the Ollama library's model pages (pull counts)."""

    web_url: str = setting("https://ollama.com", form="url", help="the Ollama library site")
    web_pause_seconds: float = setting(1.0, lo=0, hi=60, help="gap between page requests")


@dataclass(frozen=True)
class ReplicateSettings:
    """[replicate]: the Replicate models API (run counts)."""

    api_url: str = setting("https://api.replicate.com", form="url", help="Replicate API")
    token_env: str = setting("REPLICATE_API_TOKEN", help="environment variable holding the API token")

    def token(self) -> str | None:
        return read_token(self.token_env)


@dataclass(frozen=True)
class Family:
    """One [[ecosystem]]: its identity and what each source tracks for it."""

    key: str
    label: str
    color: str = "#888888"
    first_release: str = ""
    github_queries: tuple[str, ...] = ()  # the first is the family's repo count
    github_repos: tuple[str, ...] = ()
    hf_searches: tuple[str, ...] = ()
    hf_authors: tuple[str, ...] = ()
    hf_models: tuple[str, ...] = ()
    hf_base_models: tuple[str, ...] = ()
    pypi_packages: tuple[str, ...] = ()
    npm_packages: tuple[str, ...] = ()
    trending_keywords: tuple[str, ...] = ()
    trending_exclude: tuple[str, ...] = ()
    leaderboard_aliases: tuple[str, ...] = ()  # glob patterns on Arena model names
    modelscope_models: tuple[str, ...] = ()
    dependents: tuple[str, ...] = ()  # "owner/repo" or "owner/repo:package" (GitHub "Used by")
    openrouter_authors: tuple[str, ...] = ()  # permaslug prefixes before the '/', e.g. "meta-llama"
    openrouter_models: tuple[str, ...] = ()  # glob patterns on permaslugs, e.g. "openai/gpt-4o*"
    ollama_models: tuple[str, ...] = ()  # library names ("llama3.1") or "user/name"
    replicate_models: tuple[str, ...] = ()  # "owner/name"


@dataclass(frozen=True)
class Settings:
    """Everything a collector may read of the configuration."""

    http: HttpSettings = field(default_factory=HttpSettings)
    github: GithubSettings = field(default_factory=GithubSettings)
    huggingface: HuggingfaceSettings = field(default_factory=HuggingfaceSettings)
    pypi: PypiSettings = field(default_factory=PypiSettings)
    npm: NpmSettings = field(default_factory=NpmSettings)
    arena: ArenaSettings = field(default_factory=ArenaSettings)
    modelscope: ModelscopeSettings = field(default_factory=ModelscopeSettings)
    openrouter: OpenrouterSettings = field(default_factory=OpenrouterSettings)
    ollama: OllamaSettings = field(default_factory=OllamaSettings)
    replicate: ReplicateSettings = field(default_factory=ReplicateSettings)
    ecosystems: tuple[Family, ...] = ()

    def secrets(self) -> list[str]:
        """Token values to redact wherever text leaves the process."""
        return [t for t in (self.github.token(), self.huggingface.token(), self.openrouter.token(),
                            self.replicate.token()) if t]

    def distinct(self, attr: str) -> list[str]:
        """Every value of one per-family list, in config order, each once."""
        return list(dict.fromkeys(v for eco in self.ecosystems for v in getattr(eco, attr)))
