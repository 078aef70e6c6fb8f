"""PyPI downloads per day from pypistats.org: ``GET {api_url}/packages/{pkg}/overall?mirrors=false``.

One call returns every day pypistats keeps (about 180, the newest normally yesterday), category
``without_mirrors``.  The first run stores them all; later runs store the new days and re-read the
last ``REREAD_DAYS`` already stored, because pypistats publishes a day late and sometimes corrects
it.  Days outside that window are not rewritten, so what an earlier run collected keeps its
provenance.  Rows are upserted by day (method ``snapshot``: the registry's own figure for that day),
so a day is never stored twice.

pypistats asks clients to fetch an endpoint at most once a day and limits by IP (about 30 requests
a minute, announced in no header): a package fetched today is not fetched again today (state
``fetched:{pkg}``), and the client spaces calls by ``[pypi] requests_per_minute``.
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import quote

from collectors.attempts import Attempts
from collectors.base import Batch, Context, DaySeries, Membership, Subject
from collectors.errors import ParseError
from collectors.settings import Settings

REREAD_DAYS = 3


def normalise(name: str) -> str:
    """PyPI's normalised project name (PEP 503), which pypistats expects."""
    return re.sub(r"[-_.]+", "-", name).lower()


def parse_overall(data: Any, pkg: str, strict: bool = False) -> DaySeries:
    """Downloads per day without mirrors.  A day row without an integer count costs that day only: it
    is left out (no row, never a zero) and named in ``skipped`` (``strict``: a ParseError instead)."""
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise ParseError(f"pypistats answer for '{pkg}' has no data list")
    out = DaySeries()
    for row in data["data"]:
        if not isinstance(row, dict):
            raise ParseError(f"pypistats answer for '{pkg}': a row is not an object")
        if row.get("category") != "without_mirrors":
            continue
        try:
            day = dt.date.fromisoformat(str(row.get("date")))
        except ValueError:
            raise ParseError(f"pypistats answer for '{pkg}': bad date {row.get('date')!r}") from None
        n = row.get("downloads")
        if not isinstance(n, int) or isinstance(n, bool) or n < 0:
            if strict:
                raise ParseError(f"pypistats answer for '{pkg}': no integer downloads on {day}")
            out.skipped.append(day.isoformat())
            continue
        out[day] = n
    return out


class Pypi:
    name = "pypi"
    source = "pypi"
    description = "PyPI downloads per day without mirrors (pypistats.org, last ~180 days)"

    def memberships(self, cfg: Settings) -> Iterable[Membership]:
        for eco in cfg.ecosystems:
            for p in eco.pypi_packages:
                yield Membership(eco.key, self.source, normalise(p), "member")

    def packages(self, cfg: Settings) -> list[str]:
        return list(dict.fromkeys(normalise(p) for p in cfg.distinct("pypi_packages")))

    def estimate(self, cfg: Settings) -> dict[str, int]:
        return {"overall": len(self.packages(cfg))}

    def fetch(self, ctx: Context, pkg: str) -> DaySeries:
        url = f"{ctx.settings.pypi.api_url}/packages/{quote(pkg, safe='')}/overall"
        resp = ctx.http.get(url, source=self.source, resource="overall", params={"mirrors": "false"},
                            min_interval=60.0 / ctx.settings.pypi.requests_per_minute)
        return parse_overall(resp.json(), pkg)

    def collect(self, ctx: Context) -> Batch:
        batch = Batch(self.source)
        today = ctx.day.isoformat()
        tries = Attempts(batch)
        if ctx.http.replaying:  # re-parse what the day's run fetched, every row of it
            replay = ctx.http.archived_urls(self.source)
            for pkg in self.packages(ctx.settings):
                if any(f"/packages/{quote(pkg, safe='')}/overall" in u for u in replay):
                    series = tries.run(f"package {pkg}", lambda p=pkg: self.fetch(ctx, p))
                    if series is not None:
                        self._store(batch, pkg, series, None, None)
            tries.finish("packages")
            return batch
        for pkg in self.packages(ctx.settings):
            if ctx.get_state(self.source, f"fetched:{pkg}") == today:
                continue  # pypistats updates once a day; today's answer is already stored
            series = tries.run(f"package {pkg}", lambda p=pkg: self.fetch(ctx, p))
            if series is None:
                continue
            through = ctx.get_state(self.source, f"through:{pkg}")
            first = None
            if through:
                first = dt.date.fromisoformat(through) - dt.timedelta(days=REREAD_DAYS - 1)
            self._store(batch, pkg, series, first, None)
            batch.state[f"fetched:{pkg}"] = today
            if first is None:
                batch.state[f"full:{pkg}"] = today
            if series:
                last = max(series)
                if through:
                    last = max(last, dt.date.fromisoformat(through))
                batch.state[f"through:{pkg}"] = last.isoformat()
            elif not through:
                batch.notes.append(f"package {pkg}: pypistats has no days yet")
        tries.finish("packages")
        return batch

    def _store(self, batch: Batch, pkg: str, series: DaySeries, first: dt.date | None,
               last: dt.date | None) -> None:
        if series.skipped:
            batch.failures.append(series.skipped_line(f"package {pkg}"))
        for day, n in sorted(series.items()):
            if (first is None or day >= first) and (last is None or day <= last):
                batch.add(day, "downloads_day", pkg, n)
        batch.subjects.append(Subject(self.source, pkg, "package", pkg))

    def backfill(self, ctx: Context, since: dt.date, until: dt.date) -> Iterator[Batch]:
        """Every day pypistats still has within [since, until]; one batch (window) per package."""
        today = ctx.day.isoformat()
        for pkg in self.packages(ctx.settings):
            batch = Batch(self.source)
            if ctx.get_state(self.source, f"full:{pkg}") == today:
                continue  # today's full answer is already stored
            tries = Attempts(batch)
            series = tries.run(f"package {pkg}", lambda p=pkg: self.fetch(ctx, p))
            if series is None:
                if tries.limit is not None:
                    tries.finish("packages")  # a spent limit ends the backfill; earlier windows are kept
                yield batch
                continue
            self._store(batch, pkg, series, since, until)
            if series and since < min(series):
                batch.notes.append(f"package {pkg}: pypistats keeps no day before {min(series)} "
                                   "(about 180 days)")
            if since <= min(series, default=since) and until >= max(series, default=until):
                batch.state[f"full:{pkg}"] = today
            # "through" promises every day up to it is stored; only a backfill from the oldest day
            # pypistats has may move it, or the daily run would skip what lies before ``since``
            through = ctx.get_state(self.source, f"through:{pkg}")
            stored = [d for d in series if since <= d <= until]
            if stored and since <= min(series) \
                    and (not through or max(stored) > dt.date.fromisoformat(through)):
                batch.state[f"through:{pkg}"] = max(stored).isoformat()
            yield batch
