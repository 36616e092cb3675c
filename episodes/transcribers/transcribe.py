"""Amazon Transcribe: one ``StartTranscriptionJob`` per run, ``GetTranscriptionJob`` to follow it.

The job reads the episode's source where the browser uploaded it (the
``uploads`` bucket, ``s3://`` URI from the storage) and writes its JSON to
the same bucket at the run's ``result_key`` (``OutputBucketName`` +
``OutputKey``; a key ending in ``.json`` is the file's exact name:
https://docs.aws.amazon.com/transcribe/latest/APIReference/API_StartTranscriptionJob.html).
Without ``DataAccessRoleArn`` Transcribe uses the caller's permissions for
both, so the app's policy grants exactly those keys (deploy/template.yaml).

The job name is the run's (:attr:`TranscribeRequest.job_name`): names are
unique per account, so a redelivered submit gets ``ConflictException`` and
follows the job already running instead of starting another.

Output (``results.items``): ``pronunciation`` items carry ``start_time`` /
``end_time`` and the word; ``punctuation`` items attach to the word before.
https://docs.aws.amazon.com/transcribe/latest/dg/how-input.html#how-output
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from django.conf import settings

from episodes.transcribers.base import (
    JobState,
    ProgressCallback,
    Transcriber,
    TranscribeRequest,
    TranscriptionError,
    TranscriptionStatus,
    TransientTranscriberError,
    result_key_for,
)
from episodes.transcribers.words import Word, group_words
from episodes.transcripts.cues import Cue
from podcasthost.storage import get_storage

# Error codes worth retrying: throttling and service-side faults.
# https://docs.aws.amazon.com/transcribe/latest/APIReference/CommonErrors.html
_TRANSIENT_CODES = {
    "LimitExceededException",
    "ThrottlingException",
    "InternalFailureException",
    "ServiceUnavailableException",
    "RequestTimeout",
}
_STATES = {
    "QUEUED": JobState.SUBMITTED,
    "IN_PROGRESS": JobState.PROGRESSING,
    "COMPLETED": JobState.COMPLETE,
    "FAILED": JobState.ERROR,
}
# A bare language ("en") maps to its most used variant; anything else to the
# first variant of the service model's LanguageCode list.
_PREFERRED = {
    "ar": "ar-SA",
    "de": "de-DE",
    "en": "en-US",
    "es": "es-US",
    "fr": "fr-FR",
    "it": "it-IT",
    "ja": "ja-JP",
    "ko": "ko-KR",
    "nl": "nl-NL",
    "pt": "pt-BR",
    "zh": "zh-CN",
}


def _classify(exc: Exception) -> Exception:
    """Map a botocore exception to a transient or permanent transcriber error."""
    from botocore.exceptions import BotoCoreError, ClientError

    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = error.get("Code", "")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        message = error.get("Message", str(exc))
        if code in _TRANSIENT_CODES or status == 429 or status >= 500:
            return TransientTranscriberError(f"Amazon Transcribe {code or status}: {message}")
        return TranscriptionError(f"Amazon Transcribe refused the job ({code}): {message}")
    if isinstance(exc, BotoCoreError):
        return TransientTranscriberError(f"Amazon Transcribe unreachable: {exc}")
    return exc


def _error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None) or {}
    return response.get("Error", {}).get("Code", "")


def words_of(items: Iterable[dict]) -> list[Word]:
    """The words of Transcribe's ``results.items``, punctuation attached to the word before."""
    words: list[Word] = []
    for item in items:
        alternatives = item.get("alternatives") or [{}]
        content = str(alternatives[0].get("content", "")).strip()
        if not content:
            continue
        if item.get("type") == "punctuation":
            if words:
                last = words[-1]
                words[-1] = Word(last.start, last.end, last.text + content)
            continue
        words.append(Word(float(item["start_time"]), float(item["end_time"]), content))
    return words


def cues_of_output(document: dict) -> list[Cue]:
    """Cues of one Transcribe output document. Raises ``KeyError``/``ValueError`` if malformed."""
    return group_words(words_of(document["results"]["items"]))


