"""Pages cost the same number of queries whatever the size of the team."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts import services
from recruitflow.tenancy import tenant_scope
from tests.factories import add_member

# What rendering a page costs: with the page cache off, every request renders (kept pages and
# the memberships read from the cache are counted in tests/test_page_cache.py).
pytestmark = pytest.mark.usefixtures("page_cache_off")


PAGES = [
    "/",
    "/settings/team/",
    "/settings/api-keys/",
    "/settings/organization/",
    "/interviews/",
]


def _queries(client, url, **extra) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, **extra)
    assert response.status_code == 200, url
    return len(ctx.captured_queries)


def _grow(org, owner, start: int, count: int) -> None:
    with tenant_scope(org):
        for n in range(start, start + count):
            add_member(organization=org, email=f"member{n}@acme.test")
            services.invitation_create(actor=owner, email=f"invitee{n}@acme.test", role="viewer")
            services.api_key_create(actor=owner, name=f"key {n}", scope="read")


@pytest.mark.django_db
@pytest.mark.parametrize("url", PAGES)
def test_page_query_count_does_not_grow_with_the_team(alice, client_for, url):
    client = client_for(alice)
    _grow(alice.organization, alice.membership, 0, 2)
    client.get(url)  # warm caches (content types, session)
    small = _queries(client, url)
    _grow(alice.organization, alice.membership, 2, 20)
    large = _queries(client, url)
    assert large == small, f"{url}: {small} queries with 3 members, {large} with 23"


@pytest.mark.django_db
def test_member_api_query_count_does_not_grow(alice, client):
    with tenant_scope(alice.organization):
        _, raw = services.api_key_create(actor=alice.membership, name="count", scope="read")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    _grow(alice.organization, alice.membership, 0, 2)
    client.get("/api/v1/members/", **auth)
    small = _queries(client, "/api/v1/members/", **auth)
    _grow(alice.organization, alice.membership, 2, 20)
    assert _queries(client, "/api/v1/members/", **auth) == small


def _grow_interviews(org, members, ats, template, start: int, count: int) -> None:
    """`count` completed video interviews, each reviewed by every one of `members`."""
    from tests.interviews.review_helpers import add_review, make_interview

    for n in range(start, start + count):
        candidate = ats.candidate(first_name=f"C{n}", last_name="Count", email=f"c{n}@ex.test")
        job = list(ats.jobs.values())[n % len(ats.jobs)]
        interview = make_interview(org, template=template, candidate=candidate, job=job)
        for user in members:
            add_review(org, interview, user, [4, 3, 5])


@pytest.mark.django_db
def test_interview_pages_query_count_does_not_grow_with_interviews_and_reviews(
    alice, bob, client_for
):
    from interviews.models import VideoInterview
    from tests.interviews.review_helpers import add_review, make_template
    from tests.journeys.conftest import build_ats

    org = alice.organization
    ats = build_ats(org)
    template = make_template(org, reviewers=[bob.user])
    client = client_for(alice)
    _grow_interviews(org, [bob.user], ats, template, 0, 2)
    with tenant_scope(org):
        first = VideoInterview.objects.order_by("id").first()
    pages = ["/interviews/", "/interviews/?status=completed", f"/interviews/{first.pk}/"]
    for url in pages:
        client.get(url)  # warm caches
    small = {url: _queries(client, url) for url in pages}
    team = [bob.user] + [
        add_member(organization=org, email=f"reviewer{n}@acme.test").user for n in range(4)
    ]
    _grow_interviews(org, team, ats, template, 2, 20)
    # The interview the review page shows now has five reviewers instead of one.
    for user in team[1:]:
        add_review(org, first, user, [1, 2, 3])
    large = {url: _queries(client, url) for url in pages}
    assert large == small


def _grow_week(org, template, users, monday, start: int, count: int) -> None:
    """`count` interviews in the week of `monday`, every other one cancelled by a member."""
    from datetime import UTC, datetime, time, timedelta

    from candidates.models import Candidate
    from scheduling.models import Booking, BookingStatus, CancelledBy
    from tests.scheduling.helpers import booked

    for n in range(start, start + count):
        with tenant_scope(org):
            person = Candidate.objects.create(
                organization=org, provider="greenhouse", external_id=f"wk{n}", first_name=f"W{n}"
            )
        moment = datetime.combine(monday + timedelta(days=n % 5), time(9 + n % 8), tzinfo=UTC)
        booking = booked(org, template, person, users, moment, title=f"Interview {n}")
        if n % 2:
            with tenant_scope(org):
                Booking.objects.filter(pk=booking.pk).update(
                    status=BookingStatus.CANCELLED,
                    cancelled_by=CancelledBy.RECRUITER,
                    cancelled_by_user=users[n % len(users)],
                    cancelled_at=moment - timedelta(days=1),
                )


@pytest.mark.django_db
def test_schedule_week_query_count_does_not_grow_with_its_interviews(alice, client_for):
    """The Schedule's week view: interviews, their interviewers and who cancelled them."""
    from datetime import date

    from scheduling.models import SchedulingTemplate

    org = alice.organization
    with tenant_scope(org):
        template = SchedulingTemplate.objects.create(organization=org, name="Loop")
    team = [alice.user] + [
        add_member(organization=org, email=f"panel{n}@acme.test").user for n in range(3)
    ]
    monday = date(2031, 3, 3)
    url = f"/schedule/?view=week&week={monday:%Y-%m-%d}"
    client = client_for(alice)
    _grow_week(org, template, team[:1], monday, 0, 2)
    client.get(url)  # warm caches
    small = _queries(client, url)
    _grow_week(org, template, team, monday, 2, 20)
    assert _queries(client, url) == small


