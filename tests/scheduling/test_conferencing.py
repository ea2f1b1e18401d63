"""Live interviews: the meeting link of a booking, over HTTP against the sandbox Cronofy.

A template asking for "a video conference per booking" gets one conference in the host's
connected calendar; its join URL reaches the Interview Invitation (``interview_link`` and
``interview.video_link``), the ``.ics`` and the confirmation page, survives a reschedule, and
the other options take over when there is no conference: the host's personal meeting link,
then the template's fixed link."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse
from icalendar import Calendar

from integrations import tasks as intake_tasks
from integrations.cronofy.models import CalendarConnection
from library.models import MessageTemplate
from recruitflow.tenancy import tenant_scope
from scheduling import conferencing, services
from scheduling.models import Booking, ConferenceStatus, MeetingLink, MemberCalendar
from tests.scheduling import test_cronofy_push as push

ANA, BEN = push.ANA, push.BEN
# The sandbox server, Cronofy settings and calendar connecting of the push tests.
sandbox = push.sandbox
cronofy_settings = push.cronofy_settings
connect = push.connect

MEET = "https://meet.sandbox.example/"
PERSONAL = "https://meet.example.com/morgan-lee"
FIXED = "https://meet.example.com/onsite"

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cronofy(sandbox):
    sandbox.cronofy.reset()
    yield
    sandbox.cronofy.dispatcher.cancel_all()


@pytest.fixture
def invitation_with_link(sched_org):
    with tenant_scope(sched_org):
        return MessageTemplate.objects.create(
            organization=sched_org,
            name="Invitation with the meeting link",
            channel="email",
            subject="Confirmed: {{ interview.title }}",
            html_body="<p>{{ interview.when }}. Join here: {{ interview_link }} "
            "(video: {{ interview.video_link }})</p>",
        )


@pytest.fixture
def conference_template(make_template, interviewers, invitation_with_link):
    def make(**fields):
        return make_template(
            required=list(interviewers),
            minimum_notice_hours=1,
            meeting_link=fields.pop("meeting_link", MeetingLink.CONFERENCE),
            video_link=fields.pop("video_link", FIXED),
            invitation_email=invitation_with_link,
            **fields,
        )

    return make


@pytest.fixture
def waits(monkeypatch):
    """The wait task's queue, recorded instead of sent to a broker."""
    queued: list[int] = []
    monkeypatch.setattr(
        conferencing,
        "conference_wait_queue",
        lambda *, organization, booking, check=1: queued.append(booking.pk),
    )
    return queued


def book(org, make_request, template, run_after_commit, *, slot_index=0) -> Booking:
    request = make_request(template=template)
    with tenant_scope(org):
        slots = services.slots_for_request(organization=org, request=request)
        assert slots, "the template offers times"
        with run_after_commit():
            booking = services.booking_book(
                organization=org, request=request, start=slots[slot_index].start, time_zone="UTC"
            )
        booking.refresh_from_db()
    return booking


def invitation(outbox, candidate):
    mails = [m for m in outbox(candidate) if m.channel == "email" and "Confirmed" in m.subject]
    return mails


def ics_event(message) -> dict:
    (attachment,) = message.attachments
    calendar = Calendar.from_ical(attachment["content"])
    return next(c for c in calendar.walk() if c.name == "VEVENT")


def our_event(sandbox, email, booking) -> dict:
    return next(
        e
        for e in sandbox.cronofy.events_of(email)
        if e["event_id"] == booking.event_id and not e["deleted"]
    )


