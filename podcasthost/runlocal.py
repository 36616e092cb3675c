"""``make run``: migrate, print the demo credentials, run web + Celery worker + beat + Redis.

Everything runs on the embedded defaults (SQLite and files under VAR_DIR, a
private Redis whose URL is recorded in VAR_DIR/redis-url for commands run in
another shell). Ctrl-C, SIGTERM and SIGHUP stop every process it started: the
children share one process group, signalled as a whole, and on Linux each
also gets SIGTERM if ``make run`` itself dies. A taken PORT is refused before
anything starts. Two instances run side by side with their own PORT and VAR_DIR.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request

from podcasthost import subprocesses
from podcasthost.services import (
    forget_redis_url,
    free_port,
    port_in_use,
    record_redis_url,
    start_redis,
)

STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)
WEB_START_SECONDS = 60.0
STOP_GRACE_SECONDS = 15.0


class Stop(Exception):
    """A stop signal arrived (raised from the handler, like KeyboardInterrupt for SIGINT)."""


def _raise_stop(signum: int, frame) -> None:
    raise Stop(signal.Signals(signum).name)


class ProcessGroup:
    """Children started in one process group (the first child leads it), stopped together."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen] = []
        self.pgid: int | None = None

    def popen_kwargs(self) -> dict:
        # process_group=0: the first child leads a new group; the others join it.
        # SIGTERM (not SIGKILL) when make run dies: Redis, the web server and
        # Celery still shut down cleanly.
        return {
            "process_group": self.pgid or 0,
            "preexec_fn": subprocesses.die_with(os.getpid(), signal.SIGTERM),
        }

    def add(self, proc: subprocess.Popen) -> subprocess.Popen:
        self.procs.append(proc)
        if self.pgid is None:
            self.pgid = proc.pid
        return proc

    def start(self, args: list[str], env: dict[str, str]) -> subprocess.Popen:
        return self.add(subprocess.Popen(args, env=env, **self.popen_kwargs()))

    def stopped(self) -> subprocess.Popen | None:
        """The first child that has exited, if any."""
        return next((p for p in self.procs if p.poll() is not None), None)

    def stop(self) -> None:
        """SIGTERM to the whole group (grandchildren too), SIGKILL after a grace period."""
        if self.pgid is None:
            return
        self._signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for proc in self.procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        # Whatever is left, including a worker's pool processes whose parent died.
        self._signal(signal.SIGKILL)
        for proc in self.procs:
            proc.wait()

    def _signal(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):  # the group is already empty
            os.killpg(self.pgid, sig)


def _wait_for_web(url: str, web: subprocess.Popen) -> bool:
    """Whether the web server answers ``url`` before it exits or WEB_START_SECONDS pass."""
    deadline = time.monotonic() + WEB_START_SECONDS
    while time.monotonic() < deadline and web.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 (our own http URL)
                return True
        except OSError:
            time.sleep(0.2)
    return False


def main() -> int:
    """Run everything until a stop signal or a child's exit; the exit status of ``make run``."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "podcasthost.settings")
    import django
    from django.conf import settings

    django.setup()
    port = settings.PORT
    if port_in_use(port):
        print(
            f"Cannot start: port {port} is already in use (another `make run`, or another "
            f"server). Stop it, or choose another port: PORT={port + 1} make run",
            file=sys.stderr,
        )
        return 1
    for sig in STOP_SIGNALS:
        signal.signal(sig, _raise_stop)

    env = os.environ.copy()
    group = ProcessGroup()
    redis_url = ""
    var_dir = settings.VAR_DIR
    try:
        if "REDIS_URL" not in env and "CELERY_BROKER_URL" not in env:
            redis_port = free_port(6379)
            group.add(start_redis(var_dir / "redis", redis_port, **group.popen_kwargs()))
            redis_url = f"redis://127.0.0.1:{redis_port}/0"
            env["REDIS_URL"] = redis_url
            record_redis_url(var_dir, redis_url)
            print(f"Redis:   {redis_url} (private, data in {var_dir / 'redis'})")

        manage = [sys.executable, "manage.py"]
        subprocess.run([*manage, "migrate", "--no-input", "-v", "0"], env=env, check=True)
        subprocess.run([*manage, "demo_admin"], env=env, check=True)
        web = group.start([*manage, "runserver", f"127.0.0.1:{port}", "--noreload"], env)
        celery = [sys.executable, "-m", "celery", "-A", "podcasthost"]
        group.start([*celery, "worker", "--concurrency", "2", "--loglevel", "INFO"], env)
        # Beat is its own child, not the worker's (--beat): it must die with make run.
        schedule = str(var_dir / "celerybeat-schedule")
        group.start([*celery, "beat", "--loglevel", "INFO", "--schedule", schedule], env)

        local = f"http://127.0.0.1:{port}"
        if not _wait_for_web(f"{local}/healthz", web):
            print(f"The web server did not answer on {local} (see its output above).")
            return 1
        print(f"\npodcasthost is running: {local}/admin/  (Ctrl-C stops everything)\n")
        while (stopped := group.stopped()) is None:
            time.sleep(0.5)
        print(f"A process stopped unexpectedly: {stopped.args[:5]} (code {stopped.returncode})")
        return 1
    except (KeyboardInterrupt, Stop):
        return 0
    except subprocess.CalledProcessError as exc:
        print(f"Set-up failed: {exc.cmd[1:3]} exited with code {exc.returncode}.")
        return 1
    finally:
        # A second signal must not interrupt the clean-up itself.
        for sig in (signal.SIGINT, *STOP_SIGNALS):
            signal.signal(sig, signal.SIG_IGN)
        group.stop()
        if redis_url:
            forget_redis_url(var_dir, redis_url)


if __name__ == "__main__":
    sys.exit(main())
