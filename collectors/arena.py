"""Arena leaderboard history: the dated tables of the LMArena Space, scores from the dataset's Parquet.

Where the data is (``[arena]`` in the config, base address ``[arena] endpoint``, by default the
Hugging Face endpoint):

* the Space (``lmarena-ai/arena-leaderboard``; the old names ``lmsys/chatbot-arena-leaderboard`` and
  ``lmarena-ai/chatbot-arena-leaderboard`` answer 307 to it) keeps one ``leaderboard_table_YYYYMMDD.csv``
  per published board.  Listed with ``GET {endpoint}/api/spaces/{space}/tree/main``, downloaded from
  ``{endpoint}/spaces/{space}/resolve/main/{file}``.  Tables of 2023 carry the score ("Arena Elo
  rating"); later ones do not (the Space keeps those scores in pickles, which we never open: unpickling
  runs code);
* the dataset (``lmarena-ai/leaderboard-dataset``) has the history as Parquet
  (``{config}/{split}-00000-of-00001.parquet``: model_name, organization, license, rating, rank,
  vote_count, category, leaderboard_publish_date).

Per (day, arena) exactly one board is stored: a Space table that has a score column, else the
dataset's rows of that date.  The first source to give a board for a day keeps it; a later one for
the same day is noted and not mixed in (model names differ between the two: "GPT-4" vs "gpt-4-0314").
Every table and every dataset file is downloaded once (``state``: ``table:YYYYMMDD`` = git oid,
``board:YYYY-MM-DD`` = origin, ``dataset_oid`` = the Parquet files' oids), saved to a temporary file
and read with DuckDB (``read_csv`` / ``read_parquet`` on the local file; no httpfs).

Classification is config, not guesswork: ``[arena.licenses]`` maps a license text to open_weights
and commercial_use; a license nobody mapped is stored with both unknown (NULL), reported in the
run's notes and by ``status``, and flags the day's figures it could change.  ``leaderboard_aliases``
(glob patterns per ecosystem) map model names to families.  When either mapping changes, the stored
boards are re-classified from the warehouse without downloading anything again.
"""
from __future__ import annotations

import datetime as dt
import fnmatch
import hashlib
import itertools
import json
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from collectors import paging
from collectors.base import Batch, Context, Membership, Subject
from collectors.errors import NetworkUnavailable, ParseError, RateLimitExhausted, SourceError, UpstreamError
from collectors.settings import Settings

SOURCE = "arena"
SPACE_ARENA = "text"  # the Space's tables are the text arena's overall board
TABLE_RE = re.compile(r"^leaderboard_table_(\d{8})\.csv$")
# Columns the Space's tables have had (2023: Model, MT-bench, Arena Elo rating, MMLU, License, Link;
# 2024 on: key, Model, MT-bench, MMLU, Knowledge cutoff date, License, Organization, Link).
KNOWN_COLUMNS = {"key", "model", "mt-bench (score)", "mmlu", "license", "organization", "link",
                 "knowledge cutoff date"}
SCORE_LIKE = re.compile(r"elo|rating|score|arena", re.IGNORECASE)
DATASET_SCORE_COLUMNS = ("rating", "score")  # the dataset's score column, by preference
MISSING = {"", "-", "n/a", "na", "none", "null", "nan"}
TOP_N = 10
FAILED = "failed"  # a Space table that could not be downloaded this run: its day waits for it
LEADERBOARD_COLUMNS = ("day", "arena", "model", "organization", "license", "open_weights",
                       "commercial_use", "score", "rank", "votes", "ecosystem", "origin")


def norm_license(text: str | None) -> str:
    return " ".join((text or "").split()).casefold()


