"""Download-analytics benchmark: CloudFront log ingest speed and memory.

1. Writes a gzip CloudFront standard log of ``--lines`` lines (default
   1,000,000): podcast apps fetching episodes in byte ranges from many
   listeners, plus feed polls, HEADs, ``bytes=0-1`` probes, bots, cover art.
2. A bare loop that only reads and splits the same gzip file is the baseline;
   ``manage.py ingest_cdn_logs``'s path (parse, rules, store events), then the
   aggregation (merge ranges, count downloads) are timed against it, the
   read and the ingest each the best of two runs (each ingest in a fresh
   process on a fresh copy of the database):
   ``ratio ingest vs bare read+split: X.XX`` (goal <= 3) and the same with the
   aggregation included.
3. Peak RSS of a fresh process ingesting a file a quarter that size and the
   full one (goal: under 150 MiB, and independent of the file's size).

Sets up its own environment (temporary VAR_DIR + SQLite, migrate, data).
Run: ``python bench/analytics.py [--lines N]``.
"""

from __future__ import annotations

import argparse
import gzip
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

BASE_DIR = Path(__file__).resolve().parent.parent
EPISODES = 50
LISTENERS = 20_000
AGENTS = (
    "AppleCoreMedia/1.0.0.20E252 (iPhone; U; CPU OS 16_4_1 like Mac OS X; en_us)",
    "Podcasts/1.1.0 CFNetwork/1404.0.5 Darwin/22.3.0",
    "Overcast/3.0 (+http://overcast.fm/; iOS podcast app)",
    "Spotify/8.8.12 Android/33 (SM-G991B)",
    "PocketCasts/1.0 (Pocket Casts - Android; +https://pocketcasts.com/)",
    "AntennaPod/3.2.0",
    "Castro 2022.11/1256 CFNetwork/1399 Darwin/22.1.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0 Safari/537.36",
)
BOTS = (
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "python-requests/2.31.0",
)


def setup_django(var_dir: Path) -> None:
    os.environ.update(
        {
            "VAR_DIR": str(var_dir),
            # As in production: no debug cursor recording every query.
            "DEBUG": "0",
            "SECRET_KEY": "bench-" + "x" * 60,
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SECURE_SSL_REDIRECT": "0",
            "SECURE_HSTS_SECONDS": "0",
            # Creating the catalogue queues feed publishes: run them in-process.
            "CELERY_TASK_ALWAYS_EAGER": "1",
            "LOG_LEVEL": "WARNING",
            "DJANGO_SETTINGS_MODULE": "podcasthost.settings",
        }
    )
    sys.path.insert(0, str(BASE_DIR))
    import django

    django.setup()


def make_catalogue() -> list[tuple[str, int]]:
    """A show with ``EPISODES`` episodes, one 40-minute 128 kb/s MP3 each: (path, size)."""
    from episodes.models import Episode, Podcast, Rendition

    podcast = Podcast.objects.create(
        slug="bench", title="Bench", description="x", category="Technology"
    )
    files = []
    for i in range(EPISODES):
        episode = Episode.objects.create(podcast=podcast, title=f"E{i}", slug=f"e{i}")
        size = 128_000 // 8 * 40 * 60
        key = f"bench/{episode.guid}/mp3.mp3"
        Rendition.objects.create(
            episode=episode,
            preset="mp3",
            key=key,
            mime_type="audio/mpeg",
            size_bytes=size,
            bitrate=128_000,
        )
        files.append((f"/{key}", size))
    return files


