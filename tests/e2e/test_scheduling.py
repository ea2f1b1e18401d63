"""Self-scheduling in a real browser, end to end: a recruiter builds the scheduling template
"Onsite interview" in the Library and a journey whose "Send scheduling request" step sends it to
candidates entering "Onsite Interview" for "Sales Rep", and activates it. A candidate moved in the
sandbox Greenhouse gets the Request to Schedule by e-mail and text with their link, opens it in a
browser set to New York, sees the times in America/New_York, books, reschedules and cancels —
with an invitation (.ics, same UID, rising SEQUENCE) or a cancellation each time — and the
recruiter sees every change on the candidate's timeline and on the Schedule page."""

from __future__ import annotations

import base64
import re
from datetime import datetime
from datetime import time as clock
from zoneinfo import ZoneInfo

import pytest
import requests
from icalendar import Calendar
from playwright.sync_api import expect

from candidates import services as candidate_services
from candidates.models import Candidate
from integrations.greenhouse.models import GreenhouseConnection
from integrations.models import ConnectionStatus
from integrations.sandbox.server import SandboxServer
from integrations.sendgrid.models import SendGridSettings
from library import services as library_services
from messaging.models import MessagingPreferences
from recruitflow.tenancy import tenant_scope
from tests.e2e.test_journeys import (  # noqa: F401  (celery_runs_in_process is an autouse fixture)
    _add_candidate,
    _greenhouse,
    _sales_rep,
    _wait_for,
    _wait_for_delivery,
    celery_runs_in_process,
)
from tests.factories import make_org_with_owner

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CANDIDATE = ("Jordan", "Rivera", "jordan.rivera@example.com", "+12125550143")
RECRUITER_EMAIL, PASSWORD = "rita@northwind.test", "correct-horse-9"
# Links we send point here; the candidate's browser opens the same path on the live server.
# (Nothing listens: the sandbox's delivery callbacks must not race the browser on the live
# server's shared in-memory database.)
NOWHERE = "http://127.0.0.1:9"
LONDON, NEW_YORK = "Europe/London", "America/New_York"


@pytest.fixture(scope="module")
def sandbox():
    with SandboxServer(port=0, n_candidates=10) as server:
        yield server


def _setup(organization, sandbox, base: str) -> None:
    """The sandbox Greenhouse connected and synced with webhooks on, e-mail through the sandbox
    SendGrid, texts through the sandbox Twilio at any hour, and the Library's scheduling
    messages (written by the team beforehand)."""
    organization.time_zone = LONDON
    organization.save(update_fields=["time_zone"])
    with tenant_scope(organization):
        connection = GreenhouseConnection.objects.create(
            organization=organization,
            base_url=f"{sandbox.url}/greenhouse",
            api_version="v1",
            api_key="sandbox-harvest-key",
            status=ConnectionStatus.CONNECTED,
        )
        SendGridSettings.objects.create(
            organization=organization,
            api_key="SG.sandbox-key",
            from_email="talent@northwind.test",
            from_name="Northwind Talent",
            base_url=f"{sandbox.url}/sendgrid",
        )
        MessagingPreferences.objects.create(
            organization=organization, sms_window_start=clock.min, sms_window_end=clock.max
        )
        run = candidate_services.sync_request(organization=organization, full=True)
        run.refresh_from_db()
        assert run.status == "succeeded", run.error
        for name, channel, fields in (
            (
                "Request to Schedule",
                "email",
                {
                    "subject": "Pick a time for your onsite interview for {{ job.name }}",
                    "html_body": "<p>Hi {{ candidate.first_name }},</p><p>Please choose a time "
                    'for your onsite interview: <a href="{{ scheduling_link }}">pick a time</a>.'
                    "</p>",
                },
            ),
            (
                "Request to Schedule (text)",
                "sms",
                {
                    "text_body": "Hi {{ candidate.first_name }}, pick a time for your "
                    "{{ job.name }} onsite: {{ scheduling_link }} {{ opt_out_text }}"
                },
            ),
            (
                "Interview Invitation",
                "email",
                {
                    "subject": "Confirmed: {{ interview.title }}",
                    "html_body": "<p>Hi {{ candidate.first_name }}, see you "
                    "{{ interview.when }}.</p><p>Another time: {{ interview.reschedule_link }}"
                    "</p>",
                },
            ),
            (
                "Cancellation Notification",
                "email",
                {
                    "subject": "Cancelled: {{ interview.title }}",
                    "html_body": "<p>Hi {{ candidate.first_name }}, your interview on "
                    "{{ interview.when }} is cancelled.</p>",
                },
            ),
        ):
            library_services.message_template_save(
                organization=organization, name=name, channel=channel, **fields
            )
    hook = requests.post(
        _greenhouse(sandbox, "webhook"),
        json={
            "url": f"{base}/webhooks/greenhouse/{connection.endpoint_token}/",
            "secret": connection.webhook_secret,
            "enabled": True,
        },
        timeout=10,
    ).json()
    assert hook["enabled"], hook


