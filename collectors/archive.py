"""Raw archive: every response a collector parses, gzip'd before parsing, with no secrets, replayable.

Layout: ``{raw_dir}/{day}/{source}/{run_id}/{seq:05d}-{key}.json.gz`` where ``key`` hashes the request
(method + URL with its query).  Files are written to a temporary name and renamed, so a killed run
never leaves a torn file.  Replaying a day reads the newest run directory of each source.
"""
from __future__ import annotations

import base64
import datetime as dt
import gzip
import hashlib
import json
import os
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path

DROP_HEADERS = {"authorization", "cookie", "set-cookie", "proxy-authorization"}


def request_key(method: str, url: str) -> str:
    return hashlib.sha256(f"{method.upper()} {url}".encode()).hexdigest()[:20]


def redact(text: str, secrets: list[str]) -> str:
    for s in secrets:
        if s:
            text = text.replace(s, "[REDACTED]")
    return text


@dataclass
class ArchivedResponse:
    method: str
    url: str
    status: int
    headers: dict[str, str]
    body: bytes
    final_url: str


class Archive:
    """Writes raw responses for one run; thread-safe sequence numbers."""

    def __init__(self, root: Path, day: dt.date, run_id: str, secrets: list[str] | None = None):
        self.root = Path(root)
        self.day = day
        self.run_id = run_id
        self.secrets = [s for s in (secrets or []) if s]
        self._seq = 0
        self._lock = threading.Lock()

    def write(self, source: str, method: str, url: str, status: int, headers: dict[str, str],
              body: bytes, final_url: str | None = None) -> Path:
        with self._lock:
            self._seq += 1
            seq = self._seq
        folder = self.root / self.day.isoformat() / source / self.run_id
        folder.mkdir(parents=True, exist_ok=True)
        url = redact(url, self.secrets)
        final_url = redact(final_url or url, self.secrets)
        clean_headers = {k.lower(): redact(v, self.secrets) for k, v in headers.items()
                         if k.lower() not in DROP_HEADERS}
        for s in self.secrets:
            body = body.replace(s.encode(), b"[REDACTED]")
        record = {
            "method": method.upper(),
            "url": url,
            "final_url": final_url,
            "status": status,
            "headers": clean_headers,
            "body_b64": base64.b64encode(body).decode("ascii"),
            "archived_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }
        path = folder / f"{seq:05d}-{request_key(method, url)}.json.gz"
        tmp = path.with_name(path.name + ".tmp")
        with gzip.open(tmp, "wt", encoding="utf-8") as fh:
            json.dump(record, fh)
        os.replace(tmp, path)
        return path


def read_record(path: Path) -> ArchivedResponse:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        rec = json.load(fh)
    return ArchivedResponse(rec["method"], rec["url"], rec["status"], rec["headers"],
                            base64.b64decode(rec["body_b64"]), rec.get("final_url") or rec["url"])


def latest_run_dir(root: Path, day: dt.date, source: str) -> Path | None:
    folder = Path(root) / day.isoformat() / source
    if not folder.is_dir():
        return None
    runs = sorted((p for p in folder.iterdir() if p.is_dir()), key=lambda p: p.name)
    return runs[-1] if runs else None


def load_run(run_dir: Path) -> dict[str, list[ArchivedResponse]]:
    """All archived responses of one run, grouped by request key in the order they were made."""
    out: dict[str, list[ArchivedResponse]] = {}
    for path in sorted(run_dir.glob("*.json.gz")):
        rec = read_record(path)
        out.setdefault(request_key(rec.method, rec.url), []).append(rec)
    return out


def prune(root: Path, today: dt.date, keep_days: int) -> int:
    """Delete day folders older than keep_days; return how many were removed."""
    root = Path(root)
    if not root.is_dir():
        return 0
    cutoff = today - dt.timedelta(days=keep_days)
    removed = 0
    for p in root.iterdir():
        try:
            d = dt.date.fromisoformat(p.name)
        except ValueError:
            continue
        if d < cutoff and p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
            removed += 1
    return removed