def write_log(path: Path, lines: int, files: list[tuple[str, int]], seed: int = 1) -> None:
    from feeds.analytics.cloudfront import DEFAULT_FIELDS

    rng = random.Random(seed)
    start = datetime(2026, 11, 30, tzinfo=UTC)
    template = dict.fromkeys(DEFAULT_FIELDS, "-")
    template.update(
        {
            "x-edge-location": "FRA56-P5",
            "cs(Host)": "d1.cloudfront.net",
            "x-edge-result-type": "Hit",
            "x-edge-request-id": "Zw==",
            "cs-protocol": "https",
            "ssl-protocol": "TLSv1.3",
        }
    )
    agents = [quote(a, safe="/;(),:+") for a in AGENTS]
    bots = [quote(a, safe="/;(),:+") for a in BOTS]
    with gzip.open(path, "wt", compresslevel=6) as out:
        out.write("#Version: 1.0\n#Fields: " + " ".join(DEFAULT_FIELDS) + "\n")
        for n in range(lines):
            at = start + timedelta(seconds=n * 86_400 * 2 // lines)
            row = dict(template)
            row["date"], row["time"] = at.strftime("%Y-%m-%d"), at.strftime("%H:%M:%S")
            listener = rng.randrange(LISTENERS)
            row["c-ip"] = f"10.{listener >> 16 & 255}.{listener >> 8 & 255}.{listener & 255}"
            row["cs(User-Agent)"] = agents[listener % len(agents)]
            row["cs-method"], row["sc-status"] = "GET", "206"
            kind = rng.random()
            stem, size = files[listener % len(files)]
            if kind < 0.75:  # a range of an episode
                first = rng.randrange(0, size, 1 << 16)
                last = min(size - 1, first + rng.choice((1, 4, 16)) * 1_048_576 - 1)
                row.update(
                    {
                        "cs-uri-stem": stem,
                        "sc-range-start": str(first),
                        "sc-range-end": str(last),
                        "sc-bytes": str(last - first + 400),
                    }
                )
            elif kind < 0.80:  # range probe
                row.update(
                    {
                        "cs-uri-stem": stem,
                        "sc-range-start": "0",
                        "sc-range-end": "1",
                        "sc-bytes": "402",
                    }
                )
            elif kind < 0.84:  # bot
                row.update(
                    {
                        "cs-uri-stem": stem,
                        "sc-status": "200",
                        "sc-bytes": str(size),
                        "cs(User-Agent)": bots[listener % len(bots)],
                    }
                )
            elif kind < 0.86:
                row.update(
                    {
                        "cs-uri-stem": stem,
                        "cs-method": "HEAD",
                        "sc-status": "200",
                        "sc-bytes": "400",
                    }
                )
            elif kind < 0.96:
                row.update(
                    {"cs-uri-stem": "/bench/feed.xml", "sc-status": "200", "sc-bytes": "48213"}
                )
            else:
                row.update(
                    {"cs-uri-stem": "/covers/bench/c.jpg", "sc-status": "200", "sc-bytes": "90211"}
                )
            out.write("\t".join(row[name] for name in DEFAULT_FIELDS) + "\n")


def bare_loop(path: Path) -> float:
    started = time.perf_counter()
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            line.split("\t")
    return time.perf_counter() - started


def child(db: Path, log: Path, *, ingest_only: bool = False) -> None:
    """In a fresh process: ingest ``log`` into the database copy ``db`` (then aggregate,
    unless ``ingest_only``); print timings and RSS."""
    from django.utils import timezone

    from feeds.analytics.aggregate import aggregate_downloads
    from feeds.analytics.pipeline import ingest_log_sources

    started = time.perf_counter()
    [result] = ingest_log_sources([str(log)], now=timezone.now())
    ingest = time.perf_counter() - started
    counts, aggregate = {"downloads": 0}, 0.0
    if not ingest_only:
        started = time.perf_counter()
        counts = aggregate_downloads(now=timezone.now())
        aggregate = time.perf_counter() - started
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{result.lines} {result.events} {counts['downloads']} {ingest} {aggregate} {rss}")


def run_child(
    var: Path, template_db: Path, log: Path, name: str, *, ingest_only: bool = False
) -> list[float]:
    run_dir = var / name
    run_dir.mkdir()
    shutil.copy(template_db, run_dir / "db.sqlite3")
    env = {**os.environ, "VAR_DIR": str(run_dir)}
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(log), *(["--ingest-only"] * ingest_only)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=3600,
    ).stdout.split()
    return [float(x) for x in out]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--ingest-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        setup_django(Path(os.environ["VAR_DIR"]))
        child(
            Path(os.environ["VAR_DIR"]) / "db.sqlite3",
            Path(args.child),
            ingest_only=args.ingest_only,
        )
        return
    with tempfile.TemporaryDirectory(prefix="bench-analytics-") as tmp:
        var = Path(tmp)
        setup_django(var)
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        files = make_catalogue()
        from django.db import connection

        connection.close()
        full, quarter = var / "full.log.gz", var / "quarter.log.gz"
        print(f"writing {args.lines:,} log lines...", flush=True)
        write_log(full, args.lines, files)
        write_log(quarter, args.lines // 4, files, seed=2)
        print(f"log file: {full.stat().st_size / 2**20:.0f} MiB gzip")
        bare = min(bare_loop(full) for _ in range(2))
        lines, events, downloads, ingest, aggregate, rss_full = run_child(
            var, var / "db.sqlite3", full, "full"
        )
        # The best of two ingests, as the baseline is the best of two reads: on a
        # shared machine one slow run says more about the neighbours than the code.
        again = run_child(var, var / "db.sqlite3", full, "again", ingest_only=True)[3]
        ingest = min(ingest, again)
        *_, rss_quarter = run_child(var, var / "db.sqlite3", quarter, "quarter")
        print(f"lines: {lines:,.0f}; events stored: {events:,.0f}; downloads: {downloads:,.0f}")
        print(f"bare read+split: {bare:.2f} s ({lines / bare:,.0f} lines/s)")
        print(f"ingest (parse, rules, store): {ingest:.2f} s ({lines / ingest:,.0f} lines/s)")
        print(f"aggregate (merge, count): {aggregate:.2f} s")
        print(f"ratio ingest vs bare read+split: {ingest / bare:.2f}")
        print(f"ratio ingest+aggregate vs bare read+split: {(ingest + aggregate) / bare:.2f}")
        print(f"peak RSS, {args.lines // 4:,} lines: {rss_quarter:.0f} MiB")
        print(f"peak RSS, {args.lines:,} lines: {rss_full:.0f} MiB")
        print(f"ratio peak RSS full vs quarter file: {rss_full / rss_quarter:.2f}")


if __name__ == "__main__":
    main()