class Classifier:
    """License → (open_weights, commercial_use) and model name → family, both from the config."""

    def __init__(self, cfg: Settings):
        self.licenses = {norm_license(k): (v["open_weights"], v["commercial_use"])
                         for k, v in cfg.arena.licenses.items()}
        self.families = [(e.key, [p.casefold() for p in e.leaderboard_aliases])
                         for e in cfg.ecosystems if e.leaderboard_aliases]
        self.not_tracked = [p.casefold() for p in cfg.arena.not_tracked]

    def license(self, text: str | None) -> tuple[bool | None, bool | None]:
        return self.licenses.get(norm_license(text), (None, None))

    def family(self, model: str) -> str | None:
        name = model.casefold()
        for key, patterns in self.families:
            if any(fnmatch.fnmatchcase(name, p) for p in patterns):
                return key
        return None

    def families_of(self, model: str) -> list[str]:
        name = model.casefold()
        return [k for k, ps in self.families if any(fnmatch.fnmatchcase(name, p) for p in ps)]

    def ignored(self, model: str) -> bool:
        name = model.casefold()
        return any(fnmatch.fnmatchcase(name, p) for p in self.not_tracked)

    def fingerprint(self) -> str:
        blob = json.dumps([sorted(self.licenses.items()), self.families], sort_keys=True)
        return hashlib.sha1(blob.encode()).hexdigest()[:16]

    def apply(self, row: dict[str, Any]) -> dict[str, Any]:
        row["open_weights"], row["commercial_use"] = self.license(row.get("license"))
        row["ecosystem"] = self.family(row["model"])
        return row


# -- parsing (local files, DuckDB) ----------------------------------------------------------------
def _cell(v: Any) -> str | None:
    if v is None:
        return None
    s = str(v).strip()
    return None if s.casefold() in MISSING else s


def _number(v: Any, where: str) -> float | None:
    s = _cell(v)
    if s is None:
        return None
    try:
        return float(s.replace(",", ""))
    except ValueError:
        raise ParseError(f"{where}: '{s}' is not a number") from None


@dataclass
class Table:
    """One parsed Space table: rows (without classification) and whether it carries scores."""

    name: str
    day: dt.date
    rows: list[dict[str, Any]] = field(default_factory=list)
    score_column: str | None = None
    notes: list[str] = field(default_factory=list)


def parse_table(path: Path, name: str, day: dt.date, score_columns: Iterable[str]) -> Table:
    """Read a ``leaderboard_table_*.csv`` with DuckDB; ParseError when its columns make no sense."""
    con = duckdb.connect()
    try:
        cur = con.execute("SELECT * FROM read_csv(?, header = true, all_varchar = true)", [str(path)])
        columns = [d[0] for d in cur.description]
        records = cur.fetchall()
    except duckdb.Error as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ParseError(f"{name}: not a readable CSV ({first[:120]})") from None
    finally:
        con.close()
    folded = {c.strip().casefold(): i for i, c in enumerate(columns)}
    table = Table(name, day)
    model_col = folded.get("model", folded.get("key"))
    if model_col is None:
        raise ParseError(f"{name}: no 'Model' column (columns: {', '.join(columns)})")
    for alias in score_columns:
        if alias.strip().casefold() in folded:
            table.score_column = columns[folded[alias.strip().casefold()]]
            break
    for c in columns:
        fc = c.strip().casefold()
        if fc in KNOWN_COLUMNS or c == table.score_column:
            continue
        if SCORE_LIKE.search(c):
            raise ParseError(f"{name}: column '{c}' looks like a renamed score column; if it is the "
                             f"Arena score, add it to [arena] score_columns")
        table.notes.append(f"{name}: column '{c}' ignored")
    if not records:
        raise ParseError(f"{name}: the table has no rows")
    score_i = folded.get(table.score_column.strip().casefold()) if table.score_column else None
    lic_i, org_i = folded.get("license"), folded.get("organization")
    seen: set[str] = set()
    for rec in records:
        model = _cell(rec[model_col])
        if model is None:
            continue
        if model in seen:
            table.notes.append(f"{name}: model '{model}' listed twice; the first row kept")
            continue
        seen.add(model)
        table.rows.append({
            "day": day, "arena": SPACE_ARENA, "model": model,
            "organization": _cell(rec[org_i]) if org_i is not None else None,
            "license": _cell(rec[lic_i]) if lic_i is not None else None,
            "score": _number(rec[score_i], f"{name}, model '{model}'") if score_i is not None else None,
            "rank": None, "votes": None, "origin": f"space:{name}",
        })
    if not table.rows:
        raise ParseError(f"{name}: no row names a model")
    return table


