"""The candidate's date picker, confirm step, time zone list and clock, and booking titles
without dangling separators.

The clock is Monday 2 March 2026 09:00 in London; the template offers Mon–Fri 09:00–17:00
Europe/London, 45 minutes every 30, with 24 hours' notice (see ``test_public_pages``).
"""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from candidates.models import Candidate
from recruitflow.tenancy import tenant_scope
from scheduling.models import Booking, SchedulingRequest
from scheduling.public_zones import current_name, default_clock, zone_groups
from scheduling.words import tidy_title
from tests.scheduling.test_public_pages import page_url, slot_buttons, text_of

pytestmark = pytest.mark.django_db

WEDNESDAY_0900_LONDON = "2026-03-04T09:00:00Z"
OBSOLETE = ("US/Pacific", "US/Eastern", "Asia/Calcutta", "Europe/Kiev", "Etc/UTC", "GMT")


@pytest.fixture
def pending(monday_morning, make_request, alice):
    return make_request(send=False, actor=alice.user)


def visible_days(body: str) -> list[str]:
    """The days whose times the page shows (the others are rendered hidden for booking.js)."""
    return re.findall(r'<section class="booking-day" data-day="([^"]+)"[^>]*?(?<!hidden)>', body)


# --------------------------------------------------------------------------------------------
# The date picker and the confirm step
# --------------------------------------------------------------------------------------------


def test_the_month_grid_offers_only_days_with_free_times(client, pending):
    body = client.get(page_url(pending, tz="Europe/London", clock="24")).content.decode()

    assert "March 2026" in body
    # Wednesday has times; Saturday and Monday (inside the 24 hours' notice) do not.
    wednesday = re.search(r'<button[^>]*name="day" value="2026-03-04"[^>]*>', body)
    assert wednesday and "free times" in wednesday.group(0)
    assert (
        '<button type="button" class="booking-date" disabled aria-label="Saturday 7 March, no free times">7</button>'
        in body
    )
    assert 'aria-label="Monday 2 March, no free times"' in body
    # No day chosen yet: the page asks for one and shows no day's times.
    assert "Pick a day above to see its free times." in text_of(client.get(page_url(pending)))
    assert visible_days(body) == []


def test_choosing_a_day_shows_its_times_only(client, pending):
    body = client.get(
        page_url(pending, tz="Europe/London", clock="24", day="2026-03-04")
    ).content.decode()

    assert visible_days(body) == ["2026-03-04"]
    assert (
        'name="day" value="2026-03-04" class="booking-date available chosen" aria-pressed="true"'
        in body
    )
    assert (
        slot_buttons(client.get(page_url(pending, tz="Europe/London")))[WEDNESDAY_0900_LONDON]
        == "09:00"
    )


def test_a_day_without_times_says_so(client, pending):
    response = client.get(page_url(pending, tz="Europe/London", day="2026-03-07"))

    assert response.status_code == 200
    assert "There are no free times on that day. Please pick one of the days shown." in text_of(
        response
    )
    assert visible_days(response.content.decode()) == []


def test_choosing_a_time_shows_the_confirm_step_with_day_time_and_zone(client, pending, sched_org):
    response = client.get(
        page_url(pending, tz="America/New_York", clock="12", start=WEDNESDAY_0900_LONDON)
    )

    body = response.content.decode()
    text = text_of(response)
    assert (
        'id="booking-confirm"' in body
        and 'id="booking-confirm" aria-labelledby="booking-confirm-heading" tabindex="-1">' in body
    )
    assert "Confirm your interview" in text
    assert "Day Wednesday 4 March 2026" in text
    assert "Time 4:00 AM–4:45 AM" in text
    assert "Time zone New York, United States (UTC-05:00)" in text
    assert f'name="start" value="{WEDNESDAY_0900_LONDON}"' in body
    # Nothing is booked until the candidate confirms.
    with tenant_scope(sched_org):
        assert not Booking.objects.filter(request=pending).exists()

    confirmed = client.post(
        page_url(pending, tz="America%2FNew_York", clock="12"),
        {"start": WEDNESDAY_0900_LONDON, "tz": "America/New_York", "clock": "12"},
    )
    assert confirmed.status_code == 302
    booked = text_of(client.get(confirmed["Location"]))
    assert "You're booked" in booked
    assert "Wednesday 4 March 2026, 4:00 AM–4:45 AM (America/New_York)" in booked


def test_a_time_that_is_no_longer_free_sends_the_candidate_back_to_the_picker(client, pending):
    response = client.get(page_url(pending, tz="Europe/London", start="2026-03-07T11:00:00Z"))

    assert response.status_code == 200
    assert "That time is no longer free. Please pick another time." in text_of(response)
    assert (
        'id="booking-confirm" aria-labelledby="booking-confirm-heading" tabindex="-1" hidden'
        in response.content.decode()
    )


def test_a_time_taken_meanwhile_shows_that_days_fresh_times(
    client, pending, make_request, make_candidate, sched_org
):
    rival = make_request(candidate=make_candidate(email="rival@example.com"), send=False)
    client.post(page_url(rival), {"start": WEDNESDAY_0900_LONDON, "tz": "Europe/London"})

    response = client.post(
        page_url(pending, tz="Europe/London", clock="24"),
        {"start": WEDNESDAY_0900_LONDON, "tz": "Europe/London", "clock": "24"},
    )

    assert response.status_code == 409
    assert "Someone has just booked 09:00 on Wednesday 4 March." in text_of(response)
    assert visible_days(response.content.decode()) == ["2026-03-04"]
    assert WEDNESDAY_0900_LONDON not in slot_buttons(response)
    with tenant_scope(sched_org):
        assert not Booking.objects.filter(request=pending).exists()