def _mails(sandbox, subject_start: str) -> list[dict]:
    """The sandbox SendGrid's mails to the candidate whose subject starts so, oldest first."""

    def fetch():
        mails = requests.get(f"{sandbox.url}/sendgrid/_sandbox/api/mails", timeout=5).json()
        return [
            m
            for m in mails
            if (m.get("subject") or "").startswith(subject_start)
            and any(r["email"] == CANDIDATE[2] for r in m["recipients"])
        ]

    return fetch


def _ics(mail: dict) -> Calendar:
    (attachment,) = [a for a in mail["attachments"] if a["filename"].endswith(".ics")]
    return Calendar.from_ical(base64.b64decode(attachment["content_b64"]))


def _event(calendar: Calendar):
    (event,) = [c for c in calendar.walk() if c.name == "VEVENT"]
    return event


def _slot(button) -> tuple[datetime, str]:
    """A time button of the picker: its start (UTC) and the time it shows."""
    start = datetime.fromisoformat(button.get_attribute("value").replace("Z", "+00:00"))
    return start, button.inner_text().strip()


def _local(start: datetime, zone: str) -> str:
    return start.astimezone(ZoneInfo(zone)).strftime("%H:%M")


def test_candidate_books_reschedules_and_cancels_from_a_journeys_scheduling_request(
    live_server, browser, page, csp_violations, sandbox, settings
):
    settings.SANDBOX_URL = sandbox.url
    settings.PUBLIC_BASE_URL = NOWHERE
    base = live_server.url
    organization, _, _ = make_org_with_owner(
        name="Northwind Hiring", email=RECRUITER_EMAIL, first_name="Rita"
    )
    settings.SANDBOX_SHORTCUTS = True
    organization.is_demo = True  # texts through the sandbox without settings, as the demo does
    organization.save(update_fields=["is_demo"])
    sales_rep = _sales_rep(sandbox)
    application = _add_candidate(sandbox, sales_rep, CANDIDATE, "Hiring Manager Screen")
    _setup(organization, sandbox, base)

    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=login]", RECRUITER_EMAIL)
    page.fill("input[name=password]", PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_role("heading", name="Welcome, Rita")).to_be_visible()

    # --- The Library: a scheduling template -----------------------------------------------
    page.goto(f"{base}/library/scheduling/")
    empty = page.locator("#scheduling-templates-empty")
    expect(empty).to_contain_text("Request to Schedule")
    empty.get_by_role("link", name="New scheduling template").click()
    expect(page.get_by_role("heading", name="New scheduling template")).to_be_visible()
    form = page.locator("#scheduling-template-form")
    form.get_by_label("Name", exact=True).fill("Onsite interview")
    form.get_by_label("Event title").fill("Onsite interview · {{ job.name }}")
    expect(form.get_by_label("Time zone of the windows")).to_have_value(LONDON)
    expect(form.locator("#windows tr[data-weekday='0'] input[type=time]").first).to_have_value(
        "09:00"
    )
    form.locator("#members").get_by_label("Rita", exact=True).select_option(label="Required")
    messages = {
        "request": ("Request to Schedule", "Request to Schedule (text)"),
        "invitation": ("Interview Invitation", None),
        "cancellation": ("Cancellation Notification", None),
    }
    for kind, (email_template, sms_template) in messages.items():
        row = form.locator(f"#message-{kind}")
        row.get_by_label("E-mail").select_option(label=email_template)
        if sms_template:
            row.get_by_label("Text message").select_option(label=sms_template)
    form.get_by_role("button", name="Create template").click()
    expect(page.locator(".messages")).to_contain_text(
        "Scheduling template “Onsite interview” created."
    )
    health = page.locator("#template-health")
    expect(health.locator("#health-slot-count")).not_to_have_text("0")

    # --- A journey with a Send scheduling request step -------------------------------------
    page.get_by_role("link", name="Journeys").first.click()
    page.locator("#journeys-empty").get_by_role("link", name="New journey").click()
    page.get_by_label("Name").fill("Onsite scheduling · Sales Rep")
    page.get_by_role("button", name="Create journey").click()
    trigger = page.locator("#trigger-form")
    trigger.locator("#picker-stage_names").get_by_label("Onsite Interview", exact=True).check()
    trigger.locator("#picker-job_ids").get_by_label("Sales Rep", exact=True).check()
    trigger.get_by_role("button", name="Save trigger").click()
    expect(page.locator("#journey-summary")).to_have_text("Enters Onsite Interview · Sales Rep")
    page.locator("#add-step-kind").select_option(label="Send scheduling request")
    page.locator("#add-step").get_by_role("button", name="Add step").click()
    step = page.locator("#steps li.step").nth(0)
    step.get_by_label("Scheduling template").select_option(label="Onsite interview")
    step.get_by_role("button", name="Save step").click()
    expect(step).to_contain_text("Send scheduling request: Onsite interview")
    page.locator("#journey-publish").click()
    page.locator("#publish-form").get_by_role("button", name="Publish").click()
    expect(page.locator("#journey-status")).to_have_text("Active")

    # --- Jordan enters Onsite Interview in the ATS: the Request to Schedule goes out -------
    moved = requests.post(
        _greenhouse(sandbox, f"applications/{application['id']}/move"),
        json={"stage_name": "Onsite Interview"},
        timeout=10,
    )
    assert moved.status_code == 200, moved.text
    delivered = _wait_for_delivery(sandbox, "candidate_stage_change", 1)
    assert [d["status"] for d in delivered] == ["delivered"], delivered
    (request_mail,) = _wait_for(_mails(sandbox, "Pick a time"), bool)
    assert request_mail["subject"] == "Pick a time for your onsite interview for Sales Rep"
    link = re.search(rf'href="({re.escape(NOWHERE)}/s/[^"]+/)"', request_mail["html"]).group(1)
    texts = _wait_for(
        lambda: requests.get(f"{sandbox.url}/twilio/_sandbox/api/messages", timeout=5).json(),
        lambda found: any(m["to"] == CANDIDATE[3] for m in found),
    )
    (text,) = [m for m in texts if m["to"] == CANDIDATE[3]]
    assert link in text["body"]
    with tenant_scope(organization):
        candidate = Candidate.objects.get(organization=organization, primary_email=CANDIDATE[2])

    page.goto(f"{base}/schedule/")
    expect(page.locator("#pending")).to_contain_text("Jordan Rivera")
    expect(page.locator("#pending")).to_contain_text("Onsite interview")
    page.goto(f"{base}/candidates/{candidate.pk}/")
    expect(page.locator("#timeline li[data-kind='scheduling_requested']")).to_contain_text(
        "Request to Schedule “Onsite interview” sent by e-mail and text message"
    )

    # --- The candidate, in New York, books ------------------------------------------------
    # A British-English browser: times on a 24-hour clock, as the recruiter's pages show them.
    context = browser.new_context(timezone_id=NEW_YORK, locale="en-GB")
    candidate_page = context.new_page()
    candidate_violations: list[str] = []
    candidate_page.on(
        "console",
        lambda message: (
            candidate_violations.append(message.text)
            if "Content Security Policy" in message.text or "Refused to" in message.text
            else None
        ),
    )
    candidate_page.goto(base + link.removeprefix(NOWHERE))
    # The page asks the browser for its zone and shows the times there.
    expect(candidate_page.locator(".booking-zone-current")).to_have_text(
        "Times shown in New York, United States (UTC-05:00)"
    )
    assert "tz=America%2FNew_York" in candidate_page.url
    expect(candidate_page.locator(".booking-summary")).to_contain_text(
        "Onsite interview · Sales Rep"
    )
    # The first day with free times in the date picker, then its first time, then confirm.
    candidate_page.locator("#booking-calendar button.booking-date.available").first.click()
    first = candidate_page.locator(".booking-day:visible button.booking-time").first
    booked_start, shown = _slot(first)
    assert shown == _local(booked_start, NEW_YORK)  # New York wall time, not London's
    assert "09:00" <= _local(booked_start, LONDON) < "17:00"  # inside the London window
    assert shown != _local(booked_start, LONDON)
    first.click()
    expect(candidate_page.locator(".booking-confirm-time")).to_contain_text(f"{shown}–")
    candidate_page.get_by_role("button", name="Confirm booking").click()
    expect(candidate_page.locator(".booking-alert.ok")).to_contain_text("You're booked.")
    when = candidate_page.locator(".booking-when")
    expect(when).to_contain_text(f"{shown}–")
    expect(when).to_contain_text(f"({NEW_YORK})")
    (invitation,) = _wait_for(_mails(sandbox, "Confirmed:"), bool)
    first_invite = _ics(invitation)
    assert str(first_invite["METHOD"]) == "REQUEST"
    event = _event(first_invite)
    uid = str(event["UID"])
    assert int(event["SEQUENCE"]) == 0
    assert event.decoded("DTSTART") == booked_start

    london_time = _local(booked_start, LONDON)
    page.goto(f"{base}/candidates/{candidate.pk}/")
    expect(page.locator("#timeline li[data-kind='booked']")).to_contain_text(
        "Booked Onsite interview · Sales Rep for"
    )
    page.goto(f"{base}/schedule/")
    upcoming = page.locator("#upcoming")
    expect(upcoming).to_contain_text("Jordan Rivera")
    expect(upcoming).to_contain_text(f"{london_time}–")
    expect(upcoming).to_contain_text(f"({LONDON})")
    expect(page.locator("#pending")).not_to_contain_text("Jordan Rivera")

    # --- ...reschedules -----------------------------------------------------------------
    candidate_page.get_by_role("link", name="Pick another time").click()
    expect(candidate_page.locator(".booking-alert.info")).to_contain_text(
        "Your interview is booked for"
    )
    candidate_page.locator("#booking-calendar button.booking-date.available").first.click()
    expect(candidate_page.locator(".booking-day:visible .booking-time.current")).to_contain_text(
        shown
    )
    # Another time: on the booked day if it has one left (late in the day it may not), else
    # on the next day with times.
    other_times = ".booking-day:visible button.booking-time:not(.current)"
    if candidate_page.locator(other_times).count() == 0:
        candidate_page.locator("#booking-calendar button.booking-date.available").nth(1).click()
    later = candidate_page.locator(other_times).first
    new_start, new_shown = _slot(later)
    assert new_start != booked_start
    later.click()
    candidate_page.get_by_role("button", name="Move my interview").click()
    expect(candidate_page.locator(".booking-alert.ok")).to_contain_text(
        "Your interview has moved to the new time."
    )
    expect(candidate_page.locator(".booking-when")).to_contain_text(f"{new_shown}–")
    invitations = _wait_for(_mails(sandbox, "Confirmed:"), lambda found: len(found) >= 2)
    moved_event = _event(_ics(invitations[-1]))
    assert str(moved_event["UID"]) == uid  # the same event, updated in calendars
    assert int(moved_event["SEQUENCE"]) == 1
    assert moved_event.decoded("DTSTART") == new_start

    new_london_time = _local(new_start, LONDON)
    page.goto(f"{base}/candidates/{candidate.pk}/")
    expect(page.locator("#timeline li[data-kind='rescheduled']")).to_contain_text(
        "Rescheduled Onsite interview · Sales Rep from"
    )
    page.goto(f"{base}/schedule/")
    expect(upcoming).to_contain_text(f"{new_london_time}–")
    expect(upcoming.locator("tbody tr")).to_have_count(1)

    # --- ...and cancels ------------------------------------------------------------------
    candidate_page.get_by_role("link", name="Cancel the interview").click()
    candidate_page.get_by_label("Reason (optional)").fill("I accepted another offer.")
    candidate_page.get_by_role("button", name="Cancel interview").click()
    expect(
        candidate_page.get_by_role("heading", name="This interview was cancelled")
    ).to_be_visible()
    expect(candidate_page.locator(".booking-state")).to_contain_text("I accepted another offer.")
    (cancellation,) = _wait_for(_mails(sandbox, "Cancelled:"), bool)
    cancel_calendar = _ics(cancellation)
    assert str(cancel_calendar["METHOD"]) == "CANCEL"
    cancelled_event = _event(cancel_calendar)
    assert str(cancelled_event["UID"]) == uid
    assert int(cancelled_event["SEQUENCE"]) == 2
    assert str(cancelled_event["STATUS"]) == "CANCELLED"

    page.goto(f"{base}/candidates/{candidate.pk}/")
    cancelled = page.locator("#timeline li[data-kind='booking_cancelled']")
    expect(cancelled).to_contain_text("The candidate cancelled Onsite interview · Sales Rep")
    expect(cancelled).to_contain_text("Reason: I accepted another offer.")
    page.goto(f"{base}/schedule/")
    expect(page.locator("#upcoming-empty")).to_be_visible()
    expect(page.locator("#upcoming")).not_to_contain_text("Jordan Rivera")

    context.close()
    assert csp_violations == []
    assert candidate_violations == []
