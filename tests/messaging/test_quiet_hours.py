from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from candidates.models import Application, Job, Office, TimelineEvent
from messaging import selectors, services
from messaging.models import Channel, MessageStatus
from messaging.quiet_hours import next_window_opening

pytestmark = pytest.mark.django_db
LONDON = ZoneInfo("Europe/London")


def test_text_is_held_at_2230_london_and_released_at_0800_when_the_phone_is_british(
    scoped, twilio_settings, candidate, sandbox, time_machine, django_capture_on_commit_callbacks
):
    time_machine.move_to(datetime(2025, 6, 10, 22, 30, tzinfo=LONDON), tick=False)
    with django_capture_on_commit_callbacks() as callbacks:
        message = services.message_send(
            organization=scoped, candidate=candidate, channel=Channel.SMS, body="Hi", source="api"
        )

    assert message.status == MessageStatus.HELD
    assert callbacks == []
    assert message.hold_until == datetime(2025, 6, 11, 8, 0, tzinfo=LONDON)
    held = TimelineEvent.objects.get(candidate=candidate, kind="message_held")
    assert "Europe/London" in held.summary
    assert "phone number's country (+44, GB)" in held.detail

    time_machine.move_to(datetime(2025, 6, 11, 7, 59, tzinfo=LONDON), tick=False)
    assert services.messages_release_held() == 0
    time_machine.move_to(datetime(2025, 6, 11, 8, 0, tzinfo=LONDON), tick=False)
    with django_capture_on_commit_callbacks() as callbacks:
        assert services.messages_release_held() == 1
    assert len(callbacks) == 1
    message.refresh_from_db()
    assert message.status == MessageStatus.QUEUED


def test_zone_evidence_says_area_code_then_office_then_organization_when_asked_why(
    scoped, make_candidate
):
    new_yorker = make_candidate(mobile_phone="+12125550123")
    zone, evidence = selectors.candidate_time_zone(organization=scoped, candidate=new_yorker)
    assert zone == "America/New_York"
    assert evidence == "America/New_York, from the phone number's area code 212"

    no_phone = make_candidate(mobile_phone="")
    office = Office.objects.create(
        organization=scoped, provider="greenhouse", external_id="o1", name="HQ",
        location="Chicago, IL",
    )  # fmt: skip
    job = Job.objects.create(organization=scoped, provider="greenhouse", external_id="j1", name="X")
    job.offices.add(office)
    Application.objects.create(
        organization=scoped, provider="greenhouse", external_id="a1", candidate=no_phone, job=job
    )
    zone, evidence = selectors.candidate_time_zone(organization=scoped, candidate=no_phone)
    assert zone == "America/Chicago" and "office location (Chicago, IL)" in evidence

    nowhere = make_candidate(mobile_phone="")
    zone, evidence = selectors.candidate_time_zone(organization=scoped, candidate=nowhere)
    assert zone == scoped.time_zone and "organization's time zone" in evidence


def test_window_skips_days_without_sending_when_only_weekdays_are_allowed():
    friday_night = datetime(2025, 6, 13, 21, 30, tzinfo=UTC)
    opening = next_window_opening(
        now=friday_night, zone="UTC", start=time(8), end=time(21), days=[0, 1, 2, 3, 4]
    )
    assert opening == datetime(2025, 6, 16, 8, 0, tzinfo=UTC)
    assert (
        next_window_opening(
            now=datetime(2025, 6, 16, 9, tzinfo=UTC),
            zone="UTC",
            start=time(8),
            end=time(21),
            days=[0],
        )  # fmt: skip
        is None
    )
