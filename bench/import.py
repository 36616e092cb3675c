"""Benchmark: importing a show from a local "old host", transcoding excluded.

1. A 200-episode feed with 200 small enclosures: the import's time (parse,
   episodes, downloads into the uploads storage, recording each upload) as a
   ratio of downloading the same bytes with a plain HTTP client, one after the
   other over one connection, each saved to a file as any download is, in the
   same run (goal: ratio <= 1.5).
2. One 1 GiB enclosure: the importing process's peak RSS growth while it
   streams (goal: < 64 MiB).

Processing is queued to an in-memory broker nobody consumes, so transcoding is
not measured. Sets up its own environment (temp VAR_DIR with SQLite, migrate).

    python bench/import.py                    # 200 x 256 KiB, and 1 GiB
    python bench/import.py --episodes 50 --big-mib 128
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

SERVER = textwrap.dedent(
    """
    import sys
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    episodes, small, big = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    block = bytes(range(256)) * 4096  # 1 MiB
    body = (block * (small // len(block) + 1))[:small]

    def feed(base, count, length, path):
        items = "".join(
            f"<item><title>Episode {n}</title><guid isPermaLink='false'>bench-{path}-{n}</guid>"
            f"<pubDate>Mon, 02 Nov 2026 08:00:00 +0000</pubDate>"
            f"<enclosure url='{base}/{path}/{n}.mp3' length='{length}' type='audio/mpeg'/></item>"
            for n in range(count)
        )
        return (
            "<?xml version='1.0' encoding='UTF-8'?><rss version='2.0' "
            "xmlns:itunes='http://www.itunes.com/dtds/podcast-1.0.dtd'><channel>"
            f"<title>Bench {path}</title><description>d</description>"
            f"<itunes:category text='Technology'/>{items}</channel></rss>"
        ).encode()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_GET(self):
            base = f"http://{self.headers['Host']}"
            path = self.path.split("?")[0]
            if path == "/small.xml":
                data, kind = feed(base, episodes, small, "small"), "application/rss+xml"
            elif path == "/big.xml":
                data, kind = feed(base, 1, big, "big"), "application/rss+xml"
            elif self.path.startswith("/small/"):
                data, kind = body, "audio/mpeg"
            elif self.path.startswith("/big/"):
                self.send_response(200)
                self.send_header("Content-Type", "audio/mpeg")
                self.send_header("Content-Length", str(big))
                self.end_headers()
                left = big
                while left:
                    n = min(left, len(block))
                    self.wfile.write(block[:n])
                    left -= n
                return
            else:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()
    """
)


def plain_download_seconds(base: str, episodes: int, folder: Path) -> float:
    """The baseline: the same files fetched one after the other with http.client over one
    keep-alive connection, each saved as a file in ``folder`` (what ``wget`` does)."""
    import http.client

    host, port = base.removeprefix("http://").split(":")
    folder.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    for n in range(episodes):
        conn.request("GET", f"/small/{n}.mp3")
        response = conn.getresponse()
        with (folder / f"{n}.mp3").open("wb") as f:
            while chunk := response.read(256 * 1024):
                f.write(chunk)
    conn.close()
    return time.perf_counter() - start


def import_seconds(url: str, slug: str) -> float:
    from episodes.importers.shows import import_show, read_feed_source
    from episodes.models import Episode, ImportRun

    start = time.perf_counter()
    show = read_feed_source(url)
    run = ImportRun.objects.create(source=url, slug=slug)
    import_show(run, show, user=None)
    elapsed = time.perf_counter() - start
    uploaded = Episode.objects.filter(podcast__slug=slug, status="uploaded").count()
    assert uploaded == len(show.items), f"only {uploaded} of {len(show.items)} imported"
    return elapsed


def peak_rss_growth_mib(work) -> float:
    import psutil

    proc = psutil.Process()
    baseline = proc.memory_info().rss
    peak = baseline
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, proc.memory_info().rss)
            time.sleep(0.01)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        work()
    finally:
        done.set()
        sampler.join()
    return (peak - baseline) / 1024**2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=200)
    parser.add_argument("--small-kib", type=int, default=256)
    parser.add_argument("--big-mib", type=int, default=1024)
    args = parser.parse_args()
    small, big = args.small_kib * 1024, args.big_mib * 1024**2

    var = Path(tempfile.mkdtemp(prefix="bench-import-"))
    os.environ.update(
        {
            "VAR_DIR": str(var),
            "DATABASE_URL": f"sqlite:///{var}/db.sqlite3",
            "CELERY_BROKER_URL": "memory://",  # processing queued, never run: not measured
            "UPLOAD_MAX_BYTES": str(big + 1),
            "IMPORT_ALLOW_PRIVATE_HOSTS": "1",
            "DJANGO_SETTINGS_MODULE": "podcasthost.settings",
        }
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)

    server = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(args.episodes), str(small), str(big)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{server.stdout.readline().strip()}"
        # Warm-up (imports, the broker connection, SQLite's file): not measured.
        import_seconds(f"{base}/small.xml?warm-up", "bench-warm-up")
        # Saved on the file system the import's storage uses (VAR_DIR).
        plain = plain_download_seconds(base, args.episodes, var / "plain-download")
        ours = import_seconds(f"{base}/small.xml", "bench-small")
        total_mib = args.episodes * small / 1024**2
        print(f"episodes: {args.episodes} x {args.small_kib} KiB ({total_mib:.0f} MiB)")
        print(f"plain HTTP download to files, one by one: {plain:.2f} s")
        print(f"import (parse, episodes, downloads, uploads recorded): {ours:.2f} s")
        print(f"ratio import_{args.episodes}_vs_plain_download: {ours / plain:.2f}")
        growth = peak_rss_growth_mib(lambda: import_seconds(f"{base}/big.xml", "bench-big"))
        print(f"enclosure: {args.big_mib} MiB")
        print(f"peak RSS growth importing it: {growth:.0f} MiB")
    finally:
        server.terminate()
        server.wait(timeout=10)
        shutil.rmtree(var, ignore_errors=True)


if __name__ == "__main__":
    main()
