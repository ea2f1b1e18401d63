"""Tenant isolation, proven by walking every URL as an outsider."""

import pytest
from django.http import HttpResponse
from django.urls import path

from accounts import services
from accounts.models import Membership, Role
from bulk.models import BulkAction, BulkActionItem
from recruitflow.decorators import organization_required
from recruitflow.tenancy import scopes_disabled, tenant_scope
from tests.outsider_walk import hidden_values, start_candidate_rows_at, walk


@pytest.fixture(autouse=True)
def _no_rate_limit_during_the_walk(monkeypatch):
    """The walk makes thousands of requests with one key; a 429 would hide what the view itself
    answers. The rate limit has its own tests (tests/test_api.py)."""
    from accounts.api_auth import OrganizationRateThrottle

    monkeypatch.setitem(OrganizationRateThrottle.THROTTLE_RATES, "organization", "1000000/min")


@pytest.fixture
def victim(alice, bob):
    """Alice's organization with something of everything: members, an invitation, an API key,
    the ATS mirror, a conversation, an opt-out, a Library template and a journey with a run, so
    every object URL is tried with ids and tokens that exist. The rows about the candidate take
    ids no other row has, so the hiring manager's walk can tell them apart."""
    from django.utils import timezone

    from journeys import services as journey_services
    from journeys.models import JourneyRun
    from messaging import selectors as messaging_selectors
    from messaging import services as messaging_services
    from messaging.models import Channel, Conversation, Direction, Message, MessageStatus
    from tests.journeys.conftest import add_steps, build_ats

    organization = alice.organization
    start_candidate_rows_at()
    ats = build_ats(organization)
    candidate = ats.candidate(first_name="Victor", last_name="Victim")
    _, transition = ats.apply(candidate, stage="Onsite Interview", new=True)
    template = ats.template("Acme onsite invite", "sms")
    with tenant_scope(organization):
        services.invitation_create(
            actor=alice.membership, email="carol@acme.test", role=Role.VIEWER
        )
        services.api_key_create(actor=alice.membership, name="Acme warehouse", scope="write")
        messaging_selectors.preferences_for(organization=organization)  # webhook token
        conversation = Conversation.objects.create(organization=organization, candidate=candidate)
        Message.objects.create(
            organization=organization,
            conversation=conversation,
            candidate=candidate,
            channel=Channel.SMS,
            direction=Direction.INBOUND,
            to_address="+15005550006",
            from_address=candidate.mobile_phone,
            body="Acme, see you Tuesday",
            status=MessageStatus.RECEIVED,
        )
        messaging_services.opt_out_lock(
            organization=organization, phone="+442079460018", source="manual", actor=alice.user
        )
        journey = journey_services.journey_create(organization=organization, name="Acme onsite")
        add_steps(journey.current_version, [("send_sms", template)])
        JourneyRun.objects.create(
            organization=organization,
            journey=journey,
            version=journey.current_version,
            transition=transition,
            application=transition.application,
            candidate=candidate,
            started_at=timezone.now(),
        )
        _scheduling_rows(organization, alice.user, candidate, transition.application)
        _interview_rows(organization, bob.user, candidate, transition.application)
        action = BulkAction.objects.create(
            organization=organization,
            token="acme-bulk",
            kind="send",
            started_by=alice.user,
            template=template,
            target_name="Acme onsite invite",
            total=1,
        )
        BulkActionItem.objects.create(organization=organization, action=action, candidate=candidate)
    return organization


def _interview_rows(organization, user, candidate, application):
    """A completed video interview with an answer and a review, so the Interviews page, the
    review page, its share action and playback are walked with ids that exist."""
    from tests.interviews.review_helpers import add_review, make_interview, make_template

    template = make_template(organization, "Acme sales screen", reviewers=[user])
    interview = make_interview(
        organization, template=template, candidate=candidate, job=application.job
    )
    add_review(organization, interview, user, [4, 5, 3], notes="Acme, strong closer")


def _scheduling_rows(organization, user, candidate, application):
    """A scheduling template with a request and a booking, a built-in calendar with busy time."""
    from datetime import timedelta

    from django.utils import timezone

    from scheduling.models import (
        BookedSlot,
        Booking,
        BusyBlock,
        MemberCalendar,
        RequestSource,
        RequestStatus,
        SchedulingRequest,
        SchedulingTemplate,
        SchedulingTemplateMember,
    )

    start = timezone.now().replace(microsecond=0) + timedelta(days=3)
    MemberCalendar.objects.create(organization=organization, user=user)
    BusyBlock.objects.create(
        organization=organization,
        user=user,
        title="Acme board meeting",
        start=start - timedelta(hours=3),
        end=start - timedelta(hours=2),
    )
    template = SchedulingTemplate.objects.create(
        organization=organization,
        name="Acme onsite loop",
        event_title="Acme onsite loop",
        public_link_enabled=True,
    )
    SchedulingTemplateMember.objects.create(organization=organization, template=template, user=user)
    for status in (RequestStatus.PENDING, RequestStatus.BOOKED):
        request = SchedulingRequest.objects.create(
            organization=organization,
            template=template,
            candidate=candidate,
            application=application,
            source=RequestSource.RECRUITER,
            status=status,
            expires_at=start + timedelta(days=7),
        )
    booking = Booking.objects.create(
        organization=organization,
        request=request,
        template=template,
        candidate=candidate,
        start=start,
        end=start + timedelta(minutes=45),
        title="Acme onsite loop",
        attendee_ids=[user.pk],
    )
    BookedSlot.objects.create(
        organization=organization, booking=booking, user=user, start=booking.start, end=booking.end
    )


