"""``manage.py attach_chapters SLUG EPISODE-SLUG FILE``: the admin's checks, non-zero on error."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from episodes.chapters.entries import ChapterEntry
from episodes.models import Chapter
from tests.chapters.conftest import THREE, chapters_file


@pytest.fixture
def episode(make_podcast, make_published):
    return make_published(make_podcast(slug="night-radio"), slug="pilot")  # 61.6 s of audio


def run(*args: str) -> tuple[str, str]:
    import io

    out, err = io.StringIO(), io.StringIO()
    call_command("attach_chapters", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def stored(episode) -> list[tuple[float, str]]:
    return list(Chapter.objects.of(episode.pk).values_list("start_seconds", "title"))


def test_attaches_a_file(episode, tmp_path):
    path = tmp_path / "chapters.json"
    path.write_bytes(THREE)

    out, _ = run("night-radio", "pilot", str(path))

    assert out.strip() == "Attached 3 chapter(s) to night-radio/pilot."
    assert stored(episode) == [(0, "Intro"), (2.5, "The interview"), (5, "Listener mail")]


def test_a_refused_file_names_each_problem_and_changes_nothing(episode, tmp_path):
    Chapter.objects.replace_for(episode, [ChapterEntry(1, "Old")])
    path = tmp_path / "chapters.json"
    path.write_bytes(
        chapters_file(
            {"startTime": 0, "title": "A"},
            {"startTime": 0, "title": "B"},
            {"startTime": 70, "title": "Late", "url": "file:///etc/passwd"},
        )
    )
    import io

    err = io.StringIO()
    with pytest.raises(CommandError, match=r"refused, 3 problem\(s\); the chapters are unchanged"):
        call_command("attach_chapters", "night-radio", "pilot", str(path), stderr=err)

    assert err.getvalue().splitlines() == [
        "  Chapter 2 (0:00): starts at the same time as the chapter before it.",
        "  Chapter 3 (1:10): starts after the end of the audio (1:01.6).",
        "  Chapter 3 (1:10): the link is not an http(s) URL.",
    ]
    assert stored(episode) == [(1, "Old")]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("no-show", "pilot"), "No episode “pilot” in a show with the slug “no-show”."),
        (("night-radio", "nope"), "No episode “nope” in a show with the slug “night-radio”."),
    ],
)
def test_unknown_show_or_episode(episode, tmp_path, args, message):
    path = tmp_path / "chapters.json"
    path.write_bytes(THREE)
    with pytest.raises(CommandError, match=message):
        run(*args, str(path))


def test_missing_huge_and_malformed_files(episode, tmp_path):
    with pytest.raises(CommandError, match=r"missing\.json: cannot be read"):
        run("night-radio", "pilot", str(tmp_path / "missing.json"))
    huge = tmp_path / "huge.json"
    huge.write_bytes(b" " * (1024 * 1024 + 1))
    with pytest.raises(CommandError, match=r"1,048,577 bytes; a chapters file may have at most"):
        run("night-radio", "pilot", str(huge))
    broken = tmp_path / "broken.json"
    broken.write_bytes(b'{"chapters": [{"startTime": 0, "title": "x"},]}')
    with pytest.raises(CommandError, match="refused, 1 problem"):
        run("night-radio", "pilot", str(broken))
    assert stored(episode) == []


def test_exit_status_is_non_zero_on_error(episode, tmp_path, capsys):
    from django.core.management import ManagementUtility

    path = tmp_path / "bad.json"
    path.write_bytes(b"[]")
    argv = ["manage.py", "attach_chapters", "night-radio", "pilot", str(path)]

    # As from a shell: the command-line entry point turns the error into exit status 1.
    with pytest.raises(SystemExit) as exited:
        ManagementUtility(argv).execute()

    assert exited.value.code == 1
    err = capsys.readouterr().err
    assert 'Not a chapters file: expected an object with "chapters".' in err
    assert "CommandError: " in err and "refused, 1 problem(s)" in err
