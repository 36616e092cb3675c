"""The MediaConvert backend against botocore's Stubber (MediaConvert) and moto (S3).

The request is checked twice: literally, and by walking the service model
botocore ships, so no setting can be a key or enum value the API does not have.
"""

from __future__ import annotations

import copy
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber
from django.urls import reverse

from episodes import pipeline, tasks
from episodes.models import Episode
from episodes.presets import PRESETS
from episodes.transcoders.mediaconvert import MediaConvertTranscoder
from tests.transcoding.conftest import ROLE, generate_audio

JOB_ID = "1700000000000-abcdef"


def expected_create_job(episode: Episode, attempt: int, channels: int) -> dict:
    normalization = {
        "Algorithm": "ITU_BS_1770_4",
        "AlgorithmControl": "CORRECT_AUDIO",
        "LoudnessLogging": "DONT_LOG",
        "PeakCalculation": "TRUE_PEAK",
        "TargetLkfs": -16.0,
        "TruePeakLimiterThreshold": -1.0,
    }

    def audio(codec: dict) -> list:
        return [
            {
                "AudioSourceName": "Audio Selector 1",
                "AudioNormalizationSettings": normalization,
                "CodecSettings": codec,
            }
        ]

    slug, guid = episode.podcast.slug, episode.guid
    return {
        "Role": ROLE,
        "ClientRequestToken": f"podcasthost-episode-{episode.pk}-attempt-{attempt}",
        "StatusUpdateInterval": "SECONDS_10",
        "UserMetadata": {"episode_id": str(episode.pk), "attempt": str(attempt), "podcast": slug},
        "Settings": {
            "TimecodeConfig": {"Source": "ZEROBASED"},
            "Inputs": [
                {
                    "FileInput": f"s3://show-uploads/uploads/{slug}/{guid}/interview.wav",
                    "TimecodeSource": "ZEROBASED",
                    "AudioSelectors": {"Audio Selector 1": {"DefaultSelection": "DEFAULT"}},
                }
            ],
            "OutputGroups": [
                {
                    "Name": "Podcast renditions",
                    "OutputGroupSettings": {
                        "Type": "FILE_GROUP_SETTINGS",
                        "FileGroupSettings": {
                            "Destination": f"s3://show-media/{slug}/{guid}/.staging/{attempt}/"
                        },
                    },
                    "Outputs": [
                        {
                            "NameModifier": "-mp3",
                            "Extension": "mp3",
                            "ContainerSettings": {"Container": "RAW"},
                            "AudioDescriptions": audio(
                                {
                                    "Codec": "MP3",
                                    "Mp3Settings": {
                                        "Bitrate": 192000,
                                        "Channels": channels,
                                        "RateControlMode": "CBR",
                                        "SampleRate": 44100,
                                    },
                                }
                            ),
                        },
                        {
                            "NameModifier": "-aac",
                            "Extension": "m4a",
                            "ContainerSettings": {
                                "Container": "MP4",
                                "Mp4Settings": {"MoovPlacement": "PROGRESSIVE_DOWNLOAD"},
                            },
                            "AudioDescriptions": audio(
                                {
                                    "Codec": "AAC",
                                    "AacSettings": {
                                        "Bitrate": 160000,
                                        "CodecProfile": "LC",
                                        "CodingMode": "CODING_MODE_2_0"
                                        if channels == 2
                                        else "CODING_MODE_1_0",
                                        "RateControlMode": "CBR",
                                        "RawFormat": "NONE",
                                        "SampleRate": 44100,
                                        "Specification": "MPEG4",
                                    },
                                }
                            ),
                        },
                        {
                            "NameModifier": "-opus",
                            "Extension": "ogg",
                            "ContainerSettings": {"Container": "OGG"},
                            "AudioDescriptions": audio(
                                {
                                    "Codec": "OPUS",
                                    "OpusSettings": {
                                        "Bitrate": 64000,
                                        "Channels": channels,
                                        "SampleRate": 48000,
                                    },
                                }
                            ),
                        },
                    ],
                }
            ],
        },
    }


