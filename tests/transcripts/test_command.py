"""``manage.py attach_transcript SLUG EPISODE-SLUG FILE [--language L]``."""

from __future__ import annotations

import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from episodes.models import Transcript
from tests.transcripts.conftest import FILES

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def episode(make_podcast, make_published):
    return make_published(make_podcast(slug="lights", language="en-GB"), slug="keepers")


def run(*args: str) -> str:
    out = StringIO()
    call_command("attach_transcript", *args, stdout=out)
    return out.getvalue()


def test_a_file_is_attached_in_the_shows_language_and_its_urls_printed(episode, settings):
    output = run("lights", "keepers", str(FILES / "lighthouse-windows.srt"))

    transcript = Transcript.objects.get(episode=episode)
    assert (transcript.language, transcript.status, transcript.origin) == (
        "en-GB",
        "published",
        "uploaded",
    )
    assert len(transcript.cues) == 4
    assert "Attached 4 cue(s) in “en-GB” to lights/keepers" in output
    for ext in ("vtt", "srt", "json", "txt"):
        assert f"{settings.PUBLIC_BASE_URL}/lights/keepers/transcript.en-GB.{ext}" in output


def test_language_option_and_running_again_replaces_that_language(episode):
    run("lights", "keepers", str(FILES / "lighthouse.vtt"), "--language", "pt-BR")
    run("lights", "keepers", str(FILES / "lighthouse-windows.srt"), "--language", "pt-BR")
    transcript = Transcript.objects.get(episode=episode)
    assert transcript.language == "pt-BR"
    assert transcript.source_filename == "lighthouse-windows.srt"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("nope", "keepers", "x.vtt"), "No episode “keepers” in a show “nope”."),
        (("lights", "nope", "x.vtt"), "No episode “nope” in a show “lights”."),
        (("lights", "keepers", "/no/such/file.vtt"), "/no/such/file.vtt: No such file"),
        (
            ("lights", "keepers", str(FILES / "lighthouse.vtt"), "--language", "english!"),
            "“english!” is not a language tag",
        ),
    ],
)
def test_mistakes_are_refused_with_what_is_wrong(episode, args, message):
    with pytest.raises(CommandError) as caught:
        run(*args)
    assert message in str(caught.value)
    assert not Transcript.objects.exists()


def test_a_bad_file_is_refused_with_its_line(episode, tmp_path):
    bad = tmp_path / "bad.srt"
    bad.write_bytes(
        b"1\r\n00:00:01,000 --> 00:00:02,000\r\nfine\r\n\r\n2\r\n00:00:09,000 --> 00:00:03,000\r\nx"
    )
    with pytest.raises(CommandError) as caught:
        run("lights", "keepers", str(bad))
    assert str(caught.value) == (
        f"{bad}: line 6: the cue ends (00:00:03,000) before it starts (00:00:09,000)."
    )
    assert not Transcript.objects.exists()


def test_a_100_mb_file_is_refused_before_it_is_read(episode, tmp_path):
    huge = tmp_path / "huge.vtt"
    with huge.open("wb") as f:
        f.write(b"WEBVTT\n\n")
        f.truncate(100 * 1024**2)
    with pytest.raises(CommandError) as caught:
        run("lights", "keepers", str(huge))
    assert "the file has 104,857,600 bytes; transcripts may have at most 10,485,760 bytes" in str(
        caught.value
    )
    assert not Transcript.objects.exists()


def test_the_command_exits_non_zero_with_the_reason_on_stderr(tmp_path):
    bad = tmp_path / "bad.vtt"
    bad.write_text("not a webvtt file\n")
    env = {
        "PATH": "/usr/bin:/bin",
        "VAR_DIR": str(tmp_path / "var"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    }

    def manage(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
            env=env,
        )

    assert manage("migrate", "-v", "0").returncode == 0
    result = manage("attach_transcript", "no-show", "no-episode", str(bad))
    assert result.returncode == 1
    assert "No episode “no-episode” in a show “no-show”." in result.stderr
