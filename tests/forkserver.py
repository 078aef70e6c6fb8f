"""The tests' ``ecotrend`` calls, each in a fork of one process that has already imported the CLI.

A fresh interpreter spends ~0.7 s importing duckdb, pyarrow, requests, altair and the project
before the CLI does anything, and the suite calls the CLI hundreds of times.  This server imports
them once and then forks one child per call: the child takes the call's argv, environment, working
directory and standard streams, runs ``jobs.cli.main`` exactly as ``python -m jobs.cli`` does, and
exits with its code.  Every call is still the real CLI in a process of its own (own pid, own
memory, own signal handlers); nothing is shared between calls but the imported code.

``tests/conftest.py`` starts one server per test process on first use.  Set
``ECOTREND_TEST_SPAWN=1`` to start a new interpreter per call instead (the two are compared by
``tests/test_forkserver.py``).

Protocol (one Unix socket connection per call): the client sends one JSON line
``{"args", "env", "cwd"}``; the child answers its pid on one line, then, when done, one JSON
object ``{"returncode", "stdout", "stderr"}`` and closes.
"""
from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from contextlib import suppress
from pathlib import Path

# what the CLI's commands import, loaded once in the server (the commands import them lazily)
PRELOAD = ("jobs.cli", "jobs.commands", "jobs.runner", "jobs.site", "jobs.demo", "jobs.lake", "jobs.schedule",
           "jobs.backup", "jobs.catchup", "jobs.alerts", "collectors", "warehouse.store", "dashboards.site",
           "jobs.tokens", "pyarrow.parquet", "pyarrow.dataset", "duckdb", "requests", "netrc", "_strptime", "altair",
           "vl_convert", "bs4")


def _preload() -> None:
    import importlib

    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except ImportError:  # an optional module missing here is imported (and fails) in the child as usual
            pass


def _read_line(conn: socket.socket) -> bytes:
    buf = b""
    while not buf.endswith(b"\n"):
        chunk = conn.recv(65536)
        if not chunk:
            break
        buf += chunk
    return buf


def _run_child(conn: socket.socket) -> None:
    """In the forked child: become the call, run the CLI, answer, exit.  Never returns."""
    code = 1
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # the server ignores it; the CLI's subprocesses need it
        os.setpgid(0, 0)  # a timed-out call is killed with whatever it started
        req = json.loads(_read_line(conn))
        conn.sendall(f"{os.getpid()}\n".encode())
        out, err = tempfile.TemporaryFile(), tempfile.TemporaryFile()
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(out.fileno(), 1)
        os.dup2(err.fileno(), 2)
        os.chdir(req["cwd"])
        sys.path[0] = os.getcwd()  # as `python -m` puts the working directory first
        os.environ.clear()
        os.environ.update(req["env"])
        from jobs import cli

        sys.argv = [cli.__file__, *req["args"]]
        try:
            code = cli.main()
        except SystemExit as exc:  # argparse's --help and usage errors
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            if exc.code is not None and not isinstance(exc.code, int):
                print(exc.code, file=sys.stderr)
        except BaseException:
            import traceback

            traceback.print_exc()
            code = 1
        import logging

        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        texts = []
        for f in (out, err):
            f.seek(0)
            texts.append(f.read().decode("utf-8", errors="replace"))
        conn.sendall(json.dumps({"returncode": code, "stdout": texts[0], "stderr": texts[1]}).encode())
        conn.close()
    finally:
        os._exit(0)


def serve(path: str) -> None:
    """The server: preload, then one fork per connection until standard input closes."""
    _preload()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(128)
    print("ready", flush=True)
    while True:
        ready, _, _ = select.select([listener, sys.stdin], [], [])
        if sys.stdin in ready and not sys.stdin.buffer.read1(1):
            return  # the test process has gone
        if listener in ready:
            conn, _ = listener.accept()
            if os.fork() == 0:
                listener.close()
                _run_child(conn)
            conn.close()


class ForkServer:
    """The client side, one per test process; thread-safe (each call has its own connection)."""

    def __init__(self, root: Path, env: dict[str, str]):
        self._dir = tempfile.TemporaryDirectory(prefix="ecotrend-fork-")
        self.path = os.path.join(self._dir.name, "cli.sock")
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.forkserver", self.path], cwd=str(root),
                                     env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        line = self.proc.stdout.readline()
        if line.strip() != b"ready":
            raise RuntimeError(f"the CLI fork server did not start: {line!r}")

    def run(self, args: list[str], env: dict[str, str], cwd: str, timeout: float
            ) -> subprocess.CompletedProcess:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(timeout)
            conn.connect(self.path)
            conn.sendall(json.dumps({"args": args, "env": env, "cwd": cwd}).encode() + b"\n")
            pid = 0
            try:
                pid = int(_read_line(conn) or b"0")
                chunks = []
                while chunk := conn.recv(1 << 20):
                    chunks.append(chunk)
            except socket.timeout:
                if pid:
                    with suppress(ProcessLookupError, PermissionError):
                        os.killpg(pid, signal.SIGKILL)
                raise subprocess.TimeoutExpired(["ecotrend", *args], timeout) from None
        if not chunks:
            raise RuntimeError(f"the CLI process {pid} ended without an answer (killed?)")
        res = json.loads(b"".join(chunks))
        return subprocess.CompletedProcess(["ecotrend", *args], res["returncode"], res["stdout"], res["stderr"])

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self._dir.cleanup()


_server: ForkServer | None = None
_lock = threading.Lock()


def server(root: Path, env: dict[str, str]) -> ForkServer:
    """The process's fork server, started on first use and stopped at exit."""
    global _server
    with _lock:
        if _server is None or _server.proc.poll() is not None:
            import atexit

            _server = ForkServer(root, env)
            atexit.register(_server.close)
        return _server


if __name__ == "__main__":
    serve(sys.argv[1])