def job(request: dict, status: str, **extra) -> dict:
    """A GetJob/CreateJob response body echoing the request, as the service does."""
    body = {
        "Id": JOB_ID,
        "Role": request["Role"],
        "Settings": request["Settings"],
        "Status": status,
        "UserMetadata": request["UserMetadata"],
    }
    body.update(extra)
    return {"Job": body}


def submit(stubber: Stubber, episode: Episode, channels: int = 2) -> dict:
    """Run process_episode with CreateJob and a first GetJob (SUBMITTED) stubbed."""
    request = expected_create_job(episode, episode.attempt + 1, channels)
    stubber.add_response("create_job", job(request, "SUBMITTED"), expected_params=request)
    stubber.add_response("get_job", job(request, "SUBMITTED"), expected_params={"Id": JOB_ID})
    pipeline.process_episode(episode.pk)
    episode.refresh_from_db()
    assert episode.status == Episode.Status.PROCESSING
    assert episode.transcode_job_id == JOB_ID
    return request


@pytest.mark.parametrize("channels", [1, 2])
def test_create_job_request_is_exact(mediaconvert, uploaded_on_s3, channels):
    episode = uploaded_on_s3(channels)
    submit(mediaconvert, episode, channels)
    assert episode.channels == channels and episode.duration_seconds == pytest.approx(2.0, abs=0.05)


def _walk(shape, value, path: str, problems: list[str]) -> None:
    kind = shape.type_name
    if kind == "structure":
        assert isinstance(value, dict), path
        for key, item in value.items():
            if key not in shape.members:
                problems.append(f"{path}.{key}: no such key in {shape.name}")
                continue
            _walk(shape.members[key], item, f"{path}.{key}", problems)
    elif kind == "map":
        for key, item in value.items():
            _walk(shape.value, item, f"{path}[{key!r}]", problems)
    elif kind == "list":
        for i, item in enumerate(value):
            _walk(shape.member, item, f"{path}[{i}]", problems)
    elif kind == "string" and shape.enum:
        if value not in shape.enum:
            problems.append(f"{path}: {value!r} not in {shape.name} {shape.enum}")
    elif kind in ("integer", "long", "double"):
        low, high = shape.metadata.get("min"), shape.metadata.get("max")
        if (low is not None and value < low) or (high is not None and value > high):
            problems.append(f"{path}: {value} outside [{low}, {high}]")


@pytest.mark.parametrize(("channels", "layout"), [(1, "mono"), (2, "stereo"), (6, "5.1")])
def test_every_setting_exists_in_the_botocore_service_model(s3, make_episode, channels, layout):
    from botocore.validate import ParamValidator

    from episodes.probe import ProbeResult
    from episodes.transcoders import TranscodeRequest

    client = boto3.client("mediaconvert", region_name="us-east-1")
    model = client.meta.service_model.operation_model("CreateJob").input_shape
    episode = make_episode()
    request = TranscodeRequest(
        episode_id=episode.pk,
        attempt=1,
        podcast_slug=episode.podcast.slug,
        episode_guid=str(episode.guid),
        source_key="uploads/a/b/c.mp3",
        probe=ProbeResult(
            "mp3", "mp3", 44100, channels, 60.0, -20.0, -30.0, 5.0, -3.0, channel_layout=layout
        ),
        presets=PRESETS,
        loudness_target_lufs=-16.0,
        true_peak_dbtp=-1.0,
    )
    params = MediaConvertTranscoder(role_arn=ROLE, client=client).create_job_request(request)

    problems: list[str] = []
    _walk(model, params, "CreateJob", problems)
    assert problems == []
    report = ParamValidator().validate(params, model)
    assert not report.has_errors(), report.generate_report()
    outputs = params["Settings"]["OutputGroups"][0]["Outputs"]
    assert [o["ContainerSettings"]["Container"] for o in outputs] == ["RAW", "MP4", "OGG"]


