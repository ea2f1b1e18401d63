"""Issue 17: a conversation open in the Inbox must not keep its unread badge. Opening it marks
it read (its row and the sidebar count drop at once); a reply that arrives while it is open is
read as soon as the list or the thread polls; nobody else's conversation is touched."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from django.db.models import F
from django.utils import timezone

from candidates.models import Candidate
from messaging.models import Channel, Conversation, Direction, Message, MessageStatus
from recruitflow.tenancy import tenant_scope

pytestmark = pytest.mark.django_db


def _reply(org, candidate, body) -> Conversation:
    """The candidate texts us: an inbound message and one more unread, as the intake does."""
    with tenant_scope(org):
        conversation, _ = Conversation.objects.get_or_create(organization=org, candidate=candidate)
        Message.objects.create(
            organization=org,
            conversation=conversation,
            candidate=candidate,
            channel=Channel.SMS,
            direction=Direction.INBOUND,
            to_address="+447700900999",
            from_address=candidate.mobile_phone,
            body=body,
            status=MessageStatus.RECEIVED,
            source="inbound",
            status_updated_at=timezone.now(),
        )
        Conversation.objects.filter(pk=conversation.pk).update(
            unread_count=F("unread_count") + 1, last_message_at=timezone.now()
        )
        conversation.refresh_from_db()
        return conversation


def _row(page: str, conversation) -> str:
    """The list row of ``conversation`` as markup."""
    match = re.search(
        rf'<li class="conversation[^"]*" data-conversation="{conversation.pk}">.*?</li>',
        page,
        flags=re.S,
    )
    assert match, f"no row for conversation {conversation.pk}"
    return match.group(0)


def _sidebar_count(page: str) -> str:
    """The Inbox's unread count in the sidebar, "" when hidden."""
    match = re.search(r'<span id="inbox-unread-badge"[^>]*?( hidden)?>(\d*)</span>', page)
    assert match, "no unread count in the sidebar"
    return "" if match.group(1) else match.group(2)


def _unread_tab(page: str) -> str:
    match = re.search(r'data-filter="unread">Unread <span class="count">(\d+)</span>', page)
    assert match
    return match.group(1)


@pytest.fixture
def two_unread(org, make_candidate):
    people = []
    for first_name, mobile in (("Ana", "+447700900120"), ("Ben", "+447700900121")):
        person = make_candidate(mobile_phone=mobile, email=f"{first_name.lower()}@x.test")
        with tenant_scope(org):
            Candidate.objects.filter(pk=person.pk).update(first_name=first_name)
            person.refresh_from_db()
        people.append(person)
    ana, ben = people
    return _reply(org, ana, "Yes, Tuesday works"), _reply(org, ben, "Friday instead?")


def test_opening_a_conversation_clears_its_badge_and_the_sidebar_count_drops(
    alice, client_for, two_unread
):
    ana, ben = two_unread
    client = client_for(alice)
    before = client.get("/inbox/").content.decode()
    assert "1 unread" in _row(before, ana) and "1 unread" in _row(before, ben)
    assert _sidebar_count(before) == "2" and _unread_tab(before) == "2"

    page = client.get(f"/inbox/{ana.pk}/").content.decode()

    assert "Yes, Tuesday works" in html.unescape(page)
    row = _row(page, ana)
    assert "unread" not in row and 'class="conversation active"' in row
    assert "1 unread" in _row(page, ben)
    assert _sidebar_count(page) == "1" and _unread_tab(page) == "1"
    # Every other page's sidebar agrees.
    assert _sidebar_count(client.get("/").content.decode()) == "1"


def test_opening_it_from_the_list_refreshes_the_list_and_its_badge(alice, client_for, two_unread):
    ana, _ben = two_unread
    client = client_for(alice)

    thread = client.get(f"/inbox/{ana.pk}/", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="thread-pane")
    assert thread["HX-Trigger"] == "inbox-changed"  # the list re-polls at once
    listing = client.get(f"/inbox/list/?active={ana.pk}").content.decode()

    assert "unread" not in _row(listing, ana)
    assert 'id="inbox-unread-badge" class="nav-count" hx-swap-oob="true"' in listing
    assert _sidebar_count(listing) == "1"


