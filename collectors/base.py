"""What every collector shares: the records it yields and the context it runs in.

A collector is a module in ``collectors/`` with a class exposing ``name``, ``source``, ``description``
and ``collect(ctx) -> Batch`` (fetch + parse, in memory, no database writes).  Optionally
``backfill(ctx, since, until) -> Iterator[Batch]`` (one batch per finished window, each committed on
its own so a kill loses at most the window in flight), ``memberships(cfg) -> rows`` and
``estimate(cfg) -> {resource: calls}``.  The jobs hand what a Batch holds to the warehouse.
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Protocol

from collectors.settings import Settings

if TYPE_CHECKING:
    from collectors.http import HttpClient, ReplayClient


# the columns of the observations a Batch holds, in this order
OBSERVATION_COLUMNS = ("day", "source", "metric", "subject", "value", "method", "flags")


@dataclass(frozen=True)
class Observation:
    """One fact, as ``Batch.observations`` shows it (a batch keeps its facts as columns)."""

    day: dt.date
    source: str
    metric: str
    subject: str
    value: float
    method: str = "snapshot"  # snapshot | backfill | derived | reference
    flags: str = ""  # comma-separated, e.g. "incomplete"


@dataclass
class Subject:
    source: str
    subject: str  # as configured
    kind: str  # query | repo | model | package | leaderboard ...
    canonical: str = ""  # the upstream's current name after renames


@dataclass
class Membership:
    ecosystem: str
    source: str
    subject: str
    role: str  # primary | member | tracked | item


def _empty_columns() -> dict[str, list[Any]]:
    return {name: [] for name in OBSERVATION_COLUMNS}


@dataclass
class Batch:
    """Everything one collector learnt in one run or one backfill window.

    The observations are kept as columns (one list per name in OBSERVATION_COLUMNS, appended by
    ``add``), so writing a batch builds no object per fact.
    """

    source: str
    subjects: list[Subject] = field(default_factory=list)
    # extra tables: name -> rows (dicts with the table's columns); upserted on the table's key
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # small persistent state: (key, value) under this source, e.g. ETags, backfill cursors
    state: dict[str, str] = field(default_factory=dict)
    # one line per subject that failed while the rest went on
    failures: list[str] = field(default_factory=list)
    # informative lines for the run summary (deferred work, unavailable endpoints)
    notes: list[str] = field(default_factory=list)
    # set when the source stayed idle on purpose (e.g. its token is not set): one line saying how to
    # enable it; the run is ok, never a failure
    skipped: str = ""
    _columns: dict[str, list[Any]] = field(default_factory=_empty_columns, repr=False)

    def add(self, day: dt.date, metric: str, subject: str, value: float | int | None,
            method: str = "snapshot", flags: str = "") -> None:
        if value is None:
            return
        for name, v in zip(OBSERVATION_COLUMNS, (day, self.source, metric, subject, float(value), method, flags)):
            self._columns[name].append(v)

    def columns(self) -> dict[str, list[Any]]:
        """The observations as columns, name -> values in the order added (the batch's own lists: read only)."""
        return dict(self._columns)

    @property
    def observations(self) -> list[Observation]:
        """The observations one by one (a copy, for reading; ``add`` is how a fact goes in)."""
        return [Observation(*row) for row in zip(*self._columns.values())]

    def extend(self, other: "Batch") -> None:
        for name, values in other._columns.items():
            self._columns[name] += values
        self.subjects += other.subjects
        for k, rows in other.tables.items():
            self.tables.setdefault(k, []).extend(rows)
        self.state.update(other.state)
        self.failures += other.failures
        self.notes += other.notes


@dataclass
class Context:
    """What a collector may use: its settings, the HTTP client, the day, and read-only warehouse state."""

    settings: Settings
    http: HttpClient | ReplayClient  # the network, or a replayed day's raw archive
    day: dt.date
    run_id: str
    query: Callable[[str, list | None], list[tuple]]  # read-only SQL on the warehouse ([] if none yet)
    state: dict[str, dict[str, str]]  # source -> key -> value, loaded before any network I/O
    log: logging.Logger = field(default_factory=lambda: logging.getLogger("ecotrend"))
    interrupted: Callable[[], bool] = lambda: False
    progress: Callable[..., Any] | None = None

    def get_state(self, source: str, key: str, default: str | None = None) -> str | None:
        return self.state.get(source, {}).get(key, default)


class Collector(Protocol):
    name: str
    source: str
    description: str

    def collect(self, ctx: Context) -> Batch: ...

    def memberships(self, cfg: Settings) -> Iterable[Membership]: ...


class BackfillCollector(Collector, Protocol):
    def backfill(self, ctx: Context, since: dt.date, until: dt.date) -> Iterator[Batch]: ...
