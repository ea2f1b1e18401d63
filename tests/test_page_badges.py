"""The sidebar's Inbox badge and the top bar's bell are counted once and cached (per
organization, per member), and every write that changes them shows on the next page at once:
a new reply, a read mark, a new notification. A person who sees only some candidates never
gets the organization's cached figure."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Role
from candidates.models import Candidate
from integrations.messaging import InboundSMS
from messaging.models import Conversation
from messaging.services import inbound_sms_receive
from notifications.collector import notifications_write
from notifications.services import notifications_mark_all_read
from notifications.sources import Item
from recruitflow.tenancy import tenant_scope
from tests.factories import add_member

pytestmark = pytest.mark.django_db

MOBILE = "+447700900123"


def _inbox_badge(page: str) -> str:
    """The Inbox's unread count in the sidebar, "" when hidden."""
    match = re.search(r'<span id="inbox-unread-badge"[^>]*?( hidden)?>(\d*)</span>', page)
    assert match, "no Inbox badge in the sidebar"
    return "" if match.group(1) else match.group(2)


def _bell(page: str) -> str:
    match = re.search(
        r'<span class="bell-count" data-bell-count[^>]*?( hidden)?>([^<]*)</span>', page
    )
    assert match, "no bell count in the top bar"
    return "" if match.group(1) else match.group(2)


def _page(client, url="/library/") -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def _candidate(org) -> Candidate:
    with tenant_scope(org):
        return Candidate.objects.create(
            organization=org,
            provider="greenhouse",
            external_id="c-badge",
            first_name="Sam",
            last_name="Reply",
            mobile_phone=MOBILE,
        )


def _text_arrives(org, body: str, n: int) -> None:
    with tenant_scope(org):
        inbound_sms_receive(
            organization=org,
            inbound=InboundSMS(
                provider_message_id=f"SM-badge-{n}",
                from_e164=MOBILE,
                to_e164="+15005550006",
                body=body,
                received_at=timezone.now(),
            ),
        )


def test_a_new_reply_shows_on_the_inbox_badge_at_once_and_reading_it_clears_it(alice, client_for):
    org = alice.organization
    client = client_for(alice)
    _candidate(org)
    assert _inbox_badge(_page(client)) == ""  # counted (none) and cached

    _text_arrives(org, "Tuesday works for me", 1)
    assert _inbox_badge(_page(client)) == "1"

    with tenant_scope(org):
        conversation = Conversation.objects.get()
    _page(client, f"/inbox/{conversation.pk}/")  # opening it marks it read
    assert _inbox_badge(_page(client)) == ""


def test_the_badge_is_counted_once_not_on_every_page(alice, client_for):
    org = alice.organization
    client = client_for(alice)
    _candidate(org)
    _text_arrives(org, "Hello?", 1)
    _page(client)
    with CaptureQueriesContext(connection) as ctx:
        page = _page(client)
    assert _inbox_badge(page) == "1"
    counts = [q["sql"] for q in ctx.captured_queries if '"unread_count" > 0' in q["sql"]]
    assert counts == [], counts


def test_a_hiring_manager_never_sees_the_organizations_cached_count(alice, client_for, client):
    org = alice.organization
    _candidate(org)
    _text_arrives(org, "Any news?", 1)
    assert _inbox_badge(_page(client_for(alice))) == "1"  # the organization's figure, cached

    manager = add_member(organization=org, email="hm@acme.test", role=Role.HIRING_MANAGER)
    client.force_login(manager.user)
    # On no hiring team: the candidate who wrote is not theirs to see.
    assert _inbox_badge(_page(client)) == ""


def test_a_new_notification_rings_the_bell_at_once_and_mark_all_read_silences_it(alice, client_for):
    org = alice.organization
    client = client_for(alice)
    assert _bell(_page(client)) == ""  # counted (none) and cached

    with tenant_scope(org):
        notifications_write(
            organization=org,
            items=[
                Item(
                    kind="replied",
                    key="badge-test-1",
                    title="Sam replied",
                    body="Tuesday works for me",
                    link="/inbox/",
                    occurred_at=timezone.now(),
                    user_ids=(alice.user.pk,),
                )
            ],
        )
    assert _bell(_page(client)) == "1"

    with tenant_scope(org):
        notifications_mark_all_read(organization=org, user=alice.user)
    assert _bell(_page(client)) == ""
