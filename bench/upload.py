"""Benchmark: a large upload through the local presigned-POST endpoint under gunicorn.

Prints the upload's throughput as a ratio of writing the same bytes to the
same disk directly, and the server's peak memory growth while it streams
(goal: ratio >= 0.8, growth < 64 MiB). Sets up its own environment (temp
VAR_DIR with SQLite, migrate, a creator, a show and an episode).

    python bench/upload.py               # 1 GiB
    python bench/upload.py --size-mib 64
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

REPO_ROOT = Path(__file__).resolve().parent.parent
CHUNK = 1024 * 1024


def make_source(path: Path, size: int) -> None:
    block = os.urandom(CHUNK)
    with path.open("wb") as f:
        for _ in range(size // CHUNK):
            f.write(block)
        f.write(block[: size % CHUNK])


def direct_write_seconds(source: Path, destination: Path) -> float:
    """The baseline: copy the bytes to the same disk in the same chunk size.

    Like the endpoint, it fsyncs before it is done: both are measured to the disk,
    not to the page cache.
    """
    start = time.perf_counter()
    with source.open("rb") as src, destination.open("wb") as dst:
        while chunk := src.read(CHUNK):
            dst.write(chunk)
        dst.flush()
        os.fsync(dst.fileno())
    elapsed = time.perf_counter() - start
    destination.unlink()
    return elapsed


def multipart_upload(url: str, fields: dict[str, str], source: Path) -> tuple[int, float]:
    """POST the form, streaming ``source`` from disk; return (HTTP status, seconds)."""
    boundary = "----WebKitFormBoundary" + secrets.token_hex(8)  # as Chromium sends
    head = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
        for k, v in fields.items()
    )
    head += (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="bench.wav"\r\n'
        f"Content-Type: {fields['Content-Type']}\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    length = len(head) + source.stat().st_size + len(tail)
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=600)
    start = time.perf_counter()
    conn.putrequest("POST", parts.path)
    conn.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
    conn.putheader("Content-Length", str(length))
    conn.endheaders()
    conn.send(head)
    with source.open("rb") as f:
        while chunk := f.read(CHUNK):
            conn.send(chunk)
    conn.send(tail)
    response = conn.getresponse()
    response.read()
    elapsed = time.perf_counter() - start
    conn.close()
    return response.status, elapsed


class PeakRss:
    """Sample the RSS of a process tree every few milliseconds, keeping the peak."""

    def __init__(self, pid: int) -> None:
        import psutil

        self.process = psutil.Process(pid)
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def rss(self) -> int:
        import psutil

        total = 0
        for p in [self.process, *self.process.children(recursive=True)]:
            with contextlib.suppress(psutil.NoSuchProcess):
                total += p.memory_info().rss
        return total

    def cpu_seconds(self) -> float:
        import psutil

        total = 0.0
        for p in [self.process, *self.process.children(recursive=True)]:
            with contextlib.suppress(psutil.NoSuchProcess):
                times = p.cpu_times()
                total += times.user + times.system
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.rss())
            time.sleep(0.005)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024, help="upload size (default 1024)")
    args = parser.parse_args()
    size = args.size_mib * 1024 * 1024

    work = Path(tempfile.mkdtemp(prefix="bench-upload-"))
    env = {
        **os.environ,
        "VAR_DIR": str(work / "var"),
        "SECRET_KEY": "bench-" + secrets.token_urlsafe(40),
        "DEBUG": "1",
        "LOG_LEVEL": "WARNING",
        "UPLOAD_MAX_BYTES": str(max(size, 2 * 1024**3)),
        "DATABASE_URL": f"sqlite:///{work / 'var' / 'db.sqlite3'}",
    }
    env.pop("UPLOADS_BUCKET", None)
    os.environ.update(env)
    os.environ["DJANGO_SETTINGS_MODULE"] = "podcasthost.settings"
    sys.path.insert(0, str(REPO_ROOT))
    server = None
    try:
        import django

        django.setup()
        from django.core.management import call_command

        from episodes import uploads
        from episodes.models import Episode, Podcast
        from episodes.roles import create_creator
        from podcasthost.services import free_port

        call_command("migrate", verbosity=0)
        creator = create_creator("bench", "bench@example.com", None)
        podcast = Podcast.objects.create(
            slug="bench", title="Bench", description="x", category="Technology"
        )
        podcast.members.add(creator)
        episode = Episode.objects.create(podcast=podcast, title="Bench", slug="bench")

        port = free_port(0)
        base = f"http://127.0.0.1:{port}"
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "1",
                "--timeout",
                "600",
                "podcasthost.wsgi:application",
            ],
            cwd=REPO_ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", "/uploads/local")
                conn.getresponse().read()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    print("gunicorn did not start", file=sys.stderr)
                    return 1
                time.sleep(0.2)

        def presign():
            return uploads.presign_upload(
                episode,
                filename="bench.wav",
                content_type="audio/wav",
                size_bytes=None,
                local_url=f"{base}/uploads/local",
            )

        source = work / "source.bin"
        make_source(source, size)
        warmup = work / "warmup.bin"
        make_source(warmup, 4 * CHUNK)
        uploads_root = work / "var" / "uploads"

        # Warm up the worker (imports, first request) before taking the baseline RSS.
        status, _ = multipart_upload(f"{base}/uploads/local", presign().fields, warmup)
        assert status == 204, status
        # Two rounds, alternating; the best of each. Dirty pages are flushed
        # before every measurement so neither pays for the other's writeback.
        directs, uploads_seconds, growths, server_cpu = [], [], [], []
        for _ in range(2):
            os.sync()
            directs.append(direct_write_seconds(source, uploads_root / "direct.bin"))
            os.sync()
            sampler = PeakRss(server.pid)
            baseline_rss = sampler.rss()
            cpu_before = sampler.cpu_seconds()
            post = presign()
            with sampler:
                status, seconds = multipart_upload(f"{base}/uploads/local", post.fields, source)
            if status != 204:
                print(f"upload failed: HTTP {status}", file=sys.stderr)
                return 1
            stored = uploads_root / post.key
            assert stored.stat().st_size == size, "stored size differs"
            stored.unlink()
            uploads_seconds.append(seconds)
            server_cpu.append(sampler.cpu_seconds() - cpu_before)
            growths.append(max(0, sampler.peak - baseline_rss))
        direct, upload = min(directs), min(uploads_seconds)

        growth_mib = max(growths) / 1024 / 1024
        mib = size / 1024 / 1024
        print(f"size: {mib:.0f} MiB")
        print(f"direct write: {direct:.2f} s ({mib / direct:.0f} MiB/s)")
        print(f"upload through the endpoint: {upload:.2f} s ({mib / upload:.0f} MiB/s)")
        print(f"server CPU per upload: {min(server_cpu):.2f} s")
        print(f"ratio vs direct write: {direct / upload:.2f}")
        print(f"peak memory growth: {growth_mib:.0f} MiB")
        return 0
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