def read_dataset(paths: list[Path], label: str, category: str, arena: str) -> dict[dt.date, list[dict]]:
    """Rows of one category from the dataset's Parquet files, by publish date."""
    con = duckdb.connect()
    files = [str(p) for p in paths]
    try:
        cols = {r[0] for r in con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [files]).fetchall()}
        missing = [c for c in ("model_name", "leaderboard_publish_date", "category") if c not in cols]
        score = next((c for c in DATASET_SCORE_COLUMNS if c in cols), None)
        if missing or score is None:
            need = missing + ([] if score else ["rating"])
            raise ParseError(f"{label}: Parquet lacks column(s) {', '.join(need)} "
                             f"(has: {', '.join(sorted(cols))})")

        def opt(c: str) -> str:
            return f'"{c}"' if c in cols else "NULL"
        sql = (f'SELECT CAST(leaderboard_publish_date AS VARCHAR), CAST(model_name AS VARCHAR), '
               f'{opt("organization")}, {opt("license")}, CAST("{score}" AS DOUBLE), '
               f'{opt("rank")}, {opt("vote_count")} FROM read_parquet(?) WHERE category = ? '
               f'ORDER BY 1, 2')  # column names come from the fixed lists above, not from input
        records = con.execute(sql, [files, category]).fetchall()
    except duckdb.Error as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ParseError(f"{label}: not readable Parquet ({first[:120]})") from None
    finally:
        con.close()
    out: dict[dt.date, list[dict]] = {}
    seen: set[tuple[dt.date, str]] = set()
    for date_s, model, org, lic, rating, rank, votes in records:
        try:
            day = dt.date.fromisoformat((date_s or "")[:10])
        except ValueError:
            raise ParseError(f"{label}: leaderboard_publish_date '{date_s}' is not a date") from None
        model = _cell(model)
        if model is None or (day, model) in seen:
            continue
        seen.add((day, model))
        out.setdefault(day, []).append({
            "day": day, "arena": arena, "model": model, "organization": _cell(org), "license": _cell(lic),
            "score": None if rating is None else float(rating),
            "rank": None if rank is None else int(float(rank)),
            "votes": None if votes is None else int(float(votes)), "origin": f"dataset:{label}",
        })
    return out


# -- the day's figures ----------------------------------------------------------------------------
def rank_rows(rows: list[dict[str, Any]]) -> None:
    """Competition ranks by score (1, 2, 2, 4) where the board gave none."""
    if any(r["rank"] is not None for r in rows):
        return
    scores = sorted((r["score"] for r in rows if r["score"] is not None), reverse=True)
    for r in rows:
        if r["score"] is not None:
            r["rank"] = 1 + sum(1 for s in scores if s > r["score"])


