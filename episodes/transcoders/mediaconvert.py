"""AWS Elemental MediaConvert: one ``CreateJob`` per processing attempt, ``GetJob`` to follow it.

Every setting below is checked against the service model botocore ships
(``botocore/data/mediaconvert/*/service-2.json``; tests walk it). Audio-only
outputs in a File group, per the supported combinations at
https://docs.aws.amazon.com/mediaconvert/latest/ug/audio-only-output.html:

* MP3 — ``RAW`` container with the ``MP3`` codec (there is no ``MP3`` container type);
* AAC-LC — ``MP4`` container, extension ``.m4a`` (``AacSettings`` has no
  ``Channels``: the channel count is ``CodingMode``);
* Opus — ``OGG`` container with the ``OPUS`` codec (``OpusSettings``: 48 kHz, 1 or 2
  channels, bitrate a multiple of 8000). The model lists ``OGG`` among
  ``ContainerType`` values and ``OpusSettings`` among codec settings, so all three
  presets are asked for.

One ``CreateJob`` carries every output, so one output MediaConvert refuses
would fail the whole episode. Instead, when ``CreateJob`` answers
``BadRequestException`` naming an output (its messages point at the setting,
``/outputGroups/0/outputs/2/...``), the job is submitted again without that
output, and the left-out preset and MediaConvert's reason travel in the job's
``UserMetadata`` (``skipped-<preset>``) so :meth:`MediaConvertTranscoder.status`
reports them (:attr:`JobStatus.skipped`). The MP3 enclosure is required: a
refused MP3 output fails the job. A preset with a codec this module has no
settings for is left out the same way.

Loudness is corrected by MediaConvert itself (``AudioNormalizationSettings``,
ITU-R BS.1770-4, true-peak limiter). MediaConvert names each file
``<input base name><NameModifier>.<Extension>`` inside the destination folder;
:meth:`MediaConvertTranscoder.status` derives the keys from the job's own settings.
"""

from __future__ import annotations

import posixpath
import re
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from episodes.presets import Preset, get_preset
from episodes.probe import LAYOUT_CHANNELS
from episodes.transcoders.base import (
    JobState,
    JobStatus,
    ProgressCallback,
    RenditionOutput,
    TranscodeError,
    Transcoder,
    TranscodeRequest,
    TransientTranscoderError,
)
from podcasthost.storage import get_storage

AUDIO_SELECTOR = "Audio Selector 1"
# Error codes worth retrying: throttling and service-side faults.
# https://docs.aws.amazon.com/mediaconvert/latest/apireference/jobs.html#jobs-response-examples
_TRANSIENT_CODES = {
    "TooManyRequestsException",
    "ThrottlingException",
    "Throttling",
    "InternalServerErrorException",
    "ServiceUnavailable",
    "RequestTimeout",
}


# How a creator would name each output MediaConvert may refuse.
_LABELS = {"mp3": "MP3", "aac": "AAC in MP4", "opus": "Opus in Ogg"}
# The output a validation error points at: "/outputGroups/0/outputs/2/containerSettings/...".
_OUTPUT_IN_ERROR = re.compile(r"/outputGroups/0/outputs/(\d+)\b", re.IGNORECASE)
SKIPPED_PREFIX = "skipped-"
# UserMetadata holds short strings; the reason is for people, so a cut one is fine.
_REASON_CHARS = 250


def _codec_settings(preset: Preset, channels: int) -> tuple[dict, dict, str] | None:
    """(ContainerSettings, CodecSettings, Extension) of ``preset``, or ``None`` if unsupported."""
    if preset.codec == "mp3":
        return (
            {"Container": "RAW"},
            {
                "Codec": "MP3",
                "Mp3Settings": {
                    "Bitrate": preset.bitrate,
                    "Channels": channels,
                    "RateControlMode": "CBR",
                    "SampleRate": preset.sample_rate or 44_100,
                },
            },
            preset.extension,
        )
    if preset.codec == "aac":
        return (
            {"Container": "MP4", "Mp4Settings": {"MoovPlacement": "PROGRESSIVE_DOWNLOAD"}},
            {
                "Codec": "AAC",
                "AacSettings": {
                    "Bitrate": preset.bitrate,
                    "CodecProfile": "LC",
                    "CodingMode": "CODING_MODE_1_0" if channels == 1 else "CODING_MODE_2_0",
                    "RateControlMode": "CBR",
                    "RawFormat": "NONE",
                    "SampleRate": preset.sample_rate or 44_100,
                    "Specification": "MPEG4",
                },
            },
            preset.extension,
        )
    if preset.codec == "opus":
        return (
            {"Container": "OGG"},
            {
                "Codec": "OPUS",
                "OpusSettings": {
                    "Bitrate": preset.bitrate,
                    "Channels": channels,
                    "SampleRate": 48_000,
                },
            },
            preset.extension,
        )
    return None