# --------------------------------------------------------------------------------------------
# The time zone list and the clock
# --------------------------------------------------------------------------------------------


def test_the_zone_list_has_current_names_grouped_by_region_with_city_and_offset(client, pending):
    body = client.get(page_url(pending, tz="Asia/Tokyo")).content.decode()

    values = re.findall(r'<option value="([^"]+)"', body)
    assert "Europe/London" in values and "America/Los_Angeles" in values and "UTC" in values
    assert not [value for value in values if value in OBSOLETE or value.startswith("Etc/")]
    assert len(values) == len(set(values))
    assert '<optgroup label="Europe">' in body and '<optgroup label="North America">' in body
    assert ">Kolkata, India (UTC+05:30)</option>" in body
    assert re.search(r'<option value="Asia/Tokyo"[^>]* selected>Tokyo, Japan \(UTC\+09:00\)<', body)


def test_an_obsolete_zone_name_stands_for_its_current_one(client, pending):
    response = client.get(page_url(pending, tz="Asia/Calcutta"))

    text = text_of(response)
    assert "Times shown in Kolkata, India (UTC+05:30)" in text
    assert "not a time zone we know" not in text
    assert current_name("US/Pacific") == "America/Los_Angeles"
    assert current_name("Etc/UTC") == "UTC"
    assert current_name("Mars/Olympus_Mons") is None


def test_the_zone_list_shows_the_same_offsets_as_the_clock_at_that_moment(monday_morning):
    groups = {group["region"]: group["zones"] for group in zone_groups("UTC", monday_morning)}
    new_york = next(zone for zone in groups["North America"] if zone["value"] == "America/New_York")
    assert new_york["label"] == "New York, United States (UTC-05:00)"
    assert "US/Eastern" in new_york["also"].split()


def test_times_read_on_the_organizations_clock_until_the_browser_says_otherwise(
    client, pending, sched_org
):
    london = slot_buttons(client.get(page_url(pending, tz="Europe/London")))
    assert london[WEDNESDAY_0900_LONDON] == "09:00"

    sched_org.time_zone = "America/Chicago"
    sched_org.save(update_fields=["time_zone"])
    twelve = slot_buttons(client.get(page_url(pending, tz="Europe/London")))
    assert twelve[WEDNESDAY_0900_LONDON] == "9:00 AM"
    assert twelve["2026-03-04T13:30:00Z"] == "1:30 PM"

    browser_says_24 = slot_buttons(client.get(page_url(pending, tz="Europe/London", clock="24")))
    assert browser_says_24["2026-03-04T13:30:00Z"] == "13:30"
    assert default_clock("Europe/Berlin") == "24" and default_clock("US/Pacific") == "12"


# --------------------------------------------------------------------------------------------
# Favicon
# --------------------------------------------------------------------------------------------


def test_every_booking_page_has_the_favicon(client, pending, public_template):
    icon = '<link rel="icon" href="/static/img/favicon.svg">'
    pages = [
        client.get(page_url(pending, tz="Europe/London")),
        client.get(reverse("booking:page", args=["no-such-token"])),
        client.get(reverse("booking:public", args=[public_template.public_token])),
    ]
    client.post(page_url(pending), {"start": WEDNESDAY_0900_LONDON, "tz": "Europe/London"})
    pages.append(client.get(page_url(pending, "booking:booked", tz="Europe/London")))
    pages.append(client.get(page_url(pending, "booking:cancel", tz="Europe/London")))
    for response in pages:
        assert icon in response.content.decode(), response.request["PATH_INFO"]


# --------------------------------------------------------------------------------------------
# Titles
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filled", "tidy"),
    [
        ("Onsite interview · ", "Onsite interview"),
        ("Onsite ·  · Jordan Rivera", "Onsite · Jordan Rivera"),
        (" · Jordan Rivera", "Jordan Rivera"),
        ("Interview: ", "Interview"),
        ("Call with  | ", "Call with"),
        ("Intro call ()", "Intro call"),
        ("Follow-up call – Sales Rep", "Follow-up call – Sales Rep"),
    ],
)
def test_a_title_keeps_only_its_non_empty_parts(filled, tidy):
    assert tidy_title(filled) == tidy


@pytest.fixture
def public_template(make_template):
    return make_template(name="Open day", public_link_enabled=True)


def test_a_public_link_booking_has_no_dangling_separator_in_its_title(
    client, monday_morning, public_template, sched_org
):
    # The template's title is "Onsite interview · {{ job.name }}"; a public-link candidate has
    # no job.
    client.post(
        reverse("booking:public", args=[public_template.public_token]),
        {"first_name": "Casey", "email": "casey@example.com", "tz": "Europe/London"},
    )
    with tenant_scope(sched_org):
        candidate = Candidate.objects.get(primary_email="casey@example.com")
        request = SchedulingRequest.objects.get(candidate=candidate)

    response = client.post(
        page_url(request), {"start": WEDNESDAY_0900_LONDON, "tz": "Europe/London"}
    )

    assert response.status_code == 302
    with tenant_scope(sched_org):
        booking = Booking.objects.get(request=request)
    assert booking.title == "Onsite interview"
    assert "Onsite interview ·" not in text_of(client.get(response["Location"]))
