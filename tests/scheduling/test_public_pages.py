"""The candidate's booking pages and the public scheduling link, as the candidate sees them.

The clock is Monday 2 March 2026 09:00 in London (GMT; New York is on EST until 8 March), the
template offers Mon–Fri 09:00–17:00 Europe/London, 45 minutes every 30, with 24 hours' notice.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.core import signing
from django.urls import reverse

from candidates import services as candidate_services
from candidates.models import Candidate
from recruitflow.tenancy import tenant_scope
from scheduling import services
from scheduling.models import (
    Booking,
    BookingStatus,
    CancelledBy,
    RequestSource,
    RequestStatus,
    SchedulingRequest,
)

pytestmark = pytest.mark.django_db

WEDNESDAY_0900_LONDON = "2026-03-04T09:00:00Z"  # 09:00 GMT = 04:00 EST
WEDNESDAY_1000_LONDON = "2026-03-04T10:00:00Z"
SLOT_BUTTON = re.compile(
    r'<button type="submit" name="start" value="(?P<value>[^"]+)" class="booking-time"'
    r' aria-label="(?P<aria>[^"]+)"[^>]*>(?P<label>[^<]+)</button>'
)


def slot_buttons(response) -> dict[str, str]:
    """{ISO UTC start: the time on the button} of the picker."""
    text = response.content.decode()
    return {m["value"]: m["label"] for m in SLOT_BUTTON.finditer(text)}


def text_of(response) -> str:
    """The page's words, as a reader sees them (no markup)."""
    body = re.sub(r"</?(?:strong|a|span|em)\b[^>]*>", "", response.content.decode())
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body)))


def page_url(request, name="booking:page", **query) -> str:
    url = reverse(name, args=[request.token])
    if query:
        url += "?" + "&".join(f"{key}={value}" for key, value in query.items())
    return url


@pytest.fixture
def clock(monday_morning):
    return monday_morning


@pytest.fixture
def pending(clock, make_request, alice):
    return make_request(send=False, actor=alice.user)


def book(client, request, start=WEDNESDAY_0900_LONDON, tz="America/New_York"):
    return client.post(page_url(request), {"start": start, "tz": tz})


def refreshed_booking(organization, request) -> Booking:
    with tenant_scope(organization):
        return Booking.objects.get(organization=organization, request=request)


# --------------------------------------------------------------------------------------------
# The slot picker
# --------------------------------------------------------------------------------------------


def test_picker_lists_slots_by_day_in_the_zone_the_candidate_chose(client, pending):
    new_york = client.get(page_url(pending, tz="America/New_York"))
    london = client.get(page_url(pending, tz="Europe/London"))

    assert new_york.status_code == 200
    text = text_of(new_york)
    assert "Times shown in New York, United States (UTC-05:00)" in text
    assert "Wednesday 4 March" in text
    assert slot_buttons(new_york)[WEDNESDAY_0900_LONDON] == "04:00"
    assert slot_buttons(london)[WEDNESDAY_0900_LONDON] == "09:00"
    # The same moments are offered whatever the zone; only the clock faces differ.
    assert slot_buttons(new_york).keys() == slot_buttons(london).keys()
    # The zone can be switched from a list that names it.
    assert re.search(
        r'<option value="America/New_York"[^>]* selected>New York, United States \(UTC-05:00\)<',
        new_york.content.decode(),
    )


def test_picker_days_follow_the_candidates_calendar_not_the_interviewers(client, pending):
    tokyo = client.get(page_url(pending, tz="Asia/Tokyo"))

    # 16:00 London on Wednesday is 01:00 on Thursday in Tokyo: it is listed under Thursday.
    text = text_of(tokyo)
    assert slot_buttons(tokyo)["2026-03-04T16:00:00Z"] == "01:00"
    assert 'aria-label="Thursday 5 March at 01:00 (Asia/Tokyo)"' in tokyo.content.decode()
    assert "Times shown in Tokyo, Japan (UTC+09:00)" in text


