"""Benchmark: the offline draft transcriber on minutes of synthetic speech of a known text.

    python bench/transcribe.py [--copies 1]

Speaks :data:`TEXT` (about 480 words, some three minutes; ``--copies N``
repeats it) with two synthesizers from Debian, then times, in this process:

* baseline — ffmpeg decoding the file to 16 kHz mono PCM through a pipe, the
  transcriber's own input step, alone;
* transcriber — ``PocketSphinxTranscriber`` (the default ``TRANSCRIBER_BACKEND``):
  decode, endpoint, recognise, group into cues.

The voices:

* ``flite`` (Debian's ``flite``, CMU's synthesizer; voice ``rms``, built from
  recordings of a human speaker): the measured lines, ``real-time factor``
  (audio seconds per wall second; goal ≥ 2 on a 2-core machine) and ``word
  error rate`` against the known text (goal ≤ 0.30). It is the nearer stand-in
  for a podcast's human speech, which is what the recogniser was trained on.
* ``espeak-ng`` (the formant voice the tests use): printed as ``espeak-ng …``
  lines for comparison. Its robotic speech is much harder for PocketSphinx
  (word error rate about 0.5), so it is a floor, not the goal's measure.

Without ``flite`` installed the measured lines come from espeak-ng, and say so.
It sets up its own Django environment (temporary VAR_DIR and SQLite database).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TEXT = (
    "Welcome to the show. Today we talk about gardening in small city apartments. "
    "Many people believe that you need a large garden to grow your own food, but that is not "
    "true. A sunny window and a few pots are enough to start. Tomatoes need plenty of sunlight "
    "and regular water. Basil grows well next to them, and the two taste good together. "
    "Lettuce is easy, because it grows quickly and does not mind a little shade. "
    "Next week we will visit a farmer who grows apples in the mountains. She told us that the "
    "weather this spring was cold and wet, and the trees flowered late. Still, she expects a "
    "good harvest in the autumn. Her family has worked on the same land for three generations. "
    "They sell their apples at the market in town every Saturday morning. "
    "Now, a question from a listener. Mark writes that his plants turn yellow after a few weeks. "
    "Thank you for the question, Mark. Yellow leaves often mean too much water. Let the soil "
    "dry a little between each watering, and make sure the pot has holes in the bottom. "
    "Another listener, Anna, asks which plants are safe for cats. Most herbs are fine, but "
    "please check each plant before you bring it home. "
    "Before we finish, a word about compost. Kitchen waste such as vegetable peel, coffee and "
    "tea leaves can feed your plants for free. A small box with a lid is enough for an "
    "apartment, and it does not smell if you mix in dry paper. After a few months you have "
    "dark and rich soil. Your plants will thank you. "
    "That is all for today. If you enjoyed this episode, tell a friend about the show, and send "
    "us your questions for the next one. We read every message. Until next time, happy "
    "gardening, and remember to water your tomatoes in the morning, not in the heat of the day. "
    "Goodbye, and thank you for listening to the show. "
    "In the next episode we look at herbs that grow in winter, and we answer more of your "
    "questions about soil, light and water. We will also talk to a teacher who started a garden "
    "on the roof of her school, where the children grow beans, peas and carrots every year. "
    "She says the children learn about food, patience and the seasons, and they are proud to "
    "take the vegetables home to their parents at the end of the summer."
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=1, help="times the text is spoken")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="podcasthost-bench-transcribe-"))
    (work / "var").mkdir()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "podcasthost.settings")
    os.environ.update(
        {
            "VAR_DIR": str(work / "var"),
            "DATABASE_URL": f"sqlite:///{work / 'var' / 'bench.sqlite3'}",
            "DEBUG": "1",
            "LOG_LEVEL": "WARNING",
        }
    )
    import django

    django.setup()
    from episodes.probe import ffmpeg_binary
    from episodes.transcribers import TranscribeRequest
    from episodes.transcribers.pocketsphinx import (
        BYTES_PER_SECOND,
        PocketSphinxTranscriber,
        pcm_command,
    )
    from tests.transcription.speech import content_words, recall, speak, word_error_rate

    text = " ".join([TEXT] * args.copies)

    def measure(label: str, source: Path) -> tuple[float, float, float, list]:
        """(audio seconds, baseline seconds, transcriber seconds, cues) of one spoken file."""
        print(f"{label}: baseline (ffmpeg → 16 kHz PCM through a pipe) …", flush=True)
        started = time.perf_counter()
        pcm = subprocess.run(pcm_command(ffmpeg_binary(), source), capture_output=True, check=True)
        baseline_seconds = time.perf_counter() - started
        audio_seconds = len(pcm.stdout) / BYTES_PER_SECOND
        print(f"{label}: transcriber (PocketSphinx) …", flush=True)
        request = TranscribeRequest(
            transcript_id=1,
            episode_id=1,
            attempt=1,
            language="en",
            source_key=source.name,
            duration_seconds=audio_seconds,
        )
        started = time.perf_counter()
        cues = PocketSphinxTranscriber().transcribe(source, request, None)
        return audio_seconds, baseline_seconds, time.perf_counter() - started, cues

    voices = []
    flite = shutil.which("flite")
    if flite:
        source = work / "speech-flite.wav"
        print(f"speaking {len(text.split())} words with flite (voice rms) …", flush=True)
        subprocess.run([flite, "-voice", "rms", "-t", text, "-o", str(source)], check=True)
        voices.append(("flite", source))
    source = work / "speech-espeak.wav"
    print(f"speaking {len(text.split())} words with espeak-ng …", flush=True)
    speak(text, source)
    voices.append(("espeak-ng", source))

    results = [(label, *measure(label, source)) for label, source in voices]
    print()
    for n, (label, audio_seconds, baseline_seconds, transcriber_seconds, cues) in enumerate(
        results
    ):
        heard = " ".join(cue.text for cue in cues)
        # The first voice gives the goal's lines; the other is printed prefixed.
        prefix = "" if n == 0 else f"{label} "
        print(f"{label}: audio {audio_seconds:.1f} s, {len(text.split())} words, {len(cues)} cues")
        print(
            f"{label}: baseline {baseline_seconds:.2f} s, transcriber {transcriber_seconds:.2f} s"
        )
        print(f"{prefix}baseline real-time factor: {audio_seconds / baseline_seconds:.1f}")
        print(f"{prefix}real-time factor: {audio_seconds / transcriber_seconds:.1f}  (goal ≥ 2)")
        print(f"{prefix}word error rate: {word_error_rate(text, heard):.2f}  (goal ≤ 0.30)")
        print(
            f"{prefix}content words recognised: {recall(text, heard):.2f} "
            f"of {len(set(content_words(text)))} distinct"
        )
        print(f"{label}: first cues: {' | '.join(c.text for c in cues[:3])}")
    if not flite:
        print("(flite is not installed: the measured lines above are espeak-ng's)")
    subprocess.run(["rm", "-rf", str(work)], check=False)


if __name__ == "__main__":
    main()
