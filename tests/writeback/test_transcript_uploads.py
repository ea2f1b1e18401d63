"""SMS transcripts reach the candidate in the ATS over HTTP (the sandbox Lever and Greenhouse):
after the quiet period, as the acting user, once per state of the conversation, and as a new
version after later texts."""

import io
from datetime import timedelta

import pypdf
import pytest
import requests
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from integrations.greenhouse.models import GreenhouseConnection
from integrations.lever.models import LeverConnection
from integrations.models import ConnectionStatus
from integrations.sandbox.server import SandboxServer
from messaging.models import Message, MessageStatus
from recruitflow.tenancy import tenant_scope
from tests.writeback.transcript_data import add_text, make_thread
from writeback import tasks
from writeback.models import ActivityWrite, WritebackPause, WritebackRules, WriteStatus
from writeback.transcript_uploads import transcripts_due, transcripts_enqueue_due

LEVER_KEY = ("sandbox-lever-key", "")


def pdf_text(pdf: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return " ".join(" ".join(page.extract_text().split()) for page in reader.pages)


@pytest.fixture(scope="module")
def sandbox():
    with SandboxServer(port=0, n_candidates=10, lever_rate=None) as server:
        yield server


@pytest.fixture(autouse=True)
def _clean(sandbox):
    sandbox.lever.reset()
    sandbox.greenhouse.reset()


@pytest.fixture
def lever_user(sandbox):
    return requests.get(f"{sandbox.url}/lever/v1/users", auth=LEVER_KEY).json()["data"][0]


@pytest.fixture
def opportunity(sandbox):
    return next(iter(sandbox.lever.opps))


@pytest.fixture
def lever(alice, sandbox, lever_user):
    org = alice.organization
    with tenant_scope(org):
        LeverConnection.objects.create(
            organization=org,
            base_url=f"{sandbox.url}/lever/v1",
            api_key="sandbox-lever-key",
            status=ConnectionStatus.CONNECTED,
        )
        WritebackRules.objects.create(
            organization=org,
            enabled=True,
            acting_user_email=lever_user["email"],
            acting_user_external_id=lever_user["id"],
            acting_user_name=lever_user["name"],
        )
    return org


def queue_and_write(org, *, now=None) -> int:
    with tenant_scope(org):
        queued = transcripts_enqueue_due(organization=org, now=now)
    tasks.write_due()
    return queued


def received_files(sandbox, opportunity):
    files = requests.get(
        f"{sandbox.url}/lever/v1/opportunities/{opportunity}/files", auth=LEVER_KEY
    ).json()["data"]
    return sorted(files, key=lambda f: f["uploadedAt"])


def download(sandbox, opportunity, file_id) -> bytes:
    response = requests.get(
        f"{sandbox.url}/lever/v1/opportunities/{opportunity}/files/{file_id}/download",
        auth=LEVER_KEY,
    )
    assert response.status_code == 200
    return response.content


def test_transcript_is_uploaded_to_lever_as_the_acting_user_after_the_quiet_period(
    lever, bob, sandbox, opportunity, lever_user
):
    now = timezone.now()
    thread = make_thread(
        lever, member=bob.user, start=now - timedelta(hours=16), external_id=opportunity
    )
    # The last text is 13 hours old: quiet for more than the default 12 hours.
    assert queue_and_write(lever) == 1

    files = received_files(sandbox, opportunity)
    assert len(files) == 1
    assert files[0]["name"].startswith("sms-transcript-sam-okafor-v1-")
    assert files[0]["ext"] == "pdf" and files[0]["status"] == "processed"
    uploads = [w for w in sandbox.lever.writes if w["kind"] == "add_file"]
    assert [w["args"]["perform_as"] for w in uploads] == [lever_user["id"]]
    text = pdf_text(download(sandbox, opportunity, files[0]["id"]))
    for message in thread.messages:
        assert message.body in text
    page = requests.get(f"{sandbox.url}/lever/_sandbox/opportunities/{opportunity}").text
    assert files[0]["name"] in page and lever_user["name"] in page

    with tenant_scope(lever):
        row = ActivityWrite.objects.get()
    assert row.status == WriteStatus.WRITTEN and row.external_id == files[0]["id"]


def test_same_conversation_state_twice_uploads_nothing_more(lever, bob, sandbox, opportunity):
    now = timezone.now()
    make_thread(lever, member=bob.user, start=now - timedelta(hours=16), external_id=opportunity)
    assert queue_and_write(lever) == 1
    assert queue_and_write(lever) == 0
    assert queue_and_write(lever, now=now + timedelta(days=3)) == 0
    assert len(received_files(sandbox, opportunity)) == 1


def test_a_later_text_makes_a_new_version_once_the_conversation_is_quiet_again(
    lever, bob, sandbox, opportunity
):
    now = timezone.now()
    thread = make_thread(
        lever, member=bob.user, start=now - timedelta(hours=16), external_id=opportunity
    )
    assert queue_and_write(lever) == 1
    add_text(lever, thread, body="One more question: is there parking?", at=now)

    assert queue_and_write(lever) == 0  # not quiet yet
    assert len(received_files(sandbox, opportunity)) == 1

    assert queue_and_write(lever, now=now + timedelta(hours=12, minutes=1)) == 1
    files = received_files(sandbox, opportunity)
    assert [f["name"].split("-v")[1][:1] for f in files] == ["1", "2"]
    first, second = (pdf_text(download(sandbox, opportunity, f["id"])) for f in files)
    assert "is there parking?" not in first
    assert "is there parking?" in second and "Hi Sam, you are invited onsite." in second


def test_quiet_hours_come_from_the_rules(lever, bob, sandbox, opportunity):
    now = timezone.now()
    make_thread(lever, member=bob.user, start=now - timedelta(hours=5), external_id=opportunity)
    assert queue_and_write(lever) == 0  # last text 2 hours ago
    with tenant_scope(lever):
        WritebackRules.objects.filter(organization=lever).update(transcript_quiet_hours=2)
    assert queue_and_write(lever) == 1
    assert len(received_files(sandbox, opportunity)) == 1


def test_nothing_is_uploaded_while_a_text_is_unsettled_or_transcripts_are_off(
    lever, bob, sandbox, opportunity
):
    now = timezone.now()
    thread = make_thread(
        lever, member=bob.user, start=now - timedelta(hours=16), external_id=opportunity
    )
    with tenant_scope(lever):
        held = thread.messages[-1]
        held.status = MessageStatus.HELD
        held.save(update_fields=["status"])
        assert transcripts_due(organization=lever) == []
        # A text whose fate stayed unknown for days no longer holds the transcript back.
        stale = thread.messages[0]
        stale.status = MessageStatus.UNKNOWN
        stale.save(update_fields=["status"])
        Message.objects.filter(pk=stale.pk).update(created_at=now - timedelta(days=4))
        held.status = MessageStatus.SENT
        held.save(update_fields=["status"])
        assert len(transcripts_due(organization=lever)) == 1
        WritebackRules.objects.filter(organization=lever).update(sms_transcripts=False)
        assert transcripts_due(organization=lever) == []
        WritebackRules.objects.filter(organization=lever).update(
            sms_transcripts=True, enabled=False
        )
        assert transcripts_due(organization=lever) == []
    assert received_files(sandbox, opportunity) == []


def test_a_paused_candidate_gets_no_transcript(lever, bob, sandbox, opportunity):
    now = timezone.now()
    thread = make_thread(
        lever, member=bob.user, start=now - timedelta(hours=16), external_id=opportunity
    )
    with tenant_scope(lever):
        WritebackPause.objects.create(
            organization=lever, candidate=thread.candidate, source="candidate_page"
        )
    assert queue_and_write(lever) == 1
    with tenant_scope(lever):
        assert ActivityWrite.objects.get().status == WriteStatus.PAUSED
    assert received_files(sandbox, opportunity) == []


def test_transcript_is_attached_in_greenhouse_on_behalf_of_the_acting_user(alice, bob, sandbox):
    org = alice.organization
    candidate_id = next(iter(sandbox.greenhouse.co.candidates))
    user = sandbox.greenhouse.co.users[0]
    with tenant_scope(org):
        GreenhouseConnection.objects.create(
            organization=org,
            base_url=f"{sandbox.url}/greenhouse",
            api_version="v1",
            api_key="sandbox-harvest-key",
            status=ConnectionStatus.CONNECTED,
        )
        WritebackRules.objects.create(
            organization=org, enabled=True, acting_user_external_id=str(user["id"])
        )
    thread = make_thread(
        org,
        member=bob.user,
        start=timezone.now() - timedelta(hours=16),
        external_id=str(candidate_id),
        provider="greenhouse",
    )
    assert queue_and_write(org) == 1
    attachments = sandbox.greenhouse.co.candidates[candidate_id]["attachments"]
    assert len(attachments) == 1
    assert attachments[0]["type"] == "admin_only"
    assert attachments[0]["content_type"] == "application/pdf"
    assert attachments[0]["user_id"] == user["id"]
    content = sandbox.greenhouse.attachment_blobs[attachments[0]["id"]]
    assert thread.messages[1].body in pdf_text(content)


def test_the_beat_task_queues_quiet_conversations_and_the_outbox_uploads_them(
    lever, bob, sandbox, opportunity
):
    make_thread(
        lever, member=bob.user, start=timezone.now() - timedelta(hours=16), external_id=opportunity
    )
    assert tasks.upload_transcripts() == 1
    assert tasks.upload_transcripts() == 0
    tasks.write_due()
    assert len(received_files(sandbox, opportunity)) == 1


def test_the_beat_schedule_runs_the_upload_every_minute(db):
    entry = PeriodicTask.objects.get(task="writeback.upload_transcripts")
    assert entry.enabled and entry.interval.every == 60 and entry.interval.period == "seconds"
