"""Feed benchmark: render cost by episode count, then serving speed against WhiteNoise.

1. Render time and query count of a full render (no cached item) for 10, 1,000
   and 5,000 episodes.
2. Incremental rendering on the 5,000-episode show: the render after a
   one-episode change (items cached per revision) as a ratio of a full render
   of the same show in the same run, ``ratio one-episode change: X.XX`` (goal
   <= 0.05), and the check that its bytes equal the full render's.
3. Requests per second of ``/<slug>/feed.xml`` (1,000 episodes) under gunicorn —
   a warm 200, a 304 (If-None-Match) and a gzip 200 — each as a ratio of
   serving the same bytes as a static file through WhiteNoise from the same
   server in the same run: ``ratio <case>: X.XX`` (goal >= 0.9).

Sets up its own environment (temporary VAR_DIR + SQLite, migrate, data) and
starts gunicorn on 127.0.0.1 with the project's settings plus
``feeds.middleware.FeedFastPathMiddleware`` right after WhiteNoise (the line
this app asks to add to MIDDLEWARE); ``--no-fast-path`` measures the stock
middleware stack instead. Load: ``wrk`` if installed, else Python keep-alive
clients in a few processes. Run: ``python bench/feeds.py``.
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import multiprocessing
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
COUNTS = (10, 1_000, 5_000)
HTTP_EPISODES = 1_000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def setup_django(var_dir: Path) -> None:
    os.environ.update(
        {
            "VAR_DIR": str(var_dir),
            "DEBUG": "0",
            "SECRET_KEY": "bench-" + "x" * 60,
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SECURE_SSL_REDIRECT": "0",
            "SECURE_HSTS_SECONDS": "0",
            "CELERY_TASK_ALWAYS_EAGER": "1",
            "LOG_LEVEL": "WARNING",
            "DJANGO_SETTINGS_MODULE": "podcasthost.settings",
        }
    )
    sys.path.insert(0, str(BASE_DIR))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def make_show(slug: str, count: int):
    """A show with ``count`` published episodes, each with three renditions (rows only)."""
    from datetime import timedelta

    from django.utils import timezone

    from episodes.models import Episode, Podcast, Rendition
    from episodes.presets import PRESETS

    now = timezone.now()
    podcast = Podcast.objects.create(
        slug=slug,
        title=f"Benchmark show {slug}",
        description="<p>A show used to measure the feed.</p>",
        author="Bench",
        owner_name="Bench",
        owner_email="bench@example.com",
        category="Technology",
    )
    # bulk_create: no signals, so no publish per row.
    episodes = Episode.objects.bulk_create(
        Episode(
            podcast=podcast,
            title=f"Episode {i}: a title of ordinary length",
            slug=f"e{i}",
            description="<p>Show notes with a <a href='https://example.com'>link</a>.</p>" * 3,
            publish_at=now - timedelta(hours=i + 1),
            number=i + 1,
            season=1,
            status="ready",
        )
        for i in range(count)
    )
    Rendition.objects.bulk_create(
        Rendition(
            episode=e,
            preset=p.name,
            key=p.key_for(slug, str(e.guid)),
            mime_type=p.mime_type,
            size_bytes=30_000_000,
            bitrate=p.bitrate,
            duration_seconds=1800.4,
        )
        for e in episodes
        for p in PRESETS
    )
    return podcast


def bench_render() -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from feeds.rss import ITEM_CACHE, build_feed

    for count in COUNTS:
        podcast = make_show(f"render-{count}", count)
        build_feed(podcast, now=timezone.now())  # warm the database and code paths
        ITEM_CACHE.clear()
        with CaptureQueriesContext(connection) as queries:
            start = time.perf_counter()
            rendered = build_feed(podcast, now=timezone.now())
            elapsed = time.perf_counter() - start
        print(
            f"render {count:>5} episodes: {elapsed * 1000:8.1f} ms, "
            f"{len(queries.captured_queries)} queries, {len(rendered.body) / 1e6:.2f} MB"
        )


def bench_incremental(rounds: int) -> None:
    """A one-episode change vs a full render of one 5,000-episode show, best of ``rounds``."""
    from django.utils import timezone

    from episodes.models import Episode
    from feeds.rss import ITEM_CACHE, build_feed

    count = COUNTS[-1]
    podcast = make_show(f"incremental-{count}", count)
    now = timezone.now()
    full_times, change_times = [], []
    for n in range(rounds):
        ITEM_CACHE.clear()
        start = time.perf_counter()
        build_feed(podcast, now=now, built_at=now)
        full_times.append(time.perf_counter() - start)

        # An edit as save() writes it (new title, updated_at), without the
        # signals' eager publish of this benchmark's settings.
        Episode.objects.filter(podcast=podcast, slug=f"e{n * 7 % count}").update(
            title=f"Retitled in round {n}", updated_at=timezone.now()
        )
        start = time.perf_counter()
        changed = build_feed(podcast, now=now, built_at=now)
        change_times.append(time.perf_counter() - start)

        ITEM_CACHE.clear()
        reference = build_feed(podcast, now=now, built_at=now)
        if changed.body != reference.body or f"Retitled in round {n}".encode() not in changed.body:
            raise SystemExit("the incremental render differs from a full render")
    full, change = min(full_times), min(change_times)
    print(
        f"render {count} episodes: full {full * 1000:8.1f} ms, "
        f"after a one-episode change {change * 1000:8.1f} ms, byte-identical"
    )
    print(f"ratio one-episode change: {change / full:.2f}")


def start_gunicorn(var_dir: Path, port: int, fast_path: bool) -> subprocess.Popen:
    shim = var_dir / "benchsettings"
    shim.mkdir(exist_ok=True)
    (shim / "bench_feed_settings.py").write_text(
        "from podcasthost.settings import *  # noqa\n"
        + (
            "_i = MIDDLEWARE.index('whitenoise.middleware.WhiteNoiseMiddleware') + 1\n"
            "MIDDLEWARE = [*MIDDLEWARE[:_i], 'feeds.middleware.FeedFastPathMiddleware',"
            " *MIDDLEWARE[_i:]]\n"
            if fast_path
            else ""
        )
    )
    env = dict(os.environ)
    env["DJANGO_SETTINGS_MODULE"] = "bench_feed_settings"
    env["PYTHONPATH"] = os.pathsep.join([str(shim), str(BASE_DIR)])
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "podcasthost.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--worker-class",
            "gthread",
            "--threads",
            "4",
            "--log-level",
            "warning",
        ],
        cwd=str(BASE_DIR),
        env=env,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("gunicorn did not start")


def fetch(port: int, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", path, headers=headers)
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    return resp.status, {k.lower(): v for k, v in resp.getheaders()}, body


def _py_client(port, path, headers, seconds, out):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    n = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        conn.request("GET", path, headers=headers)
        resp = conn.getresponse()
        resp.read()
        n += 1
    out.put(n)


def load(port: int, path: str, headers: dict[str, str], seconds: float) -> float:
    """Requests per second with keep-alive for ``seconds``."""
    if shutil.which("wrk"):
        args = ["wrk", "-t2", "-c8", f"-d{max(1, round(seconds))}s"]
        for k, v in headers.items():
            args += ["-H", f"{k}: {v}"]
        out = subprocess.run(
            [*args, f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True, check=True
        ).stdout
        if "Non-2xx" in out and "304" not in str(headers):
            raise SystemExit(f"errors under load for {path}:\n{out}")
        return float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])
    queue = multiprocessing.Queue()
    procs = [
        multiprocessing.Process(target=_py_client, args=(port, path, headers, seconds, queue))
        for _ in range(4)
    ]
    for p in procs:
        p.start()
    total = sum(queue.get() for _ in procs)
    for p in procs:
        p.join()
    return total / seconds


def bench_http(var_dir: Path, seconds: float, rounds: int, fast_path: bool) -> None:
    from django.conf import settings
    from django.utils import timezone

    from feeds.models import FeedState
    from feeds.rss import build_feed

    podcast = make_show("http-show", HTTP_EPISODES)
    # Its renditions are rows without files (and it has no cover), so the
    # publish gate would keep it out: store the rendering as a publish does.
    state, _ = FeedState.objects.get_or_create(podcast=podcast)
    state.store_rendering(build_feed(podcast, now=timezone.now()), now=timezone.now())
    feed_path = f"/{podcast.slug}/feed.xml"
    # The same bytes as a static file (and its .gz, as WhiteNoise's compressed storage makes).
    body = bytes(FeedState.objects.get(podcast=podcast).body)
    static_dir = Path(settings.STATIC_ROOT) / "feedbench"
    static_dir.mkdir(parents=True, exist_ok=True)
    (static_dir / "feed.xml").write_bytes(body)
    (static_dir / "feed.xml.gz").write_bytes(gzip.compress(body, 9, mtime=0))
    static_path = f"/{settings.STATIC_URL.strip('/')}/feedbench/feed.xml"

    port = free_port()
    proc = start_gunicorn(var_dir, port, fast_path)
    try:
        validators = {}
        for name, path in (("feed", feed_path), ("static", static_path)):
            status, headers, got = fetch(port, path, {})
            assert status == 200 and got == body, (name, status, len(got))
            validators[name] = headers["etag"]
            status, headers, got = fetch(port, path, {"Accept-Encoding": "gzip"})
            assert status == 200 and headers.get("content-encoding") == "gzip", (name, headers)
            assert gzip.decompress(got) == body
            status, _, _ = fetch(port, path, {"If-None-Match": validators[name]})
            assert status == 304, (name, status)
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("HEAD", path)
            head = conn.getresponse()
            assert head.status == 200 and head.read() == b"", (name, head.status)
            assert head.getheader("Content-Length") == str(len(body)), name
            conn.close()
        print(f"serving {len(body) / 1e6:.2f} MB ({HTTP_EPISODES} episodes), fast path={fast_path}")
        cases = {
            "200": {},
            "304": {"If-None-Match": None},
            "gzip 200": {"Accept-Encoding": "gzip"},
        }
        for case, headers in cases.items():
            rps = {"feed": 0.0, "static": 0.0}
            # Interleave short rounds so a noisy neighbour hits both sides alike.
            for _round in range(rounds):
                for name, path in (("static", static_path), ("feed", feed_path)):
                    h = {k: (v or validators[name]) for k, v in headers.items()}
                    rps[name] += load(port, path, h, seconds)
            print(
                f"{case:>8}: feed {rps['feed'] / rounds:9.0f} req/s, "
                f"WhiteNoise {rps['static'] / rounds:9.0f} req/s"
            )
            print(f"ratio {case}: {rps['feed'] / rps['static']:.2f}")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1, help="Load duration per measurement.")
    parser.add_argument("--rounds", type=int, default=5, help="Alternating rounds per case.")
    parser.add_argument("--no-fast-path", action="store_true", help="Stock middleware stack.")
    parser.add_argument("--skip-render", action="store_true")
    parser.add_argument("--skip-http", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="feedbench-") as tmp:
        var_dir = Path(tmp)
        setup_django(var_dir)
        if not args.skip_render:
            bench_render()
            bench_incremental(args.rounds)
        if not args.skip_http:
            bench_http(var_dir, args.seconds, args.rounds, fast_path=not args.no_fast_path)


if __name__ == "__main__":
    main()