@pytest.fixture
def hiring_manager(victim):
    """A hiring manager of the victim organization on no job's hiring team: an insider who may
    see none of its candidates."""
    from tests.factories import add_member

    return add_member(organization=victim, email="hank@acme.test", role=Role.HIRING_MANAGER).user


@pytest.fixture
def outsider_key(mallory):
    with tenant_scope(mallory.organization):
        _, raw = services.api_key_create(actor=mallory.membership, name="Mallory", scope="write")
    return raw


@pytest.mark.django_db
def test_no_url_leaks_or_changes_another_organizations_data_when_walked_as_an_outsider(
    victim, mallory, outsider_key, hiring_manager
):
    from candidates.models import Candidate
    from interviews.models import VideoInterview
    from messaging.models import Conversation, Message
    from scheduling.models import Booking

    report = walk(
        victim=victim,
        outsider_user=mallory.user,
        outsider_api_key=outsider_key,
        extra_markers=(
            "Victim",
            "Acme, see you Tuesday",
            "Acme onsite",
            "Acme board meeting",
            "Acme, strong closer",
        ),
        hiring_manager=hiring_manager,
        hidden_markers=(
            "Victim",
            "Acme, see you Tuesday",
            "sam@example.com",
            "2125550123",
            "Acme, strong closer",
        ),
    )

    assert not report.problems, "\n".join(map(str, report.problems))
    print(f"walk: {report.requests} requests, {report.hiring_manager_requests} as hiring manager")
    # The hiring manager tried the candidate's, the conversation's, the message's and the
    # booking's own URLs (their ids name nothing the hiring manager may open).
    hidden_ints, _ = hidden_values(victim)
    with tenant_scope(victim):
        candidate = Candidate.objects.get()
        ids = {
            "candidate": candidate.pk,
            "conversation": Conversation.objects.get().pk,
            "message": Message.objects.get().pk,
            "booking": Booking.objects.get().pk,
            "interview": VideoInterview.objects.get().pk,
        }
    assert {str(pk) for pk in ids.values()} <= hidden_ints
    for url in (
        f"/candidates/{ids['candidate']}/",
        f"/inbox/{ids['conversation']}/",
        f"/inbox/{ids['conversation']}/poll/",
        f"/inbox/{ids['conversation']}/messages/{ids['message']}/retry/",
        f"/api/v1/conversations/{ids['conversation']}/messages/",
        f"/api/v1/bookings/{ids['booking']}/",
        f"/interviews/{ids['interview']}/",
        f"/interviews/{ids['interview']}/share/",
    ):
        assert url in report.hiring_manager_object_urls
    # The walk really visited the app's pages, its API and its object URLs.
    walked = "\n".join(sorted(report.walked_patterns))
    for route in (
        "settings/team/",
        "api/v1/members/",
        "api/v1/organization/",
        "invitations/",
        "interviews/(?P<pk>",
        "interviews/shared/(?P<signed>",
    ):
        assert route in walked
    assert any("(?P<membership_id>" in r for r in report.walked_patterns)
    # Every pattern could be filled with the victim's identifiers and requested.
    assert not report.unwalked_patterns, sorted(report.unwalked_patterns)
    assert report.requests > 500


def leaky_member_email(request, pk):
    """A view that forgets the organization: the walk must catch it."""
    with scopes_disabled():
        membership = Membership.objects.select_related("user").get(pk=pk)
    return HttpResponse(membership.user.email)


def leaky_candidate_name(request, pk):
    """A view that keeps to the organization but reads past the person's candidate restriction
    (a plain queryset, not a manager): the hiring manager's walk must catch it."""
    from django.db.models import QuerySet

    from candidates.models import Candidate

    candidate = QuerySet(model=Candidate).filter(organization=request.organization, pk=pk).first()
    return HttpResponse(candidate.full_name if candidate else "nobody")


LEAKY_URLS = [
    path("leaky/members/<int:pk>/", organization_required(leaky_member_email)),
    path("leaky/candidates/<int:pk>/", organization_required(leaky_candidate_name)),
]
urlpatterns = list(LEAKY_URLS)


@pytest.mark.django_db
def test_walk_catches_a_view_that_skips_the_organization_scope(
    victim, mallory, outsider_key, hiring_manager, settings
):
    import tests.test_outsider_walk as this_module
    from recruitflow import urls as project_urls

    this_module.urlpatterns = [*project_urls.urlpatterns, *LEAKY_URLS]
    settings.ROOT_URLCONF = "tests.test_outsider_walk"
    try:
        report = walk(
            victim=victim,
            outsider_user=mallory.user,
            outsider_api_key=outsider_key,
            hiring_manager=hiring_manager,
            hidden_markers=("Victim",),
        )
    finally:
        this_module.urlpatterns = list(LEAKY_URLS)

    leaks = [p for p in report.problems if "/leaky/members/" in p.url]
    assert leaks, "the unscoped view was not caught"
    assert any("alice@acme.test" in p.what or "bob@acme.test" in p.what for p in leaks)
    insider_leaks = [
        p
        for p in report.problems
        if "/leaky/candidates/" in p.url and p.persona == "hiring-manager"
    ]
    assert insider_leaks, "the view that ignores the hiring manager's restriction was not caught"
    assert any("Victim" in p.what for p in insider_leaks)
    assert all("/leaky/" in p.url for p in report.problems)
