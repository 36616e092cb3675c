"""Benchmark: writing chapters into renditions vs encoding them again.

    python bench/chapters.py [--minutes 30] [--chapters 40]

Generates a stereo 44.1 kHz speech-like source, encodes it once into the MP3
(192 kb/s) and M4A (AAC 160 kb/s) renditions, then times, in this process:

* tagging — what ``apply_chapters`` does per change: a copy of the MP3 with
  ID3 ``CHAP``/``CTOC`` frames (mutagen) and the M4A remuxed with a chapter
  track (ffmpeg ``-c copy``);
* baseline — encoding both renditions again from the source (what changing
  the chapters would cost if it re-transcoded).

Prints ``ratio vs re-encode`` (goal ≤ 0.10) and checks that the tagged files'
audio packets hash as the untagged ones (nothing was re-encoded).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ENCODES = [  # extension, codec options, muxer
    (
        "mp3",
        ["-c:a", "libmp3lame", "-b:a", "192k", "-write_xing", "1", "-id3v2_version", "3"],
        "mp3",
    ),
    ("m4a", ["-c:a", "aac", "-b:a", "160k", "-movflags", "+faststart"], "ipod"),
]


def ffmpeg_exe() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def encode(ffmpeg: str, source: Path, folder: Path, suffix: str = "") -> list[Path]:
    outputs = []
    cmd = [ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-i", str(source)]
    for ext, options, muxer in ENCODES:
        path = folder / f"rendition{suffix}.{ext}"
        cmd += ["-map", "0:a", *options, "-ar", "44100", "-f", muxer, str(path)]
        outputs.append(path)
    subprocess.run(cmd, check=True)
    return outputs


def packets_md5(ffmpeg: str, path: Path) -> str:
    cmd = [ffmpeg, "-v", "error", "-nostdin", "-i", str(path), "-map", "0:a", "-c", "copy"]
    return subprocess.run([*cmd, "-f", "md5", "-"], capture_output=True, check=True).stdout.decode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--chapters", type=int, default=40)
    args = parser.parse_args()

    from episodes.chapters.entries import ChapterEntry
    from episodes.chapters.files import mp4_writer, write_id3_chapters

    ffmpeg = ffmpeg_exe()
    seconds = args.minutes * 60
    chapters = [
        ChapterEntry(i * seconds / args.chapters, f"Chapter {i + 1}", url="https://example.com/")
        for i in range(args.chapters)
    ]
    with tempfile.TemporaryDirectory(prefix="bench-chapters-") as tmp:
        folder = Path(tmp)
        source = folder / "source.wav"
        noise = f"anoisesrc=color=pink:sample_rate=44100:duration={seconds}:seed=3"
        generate = [ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-y"]
        generate += [
            "-f",
            "lavfi",
            "-i",
            noise,
            "-af",
            "bandpass=frequency=900:width_type=h:width=1400",
        ]
        subprocess.run([*generate, "-ac", "2", str(source)], check=True)
        mp3, m4a = encode(ffmpeg, source, folder)

        started = time.perf_counter()
        write_id3_chapters(mp3, folder / "tagged.mp3", chapters, seconds)
        mp4_writer(ffmpeg)(m4a, folder / "tagged.m4a", chapters, seconds)
        tagging = time.perf_counter() - started

        started = time.perf_counter()
        encode(ffmpeg, source, folder, suffix="-again")
        baseline = time.perf_counter() - started

        same = all(
            packets_md5(ffmpeg, a) == packets_md5(ffmpeg, b)
            for a, b in ((mp3, folder / "tagged.mp3"), (m4a, folder / "tagged.m4a"))
        )
    print(f"audio: {args.minutes:g} min, {args.chapters} chapters, MP3 + M4A")
    print(f"tagging:    {tagging:8.2f} s")
    print(f"re-encode:  {baseline:8.2f} s")
    print(f"ratio vs re-encode: {tagging / baseline:.3f} (goal <= 0.10)")
    print(f"audio packets unchanged: {'yes' if same else 'NO'}")
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