def test_picker_falls_back_to_the_known_zone_with_a_notice_when_tz_is_not_a_zone(client, pending):
    response = client.get(page_url(pending, tz="Mars/Olympus_Mons"))

    assert response.status_code == 200
    text = text_of(response)
    assert "“Mars/Olympus_Mons” is not a time zone we know" in text
    assert "times are shown in Europe/London" in text
    assert "Times shown in London, United Kingdom (UTC+00:00)" in text
    assert slot_buttons(response)[WEDNESDAY_0900_LONDON] == "09:00"


def test_picker_uses_the_candidates_stored_zone_before_the_templates(
    client, clock, make_request, make_candidate, sched_org
):
    candidate = make_candidate(email="ny@example.com")
    with tenant_scope(sched_org):
        Candidate.objects.filter(pk=candidate.pk).update(time_zone="America/New_York")
    candidate.refresh_from_db()
    request = make_request(candidate=candidate, send=False)

    response = client.get(page_url(request))

    assert "Times shown in New York, United States (UTC-05:00)" in text_of(response)
    assert slot_buttons(response)[WEDNESDAY_0900_LONDON] == "04:00"


def test_picker_shows_the_interview_and_the_companys_brand_but_no_team_emails(
    client, pending, sched_org
):
    sched_org.brand_color = "#0f766e"
    sched_org.save(update_fields=["brand_color"])

    response = client.get(page_url(pending, tz="Europe/London"))

    text = text_of(response)
    assert "Onsite interview · Sales Rep" in text
    assert "45 minutes" in text
    assert "Video call" in text
    assert "Morgan Lee, Sam Patel" in text
    assert "Meet the sales team." in text
    assert "Acme Talent" in text
    assert f"{reverse('booking:brand_css')}?c=0f766e" in response.content.decode()
    assert "morgan.lee@acme.test" not in text and "sam.patel@acme.test" not in text
    # The CSP allows no inline styles or scripts.
    body = response.content.decode()
    assert 'style="' not in body
    assert "<script>" not in body
    assert 'src="/static/js/booking.js"' in body

    css = client.get(f"{reverse('booking:brand_css')}?c=0f766e")
    assert css["Content-Type"].startswith("text/css")
    assert "--brand: #0f766e" in css.content.decode()
    assert (
        "--brand: #2563eb"
        in client.get(f"{reverse('booking:brand_css')}?c=red;}}body{{display:none").content.decode()
    )


def test_no_free_times_says_so_and_how_to_reach_the_recruiter(
    client, clock, make_request, make_template, alice
):
    template = make_template(name="Short notice", horizon_days=1)
    request = make_request(template=template, send=False, actor=alice.user)

    response = client.get(page_url(request, tz="Europe/London"))

    assert response.status_code == 200
    text = text_of(response)
    assert "No times are free right now" in text
    assert "alice@acme.test" in text
    assert slot_buttons(response) == {}


# --------------------------------------------------------------------------------------------
# Booking
# --------------------------------------------------------------------------------------------


def test_booking_a_time_redirects_to_the_confirmation_in_the_candidates_zone(
    client, pending, sched_org, run_after_commit
):
    with run_after_commit():
        response = book(client, pending)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("booking:booked", args=[pending.token]))
    booking = refreshed_booking(sched_org, pending)
    assert booking.start == datetime(2026, 3, 4, 9, 0, tzinfo=UTC)
    assert booking.candidate_time_zone == "America/New_York"

    confirmation = client.get(response["Location"])
    text = text_of(confirmation)
    assert "You're booked" in text
    assert "Wednesday 4 March 2026, 04:00–04:45 (America/New_York)" in text
    assert "https://meet.example.com/onsite" in text
    assert "Morgan Lee, Sam Patel" in text
    body = confirmation.content.decode()
    assert reverse("booking:ics", args=[pending.token]) in body
    assert "https://calendar.google.com/calendar/render?action=TEMPLATE" in body
    assert "dates=20260304T090000Z%2F20260304T094500Z" in body
    assert "https://outlook.live.com/calendar/0/deeplink/compose?" in body
    assert reverse("booking:reschedule", args=[pending.token]) in body
    assert reverse("booking:cancel", args=[pending.token]) in body


