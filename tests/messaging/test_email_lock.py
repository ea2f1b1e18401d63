"""A team member's hand on the e-mail opt-out ledger: the candidate page and the Inbox thread
show an address's lock and history, lock it by hand, and opt it back in with the reason kept
on the ledger; the partner API does the same at /api/v1/opt-outs/email/."""

# ruff: noqa: F811 (test parameters are the imported Journeys fixtures, by name)

from __future__ import annotations

import pytest

from accounts import services as account_services
from messaging.email_consent import email_is_locked, email_opt_out_lock, unsubscribe_url
from messaging.inbox import email_availability
from messaging.models import Conversation, EmailOptOutEntry, EmailOptOutSource, OptOutAction
from recruitflow.tenancy import tenant_scope
from tests.journeys.conftest import ats  # noqa: F401 (the Journeys fixture, used by name)

pytestmark = pytest.mark.django_db

SAM = "sam@example.com"


@pytest.fixture
def sam(ats):
    return ats.candidate(email=SAM)


def _unsubscribe(client, org):
    path = unsubscribe_url(organization=org, email=SAM).split("/", 3)[3]
    client.post(f"/{path}", data={})


def _ledger(org):
    with tenant_scope(org):
        return list(EmailOptOutEntry.objects.order_by("created_at", "id"))


def test_candidate_page_shows_the_lock_and_an_owner_opts_the_address_back_in_with_a_reason(
    client_for, alice, ats, sam
):
    org = ats.organization
    client = client_for(alice)
    _unsubscribe(client, org)

    page = client.get(f"/candidates/{sam.pk}/").content.decode()
    assert "E-mail is locked: sam@example.com unsubscribed with the link in an e-mail" in page
    assert "E-mail opt-out history of sam@example.com (1)" in page
    assert "Opt back in to e-mail" in page

    response = client.post(
        f"/inbox/candidates/{sam.pk}/email/unlock/",
        {
            "reason": "Asked by phone to get interview e-mails again",
            "next": f"/candidates/{sam.pk}/",
        },
    )
    after = client.get(response.url).content.decode()

    assert response.status_code == 302 and response.url == f"/candidates/{sam.pk}/"
    assert not email_is_locked(org, SAM)
    lock, unlock = _ledger(org)
    assert (lock.action, unlock.action) == (OptOutAction.LOCK, OptOutAction.UNLOCK)
    assert unlock.detail == "Asked by phone to get interview e-mails again"
    assert unlock.actor == alice.user and unlock.source == EmailOptOutSource.MANUAL
    assert "E-mail is locked" not in after
    assert "Opted back in by" in after and "Asked by phone to get interview e-mails again" in after
    assert "Lock this address" in after
    with tenant_scope(org):
        assert email_availability(candidate=sam, organization=org) == ""


def test_opting_back_in_without_a_reason_is_refused_and_the_lock_stays(client_for, alice, ats, sam):
    org = ats.organization
    client = client_for(alice)
    _unsubscribe(client, org)

    response = client.post(
        f"/inbox/candidates/{sam.pk}/email/unlock/", {"reason": "  "}, follow=True
    )

    assert "Say why sam@example.com may be e-mailed again" in response.content.decode()
    assert email_is_locked(org, SAM)
    assert len(_ledger(org)) == 1


def test_a_recruiter_locks_the_address_from_the_inbox_thread_and_the_composer_says_why(
    client_for, bob, ats, sam
):
    org = ats.organization
    with tenant_scope(org):
        conversation = Conversation.objects.create(organization=org, candidate=sam)
    client = client_for(bob)
    thread = f"/inbox/{conversation.pk}/"
    assert "Lock this address" in client.get(thread).content.decode()

    response = client.post(f"/inbox/candidates/{sam.pk}/email/lock/", {"next": thread})
    page = client.get(response.url).content.decode()

    assert response.url == thread
    (entry,) = _ledger(org)
    assert (entry.source, entry.actor) == (EmailOptOutSource.MANUAL, bob.user)
    assert (
        "E-mail is locked: sam@example.com was marked as not to be e-mailed by a team member"
        in page
    )
    assert "Opt back in to e-mail" in page


def test_another_organization_can_neither_see_nor_lift_our_lock(client_for, mallory, ats, sam):
    org = ats.organization
    with tenant_scope(org):
        email_opt_out_lock(organization=org, email=SAM, source=EmailOptOutSource.SPAM_REPORT)
    client = client_for(mallory)

    lifted = client.post(f"/inbox/candidates/{sam.pk}/email/unlock/", {"reason": "Because"})
    locked = client.post(f"/inbox/candidates/{sam.pk}/email/lock/")

    assert (lifted.status_code, locked.status_code) == (404, 404)
    assert email_is_locked(org, SAM)
    assert len(_ledger(org)) == 1


def test_the_api_locks_by_hand_and_opts_back_in_only_with_a_reason(client, alice, ats):
    org = ats.organization
    with tenant_scope(org):
        _, raw = account_services.api_key_create(actor=alice.membership, name="ATS", scope="write")
        _, read_only = account_services.api_key_create(
            actor=alice.membership, name="BI", scope="read"
        )
    auth = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    url = "/api/v1/opt-outs/email/"

    locked = client.post(
        url,
        {"email": "Sam@Example.com", "reason": "Asked by phone"},
        content_type="application/json",
        **auth,
    )
    again = client.post(url, {"email": SAM}, content_type="application/json", **auth)
    no_reason = client.post(
        f"{url}unlock/", {"email": SAM}, content_type="application/json", **auth
    )
    refused = client.post(
        f"{url}unlock/", {"email": SAM, "reason": "Replied asking for e-mail"},
        content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {read_only}",
    )  # fmt: skip
    still_locked = client.get(url, **auth).json()["results"]
    unlocked = client.post(
        f"{url}unlock/", {"email": SAM, "reason": "Replied asking for e-mail"},
        content_type="application/json", **auth,
    )  # fmt: skip
    history = client.get(f"{url}?history=true", **auth).json()["results"]

    assert locked.status_code == 201 and locked.json()["source"] == "manual"
    assert locked.json()["email"] == SAM and locked.json()["detail"] == "Asked by phone"
    assert again.status_code == 200 and again.json()["id"] == locked.json()["id"]
    assert no_reason.status_code == 400 and "reason" in no_reason.json()["errors"]
    assert refused.status_code == 403
    assert [e["email"] for e in still_locked] == [SAM]
    assert unlocked.status_code == 201
    assert unlocked.json()["locked"] is False
    assert unlocked.json()["detail"] == "Replied asking for e-mail"
    assert unlocked.json()["actor"]["email"] == alice.user.email
    assert [e["action"] for e in history] == ["unlock", "lock"]
    assert client.get(url, **auth).json()["results"] == []
    assert not email_is_locked(org, SAM)
