"""Files reach Greenhouse through Harvest v1's candidate attachment POST (JSON, base64
``content``, ``content_type``, ``type: admin_only``, On-Behalf-Of the acting user). Harvest v3
has no candidate attachment upload: a v3 connection's upload fails with that said, the
sandbox receives nothing and the connection is not flagged. Over HTTP against the sandbox."""

from __future__ import annotations

import pytest

from integrations.greenhouse.models import GreenhouseConnection
from integrations.models import ConnectionStatus
from recruitflow.tenancy import tenant_scope
from writeback import services
from writeback.models import ActivityWrite, WriteStatus

from .conftest import greenhouse_ats, run_beat

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("writeback_env")]

PDF = b"%PDF-1.4 transcript"


def _upload(org, ats):
    with tenant_scope(org):
        services.rules_update(
            organization=org, acting_user_email=ats.acting.email, enabled=True,
            note_visibility="private", text_batch_minutes=0,
        )  # fmt: skip
        services.attachment_enqueue(
            organization=org,
            candidate=ats.candidates[0],
            filename="sms-transcript-v1.pdf",
            content_type="application/pdf",
            dedupe_key="transcript:test:1",
            data=PDF,
        )
        run_beat()
        return ActivityWrite.objects.get()


def test_v1_upload_is_the_documented_json_attachment_on_behalf_of_the_acting_user(sandbox, org):
    ats = greenhouse_ats(org, sandbox)

    row = _upload(org, ats)

    assert row.status == WriteStatus.WRITTEN
    candidate = sandbox.greenhouse.co.candidates[int(ats.candidates[0].external_id)]
    (attachment,) = candidate["attachments"]
    assert attachment["filename"] == "sms-transcript-v1.pdf"
    assert (attachment["type"], attachment["content_type"]) == ("admin_only", "application/pdf")
    assert attachment["user_id"] == int(ats.acting.external_id)
    assert sandbox.greenhouse.attachment_blobs[attachment["id"]] == PDF


def test_v3_upload_fails_saying_attachments_need_v1_and_sends_nothing(sandbox, org):
    ats = greenhouse_ats(org, sandbox)
    with tenant_scope(org):
        GreenhouseConnection.objects.filter(pk=ats.connection.pk).update(
            api_version="v3",
            api_key="",
            client_id="sandbox-client-id",
            client_secret="sandbox-client-secret",
            token_url=f"{sandbox.url}/greenhouse/auth/token",
        )

    row = _upload(org, ats)

    assert row.status == WriteStatus.FAILED
    assert "Harvest v3 has no candidate attachment upload" in row.reason
    assert "deleted" not in row.reason
    with tenant_scope(org):
        connection = GreenhouseConnection.objects.get()
    # The connection still syncs and writes notes: it is not flagged for a file it can't take.
    assert connection.status == ConnectionStatus.CONNECTED and connection.last_error == ""
    assert "Harvest v1 API key" in row.reason  # the row says how to get files through
    assert [w for w in sandbox.greenhouse.writes if w["kind"] == "add_attachment"] == []