def test_a_surround_source_is_downmixed_to_stereo_in_every_output(s3, make_episode, audio_dir):
    from episodes.probe import probe
    from episodes.transcoders import TranscodeRequest

    source = generate_audio(audio_dir / "surround.wav", content="speech", channels=6)
    episode = make_episode()
    request = TranscodeRequest(
        episode_id=episode.pk,
        attempt=1,
        podcast_slug=episode.podcast.slug,
        episode_guid=str(episode.guid),
        source_key="uploads/a/b/surround.wav",
        probe=probe(source),
        presets=PRESETS,
        loudness_target_lufs=-16.0,
        true_peak_dbtp=-1.0,
    )
    client = boto3.client("mediaconvert", region_name="us-east-1")
    params = MediaConvertTranscoder(role_arn=ROLE, client=client).create_job_request(request)

    # 5.1 is FL FR FC LFE BL BR: fronts to their side, centre and rears at
    # -3 dB (ITU-R BS.775), the LFE muted (-60).
    remix = {
        "ChannelsIn": 6,
        "ChannelsOut": 2,
        "ChannelMapping": {
            "OutputChannels": [
                {"InputChannels": [0, -60, -3, -60, -3, -60]},
                {"InputChannels": [-60, 0, -3, -60, -60, -3]},
            ]
        },
    }
    outputs = params["Settings"]["OutputGroups"][0]["Outputs"]
    assert len(outputs) == len(PRESETS)
    for output in outputs:
        (audio,) = output["AudioDescriptions"]
        assert audio["RemixSettings"] == remix
        codec = next(v for k, v in audio["CodecSettings"].items() if k.endswith("Settings"))
        assert codec.get("Channels", 2) == 2
        assert codec.get("CodingMode", "CODING_MODE_2_0") == "CODING_MODE_2_0"


def _put_outputs(s3, request: dict, audio_dir: Path) -> dict[str, int]:
    """Write what MediaConvert would have written; return the byte size per preset."""
    group = request["Settings"]["OutputGroups"][0]
    prefix = group["OutputGroupSettings"]["FileGroupSettings"]["Destination"]
    prefix = prefix.removeprefix("s3://show-media/")
    sizes = {}
    for output in group["Outputs"]:
        path = generate_audio(
            audio_dir / f"out{output['NameModifier']}.{output['Extension']}", seconds=2.0
        )
        key = f"{prefix}interview{output['NameModifier']}.{output['Extension']}"
        s3.put_object(Bucket="show-media", Key=key, Body=path.read_bytes())
        sizes[output["NameModifier"][1:]] = path.stat().st_size
    return sizes


def test_complete_records_renditions_measured_in_storage(
    mediaconvert, uploaded_on_s3, s3, audio_dir
):
    episode = uploaded_on_s3()
    request = submit(mediaconvert, episode)
    sizes = _put_outputs(s3, request, audio_dir)
    details = [{"OutputDetails": [{"DurationInMs": 2000 + i} for i in range(3)]}]
    mediaconvert.add_response(
        "get_job", job(request, "COMPLETE", OutputGroupDetails=details), {"Id": JOB_ID}
    )

    assert pipeline.poll_transcodes() == {"ready": 1}

    episode.refresh_from_db()
    assert episode.status == Episode.Status.READY and episode.progress_percent == 100
    renditions = {r.preset: r for r in episode.renditions.all()}
    assert set(renditions) == {"mp3", "aac", "opus"}
    for preset in PRESETS:
        rendition = renditions[preset.name]
        final_key = preset.key_for(episode.podcast.slug, str(episode.guid))
        head = s3.head_object(Bucket="show-media", Key=final_key)
        assert rendition.key == final_key
        assert rendition.size_bytes == head["ContentLength"] == sizes[preset.name]
        assert head["ContentType"] == preset.mime_type
        assert rendition.bitrate == preset.bitrate
    assert renditions["aac"].duration_seconds == pytest.approx(2.001)
    staging = s3.list_objects_v2(Bucket="show-media", Prefix=f"{episode.podcast.slug}/")
    assert not [o["Key"] for o in staging["Contents"] if "/.staging/" in o["Key"]]


