"""In production the pages reference hashed static names that WhiteNoise serves for a year."""

from __future__ import annotations

import re
import urllib.request

from podcasthost.services import free_port
from tests.podcasthost.test_settings import PRODUCTION, _run
from tests.servers import web_server


def test_collectstatic_then_pages_use_hashed_names_served_with_long_caching(tmp_path):
    env = {
        **PRODUCTION,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "SECURE_HSTS_SECONDS": "0",
        "VAR_DIR": str(tmp_path / "var"),
        # The commands and the server share one database, whatever the run uses (CI: PostgreSQL).
        "DATABASE_URL": f"sqlite:///{tmp_path / 'var' / 'db.sqlite3'}",
    }
    for args in (
        ["collectstatic", "--noinput"],
        ["migrate", "--noinput"],
        [
            "shell",
            "-c",
            "from episodes.models import Podcast; Podcast.objects.create(slug='prod', "
            "title='Prod', description='d', category='Technology')",
        ],
    ):
        result = _run(args, env, tmp_path)
        assert result.returncode == 0, result.stdout + result.stderr
    manifest = tmp_path / "var" / "static" / "staticfiles.json"
    assert '"feeds/site.css"' in manifest.read_text()

    with web_server(env, free_port(0)) as base:
        with urllib.request.urlopen(f"{base}/prod/") as response:
            page = response.read().decode()
        css = re.search(r'href="(/static/feeds/site\.[0-9a-f]{12}\.css)"', page)[1]
        js = re.search(r'src="(/static/feeds/player\.[0-9a-f]{12}\.js)"', page)[1]
        for path in (css, js):
            with urllib.request.urlopen(f"{base}{path}") as response:
                assert response.status == 200
                assert "immutable" in response.headers["Cache-Control"]
                assert "max-age=315360000" in response.headers["Cache-Control"]
