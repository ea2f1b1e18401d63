"""The scheduling template's "Meeting link" setting in the Library editor and the API, with the
notes a recruiter reads when an interviewer can't provide a conference or a personal link, and
the personal meeting link on My calendar."""

from __future__ import annotations

import pytest
from django.urls import reverse

from recruitflow.tenancy import tenant_scope
from scheduling.models import MeetingLink, MemberCalendar, SchedulingTemplate
from tests.scheduling import test_api
from tests.scheduling.test_library import editor_data

api = test_api.api  # the API client fixture (alice's write key)
new_template = test_api.new_template

pytestmark = pytest.mark.django_db


def only_template(organization) -> SchedulingTemplate:
    with tenant_scope(organization):
        (template,) = SchedulingTemplate.objects.all()
        return template


def test_the_editor_saves_a_conference_per_booking_and_says_who_cannot_host_one(
    alice, client_for, sched_org, interviewers, library_messages, monday_morning
):
    client = client_for(alice)
    data = editor_data(
        interviewers,
        library_messages,
        meeting_link="conference",
        video_link="https://meet.example.com/sales",
    )

    response = client.post(reverse("scheduling_library:create"), data)
    template = only_template(sched_org)
    page = client.get(response["Location"]).content.decode()
    listing = client.get(reverse("scheduling_library:list")).content.decode()

    assert response.status_code == 302
    assert template.meeting_link == MeetingLink.CONFERENCE
    assert template.video_link == "https://meet.example.com/sales"
    note = "Morgan Lee has no connected calendar that can create video conferences"
    assert note in page
    assert "No interviewer can host a conference: bookings get the template&#x27;s link" in page
    assert "Create a video conference per booking" in listing
    assert note in listing


def test_a_fixed_link_needs_the_link_and_none_refuses_a_leftover_link(
    alice, client_for, sched_org, interviewers, library_messages
):
    client = client_for(alice)

    fixed = client.post(
        reverse("scheduling_library:create"),
        editor_data(interviewers, library_messages, meeting_link="fixed", video_link=""),
    )
    in_person = client.post(
        reverse("scheduling_library:create"),
        editor_data(
            interviewers,
            library_messages,
            meeting_link="none",
            video_link="https://meet.example.com/x",
        ),
    )

    assert fixed.status_code == in_person.status_code == 200
    assert "Enter the link every booking uses (https://…)" in fixed.content.decode()
    assert "choose “Same link for every booking” to use it, or empty the link" in (
        in_person.content.decode()
    )
    with tenant_scope(sched_org):
        assert not SchedulingTemplate.objects.exists()


def test_personal_links_note_who_has_none(
    alice, client_for, sched_org, interviewers, library_messages, monday_morning
):
    morgan, _ = interviewers
    client = client_for(alice)
    client.post(
        reverse("scheduling_library:create"),
        editor_data(interviewers, library_messages, meeting_link="personal"),
    )
    template = only_template(sched_org)
    edit = reverse("scheduling_library:edit", args=[template.pk])

    before = client.get(edit).content.decode()
    with tenant_scope(sched_org):
        MemberCalendar.objects.update_or_create(
            organization=sched_org,
            user=morgan,
            defaults={"personal_meeting_link": "https://meet.example.com/morgan"},
        )
    after = client.get(edit).content.decode()

    assert "Morgan Lee has no personal meeting link" in before
    assert "No interviewer has a personal meeting link: bookings get no link." in before
    assert "Morgan Lee has no personal meeting link" not in after


def test_the_api_reads_and_writes_the_meeting_link(api, sched_org, interviewers, library_messages):
    created = api.post(
        "scheduling-templates/",
        new_template(interviewers, library_messages, meeting_link="conference"),
    )
    template_id = created.json()["id"]
    only_link = api.patch(
        f"scheduling-templates/{template_id}/",
        {"meeting_link": "none"},
    )
    legacy = api.patch(
        f"scheduling-templates/{template_id}/", {"video_link": "https://meet.example.com/a"}
    )
    wrong = api.patch(f"scheduling-templates/{template_id}/", {"meeting_link": "zoom"})
    fixed_without = api.patch(
        f"scheduling-templates/{template_id}/", {"meeting_link": "fixed", "video_link": ""}
    )

    assert created.status_code == 201, created.json()
    assert created.json()["meeting_link"] == "conference"
    assert only_link.json()["meeting_link"] == "none"
    # A client that only sends video_link means "use this link for every booking".
    assert (legacy.json()["meeting_link"], legacy.json()["video_link"]) == (
        "fixed",
        "https://meet.example.com/a",
    )
    assert wrong.status_code == fixed_without.status_code == 400
    assert wrong.json()["detail"] == (
        'meeting_link: "zoom" is not a meeting link option: use none, conference, personal or '
        "fixed."
    )
    assert "Enter the link every booking uses" in str(fixed_without.json())


def test_my_calendar_saves_a_personal_meeting_link_and_refuses_a_plain_http_one(
    client, sched_org, interviewers
):
    morgan, _ = interviewers
    client.force_login(morgan)

    bad = client.post(
        reverse("scheduling:personal_link"),
        {"personal_meeting_link": "http://meet.example.com/morgan"},
    )
    good = client.post(
        reverse("scheduling:personal_link"),
        {"personal_meeting_link": "https://meet.example.com/morgan"},
    )
    page = client.get(reverse("scheduling:calendar")).content.decode()

    assert bad.status_code == 400
    assert "Enter the full meeting address starting with https://" in bad.content.decode()
    assert good.status_code == 302
    with tenant_scope(sched_org):
        calendar = MemberCalendar.objects.get(user=morgan)
    assert calendar.personal_meeting_link == "https://meet.example.com/morgan"
    assert 'value="https://meet.example.com/morgan"' in page
    assert "Without a connected calendar no conference can be created" in page
