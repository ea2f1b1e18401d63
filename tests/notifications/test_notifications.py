"""Notifications: each kind is told once to the right members, their preferences are respected
(off, e-mail immediately, the daily digest at 08:00 in their zone), and nobody sees another
organization's or another member's notifications."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from candidates.models import Candidate, SyncKind, SyncRun, SyncStatus, TimelineEvent
from integrations.greenhouse.models import GreenhouseConnection
from interviews.models import (
    InterviewStatus,
    VideoInterview,
    VideoTemplate,
    VideoTemplateReviewer,
)
from journeys.models import Journey
from messaging.models import Channel, Conversation, Direction, Message, MessageEvent
from notifications import collector, mail, services
from notifications.models import DigestSent, Kind, Notification, Preference
from recruitflow.tenancy import tenant_scope
from scheduling.models import MemberCalendar, SchedulingTemplate, SchedulingTemplateMember
from tests.factories import add_member, make_org_with_owner
from tests.scheduling.helpers import booked

pytestmark = pytest.mark.django_db


@pytest.fixture
def acme():
    org, owner, _ = make_org_with_owner(name="Acme Talent", email="alice@acme.test")
    bob = add_member(organization=org, email="bob@acme.test", role=Role.RECRUITER).user
    hank = add_member(organization=org, email="hank@acme.test", role=Role.HIRING_MANAGER).user
    with tenant_scope(org):
        sam = Candidate.objects.create(
            organization=org,
            provider="greenhouse",
            external_id="sam-1",
            first_name="Sam",
            last_name="Okafor",
            mobile_phone="+447700900123",
        )
        collector.collect(organization=org)  # the reader starts at the present
    return type("Acme", (), {"org": org, "alice": owner, "bob": bob, "hank": hank, "sam": sam})


def _event(org, candidate, kind, summary, **data) -> TimelineEvent:
    with tenant_scope(org):
        return TimelineEvent.objects.create(
            organization=org,
            candidate=candidate,
            kind=kind,
            summary=summary,
            data=data,
            occurred_at=timezone.now(),
        )


def _collect(org) -> int:
    with tenant_scope(org):
        return collector.collect(organization=org)


def _told(org, kind=None) -> list[tuple[str, str]]:
    with tenant_scope(org):
        rows = Notification.objects.filter(organization=org).select_related("user")
        if kind:
            rows = rows.filter(kind=kind)
        return sorted((n.user.email, n.title) for n in rows)


def test_a_reply_is_told_to_the_conversations_assignee_once(acme):
    with tenant_scope(acme.org):
        Conversation.objects.create(organization=acme.org, candidate=acme.sam, assigned_to=acme.bob)
    _event(acme.org, acme.sam, "replied", "Replied by text: Tuesday works")
    _collect(acme.org)
    _collect(acme.org)  # read again inside the settle window: nothing twice
    assert _told(acme.org) == [("bob@acme.test", "Sam Okafor replied")]
    with tenant_scope(acme.org):
        n = Notification.objects.get()
        assert n.body == "Replied by text: Tuesday works"
        assert n.link == reverse("messaging:thread", args=[Conversation.objects.get().pk])


def test_an_unassigned_reply_is_told_to_the_recruiters_not_the_hiring_manager(acme):
    _event(acme.org, acme.sam, "replied", "Replied by e-mail: thanks")
    _collect(acme.org)
    assert _told(acme.org) == [
        ("alice@acme.test", "Sam Okafor replied"),
        ("bob@acme.test", "Sam Okafor replied"),
    ]


def test_bookings_are_told_to_their_interviewers(acme):
    with tenant_scope(acme.org):
        template = SchedulingTemplate.objects.create(
            organization=acme.org, name="Onsite", event_title="Onsite"
        )
    booking = booked(acme.org, template, acme.sam, [acme.hank], timezone.now() + timedelta(days=2))
    _event(acme.org, acme.sam, "booked", "Booked Onsite", booking_id=booking.pk)
    _event(acme.org, acme.sam, "rescheduled", "Rescheduled Onsite", booking_id=booking.pk)
    _event(acme.org, acme.sam, "booking_cancelled", "Cancelled Onsite", booking_id=booking.pk)
    _collect(acme.org)
    assert _told(acme.org, Kind.BOOKING) == [
        ("hank@acme.test", "Interview booked with Sam Okafor"),
        ("hank@acme.test", "Interview with Sam Okafor cancelled"),
        ("hank@acme.test", "Sam Okafor rescheduled an interview"),
    ]


def _video_interview(org, candidate, template_name: str, reviewers=()) -> VideoInterview:
    with tenant_scope(org):
        template = VideoTemplate.objects.create(organization=org, name=template_name)
        for user in reviewers:
            VideoTemplateReviewer.objects.create(organization=org, template=template, user=user)
        return VideoInterview.objects.create(
            organization=org,
            template=template,
            candidate=candidate,
            status=InterviewStatus.COMPLETED,
            expires_at=timezone.now() + timedelta(days=7),
            completed_at=timezone.now(),
        )


def test_a_completed_video_interview_is_told_to_its_reviewers_with_the_review_link(acme):
    reviewed = _video_interview(acme.org, acme.sam, "Sales screen", reviewers=[acme.hank])
    unassigned = _video_interview(acme.org, acme.sam, "Support screen")
    for interview in (reviewed, unassigned):
        _event(
            acme.org,
            acme.sam,
            "video_interview_completed",
            f"Completed the video interview “{interview.template.name}”",
            interview_id=interview.pk,
        )
    _collect(acme.org)
    _collect(acme.org)  # read again: told once
    told = _told(acme.org, Kind.VIDEO_INTERVIEW)
    # The template's reviewer only; a template without reviewers: the recruiters and admins.
    assert told.count(("hank@acme.test", "Sam Okafor completed a video interview")) == 1
    assert ("alice@acme.test", "Sam Okafor completed a video interview") in told
    assert ("bob@acme.test", "Sam Okafor completed a video interview") in told
    assert len(told) == 3
    with tenant_scope(acme.org):
        hanks = Notification.objects.get(user=acme.hank, kind=Kind.VIDEO_INTERVIEW)
    assert hanks.link == reverse("interviews:review", args=[reviewed.pk])


def test_a_failed_or_unknown_journey_step_is_told_to_the_journeys_maker(acme):
    with tenant_scope(acme.org):
        journey = Journey.objects.create(organization=acme.org, name="Welcome", created_by=acme.bob)
    _event(
        acme.org, acme.sam, "journey_step_failed", "Step 2 failed", journey_id=journey.pk, run_id=7
    )
    _event(
        acme.org,
        acme.sam,
        "journey_step_unknown",
        "Step 3 unknown",
        journey_id=journey.pk,
        run_id=7,
    )
    _collect(acme.org)
    assert _told(acme.org, Kind.JOURNEY_STEP) == [
        ("bob@acme.test", "A journey step failed for Sam Okafor"),
        ("bob@acme.test", "A journey step's outcome is unknown for Sam Okafor"),
    ]
    with tenant_scope(acme.org):
        assert {n.link for n in Notification.objects.all()} == {
            reverse("journeys:run", args=[journey.pk, 7])
        }


def test_a_failed_sync_and_a_connection_needing_attention_are_told_to_admins_once(acme):
    now = timezone.now()
    with tenant_scope(acme.org):
        connection = GreenhouseConnection.objects.create(organization=acme.org)
    _collect(acme.org)
    assert _told(acme.org) == []  # connected or not yet: nothing to tell
    with tenant_scope(acme.org):
        SyncRun.objects.create(
            organization=acme.org,
            provider="greenhouse",
            kind=SyncKind.choices[0][0],
            status=SyncStatus.FAILED,
            started_at=now,
            finished_at=now + timedelta(seconds=1),
            error="401 Unauthorized: the API key was revoked.",
        )
        connection.status = "error"
        connection.last_error = "The API key was revoked."
        connection.save()
    _collect(acme.org)
    with tenant_scope(acme.org):
        connection.save()  # touched again while still failing: not told twice
    _collect(acme.org)
    told = _told(acme.org)
    assert [email for email, _ in told] == ["alice@acme.test", "alice@acme.test"]
    titles = {title for _, title in told}
    assert any(t.startswith("The ATS connection (Greenhouse) needs attention") for t in titles)
    assert any("sync with the ATS failed" in t for t in titles)


def test_several_failing_sends_in_an_hour_are_told_once(acme, settings):
    settings.NOTIFICATIONS_SENDS_FAILING_THRESHOLD = 3
    with tenant_scope(acme.org):
        conversation = Conversation.objects.create(organization=acme.org, candidate=acme.sam)
        for i in range(4):
            message = Message.objects.create(
                organization=acme.org,
                conversation=conversation,
                candidate=acme.sam,
                channel=Channel.SMS,
                direction=Direction.OUTBOUND,
                body=f"Hi {i}",
                status="failed",
            )
            MessageEvent.objects.create(
                organization=acme.org, message=message, status="failed", occurred_at=timezone.now()
            )
            _collect(acme.org)
            if i == 1:
                assert _told(acme.org) == []  # two failures are not "several"
    told = _told(acme.org)
    assert told == [("alice@acme.test", "3 messages failed to send in the last hour")]


def test_a_template_without_free_times_is_told_to_its_interviewers_once_a_day(acme):
    with tenant_scope(acme.org):
        empty = SchedulingTemplate.objects.create(
            organization=acme.org, name="Panel", event_title="Panel", windows=[]
        )
        SchedulingTemplateMember.objects.create(
            organization=acme.org, template=empty, user=acme.bob
        )
        busy_free = SchedulingTemplate.objects.create(
            organization=acme.org, name="Phone screen", event_title="Phone screen"
        )
        SchedulingTemplateMember.objects.create(
            organization=acme.org, template=busy_free, user=acme.alice
        )
        services.templates_without_free_times(organization=acme.org)
        services.templates_without_free_times(organization=acme.org)
    assert _told(acme.org) == [
        ("bob@acme.test", "“Panel” has no free interview times in the next 7 days")
    ]


def test_a_kind_switched_off_tells_nothing(acme):
    with tenant_scope(acme.org):
        services.preferences_save(
            organization=acme.org,
            user=acme.bob,
            choices={Kind.REPLIED: services.Channels(False, False, False)},
        )
    _event(acme.org, acme.sam, "replied", "Replied by text: hi")
    _collect(acme.org)
    assert _told(acme.org) == [("alice@acme.test", "Sam Okafor replied")]


def test_email_immediately_sends_one_branded_email_with_the_link(acme, mailoutbox, settings):
    settings.PUBLIC_BASE_URL = "https://app.example.com"
    acme.org.brand_color = "#aa3311"
    acme.org.save()
    with tenant_scope(acme.org):
        services.preferences_save(
            organization=acme.org,
            user=acme.bob,
            choices={Kind.REPLIED: services.Channels(True, True, False)},
        )
        conversation = Conversation.objects.create(organization=acme.org, candidate=acme.sam)
    _event(acme.org, acme.sam, "replied", "Replied by text: Tuesday works")
    _collect(acme.org)
    with tenant_scope(acme.org):
        assert mail.emails_send_pending(organization=acme.org) == 1
        assert mail.emails_send_pending(organization=acme.org) == 0
    assert len(mailoutbox) == 1
    email = mailoutbox[0]
    assert email.to == ["bob@acme.test"]
    assert email.subject == "Sam Okafor replied · Acme Talent"
    link = f"https://app.example.com{reverse('messaging:thread', args=[conversation.pk])}"
    assert link in email.body
    html = email.alternatives[0][0]
    assert "#aa3311" in html and link in html and "Acme Talent" in html


def test_the_digest_goes_at_eight_in_the_members_zone_once(acme, mailoutbox):
    with tenant_scope(acme.org):
        services.preferences_save(
            organization=acme.org,
            user=acme.bob,
            choices={Kind.REPLIED: services.Channels(True, False, True)},
        )
        MemberCalendar.objects.create(organization=acme.org, user=acme.bob, time_zone="Asia/Tokyo")
        Preference.objects.filter(user=acme.alice).delete()
        services.preferences_save(
            organization=acme.org,
            user=acme.alice,
            choices={Kind.REPLIED: services.Channels(True, False, False)},
        )
    _event(acme.org, acme.sam, "replied", "Replied by text: Tuesday works")
    _collect(acme.org)
    tokyo_7_59 = datetime(2030, 3, 4, 22, 59, tzinfo=UTC)  # 07:59 on the 5th in Tokyo
    with tenant_scope(acme.org):
        assert mail.digests_send(organization=acme.org, now=tokyo_7_59) == 0
        assert mailoutbox == []
        assert mail.digests_send(organization=acme.org, now=tokyo_7_59 + timedelta(minutes=1)) == 1
        assert mail.digests_send(organization=acme.org, now=tokyo_7_59 + timedelta(hours=3)) == 0
        assert DigestSent.objects.get(user=acme.bob).day.isoformat() == "2030-03-05"
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["bob@acme.test"]
    assert "Your RecruitFlow digest for Tuesday 5 March" in mailoutbox[0].subject
    assert "Sam Okafor replied" in mailoutbox[0].body


def test_the_bell_counts_my_unread_and_the_page_marks_them_read(acme, client):
    _event(acme.org, acme.sam, "replied", "Replied by text: one")
    _event(acme.org, acme.sam, "replied", "Replied by text: two")
    _collect(acme.org)
    client.force_login(acme.bob)
    html = client.get(reverse("notifications:bell")).content.decode()
    assert re.search(r"data-bell-count[^>]*>2</span>", html)
    page = client.get(reverse("notifications:index")).content.decode()
    assert page.count("Sam Okafor replied") == 2
    assert 'id="notification-bell"' in page  # the bell is in the top bar
    with tenant_scope(acme.org):
        first = Notification.objects.filter(user=acme.bob).first()
    response = client.post(reverse("notifications:open", args=[first.pk]))
    assert response.status_code == 302 and response.url == first.link
    assert re.search(
        r"data-bell-count[^>]*>1</span>", client.get(reverse("notifications:bell")).content.decode()
    )
    client.post(reverse("notifications:mark_all_read"))
    assert re.search(
        r"data-bell-count[^>]* hidden>0</span>",
        client.get(reverse("notifications:bell")).content.decode(),
    )
    # Alice's stay unread: reading is per member.
    client.force_login(acme.alice)
    assert re.search(
        r"data-bell-count[^>]*>2</span>", client.get(reverse("notifications:bell")).content.decode()
    )


def test_the_empty_page_says_what_will_appear(acme, client):
    client.force_login(acme.bob)
    page = client.get(reverse("notifications:index")).content.decode()
    assert "No notifications yet" in page


def test_another_members_or_organizations_notification_is_a_404(acme, client):
    _event(acme.org, acme.sam, "replied", "Replied by text: hi")
    _collect(acme.org)
    with tenant_scope(acme.org):
        alices = Notification.objects.get(user=acme.alice)
    _other, mallory, _ = make_org_with_owner(name="Evil Corp", email="mallory@evil.test")
    client.force_login(mallory)
    assert client.post(reverse("notifications:mark_read", args=[alices.pk])).status_code == 404
    assert "Sam Okafor" not in client.get(reverse("notifications:index")).content.decode()
    client.force_login(acme.bob)
    assert client.post(reverse("notifications:open", args=[alices.pk])).status_code == 404
    with tenant_scope(acme.org):
        assert Notification.objects.get(pk=alices.pk).read_at is None


def test_the_preferences_tab_saves_my_choices(acme, client):
    client.force_login(acme.bob)
    page = client.get(reverse("notifications:preferences")).content.decode()
    assert "A candidate replied" in page and "Daily digest" in page
    response = client.post(
        reverse("notifications:preferences"), {"replied-email": "on", "booking-in_app": "on"}
    )
    assert response.status_code == 302
    with tenant_scope(acme.org):
        replied = Preference.objects.get(user=acme.bob, kind=Kind.REPLIED)
        assert (replied.in_app, replied.email, replied.digest) == (False, True, False)
        connection = Preference.objects.get(user=acme.bob, kind=Kind.CONNECTION)
        assert (connection.in_app, connection.email, connection.digest) == (False, False, False)


def test_a_journey_message_held_for_quiet_hours_is_told_once_and_an_inbox_one_is_not(acme):
    from journeys import services as journey_services
    from journeys.models import JourneyRun, JourneyStep, StepRun
    from tests.journeys.test_builder import Hiring

    hiring = Hiring(acme.org)
    ada, application = hiring.candidate("Ada", "Byron")
    transition = hiring.moved(application)
    with tenant_scope(acme.org):
        journey = journey_services.journey_create(
            organization=acme.org, name="Nudge", user=acme.bob
        )
        step = JourneyStep.objects.create(
            organization=acme.org, version=journey.current_version, position=1, kind="wait"
        )
        run = JourneyRun.objects.create(
            organization=acme.org,
            journey=journey,
            version=journey.current_version,
            transition=transition,
            application=application,
            candidate=ada,
            started_at=timezone.now(),
        )
        step_run = StepRun.objects.create(
            organization=acme.org, run=run, step=step, position=1, due_at=timezone.now()
        )
        conversation = Conversation.objects.create(organization=acme.org, candidate=ada)
        held = []
        for key, source in ((f"journey-step:{step_run.pk}", "journey"), ("", "inbox")):
            message = Message.objects.create(
                organization=acme.org,
                conversation=conversation,
                candidate=ada,
                channel=Channel.SMS,
                direction=Direction.OUTBOUND,
                body="Hi",
                status="held",
                source=source,
                idempotency_key=key,
            )
            held.append(message)
    _collect(acme.org)  # the journey's rows above are history to the reader
    for message in held:
        _event(acme.org, ada, "message_held", "Text held until 08:00", message_id=message.pk)
    _collect(acme.org)
    _collect(acme.org)
    assert _told(acme.org, Kind.JOURNEY_STEP) == [
        ("bob@acme.test", "A journey message to Ada Byron is held for quiet hours")
    ]
    with tenant_scope(acme.org):
        assert Notification.objects.get().link == reverse("journeys:run", args=[journey.pk, run.pk])