def test_a_booked_requests_page_shows_the_booking_instead_of_the_picker(client, pending):
    book(client, pending)

    response = client.get(page_url(pending, tz="Europe/London"))

    assert response.status_code == 200
    text = text_of(response)
    assert "Your interview is booked" in text
    assert "04:00–04:45 (America/New_York)" not in text
    assert "09:00–09:45 (Europe/London)" in text
    assert slot_buttons(response) == {}
    assert "Pick another time" in text and "Cancel the interview" in text


def test_a_taken_time_shows_a_notice_and_fresh_times(
    client, clock, pending, make_request, make_candidate, sched_org
):
    rival = make_request(candidate=make_candidate(email="rival@example.com"), send=False)
    picker_before = client.get(page_url(pending, tz="Europe/London"))
    assert WEDNESDAY_0900_LONDON in slot_buttons(picker_before)
    assert book(client, rival, tz="Europe/London").status_code == 302

    response = book(client, pending, tz="Europe/London")

    assert response.status_code == 409
    text = text_of(response)
    assert "Someone has just booked 09:00 on Wednesday 4 March. Please pick another time." in text
    fresh = slot_buttons(response)
    assert WEDNESDAY_0900_LONDON not in fresh
    assert WEDNESDAY_1000_LONDON in fresh
    with tenant_scope(sched_org):
        assert not Booking.objects.filter(request=pending).exists()
        assert SchedulingRequest.objects.get(pk=pending.pk).status == RequestStatus.PENDING


def test_a_post_without_a_time_asks_for_one_and_books_nothing(client, pending, sched_org):
    response = client.post(page_url(pending), {"tz": "Europe/London"})

    assert response.status_code == 400
    assert "Pick a day and one of its times to book your interview." in text_of(response)
    assert slot_buttons(response)
    with tenant_scope(sched_org):
        assert not Booking.objects.filter(request=pending).exists()


def test_a_time_never_offered_is_refused_with_the_reason(client, pending, sched_org):
    response = book(client, pending, start="2026-03-07T11:00:00Z")  # a Saturday

    assert response.status_code == 400
    assert "Please pick one of the times shown" in text_of(response)
    with tenant_scope(sched_org):
        assert not Booking.objects.filter(request=pending).exists()


def test_the_invitation_file_downloads_as_ics(client, pending):
    book(client, pending)

    response = client.get(reverse("booking:ics", args=[pending.token]))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    assert 'filename="invite.ics"' in response["Content-Disposition"]
    body = response.content.decode()
    assert "METHOD:REQUEST" in body
    assert "DTSTART:20260304T090000Z" in body


# --------------------------------------------------------------------------------------------
# Reschedule and cancel
# --------------------------------------------------------------------------------------------


def test_reschedule_shows_the_current_time_and_moves_the_interview(client, pending, sched_org):
    book(client, pending, tz="Europe/London")
    first = refreshed_booking(sched_org, pending)

    picker = client.get(page_url(pending, "booking:reschedule", tz="Europe/London"))
    assert picker.status_code == 200
    assert (
        "Your interview is booked for Wednesday 4 March 2026, 09:00–09:45 (Europe/London)"
        in text_of(picker)
    )
    # Its own time is marked, not offered; the other times are.
    assert WEDNESDAY_0900_LONDON not in slot_buttons(picker)
    assert "(your time now)" in text_of(picker)
    assert WEDNESDAY_1000_LONDON in slot_buttons(picker)

    response = client.post(
        page_url(pending, "booking:reschedule"),
        {"start": WEDNESDAY_1000_LONDON, "tz": "Europe/London"},
    )

    assert response.status_code == 302
    moved = refreshed_booking(sched_org, pending)
    assert moved.pk == first.pk
    assert moved.start == datetime(2026, 3, 4, 10, 0, tzinfo=UTC)
    assert moved.sequence == first.sequence + 1
    confirmation = text_of(client.get(response["Location"]))
    assert "Your interview has moved to the new time" in confirmation
    assert "Wednesday 4 March 2026, 10:00–10:45 (Europe/London)" in confirmation