def board_figures(batch: Batch, rows: list[dict[str, Any]], cls: Classifier) -> None:
    """Add one board's observations: best open / proprietary, gap, open in top 10, family bests."""
    scored = [r for r in rows if r["score"] is not None]
    if not scored:
        return
    day, arena = scored[0]["day"], scored[0]["arena"]
    unknown = [r["score"] for r in scored if r["open_weights"] is None]
    open_ = [r["score"] for r in scored if r["open_weights"] is True]
    closed = [r["score"] for r in scored if r["open_weights"] is False]
    best_open = max(open_) if open_ else None
    best_closed = max(closed) if closed else None
    # an unmapped model could be the best of either kind: flag the figure, never guess
    flag_open = "unmapped_license" if unknown and (best_open is None or max(unknown) > best_open) else ""
    flag_closed = "unmapped_license" if unknown and (best_closed is None or max(unknown) > best_closed) else ""
    batch.add(day, "leaderboard_models", arena, len(scored))
    batch.add(day, "best_open_score", arena, best_open, flags=flag_open)
    batch.add(day, "best_proprietary_score", arena, best_closed, flags=flag_closed)
    if best_open is not None and best_closed is not None:
        batch.add(day, "open_gap", arena, best_closed - best_open,
                  flags="unmapped_license" if flag_open or flag_closed else "")
    top = sorted(scored, key=lambda r: (-r["score"], r["model"]))[:TOP_N]
    batch.add(day, "open_in_top10", arena, sum(1 for r in top if r["open_weights"] is True),
              flags="unmapped_license" if any(r["open_weights"] is None for r in top) else "")
    for key, _patterns in cls.families:
        mine = [r for r in scored if r["ecosystem"] == key]
        if not mine:
            continue
        best = max(mine, key=lambda r: (r["score"], r["model"]))
        batch.add(day, "best_score", f"{arena}:{key}", best["score"])
        batch.add(day, "best_rank", f"{arena}:{key}", best["rank"])


def _unmapped_notes(rows: Iterable[dict[str, Any]]) -> list[str]:
    by_license: dict[str, list[str]] = {}
    for r in rows:
        if r["open_weights"] is None:
            by_license.setdefault(r["license"] or "(none)", []).append(r["model"])
    return [f"license '{lic}' is not in [arena.licenses] ({len(set(ms))} models, e.g. {min(ms)}); "
            f"stored with open_weights/commercial_use unknown" for lic, ms in sorted(by_license.items())]


def _window(since: dt.date | None, until: dt.date, today: dt.date) -> Callable[[dt.date], bool]:
    """Whether a board's day is one this run loads: within [since, until] and not after today."""
    return lambda day: (since is None or day >= since) and day <= until and day <= today


def _led_by(head: Batch, batches: Iterable[Batch]) -> Iterator[Batch]:
    """The batches, the first of them preceded by what ``head`` holds."""
    for i, b in enumerate(batches):
        if i == 0:
            first = Batch(b.source)
            first.extend(head)
            first.extend(b)
            b = first
        yield b