def test_a_cronofy_conference_join_url_reaches_the_invitation_the_ics_and_the_confirmation(
    client,
    sched_org,
    conference_template,
    interviewers,
    candidate,
    connect,
    sandbox,
    outbox,
    make_request,
    run_after_commit,
    waits,
):
    morgan, sam = interviewers
    connect(morgan, ANA)
    connect(sam, BEN)
    template = conference_template()

    booking = book(sched_org, make_request, template, run_after_commit)

    join_url = booking.video_link
    assert join_url.startswith(MEET)
    assert booking.conference_status == ConferenceStatus.READY
    assert booking.conference_url == join_url
    assert booking.conference_provider == "Sandbox Meet"
    assert booking.meeting_link_source == MeetingLink.CONFERENCE
    assert booking.conference_host_id == morgan.pk
    assert waits == []  # the join URL was there on the first read
    # One conference: Morgan's event made it, Sam's shows the same join URL.
    assert our_event(sandbox, ANA, booking)["conferencing"]["join_url"] == join_url
    assert our_event(sandbox, BEN, booking)["conferencing"] == {
        "provider_description": "Sandbox Meet",
        "join_url": join_url,
    }
    asked = [w for w in sandbox.cronofy.writes if w.get("conferencing")]
    assert [w["conferencing"] for w in asked if w["conferencing"]["profile_id"] == "default"] == [
        {"profile_id": "default"}
    ]
    (mail,) = invitation(outbox, candidate)
    assert f"Join here: {join_url}" in mail.body
    assert f"(video: {join_url})" in mail.body
    event = ics_event(mail)
    assert str(event["location"]) == join_url
    assert join_url in str(event["description"])
    assert str(event["url"]) == join_url
    page = client.get(reverse("booking:booked", args=[booking.request.token]))
    assert page.status_code == 200
    assert join_url in page.content.decode()


def test_rescheduling_keeps_the_same_conference(
    sched_org,
    conference_template,
    interviewers,
    candidate,
    connect,
    sandbox,
    outbox,
    make_request,
    run_after_commit,
    waits,
):
    morgan, sam = interviewers
    connect(morgan, ANA)
    template = conference_template()
    booking = book(sched_org, make_request, template, run_after_commit)
    join_url = booking.video_link

    with tenant_scope(sched_org):
        slots = services.slots_for_request(organization=sched_org, request=booking.request)
        later = next(s for s in slots if s.start != booking.start)
        with run_after_commit():
            services.booking_reschedule(
                organization=sched_org, booking=booking, start=later.start, time_zone="UTC"
            )
        booking.refresh_from_db()

    assert booking.start == later.start
    assert booking.video_link == booking.conference_url == join_url
    moved = our_event(sandbox, ANA, booking)
    assert moved["start"] == later.start.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert moved["conferencing"]["join_url"] == join_url
    host_writes = [w for w in sandbox.cronofy.writes if w["op"] == "upsert"]
    # Asked once; the move upserted the same event id without asking again.
    assert (
        sum(1 for w in host_writes if (w["conferencing"] or {}).get("profile_id") == "default") == 1
    )
    mails = invitation(outbox, candidate)
    assert len(mails) == 2
    assert all(join_url in m.body for m in mails)
    assert str(ics_event(mails[-1])["url"]) == join_url


def test_without_a_connected_calendar_the_hosts_personal_meeting_link_is_used(
    sched_org,
    conference_template,
    interviewers,
    candidate,
    outbox,
    make_request,
    run_after_commit,
    waits,
):
    morgan, _ = interviewers
    with tenant_scope(sched_org):
        MemberCalendar.objects.update_or_create(
            organization=sched_org, user=morgan, defaults={"personal_meeting_link": PERSONAL}
        )
    template = conference_template()

    booking = book(sched_org, make_request, template, run_after_commit)

    assert booking.video_link == PERSONAL
    assert booking.meeting_link_source == MeetingLink.PERSONAL
    assert booking.conference_status == ConferenceStatus.FALLBACK
    (mail,) = invitation(outbox, candidate)
    assert f"Join here: {PERSONAL}" in mail.body
    assert str(ics_event(mail)["url"]) == PERSONAL
    with tenant_scope(sched_org):
        note = candidate.events.get(kind="meeting_link_fallback")
    assert "Morgan Lee's personal link" in note.summary
    assert "no connected calendar that can create video conferences" in note.detail


