"""``make run``: migrate, print the demo credentials, run web + Celery worker/beat + Redis.

Everything runs on the embedded defaults (SQLite and files under var/, a
private Redis). Ctrl-C stops all the processes it started.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from podcasthost.services import free_port, start_redis


def _manage(*args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], check=True)


def main() -> int:
    env = os.environ.copy()
    env.setdefault("DJANGO_SETTINGS_MODULE", "podcasthost.settings")
    os.environ.update(env)
    import django
    from django.conf import settings

    django.setup()
    procs: list[subprocess.Popen] = []
    if "REDIS_URL" not in env and "CELERY_BROKER_URL" not in env:
        port = free_port(6379)
        procs.append(start_redis(settings.VAR_DIR / "redis", port))
        env["REDIS_URL"] = f"redis://127.0.0.1:{port}/0"
        print(f"Redis:   redis://127.0.0.1:{port}/0 (private, data in var/redis)")

    _manage("migrate", "--no-input", "-v", "0")
    _manage("demo_admin")
    port = int(env.get("PORT", "8000"))
    procs.append(
        subprocess.Popen(
            [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"], env=env
        )
    )
    procs.append(
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "podcasthost",
                "worker",
                "--beat",
                "--concurrency",
                "2",
                "--loglevel",
                "INFO",
                "--schedule",
                str(settings.VAR_DIR / "celerybeat-schedule"),
            ],
            env=env,
        )
    )
    print(f"\npodcasthost is running: http://127.0.0.1:{port}/admin/  (Ctrl-C stops everything)\n")
    try:
        while all(p.poll() is None for p in procs):
            time.sleep(0.5)
        failed = next(p for p in procs if p.poll() is not None)
        print(f"A process stopped unexpectedly: {failed.args[:4]} (code {failed.returncode})")
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()


if __name__ == "__main__":
    sys.exit(main())