class AmazonTranscribeTranscriber(Transcriber):
    options = frozenset({"region_name", "endpoint_url", "client"})

    def __init__(self, *, region_name: str = "", endpoint_url: str = "", client=None) -> None:
        super().__init__()
        self.region_name = region_name or settings.AWS_REGION
        self.endpoint_url = endpoint_url
        self._client = client

    @property
    def client(self):
        if self._client is None:
            import boto3
            from botocore.config import Config

            self._client = boto3.client(
                "transcribe",
                region_name=self.region_name,
                endpoint_url=self.endpoint_url or None,
                config=Config(retries={"mode": "standard", "max_attempts": 3}),
            )
        return self._client

    def language_code(self, language: str) -> str | None:
        """Transcribe's ``LanguageCode`` for a BCP 47 tag (from the service model), or ``None``."""
        codes = self.client.meta.service_model.shape_for("LanguageCode").enum
        by_lower = {code.lower(): code for code in codes}
        tag = language.lower()
        if tag in by_lower:
            return by_lower[tag]
        base = tag.split("-")[0]
        preferred = _PREFERRED.get(base)
        if preferred in codes:
            return preferred
        variants = sorted(code for code in codes if code.lower().split("-")[0] == base)
        return variants[0] if variants else None

    def unsupported_language(self, language: str) -> str | None:
        if self.language_code(language):
            return None
        return f"Amazon Transcribe has no model for “{language}”, the show's language."

    def start_request(self, request: TranscribeRequest) -> dict:
        """The ``StartTranscriptionJob`` parameters of ``request``."""
        uploads = get_storage("uploads")
        try:
            media_uri = uploads.uri(request.source_key)
            output_uri = uploads.uri(request.result_key)
        except NotImplementedError as exc:
            raise TranscriptionError(
                "Amazon Transcribe reads audio from S3; the uploads storage is "
                f"{uploads.describe()}."
            ) from exc
        bucket, key = output_uri.removeprefix("s3://").split("/", 1)
        language = self.language_code(request.language)
        if language is None:
            raise TranscriptionError(self.unsupported_language(request.language) or "")
        return {
            "TranscriptionJobName": request.job_name,
            "LanguageCode": language,
            "Media": {"MediaFileUri": media_uri},
            "OutputBucketName": bucket,
            "OutputKey": key,
        }

    def submit(
        self, request: TranscribeRequest, *, on_progress: ProgressCallback | None = None
    ) -> str:
        """Start the job (or find it already started); return its name."""
        params = self.start_request(request)
        try:
            self.client.start_transcription_job(**params)
        except Exception as exc:
            if _error_code(exc) == "ConflictException":
                return request.job_name  # started by an earlier delivery of this run
            raise _classify(exc) from exc
        return request.job_name

    def status(self, job_id: str) -> TranscriptionStatus:
        """The job's state; once COMPLETED, the cues read from its output in the uploads bucket."""
        try:
            job = self.client.get_transcription_job(TranscriptionJobName=job_id)["TranscriptionJob"]
        except Exception as exc:
            if _error_code(exc) in ("NotFoundException", "BadRequestException"):
                return TranscriptionStatus(
                    JobState.LOST, error=f"Amazon Transcribe knows no job {job_id}."
                )
            raise _classify(exc) from exc
        state = _STATES.get(job.get("TranscriptionJobStatus", ""), JobState.PROGRESSING)
        if state is JobState.ERROR:
            reason = job.get("FailureReason") or "no reason given"
            return TranscriptionStatus(state, error=f"Amazon Transcribe failed: {reason}")
        if state is not JobState.COMPLETE:
            return TranscriptionStatus(state)
        return TranscriptionStatus(JobState.COMPLETE, percent=100, cues=tuple(self._read(job_id)))

    def _read(self, job_id: str) -> list[Cue]:
        from botocore.exceptions import BotoCoreError, ClientError

        key = result_key_for(job_id)
        try:
            with get_storage("uploads").open(key, "rb") as f:
                document = json.load(f)
        except (FileNotFoundError, ClientError) as exc:
            raise TranscriptionError(f"The finished job's output {key} cannot be read.") from exc
        except (OSError, BotoCoreError) as exc:
            raise TransientTranscriberError(f"Reading {key} failed: {exc}") from exc
        except ValueError as exc:
            raise TranscriptionError(f"The job's output is not JSON: {exc}") from exc
        try:
            return cues_of_output(document)
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise TranscriptionError(f"The job's output has an unexpected shape: {exc!r}") from exc

    def discard(self, job_id: str) -> None:
        """Delete the job's output once the pipeline has recorded it."""
        get_storage("uploads").delete_quietly(result_key_for(job_id))