# -- the collector ----------------------------------------------------------------------------------
class Arena:
    name = "arena"
    source = SOURCE
    description = "Arena leaderboard history: dated boards, open vs proprietary, each family's best score"

    @staticmethod
    def configured(cfg: Settings) -> bool:
        """Idle until the config maps licenses or model names: without them the boards say nothing."""
        return bool(cfg.arena.licenses) or any(e.leaderboard_aliases for e in cfg.ecosystems)

    def arenas(self, cfg: Settings) -> list[str]:
        return list(dict.fromkeys([SPACE_ARENA, cfg.arena.dataset_config]))

    def memberships(self, cfg: Settings) -> Iterable[Membership]:
        for eco in cfg.ecosystems:
            if eco.leaderboard_aliases:
                # one board stands for the family; a second board (another dataset config) is kept
                # alongside, so a best score and a best rank never come from different boards
                for i, arena in enumerate(self.arenas(cfg)):
                    yield Membership(eco.key, self.source, f"{arena}:{eco.key}", "primary" if i == 0 else "tracked")

    def estimate(self, cfg: Settings) -> dict[str, int]:
        # two listings a day; downloads only for new tables or a changed dataset file
        return {"api": 2} if self.configured(cfg) else {}

    def collect(self, ctx: Context) -> Batch:
        batch = Batch(self.source)
        if not self.configured(ctx.settings):
            return batch
        for b in self._batches(ctx, None, ctx.day):
            batch.extend(b)
        return batch

    def backfill(self, ctx: Context, since: dt.date, until: dt.date) -> Iterator[Batch]:
        """Every published board dated within [since, until] not loaded yet; one batch per board."""
        if self.configured(ctx.settings):
            yield from self._batches(ctx, since, until)

    # -- internals ---------------------------------------------------------------------------------
    def _token(self, ctx: Context) -> str | None:
        # the Hub token only goes to the Hub itself, never to another configured host
        same = ctx.settings.arena.endpoint.rstrip("/") == ctx.settings.huggingface.endpoint.rstrip("/")
        return ctx.settings.huggingface.token() if same else None

    def _list(self, ctx: Context, url: str, what: str) -> tuple[list[dict], Any]:
        """Every item of a file listing, all pages → (items, the first page's response)."""
        items: list[dict] = []
        first = None

        def get(page_url: str, _params: Any) -> Any:
            return ctx.http.get(page_url, source=self.source, resource="api", token=self._token(ctx))
        for resp in paging.pages(get, url, what=what):
            first = first or resp
            data = resp.json()
            if not isinstance(data, list) or not all(isinstance(i, dict) for i in data):
                raise ParseError(f"{what}: the file listing is not a JSON list of files")
            items += data
        return items, first

    def _download(self, ctx: Context, url: str, folder: Path, filename: str, size: Any = None) -> Path:
        resp = ctx.http.get(url, source=self.source, resource="resolvers", token=self._token(ctx))
        if not resp.body:
            raise ParseError(f"{filename}: empty download")
        if isinstance(size, int) and not isinstance(size, bool) and len(resp.body) != size:
            # a file cut short still parses, as a board with rows missing: never store it
            raise UpstreamError(f"{filename}: download is {len(resp.body)} bytes, the listing says {size}")
        path = folder / filename.replace("/", "_")
        path.write_bytes(resp.body)
        return path

    def _batches(self, ctx: Context, since: dt.date | None, until: dt.date) -> Iterator[Batch]:
        """The run's batches: re-classified boards when the mapping changed, then one per new Space
        table, then the dataset's; the first of the last two also carries the leaderboard subjects."""
        cls = Classifier(ctx.settings)
        state = dict(ctx.state.get(self.source, {}))
        # day → origin of the board stored for it (or FAILED); updated as boards load
        boards = {k[len("board:"):]: v for k, v in state.items() if k.startswith("board:")}
        in_window = _window(since, until, ctx.day)
        head = self._head(ctx, cls)
        # 1. a changed mapping re-classifies what is stored (no download)
        fp = cls.fingerprint()
        if state.get("mapping") != fp:
            yield from self._reclassify(ctx, cls, head, fp, had_mapping="mapping" in state)
        # 2. the Space's dated tables
        canonical, tables = self._space_tables(ctx, head)
        with tempfile.TemporaryDirectory(prefix="ecotrend-arena-") as tmp:
            folder = Path(tmp)
            todo = [t for t in tables if in_window(t[0]) and state.get(f"table:{t[0]:%Y%m%d}") != (t[2] or "loaded")]
            loaded = (self._table(ctx, cls, folder, canonical, boards, *t) for t in todo)
            # 3. the dataset's Parquet history, for the days no Space table scored
            dataset = self._dataset(ctx, cls, folder, boards, state, in_window)
            yield from _led_by(head, itertools.chain(loaded, dataset))

    def _head(self, ctx: Context, cls: Classifier) -> Batch:
        """The leaderboards and each family's alias set, as subjects."""
        cfg = ctx.settings.arena
        head = Batch(self.source)
        for arena in self.arenas(ctx.settings):
            head.subjects.append(Subject(self.source, arena, "leaderboard",
                                         cfg.space if arena == SPACE_ARENA else cfg.dataset))
            for key, patterns in cls.families:
                head.subjects.append(Subject(self.source, f"{arena}:{key}", "alias_set", "|".join(patterns)))
        return head

    def _space_tables(self, ctx: Context, head: Batch) -> tuple[str, list[tuple[dt.date, str, str, Any]]]:
        """The Space's listing → (its current name, (day, path, oid, size) of each dated table, oldest
        first); a move is noted in ``head``."""
        endpoint, space = ctx.settings.arena.endpoint, ctx.settings.arena.space
        items, resp = self._list(ctx, f"{endpoint}/api/spaces/{space}/tree/main", f"space {space}")
        canonical = space
        m = re.search(r"/api/spaces/([^/]+/[^/?]+)/tree", resp.url if resp else "")
        if resp is not None and resp.redirected_from and m and m.group(1) != space:
            canonical = m.group(1)
            head.notes.append(f"space {space} has moved to {canonical}; set [arena] space = \"{canonical}\"")
        tables = []
        for it in items:
            mt = TABLE_RE.match(str(it.get("path", "")))
            if it.get("type", "file") != "file" or not mt:
                continue
            try:
                day = dt.datetime.strptime(mt.group(1), "%Y%m%d").date()
            except ValueError:
                continue
            tables.append((day, it["path"], str(it.get("oid") or ""), it.get("size")))
        return canonical, sorted(tables)

    def _table(self, ctx: Context, cls: Classifier, folder: Path, canonical: str, boards: dict[str, str],
               day: dt.date, path: str, oid: str, size: Any) -> Batch:
        """One dated Space table downloaded and stored as that day's board (when it scores and no other
        board holds the day); ``boards`` records the day's origin."""
        b = Batch(self.source)
        try:
            local = self._download(ctx, f"{ctx.settings.arena.endpoint}/spaces/{canonical}/resolve/main/{path}",
                                   folder, path, size)
            table = parse_table(local, path, day, ctx.settings.arena.score_columns)
        except (NetworkUnavailable, RateLimitExhausted):
            raise
        except SourceError as exc:
            b.failures.append(f"{path}: {exc}" if path not in str(exc) else str(exc))
            if not isinstance(exc, ParseError):
                # a download that failed is tried again next run: the dataset must not take its day
                # meanwhile (a table that cannot be parsed leaves the day to it)
                boards.setdefault(day.isoformat(), FAILED)
            return b
        b.notes += table.notes
        b.state[f"table:{day:%Y%m%d}"] = oid or "loaded"
        origin = f"space:{path}"
        if table.score_column is None:
            b.notes.append(f"{path}: no score column; that day's scores come from the dataset")
        elif boards.get(day.isoformat(), origin) != origin:
            b.notes.append(f"{path}: the board of {day} was already loaded from {boards[day.isoformat()]}; "
                           "not mixed in")
        else:
            self._store_board(b, table.rows, cls, origin)
            boards[day.isoformat()] = origin
        return b

    def _store_board(self, b: Batch, rows: list[dict[str, Any]], cls: Classifier, origin: str) -> None:
        rows = [cls.apply(dict(r)) for r in rows]
        rank_rows(rows)
        b.tables.setdefault("leaderboard", []).extend({c: r.get(c) for c in LEADERBOARD_COLUMNS} for r in rows)
        board_figures(b, rows, cls)
        b.notes += _unmapped_notes(rows)
        b.state[f"board:{rows[0]['day'].isoformat()}"] = origin

    def _dataset(self, ctx: Context, cls: Classifier, folder: Path, boards: dict[str, str],
                 state: dict[str, str], in_window: Callable[[dt.date], bool]) -> Iterator[Batch]:
        """The dataset's boards for the days no other board holds, one batch each, then a last one
        (always at least one batch)."""
        cfg = ctx.settings.arena
        b = Batch(self.source)
        conf, split = cfg.dataset_config, cfg.dataset_split
        label = f"{cfg.dataset} {conf}/{split}"
        try:
            items, _ = self._list(ctx, f"{cfg.endpoint}/api/datasets/{cfg.dataset}/tree/main/{conf}",
                                  f"dataset {cfg.dataset}")
            shard = re.compile(rf"^{re.escape(conf)}/{re.escape(split)}(-\d+-of-\d+)?\.parquet$")
            files = sorted((it["path"], str((it.get("lfs") or {}).get("oid") or it.get("oid") or ""))
                           for it in items if shard.match(str(it.get("path", ""))))
            sizes = {it["path"]: (it.get("lfs") or {}).get("size", it.get("size")) for it in items
                     if shard.match(str(it.get("path", "")))}
            if not files:
                raise ParseError(f"{label}: no Parquet files in the listing")
            oid = hashlib.sha1(json.dumps(files).encode()).hexdigest()[:16]
            if state.get("dataset_oid") == oid:
                yield b
                return
            paths = [self._download(ctx, f"{cfg.endpoint}/datasets/{cfg.dataset}/resolve/main/{p}", folder, p,
                                    sizes.get(p)) for p, _ in files]
            by_day = read_dataset(paths, label, cfg.category, conf)
        except (NetworkUnavailable, RateLimitExhausted):
            raise
        except SourceError as exc:
            b.failures.append(str(exc) if label in str(exc) else f"{label}: {exc}")
            yield b
            return
        skipped = False
        for day in sorted(by_day):
            if boards.get(day.isoformat()) == FAILED:
                skipped = True  # read again next run, after the Space table had its chance
                continue
            if day.isoformat() in boards:
                continue  # loaded before, or a Space table with scores is that day's board
            if not in_window(day):
                skipped = True
                continue
            origin = f"dataset:{label}"
            self._store_board(b, by_day[day], cls, origin)
            boards[day.isoformat()] = origin
            yield b
            b = Batch(self.source)
        if not skipped:  # dates outside the window (or after a moved "today") are read again next time
            b.state["dataset_oid"] = oid
        yield b

    def _reclassify(self, ctx: Context, cls: Classifier, head: Batch, fp: str, had_mapping: bool
                    ) -> Iterator[Batch]:
        cols = ", ".join(LEADERBOARD_COLUMNS)
        rows = ctx.query(f"SELECT {cols} FROM leaderboard ORDER BY day, arena, model", None)
        if not rows and had_mapping:
            count = ctx.query("SELECT count(*) FROM leaderboard", None)
            if not count:  # warehouse locked or without the table: try again next run
                head.notes.append("mapping changed but stored boards could not be read; re-classified later")
                return
        b = Batch(self.source)
        boards: dict[tuple, list[dict]] = {}
        for rec in rows:
            r = dict(zip(LEADERBOARD_COLUMNS, rec))
            boards.setdefault((r["day"], r["arena"]), []).append(cls.apply(r))
        for board in boards.values():
            b.tables.setdefault("leaderboard", []).extend(board)
            board_figures(b, board, cls)
        if boards:
            b.notes.append(f"[arena.licenses] or leaderboard_aliases changed: {len(boards)} stored boards "
                           f"re-classified")
            b.notes += _unmapped_notes(r for board in boards.values() for r in board)
        b.state["mapping"] = fp
        yield b


