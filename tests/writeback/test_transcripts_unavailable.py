"""A Greenhouse connection on Harvest v3 cannot attach files to a candidate: no transcript is
queued for it (so the connection is never flagged for one), and Settings → ATS activity says
transcripts are not available instead of offering the checkbox; a save keeps the stored rule.
A Harvest v1 connection queues and is offered the rule as before."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from integrations.greenhouse.models import GreenhouseConnection
from integrations.models import ConnectionStatus
from integrations.sandbox.server import SandboxServer
from recruitflow.tenancy import tenant_scope
from tests.writeback.transcript_data import make_thread
from writeback import tasks
from writeback.models import ActivityWrite, WritebackRules
from writeback.transcript_uploads import transcripts_enqueue_due

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def sandbox():
    with SandboxServer(port=0, n_candidates=4) as server:
        yield server


def _connect(org, sandbox, version: str):
    user = sandbox.greenhouse.co.users[0]
    with tenant_scope(org):
        GreenhouseConnection.objects.create(
            organization=org,
            base_url=f"{sandbox.url}/greenhouse",
            api_version=version,
            api_key="sandbox-harvest-key" if version == "v1" else "",
            client_id="sandbox-client-id" if version == "v3" else "",
            client_secret="sandbox-client-secret" if version == "v3" else "",
            token_url=f"{sandbox.url}/greenhouse/auth/token" if version == "v3" else "",
            status=ConnectionStatus.CONNECTED,
        )
        WritebackRules.objects.create(
            organization=org,
            enabled=True,
            sms_transcripts=True,
            acting_user_email=user["email"],
            acting_user_external_id=str(user["id"]),
            acting_user_name=user["name"],
        )


def _quiet_thread(org, sandbox, member):
    make_thread(
        org,
        member=member,
        start=timezone.now() - timedelta(hours=16),
        external_id=str(next(iter(sandbox.greenhouse.co.candidates))),
        provider="greenhouse",
    )


@pytest.mark.parametrize("version", ["v1", "v3"])
def test_only_a_connection_that_takes_files_gets_transcripts_queued(alice, bob, sandbox, version):
    sandbox.greenhouse.reset()
    org = alice.organization
    _connect(org, sandbox, version)
    _quiet_thread(org, sandbox, bob.user)

    with tenant_scope(org):
        queued = transcripts_enqueue_due(organization=org)
    tasks.write_due()
    with tenant_scope(org):
        connection = GreenhouseConnection.objects.get()
        rows = ActivityWrite.objects.count()
    uploads = [w for w in sandbox.greenhouse.writes if w["kind"] == "add_attachment"]

    if version == "v1":
        assert (queued, rows, len(uploads)) == (1, 1, 1)
    else:
        assert (queued, rows, uploads) == (0, 0, [])
    assert connection.status == ConnectionStatus.CONNECTED
    assert connection.last_error == ""


def test_settings_say_transcripts_are_not_available_on_v3_and_a_save_keeps_the_rule(
    client, alice, sandbox
):
    org = alice.organization
    _connect(org, sandbox, "v3")
    client.force_login(alice.user)

    page = client.get("/settings/ats-activity/").content.decode()
    form = {
        "enabled": "on", "outbound_emails": "on", "outbound_texts": "on", "first_reply": "on",
        "later_replies": "on", "bookings": "on", "opt_outs": "on", "note_visibility": "private",
        "text_batch_minutes": "15", "transcript_quiet_hours": "12",
        "acting_user_email": "",
    }  # fmt: skip
    saved = client.post("/settings/ats-activity/", form)
    with tenant_scope(org):
        rules = WritebackRules.objects.get()

    assert "SMS transcripts are not available for this connection." in page
    assert "Harvest v3 has no candidate attachment upload" in page
    assert 'name="sms_transcripts"' not in page
    assert "Needs attention" not in page
    assert saved.status_code == 302
    assert rules.sms_transcripts is True


def test_settings_offer_the_transcript_checkbox_on_v1(client, alice, sandbox):
    _connect(alice.organization, sandbox, "v1")
    client.force_login(alice.user)

    page = client.get("/settings/ats-activity/").content.decode()

    assert 'name="sms_transcripts"' in page
    assert "not available for this connection" not in page