def test_a_template_using_personal_links_gives_the_interviewers_own_room(
    sched_org,
    conference_template,
    interviewers,
    candidate,
    outbox,
    make_request,
    run_after_commit,
):
    morgan, _ = interviewers
    with tenant_scope(sched_org):
        MemberCalendar.objects.update_or_create(
            organization=sched_org, user=morgan, defaults={"personal_meeting_link": PERSONAL}
        )
    template = conference_template(meeting_link=MeetingLink.PERSONAL)

    booking = book(sched_org, make_request, template, run_after_commit)

    assert (booking.video_link, booking.meeting_link_source) == (PERSONAL, MeetingLink.PERSONAL)
    (mail,) = invitation(outbox, candidate)
    assert f"Join here: {PERSONAL}" in mail.body


def test_with_no_conference_and_no_personal_link_the_templates_fixed_link_is_used(
    sched_org, conference_template, candidate, outbox, make_request, run_after_commit, waits
):
    template = conference_template()

    booking = book(sched_org, make_request, template, run_after_commit)

    assert (booking.video_link, booking.meeting_link_source) == (FIXED, MeetingLink.FIXED)
    (mail,) = invitation(outbox, candidate)
    assert f"Join here: {FIXED}" in mail.body
    event = ics_event(mail)
    assert (str(event["location"]), str(event["url"])) == (FIXED, FIXED)
    with tenant_scope(sched_org):
        note = candidate.events.get(kind="meeting_link_fallback")
    assert "the template's link" in note.summary


def test_an_in_person_template_gives_no_link_even_with_one_stored(
    sched_org, conference_template, candidate, outbox, make_request, run_after_commit
):
    template = conference_template(meeting_link=MeetingLink.NONE, location="Acme HQ, London")

    booking = book(sched_org, make_request, template, run_after_commit)

    assert booking.video_link == ""
    (mail,) = invitation(outbox, candidate)
    assert FIXED not in mail.body
    assert str(ics_event(mail)["location"]) == "Acme HQ, London"


def test_the_invitation_waits_for_a_pending_join_url_and_goes_out_when_it_arrives(
    sched_org,
    conference_template,
    interviewers,
    candidate,
    connect,
    sandbox,
    outbox,
    make_request,
    run_after_commit,
    waits,
):
    morgan, _ = interviewers
    connect(morgan, ANA)
    sandbox.cronofy.configure(conferencing_delay=3600)
    template = conference_template()

    booking = book(sched_org, make_request, template, run_after_commit)

    assert booking.conference_status == ConferenceStatus.PENDING
    assert booking.video_link == ""
    assert waits == [booking.pk]
    assert invitation(outbox, candidate) == []  # not with a blank link
    assert our_event(sandbox, ANA, booking)["conferencing"] == {"pending": True}
    with tenant_scope(sched_org):
        still = conferencing.conference_check(
            organization=sched_org, booking_id=booking.pk, check=2
        )
    assert still == "waiting"
    assert invitation(outbox, candidate) == []

    with sandbox.cronofy.lock:  # Cronofy finishes making the conference
        for event in sandbox.cronofy.events.values():
            if event["event_id"] == booking.event_id:
                event["conference_due"] = 0
    with tenant_scope(sched_org):
        outcome = conferencing.conference_check(
            organization=sched_org, booking_id=booking.pk, check=3
        )
        booking.refresh_from_db()

    assert outcome == "ready"
    assert booking.video_link.startswith(MEET)
    (mail,) = invitation(outbox, candidate)
    assert f"Join here: {booking.video_link}" in mail.body