def status_section(cfg: Settings, q: Any) -> dict[str, Any]:
    """For ``status``: licenses the config does not map, and model names no family claims.

    Both are judged with the current config (not the classification stored at load time), so a
    mapping fixed since shows as fixed.  ``q(sql)`` returns rows as dicts.
    """
    try:
        licenses = q("""SELECT coalesce(license, '') AS license, count(DISTINCT model) AS models,
                               min(day) AS first_day, max(day) AS last_day, min(model) AS example
                        FROM leaderboard GROUP BY 1 ORDER BY 1""")
        models = q("""SELECT model, max(day) AS last_day, max(score) AS best_score FROM leaderboard
                      GROUP BY model ORDER BY last_day DESC, best_score DESC NULLS LAST, model""")
    except duckdb.CatalogException:  # a warehouse from before migration 8
        return {"unmapped_licenses": [], "unmapped_models": [], "unmapped_models_total": 0}
    cls = Classifier(cfg)
    bad = [dict(r, license=r["license"] or "(none)") for r in licenses if cls.license(r["license"])[0] is None]
    unmapped = [r for r in models if not cls.families_of(r["model"]) and not cls.ignored(r["model"])]
    return {"unmapped_licenses": bad, "unmapped_models": unmapped[:25], "unmapped_models_total": len(unmapped)}