# Gains (dB) of each input channel in the (left, right) downmix: ITU-R BS.775's
# -3 dB for centre and surrounds, LFE muted (-60 is MediaConvert's "mute").
# (``RemixSettings``, https://docs.aws.amazon.com/mediaconvert/latest/apireference/jobs.html).
_LEFT, _RIGHT, _BOTH, _MUTE = (0, -60), (-60, 0), (-3, -3), (-60, -60)
_DOWNMIX_DB = {
    **dict.fromkeys(("FL", "DL", "BIL"), _LEFT),
    **dict.fromkeys(("FR", "DR", "BIR"), _RIGHT),
    **dict.fromkeys(("FLC", "SL", "BL", "TFL", "TBL", "TSL"), (-3, -60)),
    **dict.fromkeys(("FRC", "SR", "BR", "TFR", "TBR", "TSR"), (-60, -3)),
    **dict.fromkeys(("LFE", "LFE2"), _MUTE),
}


def stereo_remix(request: TranscodeRequest) -> dict | None:
    """``RemixSettings`` downmixing a source of more than 2 channels to stereo, else ``None``.

    The downmix is spelled out rather than left to MediaConvert's defaults, so
    every channel is folded in the way the probe's measurement assumes. The input
    channels are taken in the order ffmpeg reports them (file order for
    WAV/FLAC); a channel ffmpeg does not name goes to both sides at -3 dB.
    The probe refuses sources of more than 8 channels.
    """
    channels = request.probe.channels
    if channels <= 2:
        return None
    names = LAYOUT_CHANNELS.get(request.probe.channel_layout, ("",) * channels)
    gains = [_DOWNMIX_DB.get(name, _BOTH) for name in names]
    return {
        "ChannelsIn": channels,
        "ChannelsOut": 2,
        "ChannelMapping": {
            "OutputChannels": [
                {"InputChannels": [left for left, _ in gains]},
                {"InputChannels": [right for _, right in gains]},
            ]
        },
    }


def _classify(exc: Exception) -> Exception:
    """Map a botocore exception to a transient or permanent transcoder error."""
    from botocore.exceptions import BotoCoreError, ClientError

    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = error.get("Code", "")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        message = error.get("Message", str(exc))
        if code in _TRANSIENT_CODES or status == 429 or status >= 500:
            return TransientTranscoderError(f"MediaConvert {code or status}: {message}")
        return TranscodeError(f"MediaConvert refused the job ({code}): {message}")
    if isinstance(exc, BotoCoreError):
        # Connection, read timeouts and the like.
        return TransientTranscoderError(f"MediaConvert unreachable: {exc}")
    return exc