def test_rescheduling_to_a_time_someone_just_took_keeps_the_booking(
    client, clock, pending, make_request, make_candidate, sched_org
):
    book(client, pending, tz="Europe/London")
    rival = make_request(candidate=make_candidate(email="rival@example.com"), send=False)
    book(client, rival, start=WEDNESDAY_1000_LONDON, tz="Europe/London")

    response = client.post(
        page_url(pending, "booking:reschedule"),
        {"start": WEDNESDAY_1000_LONDON, "tz": "Europe/London"},
    )

    assert response.status_code == 409
    assert "Someone has just booked 10:00 on Wednesday 4 March" in text_of(response)
    assert refreshed_booking(sched_org, pending).start == datetime(2026, 3, 4, 9, 0, tzinfo=UTC)


def test_cancel_asks_first_then_cancels_with_the_reason(client, pending, sched_org):
    book(client, pending, tz="Europe/London")
    cancel_url = page_url(pending, "booking:cancel")

    confirm = client.get(cancel_url + "?tz=Europe/London")
    assert confirm.status_code == 200
    assert "Cancel your interview?" in text_of(confirm)
    assert "Wednesday 4 March 2026, 09:00–09:45 (Europe/London)" in text_of(confirm)

    not_confirmed = client.post(cancel_url, {"reason": "Got another offer"})
    assert not_confirmed.status_code == 400
    assert "Got another offer" in text_of(not_confirmed)  # the text is kept
    assert refreshed_booking(sched_org, pending).status == BookingStatus.CONFIRMED

    response = client.post(cancel_url, {"confirm": "yes", "reason": "Got another offer"})

    assert response.status_code == 302
    booking = refreshed_booking(sched_org, pending)
    assert booking.status == BookingStatus.CANCELLED
    assert booking.cancelled_by == CancelledBy.CANDIDATE
    assert booking.cancel_reason == "Got another offer"
    after = text_of(client.get(response["Location"]))
    assert "This interview was cancelled" in after
    assert "You cancelled it, saying: “Got another offer”" in after
    # The links of a cancelled interview lead to the same explanation, never to a picker.
    for name in ("booking:reschedule", "booking:cancel", "booking:booked"):
        assert "This interview was cancelled" in text_of(client.get(page_url(pending, name)))


def test_a_too_long_reason_is_named_and_kept(client, pending, sched_org):
    book(client, pending)
    reason = "x" * 2001

    response = client.post(
        page_url(pending, "booking:cancel"), {"confirm": "yes", "reason": reason}
    )

    assert response.status_code == 400
    assert "Please keep the reason under 2,000 characters (it has 2,001)" in text_of(response)
    assert reason in response.content.decode()
    assert refreshed_booking(sched_org, pending).status == BookingStatus.CONFIRMED


def test_a_team_cancelled_interview_says_the_company_cancelled(client, pending, sched_org):
    book(client, pending)
    with tenant_scope(sched_org):
        services.booking_cancel(
            organization=sched_org,
            booking=refreshed_booking(sched_org, pending),
            by=CancelledBy.RECRUITER,
            reason="Internal: role on hold",
        )

    text = text_of(client.get(page_url(pending)))

    assert "This interview was cancelled" in text
    assert "Acme Talent cancelled it" in text
    assert "role on hold" not in text


