"""Processing a take with the real ffmpeg of imageio-ffmpeg: the duration, a JPEG poster and an
H.264/AAC MP4 rendition (index first) from a WebM as Chromium records it and from a phone's MP4;
a corrupt or empty upload is failed with the reason and the candidate is asked to record again."""

from __future__ import annotations

import json
import subprocess
from datetime import timedelta

import pytest
from django.utils import timezone

from interviews import processing
from interviews.models import Answer, AnswerStatus
from interviews.recording_tasks import process_answer, process_stuck_answers
from interviews.storage import recordings_storage
from recruitflow.celery import app
from recruitflow.tenancy import tenant_scope
from tests.interviews.recording_helpers import (
    make_interview,
    make_video,
    url,
    use_temporary_recordings,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def recordings(settings, tmp_path):
    use_temporary_recordings(settings, tmp_path / "recordings")


@pytest.fixture
def upload(client, monkeypatch):
    """Uploads ``data`` as a take of question 0 through the public endpoints; returns the
    answer, not yet processed (the test runs the task)."""
    monkeypatch.setattr(app.tasks["interviews.process_answer"], "delay", lambda *a: None)

    def send(interview, data: bytes, content_type="video/webm") -> Answer:
        take = client.post(
            url("take_start", interview),
            data=json.dumps({"question": 0, "content_type": content_type}),
            content_type="application/json",
        ).json()
        for offset in range(0, len(data), 64 * 1024):
            piece = data[offset : offset + 64 * 1024]
            assert client.put(f"{take['chunks']}?offset={offset}", data=piece,
                              content_type="application/octet-stream").status_code == 200  # fmt: skip
        finished = client.post(
            take["finish"], data=json.dumps({"size": len(data)}), content_type="application/json"
        )
        assert finished.status_code == 200, finished.content
        with tenant_scope(interview.organization):
            return Answer.objects.get(upload_id=take["upload_id"])

    return send


def _head(name: str, size: int = 64 * 1024) -> bytes:
    with recordings_storage().open(name, "rb") as handle:
        return handle.read(size)


def test_a_webm_take_gets_its_duration_poster_and_mp4(alice, client, upload, tmp_path):
    interview = make_interview(alice.organization)
    webm = make_video(tmp_path / "answer.webm", seconds=2.0)
    answer = upload(interview, webm)
    assert answer.status == AnswerStatus.UPLOADED

    assert process_answer(alice.organization.pk, answer.pk) == AnswerStatus.READY
    with tenant_scope(alice.organization):
        answer.refresh_from_db()
    assert answer.duration_seconds == pytest.approx(2.0, abs=0.3)
    assert answer.processed_at is not None and answer.error == ""
    assert answer.rendition.name.endswith("answer.mp4")
    assert answer.poster.name.endswith("poster.jpg")
    assert _head(answer.poster.name, 3) == b"\xff\xd8\xff"  # a JPEG
    mp4 = _head(answer.rendition.name)
    # An MP4 whose index (moov) comes before the media (mdat): it plays while downloading.
    assert mp4[4:8] == b"ftyp"
    assert 0 < mp4.find(b"moov") < max(mp4.find(b"mdat"), len(mp4))
    probe = processing.probe(recordings_storage().path(answer.rendition.name))
    assert probe["video"] and probe["audio"]
    streams = processing._run(["-i", recordings_storage().path(answer.rendition.name)])
    text = streams.stderr.decode()
    assert "Video: h264" in text and "Audio: aac" in text
    # The candidate's page says the answer is in.
    question = client.get(url("status", interview)).json()["questions"][0]
    assert question["state"] == "ready"
    # Processing again changes nothing.
    assert process_answer(alice.organization.pk, answer.pk) == AnswerStatus.READY


def test_a_phone_mp4_is_processed_too(alice, upload, tmp_path):
    interview = make_interview(alice.organization)
    mp4 = make_video(tmp_path / "phone.mp4", seconds=1.0, container="mp4")
    answer = upload(interview, mp4, content_type="video/mp4")
    assert answer.original.name.endswith("original.mp4")
    assert process_answer(alice.organization.pk, answer.pk) == AnswerStatus.READY
    with tenant_scope(alice.organization):
        answer.refresh_from_db()
    assert answer.duration_seconds == pytest.approx(1.0, abs=0.3)


def test_a_corrupt_take_fails_with_the_reason_and_asks_to_record_again(
    alice, client, upload, tmp_path
):
    interview = make_interview(alice.organization)
    webm = make_video(tmp_path / "answer.webm", seconds=1.0)
    garbage = b"\x1a\x45\xdf\xa3" + bytes(reversed(webm[4:2000])) * 3
    answer = upload(interview, garbage)

    assert process_answer(alice.organization.pk, answer.pk) == AnswerStatus.FAILED
    with tenant_scope(alice.organization):
        answer.refresh_from_db()
    assert answer.error.startswith("The recording could not be read (")
    assert answer.error.endswith("Please record this answer again.")
    assert not answer.rendition and not answer.poster
    question = client.get(url("status", interview)).json()["questions"][0]
    assert question["state"] == "failed"
    assert question["message"] == "We could not play this answer. Please record it again."
    # The question allows one retake and none was counted: the candidate may record again.
    assert question["takes_left"] == 2


def test_a_take_without_video_fails(alice, upload, tmp_path):
    interview = make_interview(alice.organization)
    audio = tmp_path / "sound.webm"
    subprocess.run(
        [processing.ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi",
         "-i", "sine=frequency=440:duration=1", "-c:a", "libopus", str(audio)],
        check=True, timeout=60,
    )  # fmt: skip
    answer = upload(interview, audio.read_bytes())
    assert process_answer(alice.organization.pk, answer.pk) == AnswerStatus.FAILED
    with tenant_scope(alice.organization):
        answer.refresh_from_db()
    assert "(it has no video)" in answer.error


def test_the_sweep_queues_takes_a_worker_died_on(alice, upload, monkeypatch):
    interview = make_interview(alice.organization)
    stuck = upload(interview, b"\x1a\x45\xdf\xa3 not processed yet")
    fresh = upload(interview, b"\x1a\x45\xdf\xa3 just uploaded")
    with tenant_scope(alice.organization):
        Answer.objects.filter(pk=stuck.pk).update(
            status=AnswerStatus.PROCESSING, uploaded_at=timezone.now() - timedelta(hours=1)
        )
    queued = []
    monkeypatch.setattr(process_answer, "delay", lambda org_id, pk: queued.append((org_id, pk)))
    assert process_stuck_answers() == 1
    assert queued == [(alice.organization.pk, stuck.pk)]
    assert fresh.pk not in [pk for _org, pk in queued]