@pytest.mark.parametrize(
    ("state", "extra", "status", "message"),
    [
        ("SUBMITTED", {}, "processing", ""),
        ("PROGRESSING", {"JobPercentComplete": 42}, "processing", ""),
        (
            "ERROR",
            {"ErrorCode": 1030, "ErrorMessage": "Unable to open input file"},
            "failed",
            "MediaConvert error 1030: Unable to open input file",
        ),
        ("CANCELED", {}, "failed", "The MediaConvert job was canceled."),
    ],
)
def test_get_job_state_moves_the_episode(
    mediaconvert, uploaded_on_s3, state, extra, status, message
):
    episode = uploaded_on_s3()
    request = submit(mediaconvert, episode)
    mediaconvert.add_response("get_job", job(request, state, **extra), {"Id": JOB_ID})

    tasks.poll_episode.delay(episode_id=episode.pk)

    episode.refresh_from_db()
    assert episode.status == status
    assert episode.error_message == message
    if state == "PROGRESSING":
        assert episode.progress_percent == 42
    assert not episode.renditions.exists()


@pytest.fixture
def eager_retries():
    """Eager Celery re-runs a retried task in place only when errors do not propagate."""
    from podcasthost.celery import app

    app.conf.CELERY_TASK_EAGER_PROPAGATES = False
    yield
    app.conf.CELERY_TASK_EAGER_PROPAGATES = True


def test_throttling_is_retried(eager_retries, mediaconvert, uploaded_on_s3, s3, audio_dir):
    episode = uploaded_on_s3()
    request = submit(mediaconvert, episode)
    _put_outputs(s3, request, audio_dir)
    mediaconvert.add_client_error(
        "get_job",
        service_error_code="TooManyRequestsException",
        service_message="Too Many Requests",
        http_status_code=429,
        expected_params={"Id": JOB_ID},
    )
    mediaconvert.add_response("get_job", job(request, "COMPLETE"), {"Id": JOB_ID})

    tasks.poll_episode.delay(episode_id=episode.pk)

    episode.refresh_from_db()
    assert episode.status == Episode.Status.READY
    assert episode.renditions.count() == 3


def test_throttled_create_job_is_retried_with_the_same_token(
    eager_retries, mediaconvert, uploaded_on_s3
):
    episode = uploaded_on_s3()
    request = expected_create_job(episode, episode.attempt + 1, 2)
    mediaconvert.add_client_error(
        "create_job", "TooManyRequestsException", "slow down", 429, expected_params=request
    )
    mediaconvert.add_response("create_job", job(request, "SUBMITTED"), expected_params=request)
    mediaconvert.add_response("get_job", job(request, "PROGRESSING"), {"Id": JOB_ID})

    tasks.process_episode.delay(episode_id=episode.pk)

    episode.refresh_from_db()
    assert episode.status == Episode.Status.PROCESSING
    assert episode.attempt == 1 and episode.transcode_job_id == JOB_ID


def test_rejected_job_fails_the_episode_with_the_reason(mediaconvert, uploaded_on_s3):
    episode = uploaded_on_s3()
    request = expected_create_job(episode, 1, 2)
    mediaconvert.add_client_error(
        "create_job", "BadRequestException", "Invalid role", 400, expected_params=request
    )
    tasks.process_episode.delay(episode_id=episode.pk)
    episode.refresh_from_db()
    assert episode.status == Episode.Status.FAILED
    assert "Invalid role" in episode.error_message


