"""One writer at a time across processes: an flock the kernel drops when its holder dies."""
from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path


class RunLocked(Exception):
    """Another ecotrend run holds the lock past our wait."""


class RunLock:
    def __init__(self, path: Path, wait_seconds: float = 0.0):
        self.path = Path(path)
        self.wait_seconds = wait_seconds
        self.fd: int | None = None
        self.waited = False  # True when another process held the lock as we came

    def __enter__(self) -> "RunLock":
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:  # a read-only or missing data folder: one clear line, before any fetch
            from warehouse.db import WarehouseError

            raise WarehouseError(f"{self.path.parent}: cannot write in the data folder "
                                 f"({exc.strerror}); nothing was collected") from None
        deadline = time.monotonic() + self.wait_seconds
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                self.waited = True
                if time.monotonic() >= deadline:
                    holder = ""
                    try:
                        holder = os.pread(fd, 200, 0).decode(errors="replace").strip()
                    except OSError:
                        pass
                    os.close(fd)
                    raise RunLocked(f"another ecotrend run is in progress ({holder or 'unknown'}); "
                                    f"waited {self.wait_seconds:.0f}s") from None
                time.sleep(0.2)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} since {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}"
                  .encode(), 0)
        self.fd = fd
        return self

    def __exit__(self, *exc: object) -> None:
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None


def lock_path(database: Path) -> Path:
    return Path(str(database) + ".run.lock")
