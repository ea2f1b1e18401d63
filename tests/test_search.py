"""The top bar's search finds, within the signed-in member's organization, candidates (name,
e-mail, a mobile number typed in any format), Inbox conversations (candidate or message text),
journeys and Library templates; never another organization's rows or a hiring manager's hidden
candidates; and says what can be searched when there is nothing to search or nothing found."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.db.models import F

from accounts.models import Role
from candidates.models import AtsUser, Candidate
from journeys import services as journey_services
from journeys.models import Journey
from library.models import MessageTemplate, TemplateChannel
from messaging.models import Channel, Conversation, Direction, Message, MessageStatus
from recruitflow import search
from recruitflow.tenancy import tenant_scope
from tests.conftest import Persona
from tests.factories import add_member
from tests.journeys.conftest import build_ats

pytestmark = pytest.mark.django_db


def _candidate(organization, external_id: str, first: str, last: str, **fields) -> Candidate:
    with tenant_scope(organization):
        return Candidate.objects.create(
            organization=organization,
            provider="greenhouse",
            external_id=external_id,
            first_name=first,
            last_name=last,
            **fields,
        )


def _conversation(organization, candidate, body: str, when: datetime) -> Conversation:
    with tenant_scope(organization):
        conversation = Conversation.objects.create(
            organization=organization, candidate=candidate, last_message_at=when
        )
        Message.objects.create(
            organization=organization,
            conversation=conversation,
            candidate=candidate,
            channel=Channel.SMS,
            direction=Direction.INBOUND,
            to_address="+15005550006",
            from_address=candidate.mobile_phone,
            body=body,
            status=MessageStatus.RECEIVED,
        )
    return conversation


@pytest.fixture
def acme(alice):
    organization = alice.organization
    organization.time_zone = "America/New_York"
    organization.save(update_fields=["time_zone"])
    grace = _candidate(
        organization,
        "c-1",
        "Grace",
        "Hopper",
        primary_email="grace.hopper@navy.test",
        mobile_phone="+14155550100",
    )
    alan = _candidate(organization, "c-2", "Alan", "Turing", primary_email="alan@bletchley.test")
    conversation = _conversation(
        organization,
        alan,
        "Thanks! Thursday at 3pm works for the onsite interview.",
        datetime(2026, 3, 5, 15, 30, tzinfo=UTC),
    )
    with tenant_scope(organization):
        journey = journey_services.journey_create(
            organization=organization, name="Onsite reminder sequence"
        )
        template = MessageTemplate.objects.create(
            organization=organization,
            name="Offer congratulations",
            channel=TemplateChannel.EMAIL,
            subject="Welcome aboard, {{ candidate.first_name }}",
            html_body="<p>Hi</p>",
        )
    return {
        "grace": grace,
        "alan": alan,
        "conversation": conversation,
        "journey": journey,
        "template": template,
    }


def _page(client, q: str) -> str:
    response = client.get("/search/", {"q": q})
    assert response.status_code == 200
    return response.content.decode()


def _suggest(client, q: str) -> dict:
    response = client.get("/search/suggest/", {"q": q})
    assert response.status_code == 200
    return response.json()


def _titles(data: dict, kind: str) -> list[str]:
    return [
        hit["title"]
        for group in data["groups"]
        if group["kind"] == kind
        for hit in group["results"]
    ]


def test_a_candidate_is_found_by_first_name_last_name_full_name_and_email(alice, acme, client_for):
    client = client_for(alice)
    for q in ("grace", "HOPPER", "Grace Hopper", "hopper grace", "navy.test"):
        page = _page(client, q)
        assert f'href="/candidates/{acme["grace"].pk}/"' in page, q
        assert "Grace Hopper" in page
        assert "Alan Turing" not in page


@pytest.mark.parametrize(
    "typed", ["+1 (415) 555-0100", "4155550100", "415-555-0100", "415.555.0100", "555 0100"]
)
def test_a_candidate_is_found_by_their_mobile_number_typed_in_any_format(
    alice, acme, client_for, typed
):
    data = _suggest(client_for(alice), typed)
    assert _titles(data, "candidates") == ["Grace Hopper"]
    assert data["groups"][0]["results"][0]["url"] == f"/candidates/{acme['grace'].pk}/"


def test_a_different_number_finds_no_candidate(alice, acme, client_for):
    data = _suggest(client_for(alice), "(415) 555-0199")
    assert _titles(data, "candidates") == []


def test_a_conversation_is_found_by_message_text_with_the_words_around_it(alice, acme, client_for):
    client = client_for(alice)
    data = _suggest(client, "onsite interview")
    conversations = next(g for g in data["groups"] if g["kind"] == "conversations")
    hit = conversations["results"][0]
    assert hit["title"] == "Alan Turing"
    assert hit["url"] == f"/inbox/{acme['conversation'].pk}/"
    assert "Thursday at 3pm works for the onsite interview." in hit["detail"]
    # The time of the last message, in the organization's zone (New York), with the zone.
    assert hit["when"] == "5 Mar 2026, 10:30 EST"
    page = _page(client, "onsite interview")
    assert f'href="/inbox/{acme["conversation"].pk}/"' in page
    assert "Last message 5 Mar 2026, 10:30 EST" in page


def test_a_conversation_is_found_by_the_candidates_name(alice, acme, client_for):
    data = _suggest(client_for(alice), "turing")
    assert _titles(data, "conversations") == ["Alan Turing"]
    assert _titles(data, "candidates") == ["Alan Turing"]


def test_a_journey_is_found_by_name(alice, acme, client_for):
    client = client_for(alice)
    data = _suggest(client, "reminder")
    assert _titles(data, "journeys") == ["Onsite reminder sequence"]
    page = _page(client, "reminder seq")
    assert f'href="/journeys/{acme["journey"].pk}/"' in page


def test_a_library_template_is_found_by_name_or_subject(alice, acme, client_for):
    client = client_for(alice)
    assert _titles(_suggest(client, "congratulations"), "templates") == ["Offer congratulations"]
    data = _suggest(client, "welcome aboard")
    assert _titles(data, "templates") == ["Offer congratulations"]
    hit = next(g for g in data["groups"] if g["kind"] == "templates")["results"][0]
    assert hit["url"] == f"/library/templates/{acme['template'].pk}/"
    assert hit["detail"].startswith("E-mail · Welcome aboard")


def test_another_organizations_rows_are_never_found(alice, acme, mallory, client_for):
    _candidate(
        mallory.organization,
        "m-1",
        "Grace",
        "Secret",
        primary_email="grace@mallory.test",
        mobile_phone="+14155550100",
    )
    with tenant_scope(mallory.organization):
        journey_services.journey_create(
            organization=mallory.organization, name="Onsite secret plan"
        )
    client = client_for(alice)
    for q in ("grace", "4155550100", "secret"):
        page = _page(client, q)
        assert "Secret" not in page and "mallory" not in page, q
    # And Mallory, searching her own organization, sees nothing of Acme's.
    data = _suggest(client_for(mallory), "grace")
    assert _titles(data, "candidates") == ["Grace Secret"]
    assert "Hopper" not in str(data)
    assert _titles(_suggest(client_for(mallory), "onsite"), "journeys") == ["Onsite secret plan"]


def test_a_hiring_manager_finds_only_the_candidates_they_may_see(alice, client_for):
    organization = alice.organization
    ats = build_ats(organization)
    with tenant_scope(organization):
        hannah_in_ats = AtsUser.objects.create(
            organization=organization,
            provider="greenhouse",
            external_id="u-hannah",
            name="Hannah Hiring",
            email="hannah@acme.test",
        )
        ats.jobs["Sales Rep"].hiring_managers.add(hannah_in_ats)
    hannah = add_member(
        organization=organization, email="hannah@acme.test", role=Role.HIRING_MANAGER
    )
    ann = ats.candidate(first_name="Ann", last_name="Zephyr")
    ats.apply(ann, job="Sales Rep", stage="Onsite Interview", new=True)
    ben = ats.candidate(first_name="Ben", last_name="Zephyr")
    ats.apply(ben, job="Backend Engineer", stage="Onsite Interview", new=True)
    _conversation(
        organization, ben, "Zephyr here, about the role", datetime(2026, 3, 5, tzinfo=UTC)
    )

    data = _suggest(client_for(Persona(hannah.user, organization, hannah)), "zephyr")
    assert _titles(data, "candidates") == ["Ann Zephyr"]
    assert _titles(data, "conversations") == []


def test_an_empty_search_says_what_can_be_searched(alice, acme, client_for):
    client = client_for(alice)
    page = _page(client, "")
    assert "What can you search?" in page
    assert "mobile number (in any format)" in page
    data = _suggest(client, "   ")
    assert data["groups"] == []
    assert data["message"].startswith("Search candidates by name, e-mail or mobile number")


def test_a_search_that_finds_nothing_says_so_and_what_can_be_searched(alice, acme, client_for):
    client = client_for(alice)
    page = _page(client, "zzqqxx")
    assert "Nothing matches “zzqqxx”" in page
    assert "Library message templates by name or subject" in page
    data = _suggest(client, "zzqqxx")
    assert data["groups"] == []
    assert data["message"].startswith("Nothing matches “zzqqxx”. You can search candidates")


def test_a_one_letter_or_overlong_search_is_refused_with_the_reason(alice, acme, client_for):
    client = client_for(alice)
    assert "Type at least 2 characters" in _suggest(client, "g")["message"]
    assert "too long: use at most 200 characters" in _page(client, "g" * 201)


def test_the_top_bar_has_the_search_box_on_every_page(alice, client_for):
    page = client_for(alice).get("/").content.decode()
    assert 'role="search"' in page and 'action="/search/"' in page
    assert 'data-suggest-url="/search/suggest/"' in page


def test_search_needs_a_signed_in_member(client):
    response = client.get("/search/suggest/", {"q": "grace"})
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_phone_digits_keep_what_identifies_the_number():
    assert search.phone_digits("+1 (415) 555-0100") == "14155550100"
    assert search.phone_digits("07700 900123") == "7700900123"
    assert search.phone_digits("Grace 415") == ""
    assert search.phone_digits("415") == ""


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the search indexes exist on Postgres only"
)
def test_the_searches_use_their_indexes_on_postgres(alice, acme):
    """The queries compare the very expressions the migrations index (a drift would turn each
    search into a scan of every candidate and message). The phone number's B-tree needs a table
    of some size before the planner prefers it: bench/search.py --explain shows it at 100,000."""
    organization = alice.organization

    def plan(queryset) -> str:
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
            sql, params = queryset.order_by().query.sql_with_params()
            cursor.execute(f"EXPLAIN {sql}", params)
            return "\n".join(row[0] for row in cursor.fetchall())

    with tenant_scope(organization):
        # Without the organization filter, whose own index tables this small would rather use.
        by_name = Candidate.unscoped.alias(text=search.CandidateText()).filter(
            text__icontains="hop"
        )
        assert "candidate_search_text_trgm" in plan(by_name)
        assert "message_body_trgm" in plan(Message.unscoped.filter(body__icontains="onsite"))
        assert "journey_name_trgm" in plan(Journey.unscoped.filter(name__icontains="remind"))
        assert "message_template_subject_trgm" in plan(
            MessageTemplate.unscoped.filter(subject__icontains="welcome")
        )


def test_an_older_conversation_is_found_beyond_the_newest_ones(
    alice, acme, client_for, monkeypatch
):
    """Only the newest conversations are looked at first; a match older than them is still
    found (the whole Inbox is searched when they hold too few)."""
    grace = acme["grace"]
    _conversation(
        alice.organization, grace, "See you at the onsite", datetime(2026, 3, 9, tzinfo=UTC)
    )
    monkeypatch.setattr(search, "RECENT_WINDOW", 1)
    data = _suggest(client_for(alice), "thursday at 3pm")
    assert _titles(data, "conversations") == ["Alan Turing"]  # older than Grace's
    data = _suggest(client_for(alice), "onsite")
    assert _titles(data, "conversations") == ["Grace Hopper", "Alan Turing"]  # newest first


postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="message text is searched word by word with the full-text index on Postgres only",
)


@postgres_only
def test_the_start_of_a_word_finds_a_conversation_by_message_text(alice, acme, client_for):
    """A recruiter types the start of a word ("interv", "thurs") and finds "interview"; a
    fragment from inside a word is not a word start and finds nothing."""
    client = client_for(alice)
    for q in ("interv", "Thurs onsite", "INTERVIEW thu"):
        assert _titles(_suggest(client, q), "conversations") == ["Alan Turing"], q
    assert _titles(_suggest(client, "nterview"), "conversations") == []
    hit = _suggest(client, "onsite interv")["groups"]
    detail = next(g for g in hit if g["kind"] == "conversations")["results"][0]["detail"]
    assert "works for the onsite interview." in detail


@postgres_only
def test_message_text_of_another_organization_or_a_hidden_candidate_is_not_found(
    alice, acme, mallory, client_for
):
    secret = _candidate(mallory.organization, "m-1", "Mal", "Lory", mobile_phone="+14155550111")
    _conversation(
        mallory.organization, secret, "Interviewing elsewhere", datetime(2026, 3, 6, tzinfo=UTC)
    )
    data = _suggest(client_for(alice), "interv")
    assert _titles(data, "conversations") == ["Alan Turing"]
    assert "elsewhere" not in str(data)
    assert _titles(_suggest(client_for(mallory), "interv"), "conversations") == ["Mal Lory"]

    hannah = add_member(
        organization=alice.organization, email="hannah@acme.test", role=Role.HIRING_MANAGER
    )
    as_hannah = client_for(Persona(hannah.user, alice.organization, hannah))
    assert _titles(_suggest(as_hannah, "interv"), "conversations") == []  # Alan is not hers


@postgres_only
def test_message_text_is_searched_through_the_full_text_index(alice, acme):
    """The queries compare the very expressions migration 0014 indexes (a drift would scan every
    message and sort every conversation of the organization)."""
    with tenant_scope(alice.organization), connection.cursor() as cursor:
        # Without the organization filter, whose own index tables this small would rather use.
        messages = search.messages_with_text(Message.unscoped.all(), "onsite interv")
        sql, params = messages.order_by().query.sql_with_params()
        assert "@@" in sql
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        assert "message_body_fts" in "\n".join(row[0] for row in cursor.fetchall())
        assert list(messages.values_list("conversation_id", flat=True)) == [acme["conversation"].pk]
        # The newest conversations, which the search looks at first, come off their index.
        cursor.execute("SET LOCAL enable_sort = off")
        newest = Conversation.objects.filter(organization=alice.organization).order_by(
            F("last_message_at").desc(nulls_last=True), "-id"
        )[:500]
        sql, params = newest.query.sql_with_params()
        cursor.execute(f"EXPLAIN {sql}", params)
        assert "conversation_newest" in "\n".join(row[0] for row in cursor.fetchall())
