"""A recruiter's own e-mail from the Inbox is a personal message, not bulk mail: it carries
the conversation's Reply-To but no unsubscribe footer and no RFC 8058 List-Unsubscribe
headers (those are for journey e-mails). The candidate's e-mail lock still stops it. Over
HTTP through the sandbox SendGrid."""

# ruff: noqa: F811 (test parameters are imported fixtures, by name)

from __future__ import annotations

import pytest

from messaging.email_consent import email_opt_out_lock
from messaging.models import Channel, EmailOptOutSource
from messaging.services import CannotSend, message_deliver, message_send
from recruitflow.tenancy import tenant_scope
from tests.journeys.conftest import ats  # noqa: F401 (the Journeys fixture, used by name)
from tests.messaging.test_email_replies import mailer, org, sandbox_mails  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_inbox_email_has_the_reply_address_but_no_unsubscribe_footer_or_headers(
    mailer, sandbox, org, ats, bob
):
    sam = ats.candidate(email="sam@example.com")
    with tenant_scope(org):
        message = message_send(
            organization=org, candidate=sam, channel=Channel.EMAIL, subject="Your onsite",
            body="Hi Sam, see you Thursday.", source="inbox", sent_by=bob.user,
        )  # fmt: skip
        message_deliver(organization=org, message_id=message.pk)

    (mail,) = sandbox_mails(sandbox, "sam@example.com")
    assert mail["reply_to"]["email"].endswith(f"@o{org.pk}.reply.acme.test")
    assert "List-Unsubscribe" not in (mail.get("headers") or {})
    assert "List-Unsubscribe-Post" not in (mail.get("headers") or {})
    assert "nsubscribe" not in mail["text"] and "nsubscribe" not in (mail.get("html") or "")
    assert "Hi Sam, see you Thursday." in mail["text"]


def test_an_inbox_email_to_a_locked_address_is_refused_with_the_reason(mailer, sandbox, org, ats):
    sam = ats.candidate(email="sam@example.com")
    with tenant_scope(org):
        email_opt_out_lock(
            organization=org, email="sam@example.com", source=EmailOptOutSource.ONE_CLICK
        )
        with pytest.raises(CannotSend) as refused:
            message_send(
                organization=org, candidate=sam, channel=Channel.EMAIL, subject="Hi",
                body="Hello", source="inbox",
            )  # fmt: skip

    assert "unsubscribed with their mail app's unsubscribe button" in refused.value.reason
    assert sandbox_mails(sandbox, "sam@example.com") == []