# --------------------------------------------------------------------------------------------
# Closed and unknown links
# --------------------------------------------------------------------------------------------


def test_an_expired_link_says_so_and_who_to_ask(client, pending, time_machine):
    time_machine.move_to(pending.expires_at + timedelta(minutes=1), tick=False)

    response = client.get(page_url(pending))

    assert response.status_code == 200
    text = text_of(response)
    assert "This link has expired" in text
    assert "Ask Acme Talent for a new one." in text
    assert slot_buttons(response) == {}
    posted = book(client, pending)
    assert "This link has expired" in text_of(posted)


def test_an_unknown_or_tampered_token_is_a_404_page(client, pending, sched_org):
    unknown = client.get(reverse("booking:page", args=["no-such-request-token"]))
    signed = reverse("booking:page", args=[pending.token])
    other = "B" if pending.token.endswith("A") else "A"  # always a different character
    tampered = client.get(signed.replace(pending.token, pending.token[:-1] + other, 1))
    # A token read out of the database is not a link: it needs the signature.
    raw = client.get(f"/s/{pending.token}/")

    for response in (unknown, tampered):
        assert response.status_code == 404
        assert "We couldn't find this link" in text_of(response)
    for response in (unknown, tampered, raw):
        assert response.status_code == 404
        assert "Acme Talent" not in text_of(response)


def test_a_post_with_a_wrong_token_changes_nothing(client, pending, sched_org):
    book(client, pending)
    wrong = reverse("booking:cancel", args=["not-this-request"])

    response = client.post(wrong, {"confirm": "yes", "reason": "mischief"})

    assert response.status_code == 404
    assert refreshed_booking(sched_org, pending).status == BookingStatus.CONFIRMED


def test_a_token_only_opens_its_own_request(
    client, clock, pending, make_request, make_candidate, sched_org
):
    other = make_request(
        candidate=make_candidate(first_name="Riley", email="riley@example.com"), send=False
    )
    book(client, other)

    text = text_of(client.get(page_url(pending, tz="Europe/London")))

    assert "Jordan, pick a time" in text
    assert "Riley" not in text
    assert "Your interview is booked" not in text


# --------------------------------------------------------------------------------------------
# The public link
# --------------------------------------------------------------------------------------------


@pytest.fixture
def public_template(make_template, sched_org):
    template = make_template(name="Open day", public_link_enabled=True)
    return template


def public_url(template) -> str:
    return reverse("booking:public", args=[template.public_token])


def test_public_link_creates_a_candidate_and_opens_their_picker(
    client, clock, public_template, sched_org, settings
):
    settings.PHONENUMBER_DEFAULT_REGION = "US"
    form = client.get(public_url(public_template))
    assert form.status_code == 200
    assert "Tell us who you are" in text_of(form)
    assert "Onsite interview" in text_of(form)
    assert "Onsite interview ·" not in text_of(form)  # no job yet: no dangling separator

    response = client.post(
        public_url(public_template),
        {
            "first_name": "Casey",
            "last_name": "Nguyen",
            "email": "casey@example.com",
            "phone": "(212) 555-0143",  # national: read in the default region (US)
            "tz": "America/New_York",
        },
    )

    assert response.status_code == 302
    with tenant_scope(sched_org):
        candidate = Candidate.objects.get(primary_email="casey@example.com")
        request = SchedulingRequest.objects.get(candidate=candidate)
    assert candidate.provider == "recruitflow"
    assert candidate.mobile_phone == "+12125550143"
    assert (candidate.first_name, candidate.last_name) == ("Casey", "Nguyen")
    assert request.source == RequestSource.PUBLIC_LINK
    assert request.template_id == public_template.pk
    assert response["Location"] == page_url(request, tz="America%2FNew_York")
    picker = client.get(response["Location"])
    assert slot_buttons(picker)[WEDNESDAY_0900_LONDON] == "04:00"


