"""Library → Scheduling templates: the list, the editor and its named validation errors, copy,
delete refused while in use, and the health check a recruiter reads before sending."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from django.urls import reverse

from accounts.models import Role
from journeys.models import Journey, JourneyStep, JourneyVersion
from library.models import MessageTemplate
from recruitflow.tenancy import tenant_scope
from scheduling.models import (
    BusyBlock,
    SchedulingTemplate,
    SchedulingTemplateMember,
)
from tests.factories import add_member
from tests.scheduling.conftest import LONDON

pytestmark = pytest.mark.django_db

# Monday 2 March 2026 09:00 London: 24 hours' notice, 14 days ahead → Tue 3 to Fri 13 March,
# nine working days of 15 starts (09:00 … 16:00, 45 minutes every 30).
SLOTS_PER_DAY = 15
SLOTS_IN_TWO_WEEKS = 9 * SLOTS_PER_DAY


def templates_of(organization) -> list[SchedulingTemplate]:
    with tenant_scope(organization):
        return list(SchedulingTemplate.objects.order_by("id"))


def members_of(template) -> dict[str, bool]:
    with tenant_scope(template.organization):
        return {
            m.user.email: m.required
            for m in SchedulingTemplateMember.objects.filter(template=template).select_related(
                "user"
            )
        }


def editor_data(interviewers, library_messages, **overrides) -> dict:
    """What the editor posts for a complete template; ``overrides`` replace or remove (None)."""
    morgan, sam = interviewers
    data = {
        "name": "Onsite interview · Sales",
        "event_title": "Onsite · {{ candidate.full_name }} · {{ job.name }}",
        "description": "Meet the sales team in our office.",
        "duration_minutes": "45",
        "location": "12 King St, London",
        "video_link": "",
        "time_zone": LONDON,
        "minimum_notice_hours": "24",
        "horizon_days": "14",
        "slot_interval_minutes": "30",
        "buffer_before_minutes": "0",
        "buffer_after_minutes": "15",
        "daily_limit": "3",
        "reminder_delay_hours": "48",
        f"member_{morgan.pk}": "required",
        f"member_{sam.pk}": "optional",
    }
    for day in range(5):
        data[f"w{day}_0_start"], data[f"w{day}_0_end"] = "09:00", "12:00"
        data[f"w{day}_1_start"], data[f"w{day}_1_end"] = "13:00", "17:00"
    for key, template in library_messages.items():
        data[key] = str(template.pk)
    for key, value in overrides.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data


def slot_count(page: str) -> int:
    return int(re.search(r'id="health-slot-count">(\d+)<', page)[1])


def bar_count(page: str, day: str) -> int:
    return int(re.search(rf'data-day="{day}" data-count="(\d+)"', page)[1])


@pytest.fixture
def viewer(sched_org):
    return add_member(organization=sched_org, email="vic@acme.test", role=Role.VIEWER)


# --- The Library index and the list --------------------------------------------------------------


def test_library_index_counts_scheduling_templates_and_links_to_them(
    alice, client_for, scheduling_template, make_template
):
    make_template(name="Phone screen", public_link_enabled=True)
    page = client_for(alice).get(reverse("library")).content.decode()
    section = page[page.index('id="library-scheduling-templates"') :]
    section = section[: section.index("</section>")]
    assert "<strong>2</strong> scheduling templates" in section
    assert "<strong>1</strong> public link on" in section
    assert "Comes with scheduling" not in section
    assert reverse("scheduling_library:list") in section
    assert reverse("scheduling_library:create") in section


def test_empty_list_says_what_a_scheduling_template_is_and_how_to_start(alice, client_for):
    page = client_for(alice).get(reverse("scheduling_library:list")).content.decode()
    assert "No scheduling templates yet" in page
    assert "Request to Schedule" in page and "Send scheduling request" in page
    assert reverse("scheduling_library:create") in page


def test_list_shows_interviewers_public_link_and_health(
    alice, client_for, make_template, interviewers, monday_morning
):
    morgan, sam = interviewers
    template = make_template(required=[morgan], optional=[sam], public_link_enabled=True)
    page = client_for(alice).get(reverse("scheduling_library:list")).content.decode()
    row = page[page.index(f'data-template="{template.pk}"') :]
    row = row[: row.index("</tr>")]
    assert "Onsite interview" in row and "45 min" in row and LONDON in row
    assert 'Morgan Lee <span class="muted">required</span>' in row
    assert 'Sam Patel <span class="muted">optional</span>' in row
    assert "/s/p/" in row  # the public link to copy
    assert f"<strong data-slot-count>{SLOTS_IN_TWO_WEEKS}</strong> times offered" in row
    assert "2 without a connected calendar: Morgan Lee, Sam Patel" in row


# --- The editor ----------------------------------------------------------------------------------


def test_new_template_starts_with_sensible_defaults(alice, client_for, sched_org, interviewers):
    page = client_for(alice).get(reverse("scheduling_library:create")).content.decode()
    assert '<option value="Europe/London" selected>' in page
    assert 'name="w0_0_start" value="09:00"' in page and 'name="w4_0_end" value="17:00"' in page
    assert 'name="w5_0_start" value=""' in page  # Saturday: no window
    assert 'name="duration_minutes" value="45"' in page
    assert 'name="minimum_notice_hours" value="24"' in page
    assert 'name="horizon_days" value="14"' in page
    assert 'name="slot_interval_minutes" value="30"' in page
    assert "Morgan Lee" in page and "Sam Patel" in page
    assert "/library/templates/new/?channel=email" in page


def test_recruiter_creates_a_template_with_two_windows_a_day(
    alice, client_for, sched_org, interviewers, library_messages, monday_morning
):
    client = client_for(alice)
    response = client.post(
        reverse("scheduling_library:create"), editor_data(interviewers, library_messages)
    )
    (template,) = templates_of(sched_org)
    assert response.status_code == 302
    assert response["Location"] == reverse("scheduling_library:edit", args=[template.pk])
    assert template.name == "Onsite interview · Sales"
    assert template.event_title == "Onsite · {{ candidate.full_name }} · {{ job.name }}"
    assert template.time_zone == LONDON and template.duration_minutes == 45
    assert template.buffer_after_minutes == 15 and template.daily_limit == 3
    assert template.windows[:2] == [
        {"weekday": 0, "start": "09:00", "end": "12:00"},
        {"weekday": 0, "start": "13:00", "end": "17:00"},
    ]
    assert len(template.windows) == 10
    assert members_of(template) == {"morgan.lee@acme.test": True, "sam.patel@acme.test": False}
    assert template.request_email_id == library_messages["request_email"].pk
    assert template.cancellation_sms_id == library_messages["cancellation_sms"].pk
    assert template.created_by == alice.user and not template.public_link_enabled

    page = client.get(response["Location"]).content.decode()
    assert "Scheduling template “Onsite interview · Sales” created." in page
    # Morgan alone is required: 5 starts in 09:00–12:00 and 7 in 13:00–17:00 (the buffer
    # after reaches no busy time) on each of the nine working days.
    assert slot_count(page) == 9 * 12
    assert 'id="health-chart"' in page


def test_editor_names_each_problem_and_keeps_what_was_typed(
    alice, client_for, sched_org, interviewers, library_messages
):
    morgan, sam = interviewers
    data = editor_data(
        interviewers,
        library_messages,
        name="Panel interview",
        event_title="Panel · {{ candidate.frist_name }}",
        w1_0_start="17:00",
        w1_0_end="09:00",
        request_email="",
        request_sms="",
        **{f"member_{morgan.pk}": "", f"member_{sam.pk}": "optional"},
    )
    response = client_for(alice).post(reverse("scheduling_library:create"), data)
    page = response.content.decode()
    assert response.status_code == 200
    assert templates_of(sched_org) == []
    assert "Not saved yet: fix what is marked below. Nothing you typed is lost." in page
    assert "Tuesday: the window ends (09:00) before it starts (17:00)." in page
    assert "Unknown merge field {{ candidate.frist_name }}" in page
    assert "Did you mean {{ candidate.first_name }}?" in page
    assert "Add at least one required interviewer" in page
    assert "Choose the Request to Schedule e-mail or text message (or both)" in page
    # Everything typed comes back.
    assert 'value="Panel interview"' in page
    assert 'name="w1_0_start" value="17:00"' in page
    assert '<option value="optional" selected>Optional</option>' in page


def test_overlapping_windows_and_bad_times_are_named_by_day(
    alice, client_for, sched_org, interviewers, library_messages
):
    data = editor_data(
        interviewers,
        library_messages,
        w2_1_start="11:00",
        w4_0_start="9am",
    )
    page = client_for(alice).post(reverse("scheduling_library:create"), data).content.decode()
    assert "Wednesday: 09:00–12:00 and 11:00–17:00 overlap. Merge them into one window." in page
    assert "Friday: the start time is “9am”; write it as HH:MM, e.g. 09:00." in page
    assert templates_of(sched_org) == []


def test_editing_changes_the_template_and_its_interviewers(
    alice, client_for, scheduling_template, interviewers, library_messages
):
    morgan, sam = interviewers
    data = editor_data(
        interviewers,
        library_messages,
        name="Onsite interview",
        duration_minutes="60",
        public_link_enabled="on",
        reminder_sms="",
        **{f"member_{morgan.pk}": "optional", f"member_{sam.pk}": "required"},
    )
    client = client_for(alice)
    url = reverse("scheduling_library:edit", args=[scheduling_template.pk])
    response = client.post(url, data)
    assert response.status_code == 302
    (template,) = templates_of(scheduling_template.organization)
    assert template.duration_minutes == 60 and template.public_link_enabled
    assert template.reminder_sms_id is None
    assert members_of(template) == {"morgan.lee@acme.test": False, "sam.patel@acme.test": True}
    page = client.get(url).content.decode()
    assert "Interviews already booked keep their times." in page
    assert 'id="public-link"' in page and "/s/p/" in page


def test_viewer_reads_a_template_but_cannot_create_or_change_it(
    client, viewer, scheduling_template, interviewers, library_messages
):
    client.force_login(viewer.user)
    assert client.get(reverse("scheduling_library:create")).status_code == 403
    url = reverse("scheduling_library:edit", args=[scheduling_template.pk])
    page = client.get(url).content.decode()
    assert "your role can't change it" in page and "Save template" not in page
    assert "disabled" in page
    data = editor_data(interviewers, library_messages, name="Renamed")
    assert client.post(url, data).status_code == 403
    assert templates_of(scheduling_template.organization)[0].name == "Onsite interview"


def test_another_organization_gets_404_for_a_template(client_for, mallory, scheduling_template):
    client = client_for(mallory)
    for name in ("edit", "copy", "delete"):
        url = reverse(f"scheduling_library:{name}", args=[scheduling_template.pk])
        response = client.post(url) if name != "edit" else client.get(url)
        assert response.status_code == 404
    assert len(templates_of(scheduling_template.organization)) == 1


# --- Copy and delete -----------------------------------------------------------------------------


def test_copy_keeps_interviewers_and_messages_under_a_new_name(
    alice, client_for, make_template, interviewers, library_messages
):
    morgan, sam = interviewers
    template = make_template(required=[morgan], optional=[sam], public_link_enabled=True)
    client = client_for(alice)
    first = client.post(reverse("scheduling_library:copy", args=[template.pk]))
    second = client.post(reverse("scheduling_library:copy", args=[template.pk]))
    original, copy, again = templates_of(template.organization)
    assert [copy.name, again.name] == ["Copy of Onsite interview", "Copy of Onsite interview (2)"]
    assert first["Location"] == reverse("scheduling_library:edit", args=[copy.pk])
    assert second.status_code == 302
    assert members_of(copy) == members_of(original)
    assert copy.windows == original.windows and copy.event_title == original.event_title
    assert copy.invitation_email_id == library_messages["invitation_email"].pk
    assert copy.public_token != original.public_token and not copy.public_link_enabled
    page = client.get(first["Location"]).content.decode()
    assert "Its public link starts switched off." in page


def test_delete_is_refused_while_a_request_or_a_journey_step_uses_the_template(
    alice, client_for, sched_org, scheduling_template, make_request, monday_morning
):
    make_request(send=False)
    with tenant_scope(sched_org):
        journey = Journey.objects.create(organization=sched_org, name="Sales Rep onsite")
        version = JourneyVersion.objects.create(organization=sched_org, journey=journey)
        JourneyStep.objects.create(
            organization=sched_org,
            version=version,
            position=1,
            kind="send_scheduling_request",
            config={"template_id": scheduling_template.pk},
        )
    client = client_for(alice)
    response = client.post(
        reverse("scheduling_library:delete", args=[scheduling_template.pk]), follow=True
    )
    page = response.content.decode()
    assert "“Onsite interview” can&#x27;t be deleted" in page
    assert "1 scheduling request (1 waiting for the candidate)" in page
    assert "1 journey step (in Sales Rep onsite)" in page
    assert "Remove it from those journey steps first." in page
    assert len(templates_of(sched_org)) == 1


def test_an_unused_template_is_deleted(alice, client_for, sched_org, scheduling_template):
    response = client_for(alice).post(
        reverse("scheduling_library:delete", args=[scheduling_template.pk]), follow=True
    )
    assert "Scheduling template “Onsite interview” deleted." in response.content.decode()
    assert templates_of(sched_org) == []


def test_a_message_template_a_scheduling_template_uses_cannot_be_deleted(
    alice, client_for, sched_org, scheduling_template, library_messages
):
    message = library_messages["invitation_email"]
    response = client_for(alice).post(
        reverse("library:template_delete", args=[message.pk]), follow=True
    )
    page = response.content.decode()
    # The Library names what uses it, so the recruiter knows where to change it.
    assert "is used by 1 scheduling template (Onsite interview)" in page
    with tenant_scope(sched_org):
        assert MessageTemplate.objects.filter(pk=message.pk).exists()


# --- The health check ----------------------------------------------------------------------------


def test_health_counts_slots_and_drops_them_when_an_interviewer_gets_busy(
    alice, client_for, sched_org, scheduling_template, interviewers, monday_morning
):
    client = client_for(alice)
    url = reverse("scheduling_library:edit", args=[scheduling_template.pk])
    page = client.get(url).content.decode()
    assert slot_count(page) == SLOTS_IN_TWO_WEEKS
    assert bar_count(page, "2026-03-03") == SLOTS_PER_DAY
    assert bar_count(page, "2026-03-07") == 0  # Saturday
    assert 'id="health-without-calendar">2<' in page
    assert (
        "Earliest time a candidate could book now: <strong>Tue 3 Mar, 09:00 (Europe/London)" in page
    )
    assert "No calendar connected" in page

    morgan = interviewers[0]
    with tenant_scope(sched_org):
        BusyBlock.objects.create(
            organization=sched_org,
            user=morgan,
            title="Quarterly review",
            start=datetime(2026, 3, 3, 9, 0, tzinfo=UTC),
            end=datetime(2026, 3, 3, 17, 0, tzinfo=UTC),
        )
    page = client.get(url).content.decode()
    assert slot_count(page) == SLOTS_IN_TWO_WEEKS - SLOTS_PER_DAY
    assert bar_count(page, "2026-03-03") == 0
    assert "Earliest time a candidate could book now: <strong>Wed 4 Mar, 09:00" in page


def test_health_names_what_stops_a_template_from_working(
    alice, client_for, sched_org, make_template, monday_morning
):
    template = make_template(required=[], request_email=None, request_sms=None)
    page = (
        client_for(alice)
        .get(reverse("scheduling_library:edit", args=[template.pk]))
        .content.decode()
    )
    assert "No required members: add at least one" in page
    assert "No Request to Schedule message: choose an e-mail or a text message." in page
    assert slot_count(page) == 0


def test_health_says_when_no_time_is_free_or_a_window_is_too_short(
    alice, client_for, sched_org, make_template, interviewers, monday_morning
):
    busy = make_template(name="Busy panel")
    short = make_template(
        name="Short window", windows=[{"weekday": 0, "start": "09:00", "end": "09:30"}]
    )
    with tenant_scope(sched_org):
        BusyBlock.objects.create(
            organization=sched_org,
            user=interviewers[0],
            title="Leave",
            start=datetime(2026, 3, 2, 0, 0, tzinfo=UTC),
            end=datetime(2026, 3, 21, 0, 0, tzinfo=UTC),
        )
    page = client_for(alice).get(reverse("scheduling_library:list")).content.decode()
    busy_row = page[page.index(f'data-template="{busy.pk}"') :]
    assert (
        "No free times in the next 14 days: check the interviewers&#x27; calendars"
        in (busy_row[: busy_row.index("</tr>")])
    )
    short_row = page[page.index(f'data-template="{short.pk}"') :]
    assert (
        "Every availability window is shorter than the 45-minute interview"
        in (short_row[: short_row.index("</tr>")])
    )


def test_health_flags_an_interviewer_who_left_the_team(
    alice, client_for, sched_org, scheduling_template, interviewers, monday_morning
):
    from accounts.models import Membership

    with tenant_scope(sched_org):
        Membership.objects.filter(user=interviewers[1]).delete()
    page = (
        client_for(alice)
        .get(reverse("scheduling_library:edit", args=[scheduling_template.pk]))
        .content.decode()
    )
    assert "Sam Patel is no longer in your team: remove them from the interviewers." in page
