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
from array import array
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


class DaySeries(dict):
    """A registry's counts per day, and the days its answer listed without a usable count (``skipped``:
    those days get no row, never a zero, and the run names them)."""

    skipped: list[str]

    def __init__(self) -> None:
        super().__init__()
        self.skipped = []

    def skipped_line(self, what: str) -> str | None:
        if not self.skipped:
            return None
        more = " …" if len(self.skipped) > 5 else ""
        return f"{what}: answer without downloads on {', '.join(self.skipped[:5])}{more}; its other days are stored"


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


FactKey = tuple[str, str, str, str]  # (metric, subject, method, flags)
EPOCH = dt.date(1970, 1, 1).toordinal()


@dataclass
class Batch:
    """Everything one collector learnt in one run or one backfill window.

    The observations are kept as columns: day, value and a key code per fact, where the code stands
    for the fact's (metric, subject, method, flags) — so writing a batch builds no object per fact and
    handles each distinct string once (``facts()``).
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
    _days: array = field(default_factory=lambda: array("i"), repr=False)  # days since 1970-01-01
    _codes: array = field(default_factory=lambda: array("i"), repr=False)
    _values: array = field(default_factory=lambda: array("d"), repr=False)
    _keys: dict[FactKey, int] = field(default_factory=dict, repr=False)

    def _code(self, key: FactKey) -> int:
        code = self._keys.get(key)
        if code is None:
            code = self._keys[key] = len(self._keys)
        return code

    def add(self, day: dt.date, metric: str, subject: str, value: float | int | None,
            method: str = "snapshot", flags: str = "") -> None:
        if value is None:
            return
        self._codes.append(self._code((metric, subject, method, flags)))
        self._days.append(day.toordinal() - EPOCH)
        self._values.append(float(value))

    def facts(self) -> tuple[array, array, array, list[FactKey]]:
        """(days since 1970-01-01, key codes, values, keys in code order): the batch's own arrays, read only."""
        return self._days, self._codes, self._values, list(self._keys)

    def _dates(self) -> list[dt.date]:
        return [dt.date.fromordinal(d + EPOCH) for d in self._days]

    def columns(self) -> dict[str, list[Any]]:
        """The observations as columns, name -> values in the order added (a copy)."""
        keys = list(self._keys)
        rows = [keys[c] for c in self._codes]
        return {"day": self._dates(), "source": [self.source] * len(rows), "metric": [k[0] for k in rows],
                "subject": [k[1] for k in rows], "value": list(self._values), "method": [k[2] for k in rows],
                "flags": [k[3] for k in rows]}

    @property
    def observations(self) -> list[Observation]:
        """The observations one by one (a copy, for reading; ``add`` is how a fact goes in)."""
        keys = list(self._keys)
        return [Observation(d, self.source, keys[c][0], keys[c][1], v, keys[c][2], keys[c][3])
                for d, c, v in zip(self._dates(), self._codes, self._values)]

    def extend(self, other: "Batch") -> None:
        remap = [self._code(k) for k in other._keys]
        self._codes.extend(remap[c] for c in other._codes)
        self._days += other._days
        self._values += other._values
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