def test_a_job_that_cannot_be_followed_fails_and_never_stops_the_pass(
    mediaconvert, uploaded_on_s3, make_episode
):
    """One job the backend refuses to describe, one whose answer we cannot read:
    the pass goes on, the first fails with a reason, the second waits for the next pass."""
    refused = uploaded_on_s3()
    request = submit(mediaconvert, refused)
    odd = make_episode()
    Episode.objects.filter(pk=odd.pk).update(
        status=Episode.Status.PROCESSING, attempt=1, transcode_job_id="odd-job"
    )
    mediaconvert.add_client_error(
        "get_job",
        service_error_code="ForbiddenException",
        service_message="Access denied to this job",
        http_status_code=403,
        expected_params={"Id": JOB_ID},
    )
    unreadable = job(request, "SOMETHING_NEW")
    unreadable["Job"]["Id"] = "odd-job"
    mediaconvert.add_response("get_job", unreadable, {"Id": "odd-job"})

    outcomes = pipeline.poll_transcodes()

    refused.refresh_from_db()
    odd.refresh_from_db()
    assert outcomes == {"failed": 1, "error": 1}
    assert refused.status == Episode.Status.FAILED
    assert "cannot be followed" in refused.error_message
    assert "Access denied" in refused.error_message
    assert odd.status == Episode.Status.PROCESSING


# --- issue 10, item 25: an output MediaConvert refuses is left out, not fatal ---

OPUS_REFUSED = (
    "/outputGroups/0/outputs/2/containerSettings/container: Should be one of "
    "[CMFC, F4V, ISMV, M2TS, M3U8, MOV, MP4, MPD, MXF, RAW, WEBM, Y4M]"
)


def without_opus(request: dict) -> dict:
    """The CreateJob MediaConvert is asked for again, once it refused the Opus output."""
    retried = copy.deepcopy(request)
    group = retried["Settings"]["OutputGroups"][0]
    group["Outputs"] = [o for o in group["Outputs"] if o["NameModifier"] != "-opus"]
    retried["ClientRequestToken"] += "-without-opus"
    retried["UserMetadata"]["skipped-opus"] = f"MediaConvert refused Opus in Ogg: {OPUS_REFUSED}"
    return retried


def test_a_refused_opus_output_is_left_out_and_named_in_the_admin(
    mediaconvert, uploaded_on_s3, s3, audio_dir, client, make_creator
):
    episode = uploaded_on_s3()
    request = expected_create_job(episode, 1, 2)
    retried = without_opus(request)
    mediaconvert.add_client_error(
        "create_job", "BadRequestException", OPUS_REFUSED, 400, expected_params=request
    )
    mediaconvert.add_response("create_job", job(retried, "SUBMITTED"), expected_params=retried)
    mediaconvert.add_response("get_job", job(retried, "SUBMITTED"), {"Id": JOB_ID})

    pipeline.process_episode(episode.pk)

    episode.refresh_from_db()
    assert episode.status == Episode.Status.PROCESSING and episode.transcode_job_id == JOB_ID
    _put_outputs(s3, retried, audio_dir)
    mediaconvert.add_response("get_job", job(retried, "COMPLETE"), {"Id": JOB_ID})

    assert pipeline.poll_transcodes() == {"ready": 1}

    episode.refresh_from_db()
    assert episode.status == Episode.Status.READY
    assert {r.preset for r in episode.renditions.all()} == {"mp3", "aac"}
    assert episode.missing_renditions.startswith("opus (MediaConvert refused Opus in Ogg: ")
    creator = make_creator("olga")
    episode.podcast.members.add(creator)
    client.force_login(creator)
    page = client.get(reverse("admin:episodes_episode_change", args=[episode.pk]))
    assert page.status_code == 200
    text = page.content.decode()
    assert "Not produced: opus (MediaConvert refused Opus in Ogg: /outputGroups/0/outputs/2" in text


def test_a_refused_mp3_output_fails_the_episode_with_a_plain_reason(mediaconvert, uploaded_on_s3):
    episode = uploaded_on_s3()
    request = expected_create_job(episode, 1, 2)
    mediaconvert.add_client_error(
        "create_job",
        "BadRequestException",
        "/outputGroups/0/outputs/0/audioDescriptions/0/codecSettings/codec: Should be one of [AAC]",
        400,
        expected_params=request,
    )

    pipeline.process_episode(episode.pk)

    episode.refresh_from_db()
    assert episode.status == Episode.Status.FAILED
    assert episode.error_message.startswith(
        "The MP3 enclosure cannot be made. MediaConvert refused"
    )
    assert not episode.renditions.exists()