def test_a_join_url_still_missing_after_the_wait_falls_back_and_the_invitation_goes_out(
    sched_org,
    conference_template,
    interviewers,
    candidate,
    connect,
    sandbox,
    outbox,
    make_request,
    run_after_commit,
    waits,
):
    morgan, _ = interviewers
    connect(morgan, ANA)
    sandbox.cronofy.configure(conferencing_delay=3600)
    booking = book(sched_org, make_request, conference_template(), run_after_commit)

    with tenant_scope(sched_org):
        outcome = conferencing.conference_check(
            organization=sched_org, booking_id=booking.pk, check=conferencing.MAX_CHECKS
        )
        booking.refresh_from_db()

    assert outcome == "fallback"
    assert (booking.video_link, booking.conference_status) == (FIXED, ConferenceStatus.FALLBACK)
    (mail,) = invitation(outbox, candidate)
    assert f"Join here: {FIXED}" in mail.body
    # Morgan's event shows the link the candidate got, not a conference nobody else has.
    assert our_event(sandbox, ANA, booking)["conferencing"] == {
        "provider_description": "Video call",
        "join_url": FIXED,
    }


def test_conferencing_profile_disconnected_shows_on_my_calendar_and_new_bookings_fall_back(
    client,
    sched_org,
    alice,
    conference_template,
    interviewers,
    candidate,
    connect,
    outbox,
    make_request,
    run_after_commit,
    monkeypatch,
    django_capture_on_commit_callbacks,
    waits,
):
    task = intake_tasks.webhook_delivery_apply
    monkeypatch.setattr(task, "delay", lambda *args: task(*args))
    morgan, _ = interviewers
    connection = connect(morgan, ANA)
    with tenant_scope(sched_org):
        CalendarConnection.objects.filter(pk=connection.pk).update(channel_id="chn_morgan")
        MemberCalendar.objects.update_or_create(
            organization=sched_org, user=morgan, defaults={"personal_meeting_link": PERSONAL}
        )
    body = json.dumps(
        {
            "notification": {"type": "conferencing_profile_disconnected"},
            "channel": {"channel_id": "chn_morgan", "callback_url": "https://x.test/hook"},
        }
    ).encode()

    with django_capture_on_commit_callbacks(execute=True):
        answer = push._post_notification(client, sched_org, body)
    booking = book(sched_org, make_request, conference_template(), run_after_commit)

    assert answer.status_code == 200
    with tenant_scope(sched_org):
        calendar = MemberCalendar.objects.get(organization=sched_org, user=morgan)
        note = candidate.events.get(kind="meeting_link_fallback")
    assert calendar.conferencing_problem.startswith("Video conferencing disconnected")
    assert (booking.video_link, booking.meeting_link_source) == (PERSONAL, MeetingLink.PERSONAL)
    assert "video conferencing is disconnected" in note.detail
    (mail,) = invitation(outbox, candidate)
    assert f"Join here: {PERSONAL}" in mail.body
    client.force_login(morgan)
    page = client.get(reverse("scheduling:calendar"))
    assert "conferencing disconnected — reconnect in Cronofy" in page.content.decode()


def test_a_host_calendar_that_refuses_the_event_falls_back_at_once(
    sched_org,
    conference_template,
    interviewers,
    candidate,
    connect,
    sandbox,
    outbox,
    make_request,
    run_after_commit,
    waits,
):
    morgan, _ = interviewers
    connect(morgan, ANA)
    calendar_id = sandbox.cronofy.user(ANA)["calendars"][0]["calendar_id"]
    sandbox.cronofy.faults.add(f"/v1/calendars/{calendar_id}/events", 403, 1, 0)

    booking = book(sched_org, make_request, conference_template(), run_after_commit)

    assert (booking.video_link, booking.conference_status) == (FIXED, ConferenceStatus.FALLBACK)
    assert waits == []
    (mail,) = invitation(outbox, candidate)
    assert f"Join here: {FIXED}" in mail.body
    with tenant_scope(sched_org):
        note = candidate.events.get(kind="meeting_link_fallback")
    assert "Couldn't add the interview to Morgan Lee's calendar" in note.detail