def test_public_link_with_an_existing_candidates_email_asks_them_to_confirm_by_email(
    client, clock, public_template, candidate, sched_org
):
    response = client.post(
        public_url(public_template),
        {"first_name": "J", "last_name": "R", "email": "JORDAN@Example.com", "phone": ""},
    )

    # Nothing is tied to the candidate until the link e-mailed to them is opened
    # (tests/scheduling/test_public_link_safety.py follows that link).
    assert response.status_code == 200
    page = text_of(response)
    assert "Check your e-mail" in page
    assert "Jordan" not in page
    with tenant_scope(sched_org):
        assert Candidate.objects.filter(primary_email__iexact="jordan@example.com").count() == 1
        assert not SchedulingRequest.objects.filter(template=public_template).exists()
    candidate.refresh_from_db()
    assert candidate.first_name == "Jordan"  # what the ATS says is kept


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("phone", "12345", "“12345” is not a phone number we can read"),
        ("email", "casey.example.com", "“casey.example.com” is not an e-mail address"),
        ("email", "", "Enter your e-mail address"),
        ("first_name", "", "Enter your first name."),
    ],
)
def test_public_link_names_bad_input_and_keeps_what_was_typed(
    client, clock, public_template, sched_org, field, value, message
):
    data = {
        "first_name": "Casey",
        "last_name": "Nguyen",
        "email": "casey@example.com",
        "phone": "+1 212 555 0143",
        field: value,
    }

    response = client.post(public_url(public_template), data)

    assert response.status_code == 400
    text = text_of(response)
    assert message in text
    assert 'value="Nguyen"' in response.content.decode()
    with tenant_scope(sched_org):
        assert not SchedulingRequest.objects.filter(template=public_template).exists()
        assert not Candidate.objects.filter(first_name="Casey").exists()


def test_a_switched_off_public_link_says_so(client, make_template):
    template = make_template(name="Closed day", public_link_enabled=False)

    response = client.get(public_url(template))
    posted = client.post(
        public_url(template), {"first_name": "Casey", "email": "casey@example.com"}
    )

    assert response.status_code == 404
    assert "This scheduling link is switched off" in text_of(response)
    assert posted.status_code == 404
    with tenant_scope(template.organization):
        assert not Candidate.objects.filter(first_name="Casey").exists()


def test_an_unknown_public_link_is_a_404_page(client, public_template):
    forged = signing.Signer(salt="scheduling.public-link").sign("made-up")
    response = client.get(f"/s/p/{forged}/")

    assert response.status_code == 404
    assert "We couldn't find this link" in text_of(response)


# --------------------------------------------------------------------------------------------
# candidates.services.candidate_find_or_create_public
# --------------------------------------------------------------------------------------------


def test_find_or_create_never_changes_an_existing_candidate(sched_org, make_candidate):
    with_mobile = make_candidate(email="has@example.com")
    without = make_candidate(email="none@example.com", mobile="")

    with tenant_scope(sched_org):
        kept, created_a = candidate_services.candidate_find_or_create_public(
            organization=sched_org,
            first_name="X",
            last_name="",
            email="has@example.com",
            phone="+1 212 555 0143",
        )
        untouched, created_b = candidate_services.candidate_find_or_create_public(
            organization=sched_org,
            first_name="X",
            last_name="",
            email="None@Example.com",
            phone="+1 212 555 0143",
        )

    assert (created_a, created_b) == (False, False)
    assert kept.pk == with_mobile.pk and untouched.pk == without.pk
    with_mobile.refresh_from_db()
    without.refresh_from_db()
    assert with_mobile.mobile_phone == "+447700900123"
    assert without.mobile_phone == "" and without.phones == []
    assert (without.first_name, with_mobile.first_name) == ("Jordan", "Jordan")