def test_a_reply_to_the_open_conversation_is_read_when_the_list_polls_first(
    alice, client_for, org, two_unread
):
    ana, ben = two_unread
    client = client_for(alice)
    client.get(f"/inbox/{ana.pk}/")
    client.get(f"/inbox/{ben.pk}/")
    _reply(org, ana.candidate, "Shall I bring my portfolio?")

    # Ana's thread is open; the list's poll comes before the thread's.
    listing = client.get(f"/inbox/list/?active={ana.pk}").content.decode()

    assert "unread" not in _row(listing, ana)
    assert _sidebar_count(listing) == ""
    ana.refresh_from_db()
    assert ana.unread_count == 0

    # With another conversation open, Ana's reply is unread and says so.
    _reply(org, ana.candidate, "And my references?")
    listing = client.get(f"/inbox/list/?active={ben.pk}").content.decode()
    assert "1 unread" in _row(listing, ana)
    assert _sidebar_count(listing) == "1"


def test_the_thread_poll_marks_a_reply_read_and_tells_the_list_even_with_nothing_new_to_show(
    alice, client_for, org, two_unread
):
    ana, _ben = two_unread
    client = client_for(alice)
    page = client.get(f"/inbox/{ana.pk}/").content.decode()
    poll_url = page.split('id="thread-messages" class="thread-messages" hx-get="', 1)[1]
    poll_url = poll_url.split('"', 1)[0].replace("&amp;", "&")
    assert client.get(poll_url).status_code == 204  # nothing new, nothing read
    assert "HX-Trigger" not in client.get(poll_url)

    # The unread count went up after the thread last showed the message (the count and the
    # message are separate writes of the intake): the poll has nothing to show, yet reads it.
    with tenant_scope(org):
        Conversation.objects.filter(pk=ana.pk).update(unread_count=1)
    response = client.get(poll_url)

    assert response.status_code == 204
    assert response["HX-Trigger"] == "inbox-changed"
    ana.refresh_from_db()
    assert ana.unread_count == 0


def test_an_outsiders_open_conversation_id_reads_nothing_of_ours(
    alice, mallory, client_for, two_unread
):
    ana, _ben = two_unread
    client = client_for(mallory)

    response = client.get(f"/inbox/list/?active={ana.pk}")

    assert response.status_code == 200
    assert "Ana" not in response.content.decode()
    ana.refresh_from_db()
    assert ana.unread_count == 1
    # A number too long for an id is ignored, not an error.
    assert client_for(alice).get("/inbox/list/?active=99999999999999999999").status_code == 200


def test_deleting_an_unread_conversation_takes_it_off_the_sidebar_at_once(
    org, alice, client_for, two_unread
):
    ana, _ben = two_unread
    client = client_for(alice)
    assert _sidebar_count(client.get("/").content.decode()) == "2"  # counted and cached

    with tenant_scope(org):
        Conversation.objects.filter(pk=ana.pk).first().delete()

    assert _sidebar_count(client.get("/").content.decode()) == "1"


# Where a product module may change Conversation.unread_count: each of these also tells the
# cached badge (messaging.badge). A new writer elsewhere must do the same and be listed here.
# A write: an attribute set, an ``update(unread_count=...)`` or an ``F()`` expression (filters such
# as ``filter(unread_count=0)`` only read).
_UNREAD_WRITE = re.compile(
    r"\.unread_count\s*=(?!=)|update\([^)]*unread_count\s*=|unread_count\s*=\s*F\("
)


def test_every_module_that_writes_an_unread_count_tells_the_cached_badge():
    root = Path(__file__).resolve().parents[2]
    writers = {}
    for path in root.rglob("*.py"):
        relative = path.relative_to(root).as_posix()
        if relative.startswith((".venv/", "tests/", "bench/")) or "/migrations/" in relative:
            continue
        source = path.read_text()
        lines = [line.strip() for line in source.splitlines() if _UNREAD_WRITE.search(line)]
        if lines:
            writers[relative] = source
    assert set(writers) == {
        "messaging/inbox.py",
        "messaging/services/inbound.py",
        "messaging/services/inbound_email.py",
    }, "a new module writes Conversation.unread_count: make it call messaging.badge and list it"
    for relative, source in writers.items():
        assert "badge.unread_changed(" in source or "badge.conversation_read(" in source, relative
