"""The candidate's chunked, resumable upload at /v/<token>/: takes, chunks at offsets (resume
after an interrupted chunk, a repeated chunk, a gap), finishing, retakes and the final take,
the state a reloaded page continues from, and the pages of a closed link."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts import services
from candidates.models import TimelineEvent
from interviews import uploads
from interviews.models import Answer, AnswerStatus, InterviewStatus
from interviews.storage import recordings_storage
from journeys import timeline_kinds as journeys_kinds
from recruitflow.celery import app
from recruitflow.tenancy import tenant_scope
from tests.interviews.recording_helpers import make_interview, url, use_temporary_recordings
from tests.outsider_walk import walk

pytestmark = pytest.mark.django_db

VIDEO = bytes(range(256)) * 40  # 10 240 bytes standing in for a recording


@pytest.fixture(autouse=True)
def recordings(settings, tmp_path):
    use_temporary_recordings(settings, tmp_path)
    return tmp_path


@pytest.fixture
def queued(monkeypatch):
    """The processing tasks the upload queues (answer ids), instead of running ffmpeg."""
    calls = []
    task = app.tasks["interviews.process_answer"]
    monkeypatch.setattr(task, "delay", lambda org_id, answer_id: calls.append(answer_id))
    return calls


@pytest.fixture
def interview(alice):
    return make_interview(alice.organization)


def start(client, interview, question=0, content_type="video/webm"):
    return client.post(
        url("take_start", interview),
        data=json.dumps({"question": question, "content_type": content_type}),
        content_type="application/json",
    )


def put(client, take, data: bytes, offset: int, *, header=True):
    if header:
        return client.put(
            take["chunks"], data=data, content_type="application/octet-stream",
            HTTP_CONTENT_RANGE=f"bytes {offset}-{offset + len(data) - 1}/*",
        )  # fmt: skip
    return client.put(
        f"{take['chunks']}?offset={offset}", data=data, content_type="application/octet-stream"
    )


def finish(client, take, size):
    return client.post(
        take["finish"], data=json.dumps({"size": size}), content_type="application/json"
    )


def record(client, interview, question, data=VIDEO, captured=None):
    take = start(client, interview, question).json()
    assert put(client, take, data, 0).status_code == 200
    response = finish(client, take, len(data))
    assert response.status_code == 200, response.content
    return take


def answer(interview, upload_id) -> Answer:
    with tenant_scope(interview.organization):
        return Answer.objects.get(upload_id=upload_id)


def stored_bytes(a: Answer) -> bytes:
    with recordings_storage().open(a.original.name, "rb") as handle:
        return handle.read()


def test_resume_after_an_interrupted_chunk_keeps_every_byte_once(
    client, interview, queued, django_capture_on_commit_callbacks
):
    response = start(client, interview, 0)
    assert response.status_code == 201
    take = response.json()
    assert take["attempt"] == 1 and take["offset"] == 0

    first, second, third = VIDEO[:4000], VIDEO[4000:7000], VIDEO[7000:]
    assert put(client, take, first, 0).json() == {"offset": 4000, "appended": 4000}
    # The second chunk landed but its answer was lost with the connection: the page asks where
    # to go on, then sends it again; nothing is written twice.
    assert put(client, take, second, 4000, header=False).json()["offset"] == 7000
    assert client.get(take["chunks"]).json()["offset"] == 7000
    again = put(client, take, second, 4000)
    assert again.json() == {"offset": 7000, "appended": 0}
    # A chunk that overlaps what we hold writes only its new tail.
    overlap = put(client, take, VIDEO[6000:8000], 6000)
    assert overlap.json() == {"offset": 8000, "appended": 1000}
    assert put(client, take, third[1000:], 8000).json()["offset"] == len(VIDEO)

    with django_capture_on_commit_callbacks(execute=True):
        done = finish(client, take, len(VIDEO))
    assert done.status_code == 200
    assert done.json()["take"]["status"] == AnswerStatus.UPLOADED
    a = answer(interview, take["upload_id"])
    assert stored_bytes(a) == VIDEO
    assert a.is_final and a.bytes_received == len(VIDEO) and a.original.name.endswith(".webm")
    assert queued == [a.pk]
    # Finishing again (the answer was lost) is harmless and queues nothing more.
    with django_capture_on_commit_callbacks(execute=True):
        assert finish(client, take, len(VIDEO)).status_code == 200
    assert queued == [a.pk]


def test_a_gap_is_refused_with_the_offset_to_continue_from(client, interview):
    take = start(client, interview).json()
    put(client, take, VIDEO[:1000], 0)
    response = put(client, take, VIDEO[2000:3000], 2000)
    assert response.status_code == 409
    body = response.json()
    assert body["offset"] == 1000 and body["code"] == "offset_gap"
    assert "send again from byte 1000" in body["error"]
    assert answer(interview, take["upload_id"]).bytes_received == 1000


def test_finishing_short_of_the_bytes_says_what_is_missing(client, interview, queued):
    take = start(client, interview).json()
    put(client, take, VIDEO[:500], 0)
    response = finish(client, take, len(VIDEO))
    assert response.status_code == 409
    assert response.json()["offset"] == 500
    assert f"We have 500 of {len(VIDEO)} bytes" in response.json()["error"]
    assert answer(interview, take["upload_id"]).status == AnswerStatus.RECORDING


def test_a_chunk_without_an_offset_or_past_the_size_limit_is_refused(
    client, interview, monkeypatch
):
    take = start(client, interview).json()
    response = client.put(take["chunks"], data=b"abc", content_type="application/octet-stream")
    assert response.status_code == 400
    assert "?offset=" in response.json()["error"]
    monkeypatch.setattr(uploads, "MAX_ANSWER_BYTES", 5000)
    put(client, take, VIDEO[:4000], 0)
    response = put(client, take, VIDEO[4000:6000], 4000)
    assert response.status_code == 413
    assert response.json()["error"] == (
        "An answer may be at most 4 KB. Record a shorter answer, or pick a smaller video."
    )
    assert answer(interview, take["upload_id"]).bytes_received == 4000


def test_retakes_are_limited_per_question_and_the_last_take_counts(client, interview, queued):
    # Question 1 allows one retake: two takes, then no more.
    first = record(client, interview, 0)
    second = record(client, interview, 0, data=VIDEO[:5000])
    refused = start(client, interview, 0)
    assert refused.status_code == 409
    assert refused.json()["error"] == (
        "You have used all 2 takes of question 1; your last one counts."
    )
    assert not answer(interview, first["upload_id"]).is_final
    final = answer(interview, second["upload_id"])
    assert final.is_final and final.attempt == 2
    # Question 2 allows none.
    record(client, interview, 1)
    assert start(client, interview, 1).status_code == 409

    status = client.get(url("status", interview)).json()
    one, two = status["questions"]
    assert (one["state"], one["attempt"], one["takes_used"], one["takes_left"]) == (
        "processing",
        2,
        2,
        0,
    )
    assert (two["state"], two["takes_left"]) == ("processing", 0)
    assert status["can_finish"] is True


def test_a_failed_take_is_asked_again_even_past_the_retakes(client, interview, queued):
    take = record(client, interview, 1)  # question 2: no retakes
    with tenant_scope(interview.organization):
        Answer.objects.filter(upload_id=take["upload_id"]).update(
            status=AnswerStatus.FAILED, error="The recording could not be read."
        )
    question = client.get(url("status", interview)).json()["questions"][1]
    assert question["state"] == "failed"
    assert question["message"] == "We could not play this answer. Please record it again."
    assert question["takes_left"] == 1
    again = start(client, interview, 1)
    assert again.status_code == 201 and again.json()["attempt"] == 2


def test_an_empty_take_fails_and_asks_to_record_again(client, interview, queued):
    take = start(client, interview, 0).json()
    response = finish(client, take, 0)
    assert response.json()["take"]["status"] == AnswerStatus.FAILED
    assert queued == []
    assert response.json()["questions"][0]["state"] == "failed"


def test_a_reloaded_page_sees_the_interrupted_take_and_records_it_again(client, interview):
    take = start(client, interview, 0).json()
    put(client, take, VIDEO[:3000], 0)
    question = client.get(url("status", interview)).json()["questions"][0]
    assert question["state"] == "todo"
    assert question["unfinished"] == {
        "upload_id": take["upload_id"], "offset": 3000, "attempt": 1,
    }  # fmt: skip
    new = start(client, interview, 0).json()
    assert new["attempt"] == 2
    old = answer(interview, take["upload_id"])
    assert old.status == AnswerStatus.FAILED and "interrupted" in old.error
    question = client.get(url("status", interview)).json()["questions"][0]
    assert question["takes_used"] == 0 and question["takes_left"] == 2
    # The interrupted take takes no more bytes.
    assert put(client, take, VIDEO[3000:4000], 3000).status_code == 400


def test_takes_need_consent_and_an_open_interview(client, alice):
    invited = make_interview(alice.organization, status=InterviewStatus.INVITED)
    response = start(client, invited)
    assert response.status_code == 409
    assert "agree to the recording" in response.json()["error"]
    expired = make_interview(alice.organization, expires_at=timezone.now() - timedelta(hours=1))
    assert start(client, expired).status_code == 409
    response = start(Client(), make_interview(alice.organization), question=7)
    assert response.status_code == 400
    assert response.json()["error"] == "There is no question 8: this interview has 2 questions."


def test_a_take_of_another_interview_is_not_found(client, alice, mallory):
    theirs = make_interview(mallory.organization)
    take = start(client, theirs).json()
    mine = make_interview(alice.organization)
    foreign = take["chunks"].replace(url("recorder", theirs), url("recorder", mine))
    response = client.put(foreign + "?offset=0", data=b"x", content_type="application/octet-stream")
    assert response.status_code == 404
    assert answer(theirs, take["upload_id"]).bytes_received == 0


def test_the_upload_is_csrf_protected_for_the_anonymous_page(alice):
    interview = make_interview(alice.organization)
    browser = Client(enforce_csrf_checks=True)
    page = browser.get(url("recorder", interview))
    assert page.status_code == 200
    token = page.cookies["csrftoken"].value
    body = json.dumps({"question": 0, "content_type": "video/webm"})
    refused = browser.post(url("take_start", interview), data=body, content_type="application/json")
    assert refused.status_code == 403
    allowed = browser.post(
        url("take_start", interview), data=body, content_type="application/json",
        HTTP_X_CSRFTOKEN=token,
    )  # fmt: skip
    assert allowed.status_code == 201


def test_consent_then_finish_completes_the_interview(client, alice, queued):
    interview = make_interview(alice.organization, status=InterviewStatus.INVITED)
    page = client.get(url("recorder", interview))
    text = page.content.decode()
    assert "kept for 180 days after you finish" in text
    assert "Acme Talent" in text and 'rel="icon"' in text
    refused = client.post(url("consent", interview), data={})
    assert refused.status_code == 400
    assert "Tick the box to agree" in refused.content.decode()
    agreed = client.post(url("consent", interview), data={"agree": "yes"})
    assert agreed.status_code == 302 and agreed["Location"] == url("recorder", interview)
    interview.refresh_from_db()
    assert interview.status == InterviewStatus.STARTED and interview.consent_at is not None
    assert 'id="recorder"' in client.get(url("recorder", interview)).content.decode()

    record(client, interview, 0)
    early = client.post(url("finish", interview))
    assert early.status_code == 409
    assert early.json()["error"] == "Answer question 2 before you finish."
    record(client, interview, 1)
    done = client.post(url("finish", interview))
    assert done.json() == {"redirect": url("recorder", interview)}
    interview.refresh_from_db()
    assert interview.status == InterviewStatus.COMPLETED
    with tenant_scope(alice.organization):
        assert TimelineEvent.objects.filter(
            candidate=interview.candidate, kind=journeys_kinds.VIDEO_INTERVIEW_COMPLETED
        ).exists()
    thanks = client.get(url("recorder", interview)).content.decode()
    assert "Your answers have been sent to Acme Talent" in thanks
    assert start(client, interview, 0).status_code == 409


def test_closed_and_unknown_links_say_so(client, alice):
    expired = make_interview(alice.organization, expires_at=timezone.now() - timedelta(days=1))
    assert "This link has expired" in client.get(url("recorder", expired)).content.decode()
    cancelled = make_interview(alice.organization, status=InterviewStatus.CANCELLED)
    assert "was cancelled" in client.get(url("recorder", cancelled)).content.decode()
    # The bare token from the database is not a working link.
    bare = client.get(f"/v/{expired.token}/")
    assert bare.status_code == 404
    assert "We couldn't find this link" in bare.content.decode()
    assert "Acme" not in bare.content.decode()


def test_on_an_object_store_each_chunk_is_an_object_joined_at_finish(
    client, interview, queued, settings
):
    """A storage without local paths (as S3): chunks are objects ``…/chunks/<offset>``, a
    repeated one is not stored twice, and finishing joins them into the original."""
    settings.STORAGES = {
        **settings.STORAGES,
        "recordings": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    }
    take = start(client, interview).json()
    assert put(client, take, VIDEO[:3000], 0).json()["offset"] == 3000
    repeated = put(client, take, VIDEO[:3000], 0)  # acknowledged, not stored again
    assert repeated.json() == {"offset": 3000, "appended": 0}
    assert put(client, take, VIDEO[3000:], 3000).json()["offset"] == len(VIDEO)
    a = answer(interview, take["upload_id"])
    storage = recordings_storage()
    folder = a.original.name.rsplit("/", 1)[0]
    assert storage.listdir(f"{folder}/chunks")[1] == ["000000000000000", "000000000003000"]
    assert finish(client, take, len(VIDEO)).status_code == 200
    a.refresh_from_db()
    assert stored_bytes(a) == VIDEO
    assert not storage.exists(f"{folder}/chunks/000000000000000")
    assert not storage.exists(f"{folder}/chunks/000000000003000")


def test_the_outsider_walk_of_the_recorder_urls_changes_and_shows_nothing(
    client, interview, alice, mallory, queued
):
    """Every /v/ URL filled with Acme's ids and tokens (bare tokens out of the database, not
    signed links) by anonymous visitors, another organization's owner and API key: a 404 that
    names nobody, and none of Acme's interviews or takes changes."""
    take = start(client, interview).json()
    put(client, take, VIDEO[:1000], 0)
    with tenant_scope(mallory.organization):
        _, outsider_key = services.api_key_create(
            actor=mallory.membership, name="Mallory", scope="write"
        )
    report = walk(
        victim=alice.organization,
        outsider_user=mallory.user,
        outsider_api_key=outsider_key,
        extra_markers=("Jordan", "Tell us about yourself."),
        only_routes=("v/",),
    )
    assert not report.problems, "\n".join(map(str, report.problems))
    assert len(report.walked_patterns) == 7, report.walked_patterns
    assert answer(interview, take["upload_id"]).bytes_received == 1000
