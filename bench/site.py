"""Public site benchmark: show and episode pages against a static file from the same server.

Requests per second of a show page (a show of 1,000 published episodes, its
first page of the list) and of an episode page under gunicorn, each as a ratio
of serving the same bytes as a static file through WhiteNoise from the same
server in the same run: ``ratio <case>: X.XX`` (goal >= 0.5). Cases: ``show``
and ``episode`` (warm 200s), and ``show 304`` (If-None-Match) against the
static file's 304.

Runs with production settings (``DEBUG=0``): ``collectstatic`` first, so the
pages reference hashed static names from the manifest. Sets up its own
environment (temporary VAR_DIR + SQLite, migrate, data); load comes from
``wrk`` if installed, else Python keep-alive clients (helpers shared with
``bench/feeds.py``). Run: ``python bench/site.py``.
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
EPISODES = 1_000


def _feeds_bench():
    # bench/ is not a package, and "feeds" is the app's name: load it under another.
    spec = importlib.util.spec_from_file_location("bench_feeds", HERE / "feeds.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1, help="Load duration per measurement.")
    parser.add_argument("--rounds", type=int, default=5, help="Alternating rounds per case.")
    args = parser.parse_args()
    fb = _feeds_bench()
    with tempfile.TemporaryDirectory(prefix="sitebench-") as tmp:
        var_dir = Path(tmp)
        fb.setup_django(var_dir)
        from django.conf import settings
        from django.core.management import call_command

        call_command("collectstatic", interactive=False, verbosity=0)
        podcast = fb.make_show("site-show", EPISODES)
        show_path = podcast.get_absolute_url()
        episode_path = podcast.episodes.get(slug="e0").get_absolute_url()

        port = fb.free_port()
        # First a server to get the exact bytes of each page ...
        proc = fb.start_gunicorn(var_dir, port, fast_path=False)
        try:
            pages = {}
            for name, path in (("show", show_path), ("episode", episode_path)):
                status, headers, body = fb.fetch(port, path, {})
                assert status == 200, (name, status)
                assert re.search(rb'href="/static/feeds/site\.[0-9a-f]{12}\.css"', body), (
                    "pages must reference hashed static names"
                )
                pages[name] = (path, body, headers["etag"])
        finally:
            proc.terminate()
            proc.wait(timeout=10)
        # ... then the same bytes as static files (WhiteNoise indexes STATIC_ROOT at start).
        static_dir = Path(settings.STATIC_ROOT) / "sitebench"
        static_dir.mkdir(parents=True, exist_ok=True)
        for name, (_, body, _) in pages.items():
            (static_dir / f"{name}.html").write_bytes(body)
        static_url = f"/{settings.STATIC_URL.strip('/')}/sitebench"

        proc = fb.start_gunicorn(var_dir, port, fast_path=False)
        try:
            statics = {}
            for name, (path, body, _) in pages.items():
                status, headers, got = fb.fetch(port, f"{static_url}/{name}.html", {})
                assert status == 200 and got == body, (name, status, len(got))
                statics[name] = (f"{static_url}/{name}.html", headers["etag"])
                status, _, got = fb.fetch(port, path, {})
                assert status == 200 and got == body, (name, "page changed between servers")
            print(
                f"show page {len(pages['show'][1]) / 1000:.1f} kB ({EPISODES} episodes, "
                f"page 1), episode page {len(pages['episode'][1]) / 1000:.1f} kB"
            )
            cases = {
                "show": ("show", {}),
                "episode": ("episode", {}),
                "show 304": ("show", {"If-None-Match": True}),
            }
            for case, (name, headers) in cases.items():
                page_path, _, page_etag = pages[name]
                static_path, static_etag = statics[name]
                if headers:
                    status, _, _ = fb.fetch(port, page_path, {"If-None-Match": page_etag})
                    assert status == 304, (case, status)
                rps = {"page": 0.0, "static": 0.0}
                # Interleave short rounds so a noisy neighbour hits both sides alike.
                for _round in range(args.rounds):
                    for side, path, etag in (
                        ("static", static_path, static_etag),
                        ("page", page_path, page_etag),
                    ):
                        h = {"If-None-Match": etag} if headers else {}
                        rps[side] += fb.load(port, path, h, args.seconds)
                print(
                    f"{case:>8}: page {rps['page'] / args.rounds:9.0f} req/s, "
                    f"WhiteNoise {rps['static'] / args.rounds:9.0f} req/s"
                )
                print(f"ratio {case}: {rps['page'] / rps['static']:.2f}")
        finally:
            proc.terminate()
            proc.wait(timeout=10)


if __name__ == "__main__":
    main()