def _grow_recruiting(org, start: int, count: int) -> None:
    """`count` candidates, each with an application on one of two jobs, a conversation with
    an unread reply and a journey, as a busy organization's pages show them."""
    from django.utils import timezone

    from candidates.models import Application, Candidate, Job, Stage
    from journeys.models import Journey
    from messaging.models import Channel, Conversation, Direction, Message, MessageStatus

    with tenant_scope(org):
        jobs = list(Job.objects.filter(organization=org))
        if not jobs:
            for n in (1, 2):
                job = Job.objects.create(
                    organization=org, provider="greenhouse", external_id=f"j{n}", name=f"Job {n}"
                )
                Stage.objects.create(
                    organization=org, provider="greenhouse", external_id=f"s{n}", job=job,
                    name="Phone Screen", position=1,
                )  # fmt: skip
                jobs.append(job)
        for n in range(start, start + count):
            person = Candidate.objects.create(
                organization=org, provider="greenhouse", external_id=f"rc{n}",
                first_name=f"Pat{n}", last_name="Count", mobile_phone=f"+1415555{n:04d}",
            )  # fmt: skip
            job = jobs[n % 2]
            Application.objects.create(
                organization=org, provider="greenhouse", external_id=f"ra{n}", candidate=person,
                job=job, stage=job.stages.first(), stage_name="Phone Screen",
                applied_at=timezone.now(), last_activity_at=timezone.now(),
            )  # fmt: skip
            conversation = Conversation.objects.create(
                organization=org, candidate=person, last_message_at=timezone.now(), unread_count=1
            )
            Message.objects.create(
                organization=org, conversation=conversation, candidate=person,
                channel=Channel.SMS, direction=Direction.INBOUND, to_address="+15005550006",
                from_address=person.mobile_phone, body=f"Count reply {n}",
                status=MessageStatus.RECEIVED, source="inbound",
            )  # fmt: skip
            Journey.objects.create(organization=org, name=f"Count journey {n}")


RECRUITING_PAGES = ["/", "/candidates/", "/inbox/", "/journeys/", "/library/", "/search/?q=Count"]


@pytest.mark.django_db
@pytest.mark.parametrize("url", RECRUITING_PAGES)
def test_recruiting_page_query_count_does_not_grow_with_candidates(alice, client_for, url):
    """The pages recruiters live in cost the same number of queries with 2 candidates (each
    with an application, an unread conversation and a journey) as with 22."""
    org = alice.organization
    client = client_for(alice)
    _grow_recruiting(org, 0, 2)
    client.get(url)  # warm caches (content types, session, the badges)
    small = _queries(client, url)
    _grow_recruiting(org, 2, 20)
    client.get(url)  # both figures are taken with the badges cached
    large = _queries(client, url)
    assert large == small, f"{url}: {small} queries with 2 candidates, {large} with 22"
