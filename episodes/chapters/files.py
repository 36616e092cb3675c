"""Chapters inside the audio files, for apps that read no Podcasting 2.0 JSON.

MP3: ID3v2 ``CHAP`` frames (title in ``TIT2``, link in ``WXXX``) and one
top-level ordered ``CTOC`` listing the chapters shown in the table of
contents, per the ID3v2 Chapter Frame Addendum
(https://id3.org/id3v2-chapters-1.0). M4A: the chapter track Apple's
players read, written by ffmpeg's MP4 muxer from an FFMETADATA file while
the audio packets are copied (``-c copy``), with ``+faststart`` so the file
still streams.

Neither touches the encoded audio: the tags are rewritten around the same
frames. Each tagged file gets its own key, derived from the untagged one (the
transcoder's output, never changed) and a digest of what was written, so a
published URL never changes content and the same chapters always give the
same key (a redelivered task redoes nothing).
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path

from mutagen.id3 import CHAP, CTOC, ID3, TIT2, WXXX, CTOCFlags, Encoding, ID3NoHeaderError

from episodes.chapters.entries import ChapterEntry
from podcasthost import subprocesses

#: Bumped when what the writers put into a file changes: new keys, new files.
WRITER_VERSION = 1
_TAGGED = re.compile(r"-ch[0-9a-f]{12}(?=\.[A-Za-z0-9]+$)")

#: ``(source, destination, chapters, duration_seconds)``: writes a tagged copy.
Writer = Callable[[Path, Path, Sequence[ChapterEntry], float], None]


class ChapterWriteError(Exception):
    """A file could not be tagged (ffmpeg refused it); ``str()`` says why."""


def base_key_of(key: str) -> str:
    """The untagged rendition ``key`` was made from (``key`` itself when it is untagged)."""
    return _TAGGED.sub("", key)


def tagged_key(base_key: str, chapters: Sequence[ChapterEntry], duration_seconds: float) -> str:
    """The key of ``base_key`` with ``chapters`` written in: ``…/mp3-2-ch<digest>.mp3``."""
    payload = json.dumps(
        [
            WRITER_VERSION,
            round(duration_seconds, 3),
            [[c.start_seconds, c.title, c.url, c.image_url, c.toc] for c in chapters],
        ],
        ensure_ascii=False,
    )
    digest = hashlib.sha256(payload.encode()).hexdigest()[:12]
    stem, dot, ext = base_key.rpartition(".")
    return f"{stem}-ch{digest}{dot}{ext}" if dot else f"{base_key}-ch{digest}"


def spans(chapters: Sequence[ChapterEntry], duration_seconds: float) -> list[tuple[int, int]]:
    """(start, end) of each chapter in milliseconds: each ends where the next starts."""
    starts = [round(c.start_seconds * 1000) for c in chapters]
    ends = [*starts[1:], max(round(duration_seconds * 1000), starts[-1] + 1)] if starts else []
    return list(zip(starts, ends, strict=True))


def write_id3_chapters(
    source: Path, destination: Path, chapters: Sequence[ChapterEntry], duration_seconds: float
) -> None:
    """Copy the MP3 ``source`` to ``destination`` with ``chapters`` as CHAP/CTOC frames.

    Other frames are kept; earlier CHAP/CTOC frames are replaced. The tag keeps
    the ID3 version the file had (ffmpeg writes v2.3, which every player reads).
    """
    shutil.copyfile(source, destination)
    try:
        tags = ID3(destination)
    except ID3NoHeaderError:
        tags = ID3()
    tags.delall("CHAP")
    tags.delall("CTOC")
    listed = []
    for n, (chapter, (start, end)) in enumerate(
        zip(chapters, spans(chapters, duration_seconds), strict=True), 1
    ):
        element_id = f"chp{n}"
        sub_frames = [TIT2(encoding=Encoding.UTF8, text=[chapter.title])]
        if chapter.url:
            sub_frames.append(WXXX(encoding=Encoding.UTF8, desc="chapter url", url=chapter.url))
        tags.add(
            CHAP(
                element_id=element_id,
                start_time=start,
                end_time=end,
                # 0xFFFFFFFF: "use the times", the byte offsets are not given.
                start_offset=0xFFFFFFFF,
                end_offset=0xFFFFFFFF,
                sub_frames=sub_frames,
            )
        )
        if chapter.toc:
            listed.append(element_id)
    tags.add(
        CTOC(
            element_id="toc",
            flags=CTOCFlags.TOP_LEVEL | CTOCFlags.ORDERED,
            child_element_ids=listed,
            sub_frames=[TIT2(encoding=Encoding.UTF8, text=["Chapters"])],
        )
    )
    version = tags.version[1] if tags.version and tags.version[1] in (3, 4) else 3
    tags.save(destination, v2_version=version)


def ffmetadata(chapters: Sequence[ChapterEntry], duration_seconds: float) -> str:
    """``chapters`` as an FFMETADATA1 file (https://ffmpeg.org/ffmpeg-formats.html#Metadata-1)."""
    lines = [";FFMETADATA1"]
    for chapter, (start, end) in zip(chapters, spans(chapters, duration_seconds), strict=True):
        lines += ["[CHAPTER]", "TIMEBASE=1/1000", f"START={start}", f"END={end}"]
        lines.append(f"title={_escape(chapter.title)}")
    return "\n".join(lines) + "\n"


def _escape(value: str) -> str:
    # The format escapes these with a backslash; a newline would end the value.
    value = " ".join(value.split())
    return re.sub(r"([=;#\\])", r"\\\1", value)


def mp4_writer(binary: str) -> Writer:
    """A writer of M4A chapters with the ffmpeg at ``binary``."""

    def write(
        source: Path, destination: Path, chapters: Sequence[ChapterEntry], duration_seconds: float
    ) -> None:
        """Remux ``source`` into ``destination`` with ``chapters``; the audio is copied as is.

        MP4 has no silent chapters: those not listed (``toc=False``) are left
        out, the chapter before them running on.
        """
        listed = [c for c in chapters if c.toc] or list(chapters[:1])
        meta = destination.with_suffix(".ffmeta")
        meta.write_text(ffmetadata(listed, duration_seconds), encoding="utf-8")
        cmd = [binary, "-hide_banner", "-nostdin", "-loglevel", "error", "-y"]
        cmd += ["-i", str(source), "-f", "ffmetadata", "-i", str(meta)]
        cmd += ["-map", "0:a", "-map_metadata", "0", "-map_chapters", "1", "-c", "copy"]
        cmd += ["-movflags", "+faststart", "-f", "ipod", str(destination)]
        try:
            proc = subprocesses.run(
                cmd, timeout=600, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
            )
        except subprocess.TimeoutExpired:
            raise ChapterWriteError("ffmpeg took too long to write the M4A chapters.") from None
        if proc.returncode != 0:
            tail = proc.stderr.decode(errors="replace")[-500:]
            raise ChapterWriteError(f"ffmpeg could not write the M4A chapters: {tail}")

    return write


def writer_for(container: str, binary: str) -> Writer | None:
    """The chapter writer of a preset's container (ffmpeg's muxer name); ``None``: not tagged."""
    if container == "mp3":
        return write_id3_chapters
    if container in ("ipod", "mp4"):
        return mp4_writer(binary)
    return None
