"""Child processes (ffmpeg) that die with the worker that started them.

A Celery worker killed by SIGKILL (OOM killer, a hard time limit, a deploy)
runs no cleanup code, so its ffmpeg would be reparented to PID 1 and keep
encoding, racing the run that reconcile starts again. On Linux each child asks
the kernel for ``SIGKILL`` when its parent dies (``PR_SET_PDEATHSIG``,
https://man7.org/linux/man-pages/man2/PR_SET_PDEATHSIG.2const.html); elsewhere
the wrappers behave like :mod:`subprocess`.

The signal follows the *thread* that forked the child: start ffmpeg from the
thread that waits for it (as the tasks do), not from a short-lived helper thread.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def _load_prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    except OSError:
        return None
    return libc.prctl


# Resolved once in the parent: the child, between fork and exec, only calls it.
_prctl = _load_prctl()


def die_with(parent_pid: int, sig: int = signal.SIGKILL) -> Callable[[], None] | None:
    """A ``preexec_fn`` that has the kernel send ``sig`` to the child when ``parent_pid`` dies.

    ``None`` where the platform has no ``PR_SET_PDEATHSIG`` (then children may outlive it).
    """
    if _prctl is None:
        return None

    def preexec() -> None:
        _prctl(_PR_SET_PDEATHSIG, sig, 0, 0, 0)
        # The parent may have died between fork and prctl: then no signal comes.
        if os.getppid() != parent_pid:
            os.kill(os.getpid(), signal.SIGKILL)

    return preexec


def popen(args: Sequence[str], **kwargs: Any) -> subprocess.Popen:
    """``subprocess.Popen`` whose child is killed when the calling process dies."""
    if "preexec_fn" in kwargs:
        raise TypeError("popen() sets preexec_fn itself")
    return subprocess.Popen(args, preexec_fn=die_with(os.getpid()), **kwargs)


def run(
    args: Sequence[str], *, timeout: float | None = None, **kwargs: Any
) -> subprocess.CompletedProcess:
    """``subprocess.run`` (never ``check``) whose child is killed when the calling process dies.

    Raises ``subprocess.TimeoutExpired`` after killing the child, like ``subprocess.run``.
    """
    if "preexec_fn" in kwargs:
        raise TypeError("run() sets preexec_fn itself")
    return subprocess.run(
        args, preexec_fn=die_with(os.getpid()), timeout=timeout, check=False, **kwargs
    )


# A scratch folder names the process that works in it, so a cleanup can tell a
# dead run's leftovers from a live run's files (see episodes.transcoders.ffmpeg).
OWNER_FILE = ".owner"


def claim_folder(folder: Path) -> None:
    """Record the calling process as the owner of ``folder``."""
    (folder / OWNER_FILE).write_text(owner_token(os.getpid()))


def _start_time(pid: int) -> str:
    """When process ``pid`` started, in clock ticks since boot ("" if unknown or gone).

    Together with the pid it names one process: pids are reused, start times are not.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    # Field 22 (starttime), counted after the parenthesised command name.
    return stat.rsplit(")", 1)[1].split()[19]


def owner_token(pid: int) -> str:
    """``host pid start-time``: names one process on one machine, even after pid reuse."""
    return f"{socket.gethostname()} {pid} {_start_time(pid)}".strip()


def owner_alive(folder: Path) -> bool:
    """Whether the process named in ``folder``'s owner file is still running here."""
    try:
        host, pid, *started = (folder / OWNER_FILE).read_text().split()
        pid_number = int(pid)
    except (OSError, ValueError):
        return False  # no owner recorded (or unreadable): only its age counts
    if host != socket.gethostname():
        return False  # another machine's run: its age is all we can judge
    try:
        os.kill(pid_number, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by another user
    return not started or started[0] == _start_time(pid_number)