def test_find_or_create_ignores_deleted_candidates_and_other_organizations(
    sched_org, make_candidate, mallory
):
    gone = make_candidate(email="gone@example.com")
    with tenant_scope(sched_org):
        Candidate.objects.filter(pk=gone.pk).update(deleted_at=datetime.now(UTC))
    elsewhere = make_candidate(email="else@example.com", organization=mallory.organization)

    with tenant_scope(sched_org):
        fresh, created = candidate_services.candidate_find_or_create_public(
            organization=sched_org,
            first_name="Gone",
            last_name="Again",
            email="gone@example.com",
            phone="",
        )
        other, created_other = candidate_services.candidate_find_or_create_public(
            organization=sched_org,
            first_name="Else",
            last_name="",
            email="else@example.com",
            phone="",
        )

    assert created and created_other
    assert fresh.pk != gone.pk and other.pk != elsewhere.pk
    assert other.organization_id == sched_org.pk
    assert len(fresh.external_id) == 32


# --------------------------------------------------------------------------------------------
# In a real browser
# --------------------------------------------------------------------------------------------


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_a_candidate_in_new_york_sees_their_own_times_and_books_in_a_browser(
    live_server, browser, clock, make_request
):
    from playwright.sync_api import expect

    request = make_request(send=False)
    context = browser.new_context(
        timezone_id="America/New_York", locale="en-GB", viewport={"width": 390, "height": 844}
    )
    page = context.new_page()
    csp_violations = []
    page.on(
        "console",
        lambda message: (
            csp_violations.append(message.text)
            if "Content Security Policy" in message.text or "Refused to" in message.text
            else None
        ),
    )
    try:
        # No ?tz= in the link: the page asks the browser for its zone and reloads in it.
        page.goto(live_server.url + reverse("booking:page", args=[request.token]))
        expect(page.locator(".booking-zone-current")).to_have_text(
            "Times shown in New York, United States (UTC-05:00)"
        )
        assert "tz=America%2FNew_York" in page.url
        expect(page.locator("#tz")).to_have_value("America/New_York")

        # Switching the zone re-lists the times without a button press.
        page.wait_for_load_state("domcontentloaded")  # booking.js listens from here on
        page.select_option("#tz", "Europe/London")
        expect(page.locator(".booking-zone-current")).to_have_text(
            "Times shown in London, United Kingdom (UTC+00:00)"
        )
        page.wait_for_load_state("domcontentloaded")
        page.select_option("#tz", "America/New_York")
        expect(page.locator(".booking-zone-current")).to_have_text(
            "Times shown in New York, United States (UTC-05:00)"
        )

        page.get_by_role("button", name=re.compile(r"^Wednesday 4 March, \d+ free times$")).click()
        page.get_by_role("button", name="Wednesday 4 March at 04:00 (America/New_York)").click()
        page.get_by_role("button", name="Confirm booking").click()

        expect(page.locator(".booking-when")).to_have_text(
            "Wednesday 4 March 2026, 04:00–04:45 (America/New_York)"
        )
        expect(page.get_by_role("link", name="Google Calendar")).to_be_visible()
        assert csp_violations == []
    finally:
        context.close()


def test_an_interview_that_has_taken_place_can_no_longer_be_moved(client, pending, time_machine):
    book(client, pending, tz="Europe/London")
    time_machine.move_to(datetime(2026, 3, 4, 10, 0, tzinfo=UTC), tick=False)

    page = text_of(client.get(page_url(pending)))
    reschedule = client.get(page_url(pending, "booking:reschedule"))
    confirmation = text_of(client.get(page_url(pending, "booking:booked")))

    assert "This interview has taken place" in page
    assert "Wednesday 4 March 2026, 09:00–09:45 (Europe/London)" in page
    assert "This interview has taken place" in text_of(reschedule)
    assert slot_buttons(reschedule) == {}
    assert "can no longer be moved or cancelled here" in confirmation
    assert "Pick another time" not in confirmation
