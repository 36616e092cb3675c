"""The one-machine transcriber: PocketSphinx inside the Celery worker.

PocketSphinx 5 (https://github.com/cmusphinx/pocketsphinx) ships its US
English acoustic model, dictionary and language model inside its wheel, so
nothing is downloaded at run time, and it has no other language. The source
is decoded by the project's ffmpeg to 16 kHz mono 16-bit PCM and streamed
through a pipe: PocketSphinx's voice-activity endpointer cuts it into
utterances (at most ``max_utterance_seconds`` each, so memory stays bounded
whatever the episode's length) and each utterance is decoded on its own.
Word times come from the decoder's segments; :func:`~episodes.transcribers.words.group_words`
makes cues of them.

The live cepstral mean normalisation starts from a generic estimate and
needs a few seconds of audio to adapt; the first ``cmn_warmup_seconds`` are
therefore decoded once and thrown away before the real pass (without it the
first sentences come out as noise).

The result is written to the ``uploads`` storage (private) at the request's
``result_key``; :meth:`PocketSphinxTranscriber.status` reads it back, so a
job recorded by a worker that then died is still found, and a missing result
reads LOST (the pipeline runs it again).
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from botocore.exceptions import BotoCoreError, ClientError

from episodes.probe import ffmpeg_binary
from episodes.transcribers.base import (
    JobState,
    ProgressCallback,
    Transcriber,
    TranscribeRequest,
    TranscriptionError,
    TranscriptionStatus,
    TransientTranscriberError,
)
from episodes.transcribers.words import Word, group_words
from episodes.transcripts.cues import cues_from_json, cues_to_json
from podcasthost import subprocesses
from podcasthost.storage import get_storage

JOB_PREFIX = "pocketsphinx:"
SAMPLE_RATE = 16_000
BYTES_PER_SECOND = SAMPLE_RATE * 2
# Tuned with bench/transcribe.py on espeak-ng speech: one forward-tree pass
# plus the best-path rescoring (no flat-lexicon pass) and at most 3000 active
# HMMs a frame cost 40 % less CPU than PocketSphinx's defaults and recognise
# slightly more (word error rate 0.47 against 0.50 on its text).
# ``decoder_options`` override them: any PocketSphinx config parameter.
DEFAULT_DECODER_OPTIONS: dict[str, Any] = {"fwdflat": False, "maxhmmpf": 3000}
# "word(2)": the second pronunciation of "word" in the dictionary.
_VARIANT = re.compile(r"\(\d+\)$")


def _is_word(token: str) -> bool:
    # <s>, </s>, <sil>, [NOISE], +BREATH+ are silence and fillers, not speech.
    return bool(token) and token[0] not in "<[+"


def pcm_command(binary: str, source: Path) -> list[str]:
    """ffmpeg decoding the first audio stream of ``source`` to 16 kHz mono s16le on stdout."""
    return [
        binary,
        *("-hide_banner", "-nostdin", "-loglevel", "error", "-i", str(source)),
        *("-map", "0:a:0", "-ac", "1", "-ar", str(SAMPLE_RATE), "-f", "s16le", "pipe:1"),
    ]


class SpeechDecoder:
    """Words from a stream of 16 kHz mono s16le PCM, utterance by utterance."""

    def __init__(
        self,
        *,
        cmn_warmup_seconds: float = 8.0,
        max_utterance_seconds: float = 30.0,
        decoder_options: dict[str, Any] | None = None,
    ) -> None:
        from pocketsphinx import Decoder, Endpointer

        # The default model is the en-us one inside the wheel (get_model_path()).
        options = {**DEFAULT_DECODER_OPTIONS, **(decoder_options or {})}
        self.decoder = Decoder(samprate=SAMPLE_RATE, loglevel="FATAL", **options)
        self.endpointer = Endpointer(sample_rate=SAMPLE_RATE)
        self.frame_rate = int(self.decoder.config["frate"])
        self.cmn_warmup_bytes = int(cmn_warmup_seconds * BYTES_PER_SECOND) // 2 * 2
        self.max_utterance_seconds = max_utterance_seconds

    def words(
        self, pcm: IO[bytes], *, on_bytes: Callable[[int], None] | None = None
    ) -> Iterator[Word]:
        """Decode ``pcm`` to its end; ``on_bytes(n)`` after each chunk read (progress)."""
        frame_bytes = self.endpointer.frame_bytes
        head = pcm.read(self.cmn_warmup_bytes) if self.cmn_warmup_bytes else b""
        if head:
            self.decoder.start_utt()
            self.decoder.process_raw(head, False, True)
            self.decoder.end_utt()
        buffer = head
        in_utterance = False
        utterance_start = 0.0
        stream_seconds = 0.0
        eof = False
        while not eof:
            chunk = pcm.read(frame_bytes * 64)
            if not chunk:
                eof = True
                if len(buffer) % frame_bytes:
                    buffer += b"\0" * (frame_bytes - len(buffer) % frame_bytes)
            else:
                buffer += chunk
                if on_bytes is not None:
                    on_bytes(len(chunk))
            usable = len(buffer) - len(buffer) % frame_bytes
            for offset in range(0, usable, frame_bytes):
                stream_seconds += self.endpointer.frame_length
                speech = self.endpointer.process(buffer[offset : offset + frame_bytes])
                if speech is None:
                    continue
                if not in_utterance:
                    self.decoder.start_utt()
                    in_utterance = True
                    utterance_start = self.endpointer.speech_start
                self.decoder.process_raw(speech, False, False)
                too_long = stream_seconds - utterance_start > self.max_utterance_seconds
                if not self.endpointer.in_speech or too_long:
                    yield from self._end_utterance(utterance_start)
                    in_utterance = False
                    if too_long and self.endpointer.in_speech:
                        # Go on in a new utterance from here (mid-speech cut).
                        self.decoder.start_utt()
                        in_utterance = True
                        utterance_start = stream_seconds
            buffer = buffer[usable:]
        if in_utterance:
            yield from self._end_utterance(utterance_start)

    def _end_utterance(self, offset: float) -> Iterator[Word]:
        self.decoder.end_utt()
        for seg in self.decoder.seg():
            token = _VARIANT.sub("", seg.word)
            if _is_word(token):
                yield Word(
                    start=round(offset + seg.start_frame / self.frame_rate, 2),
                    end=round(offset + (seg.end_frame + 1) / self.frame_rate, 2),
                    text=token,
                )


class PocketSphinxTranscriber(Transcriber):
    """Runs the job synchronously in the calling worker (``submit`` returns when done)."""

    options = frozenset(
        {
            "binary",
            "progress_interval_seconds",
            "cmn_warmup_seconds",
            "max_utterance_seconds",
            "max_cue_seconds",
            "pause_seconds",
            "decoder_options",
        }
    )

    def __init__(
        self,
        *,
        binary: str = "",
        progress_interval_seconds: float = 2.0,
        cmn_warmup_seconds: float = 8.0,
        max_utterance_seconds: float = 30.0,
        max_cue_seconds: float = 6.0,
        pause_seconds: float = 0.6,
        decoder_options: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.binary = binary or ffmpeg_binary()
        self.progress_interval_seconds = float(progress_interval_seconds)
        self.cmn_warmup_seconds = float(cmn_warmup_seconds)
        self.max_utterance_seconds = float(max_utterance_seconds)
        self.max_cue_seconds = float(max_cue_seconds)
        self.pause_seconds = float(pause_seconds)
        self.decoder_options = dict(decoder_options or {})

    def unsupported_language(self, language: str) -> str | None:
        if language.lower().split("-")[0] == "en":
            return None
        return (
            f"Automatic transcripts on this server are in English only: the offline "
            f"recogniser (PocketSphinx) ships no model for “{language}”, the show's language. "
            "Upload a transcript instead, or use Amazon Transcribe (TRANSCRIBER_BACKEND)."
        )

    @staticmethod
    def job_id_for(request: TranscribeRequest) -> str:
        return JOB_PREFIX + request.result_key

    def submit(
        self, request: TranscribeRequest, *, on_progress: ProgressCallback | None = None
    ) -> str:
        """Transcribe the source and store the cues at the request's ``result_key``.

        Idempotent: a run whose result exists is not decoded again. Raises
        :class:`TranscriptionError` if the audio cannot be decoded.
        """
        job_id = self.job_id_for(request)
        uploads = get_storage("uploads")
        if uploads.exists(request.result_key):
            return job_id
        try:
            if request.source_path is not None:
                cues = self.transcribe(Path(request.source_path), request, on_progress)
            else:
                suffix = Path(request.source_key).suffix
                with uploads.local_copy(request.source_key, suffix=suffix) as source:
                    cues = self.transcribe(source, request, on_progress)
        except FileNotFoundError as exc:
            raise TranscriptionError("The episode's audio file could not be found.") from exc
        except (OSError, BotoCoreError, ClientError) as exc:
            raise TransientTranscriberError(f"Reading the audio failed: {exc}") from exc
        body = json.dumps({"cues": cues_to_json(cues)}).encode()
        uploads.put_bytes(
            request.result_key, body, content_type="application/json", cache_control="no-store"
        )
        return job_id

    def transcribe(
        self, source: Path, request: TranscribeRequest, on_progress: ProgressCallback | None
    ) -> list:
        """The cues of ``source`` (a local file), reporting progress on the way."""
        decoder = SpeechDecoder(
            cmn_warmup_seconds=self.cmn_warmup_seconds,
            max_utterance_seconds=self.max_utterance_seconds,
            decoder_options=self.decoder_options,
        )
        duration = request.duration_seconds or 0.0
        done = 0
        last_report = time.monotonic()

        def on_bytes(n: int) -> None:
            nonlocal done, last_report
            done += n
            now = time.monotonic()
            if on_progress and duration > 0 and now - last_report >= self.progress_interval_seconds:
                last_report = now
                on_progress(min(99, math.floor(100 * done / BYTES_PER_SECOND / duration)))

        with tempfile.TemporaryFile() as errlog:
            proc = subprocesses.popen(
                pcm_command(self.binary, source), stdout=subprocess.PIPE, stderr=errlog
            )
            try:
                words = list(decoder.words(proc.stdout, on_bytes=on_bytes))
                proc.wait()
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
            if proc.returncode != 0:
                errlog.seek(0)
                tail = errlog.read().decode("utf-8", "replace").strip().splitlines()[-2:]
                raise TranscriptionError("The audio could not be decoded: " + " / ".join(tail))
        return group_words(
            words, max_seconds=self.max_cue_seconds, pause_seconds=self.pause_seconds
        )

    def status(self, job_id: str) -> TranscriptionStatus:
        """COMPLETE with the cues once the result exists; LOST otherwise."""
        if not job_id.startswith(JOB_PREFIX):
            return TranscriptionStatus(JobState.LOST, error=f"Not a PocketSphinx job: {job_id}")
        try:
            with get_storage("uploads").open(job_id[len(JOB_PREFIX) :], "rb") as f:
                data = json.load(f)
        except (FileNotFoundError, ClientError):
            return TranscriptionStatus(JobState.LOST, error="The transcription left no result.")
        except (OSError, BotoCoreError) as exc:
            raise TransientTranscriberError(f"Reading the transcription failed: {exc}") from exc
        except ValueError as exc:
            raise TranscriptionError(f"The transcription's result is unreadable: {exc}") from exc
        return TranscriptionStatus(
            JobState.COMPLETE, percent=100, cues=tuple(cues_from_json(data["cues"]))
        )

    def discard(self, job_id: str) -> None:
        """Delete the stored result once the pipeline has recorded it."""
        if job_id.startswith(JOB_PREFIX):
            get_storage("uploads").delete_quietly(job_id[len(JOB_PREFIX) :])