class MediaConvertTranscoder(Transcoder):
    options = frozenset({"role_arn", "queue_arn", "endpoint_url", "region_name", "client"})

    def __init__(
        self,
        *,
        role_arn: str = "",
        queue_arn: str = "",
        endpoint_url: str = "",
        region_name: str = "",
        client=None,
    ) -> None:
        super().__init__()
        self.role_arn = role_arn or settings.MEDIACONVERT_ROLE_ARN
        self.queue_arn = queue_arn or settings.MEDIACONVERT_QUEUE_ARN
        self.endpoint_url = endpoint_url or settings.MEDIACONVERT_ENDPOINT_URL
        self.region_name = region_name or settings.AWS_REGION
        self._client = client

    @property
    def client(self):
        if self._client is None:
            import boto3
            from botocore.config import Config

            self._client = boto3.client(
                "mediaconvert",
                region_name=self.region_name,
                endpoint_url=self.endpoint_url or None,
                config=Config(retries={"mode": "standard", "max_attempts": 3}),
            )
        return self._client

    @staticmethod
    def client_request_token(request: TranscodeRequest) -> str:
        """Same episode and attempt, same token: a redelivered task cannot start a second job."""
        return f"podcasthost-episode-{request.episode_id}-attempt-{request.attempt}"

    def create_job_request(
        self, request: TranscodeRequest, *, without: dict[str, str] | None = None
    ) -> dict:
        """The keyword arguments of ``CreateJob`` for ``request``.

        ``without`` maps presets to leave out to the reason, recorded in the
        job's ``UserMetadata``; a job without some presets gets its own
        ``ClientRequestToken``. Raises ``ImproperlyConfigured`` when the role is
        unset or a storage is not S3.
        """
        without = dict(without or {})
        if not self.role_arn:
            raise ImproperlyConfigured("Set MEDIACONVERT_ROLE_ARN to use the MediaConvert backend.")
        uploads, media = get_storage("uploads"), get_storage("media")
        for alias, storage in (("uploads", uploads), ("media", media)):
            if storage.serves_locally:
                raise ImproperlyConfigured(
                    f"The MediaConvert backend needs the {alias} storage on S3 "
                    f"(set {alias.upper()}_BUCKET)."
                )
        normalization = {
            "Algorithm": "ITU_BS_1770_4",
            "AlgorithmControl": "CORRECT_AUDIO",
            "LoudnessLogging": "DONT_LOG",
            "PeakCalculation": "TRUE_PEAK",
            "TargetLkfs": float(request.loudness_target_lufs),
            "TruePeakLimiterThreshold": float(request.true_peak_dbtp),
        }
        outputs = []
        remix = stereo_remix(request)
        for preset in request.presets:
            spec = _codec_settings(preset, request.channels)
            if spec is None:
                without.setdefault(preset.name, f"MediaConvert cannot encode {preset.codec}.")
            if preset.name in without:
                continue
            container, codec, extension = spec
            outputs.append(
                {
                    "NameModifier": f"-{preset.name}",
                    "Extension": extension,
                    "ContainerSettings": container,
                    "AudioDescriptions": [
                        {
                            "AudioSourceName": AUDIO_SELECTOR,
                            "AudioNormalizationSettings": normalization,
                            "CodecSettings": codec,
                            **({"RemixSettings": remix} if remix else {}),
                        }
                    ],
                }
            )
        if not outputs:
            raise TranscodeError("None of the presets can be produced by MediaConvert.")
        token = self.client_request_token(request)
        if without:
            token += "-without-" + "-".join(sorted(without))
        kwargs = {
            "Role": self.role_arn,
            "ClientRequestToken": token,
            "StatusUpdateInterval": "SECONDS_10",
            "UserMetadata": {
                "episode_id": str(request.episode_id),
                "attempt": str(request.attempt),
                "podcast": request.podcast_slug,
                **{
                    f"{SKIPPED_PREFIX}{name}": reason[:_REASON_CHARS]
                    for name, reason in sorted(without.items())
                },
            },
            "Settings": {
                "TimecodeConfig": {"Source": "ZEROBASED"},
                "Inputs": [
                    {
                        "FileInput": uploads.uri(request.source_key),
                        "TimecodeSource": "ZEROBASED",
                        "AudioSelectors": {AUDIO_SELECTOR: {"DefaultSelection": "DEFAULT"}},
                    }
                ],
                "OutputGroups": [
                    {
                        "Name": "Podcast renditions",
                        "OutputGroupSettings": {
                            "Type": "FILE_GROUP_SETTINGS",
                            "FileGroupSettings": {"Destination": media.uri(request.staging_prefix)},
                        },
                        "Outputs": outputs,
                    }
                ],
            },
        }
        if self.queue_arn:
            kwargs["Queue"] = self.queue_arn
        return kwargs

    def submit(
        self, request: TranscodeRequest, *, on_progress: ProgressCallback | None = None
    ) -> str:
        """``CreateJob``; returns the job id. Raises transient/permanent transcoder errors.

        An output MediaConvert refuses (``BadRequestException`` naming it) is
        left out and the job submitted again, once per output; a refused MP3
        output, or a refusal naming no output, is a :class:`TranscodeError`.
        """
        without: dict[str, str] = {}
        while True:
            kwargs = self.create_job_request(request, without=without)
            try:
                response = self.client.create_job(**kwargs)
            except Exception as exc:
                refused = self._refused_preset(exc, kwargs)
                if refused is None:
                    raise _classify(exc) from exc
                preset, reason = refused
                if preset.primary:
                    raise TranscodeError(f"The MP3 enclosure cannot be made. {reason}") from exc
                without[preset.name] = reason
                continue
            return response["Job"]["Id"]

    @staticmethod
    def _refused_preset(exc: Exception, kwargs: dict) -> tuple[Preset, str] | None:
        """The preset of the output a ``BadRequestException`` names, and why; else ``None``."""
        from botocore.exceptions import ClientError

        if not isinstance(exc, ClientError):
            return None
        error = exc.response.get("Error", {})
        if error.get("Code") != "BadRequestException":
            return None
        message = error.get("Message", "")
        match = _OUTPUT_IN_ERROR.search(message)
        outputs = kwargs["Settings"]["OutputGroups"][0]["Outputs"]
        if match is None or int(match.group(1)) >= len(outputs):
            return None
        name = outputs[int(match.group(1))]["NameModifier"].lstrip("-")
        try:
            preset = get_preset(name)
        except KeyError:
            return None
        return preset, f"MediaConvert refused {_LABELS.get(name, name)}: {message}"

    def status(self, job_id: str) -> JobStatus:
        """``GetJob``: the state, percent, MediaConvert's error, and the files once COMPLETE."""
        try:
            job = self.client.get_job(Id=job_id)["Job"]
        except Exception as exc:
            error = _classify(exc)
            if isinstance(error, TranscodeError) and "NotFound" in str(error):
                return JobStatus(JobState.LOST, error=str(error))
            raise error from exc
        state = JobState(job["Status"])
        if state is JobState.ERROR:
            code, message = job.get("ErrorCode"), job.get("ErrorMessage", "")
            return JobStatus(state, error=f"MediaConvert error {code}: {message}".strip())
        if state is JobState.CANCELED:
            return JobStatus(state, error="The MediaConvert job was canceled.")
        if state is not JobState.COMPLETE:
            return JobStatus(state, percent=int(job.get("JobPercentComplete") or 0))
        skipped = tuple(
            (key.removeprefix(SKIPPED_PREFIX), reason)
            for key, reason in sorted((job.get("UserMetadata") or {}).items())
            if key.startswith(SKIPPED_PREFIX)
        )
        return JobStatus(state, percent=100, outputs=self._outputs(job), skipped=skipped)

    @staticmethod
    def _outputs(job: dict) -> tuple[RenditionOutput, ...]:
        media = get_storage("media")
        location = (getattr(media, "location", "") or "").strip("/")
        settings_ = job["Settings"]
        source = settings_["Inputs"][0]["FileInput"]
        base = posixpath.splitext(posixpath.basename(urlsplit(source).path))[0]
        group = settings_["OutputGroups"][0]
        destination = urlsplit(group["OutputGroupSettings"]["FileGroupSettings"]["Destination"])
        folder = destination.path.lstrip("/")
        if location and folder.startswith(location + "/"):
            folder = folder[len(location) + 1 :]
        details = (job.get("OutputGroupDetails") or [{}])[0].get("OutputDetails") or []
        results = []
        for i, output in enumerate(group["Outputs"]):
            preset = output["NameModifier"].lstrip("-")
            key = f"{folder}{base}{output['NameModifier']}.{output['Extension']}"
            duration_ms = details[i].get("DurationInMs") if i < len(details) else None
            codec = output["AudioDescriptions"][0]["CodecSettings"]
            bitrate = next(
                (v.get("Bitrate") for k, v in codec.items() if k.endswith("Settings")), None
            )
            results.append(
                RenditionOutput(preset, key, duration_ms / 1000 if duration_ms else None, bitrate)
            )
        return tuple(results)
