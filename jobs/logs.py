"""Logging to stderr and a rotating file under data/logs/, with secrets redacted from every line."""
from __future__ import annotations

import logging
import logging.handlers
import traceback
from pathlib import Path


class RedactFilter(logging.Filter):
    def __init__(self, secrets: list[str]):
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            msg = record.getMessage()
            if record.exc_info:  # a traceback can quote a URL or header: redact it too
                msg += "\n" + "".join(traceback.format_exception(*record.exc_info)).rstrip()
                record.exc_info, record.exc_text = None, None
            record.msg, record.args = redact(msg, self.secrets), None
        return True


_SECRETS: list[str] = []


def redact(text: str, secrets: list[str] | None = None) -> str:
    for s in (secrets if secrets is not None else _SECRETS):
        if s:
            text = text.replace(s, "[REDACTED]")
    return text


def setup(verbose: bool = False, log_dir: Path | None = None, secrets: list[str] | None = None) -> None:
    _SECRETS[:] = [s for s in (secrets or []) if s]
    root = logging.getLogger("ecotrend")
    root.handlers.clear()
    root.setLevel(logging.DEBUG)
    root.propagate = False
    flt = RedactFilter(secrets or [])
    err = logging.StreamHandler()
    err.setLevel(logging.DEBUG if verbose else logging.WARNING)
    err.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    err.addFilter(flt)
    root.addHandler(err)
    if log_dir is not None:
        try:
            log_dir.mkdir(parents=True, exist_ok=True)
            fh = logging.handlers.RotatingFileHandler(log_dir / "ecotrend.log", maxBytes=5_000_000,
                                                      backupCount=5, encoding="utf-8")
        except OSError:
            return  # a read-only data folder must not stop read-only commands
        fh.setLevel(logging.DEBUG if verbose else logging.INFO)
        fh.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        fh.addFilter(flt)
        root.addHandler(fh)
