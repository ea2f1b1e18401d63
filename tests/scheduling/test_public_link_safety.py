"""The public scheduling link cannot be used to attach a stranger to an existing candidate.

Anyone may type anyone's e-mail address into a public link. For an address that is already a
candidate's, the visitor sees only what they typed and a "check your e-mail" page; the candidate's
record is unchanged; the address gets a signed link that expires, and only opening it ties a
booking to the candidate. Submissions are rate limited per visitor IP and per link.

The clock is Monday 2 March 2026 09:00 in London (frozen).
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import signing
from django.urls import reverse

from candidates.models import Candidate, TimelineEvent
from recruitflow.tenancy import tenant_scope
from scheduling.models import Booking, RequestSource, SchedulingRequest
from tests.scheduling.conftest import MONDAY
from tests.scheduling.test_public_pages import WEDNESDAY_0900_LONDON, slot_buttons, text_of

pytestmark = pytest.mark.django_db

CONFIRM_LINK = re.compile(r"https?://\S+/s/p/\S+/confirm/[^/\s]+/")


@pytest.fixture
def clock(monday_morning):
    return monday_morning


@pytest.fixture
def public_template(make_template):
    # A title that names the candidate: what a stranger must never get to see.
    return make_template(
        name="Open day",
        public_link_enabled=True,
        event_title="Onsite interview · {{ candidate.full_name }} · {{ job.name }}",
    )


@pytest.fixture
def known(make_candidate):
    """Jordan Rivera (Sales Rep) as the ATS has them: an e-mail address, no mobile yet."""
    return make_candidate(mobile="")


def public_url(template) -> str:
    return reverse("booking:public", args=[template.public_token])


def submit(client, template, *, email, phone="+1 212 555 0143", ip="203.0.113.7", **extra):
    data = {
        "first_name": "Mal",
        "last_name": "Lory",
        "email": email,
        "phone": phone,
        "tz": "America/New_York",
        **extra,
    }
    return client.post(public_url(template), data, REMOTE_ADDR=ip)


def emails_to(outbox, candidate):
    return outbox(candidate, channel="email")


def confirmation_link(outbox, candidate) -> str:
    [message] = emails_to(outbox, candidate)
    return CONFIRM_LINK.search(message.body).group(0)


def path_of(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


# --------------------------------------------------------------------------------------------
# A stranger types a known address
# --------------------------------------------------------------------------------------------


def test_a_stranger_typing_a_known_email_sees_no_name_or_job_and_changes_nothing(
    client, clock, public_template, known, sched_org, outbox
):
    response = submit(client, public_template, email="JORDAN@example.com")
    if response.status_code == 302:  # what the page used to do: straight to the picker
        response = client.get(response["Location"])

    page = text_of(response)
    assert response.status_code == 200
    assert "Check your e-mail" in page
    assert "We've sent a link to JORDAN@example.com" in page  # only what was typed
    for held in ("Jordan", "Rivera", "Sales Rep", "+1"):
        assert held not in page
    known.refresh_from_db()
    assert known.mobile_phone == "" and known.phones == []
    assert (known.first_name, known.last_name) == ("Jordan", "Rivera")
    with tenant_scope(sched_org):
        assert not SchedulingRequest.objects.filter(candidate=known).exists()
        assert Candidate.objects.filter(primary_email__iexact="jordan@example.com").count() == 1


def test_the_confirmation_goes_to_the_candidates_own_address_and_the_team_sees_the_attempt(
    client_for, client, clock, public_template, known, sched_org, outbox, alice
):
    submit(client, public_template, email="JORDAN@example.com")

    [message] = emails_to(outbox, known)
    assert message.to_address == "jordan@example.com"  # the address we hold, not the typing
    assert message.subject == "Confirm it's you to book Onsite interview"
    assert "If that was you, open this link to pick a time" in message.body
    assert "The link works for 24 hours" in message.body
    assert message.status != "held"  # not held for quiet hours: the visitor is waiting
    candidate_page = text_of(client_for(alice).get(reverse("candidates:detail", args=[known.pk])))
    assert "Someone used the public link of “Open day” with this candidate's e-mail" in (
        candidate_page
    )
    assert "Phone typed: +1 212 555 0143" in candidate_page
    assert "Name typed: Mal Lory" in candidate_page


def test_opening_the_confirmation_link_ties_the_booking_to_the_candidate(
    client, clock, public_template, known, sched_org, outbox
):
    submit(client, public_template, email="jordan@example.com")
    link = path_of(confirmation_link(outbox, known))

    opened = client.get(link)
    again = client.get(link)

    assert opened.status_code == 302 and again.status_code == 302
    assert opened["Location"] == again["Location"]  # one request, however often it is opened
    with tenant_scope(sched_org):
        [request] = SchedulingRequest.objects.filter(candidate=known)
    assert request.source == RequestSource.PUBLIC_LINK
    assert opened["Location"] == (
        reverse("booking:page", args=[request.token]) + "?tz=America%2FNew_York"
    )
    picker = client.get(opened["Location"])
    assert WEDNESDAY_0900_LONDON in slot_buttons(picker)
    booked = client.post(
        reverse("booking:page", args=[request.token]),
        {"start": WEDNESDAY_0900_LONDON, "tz": "America/New_York"},
    )
    assert booked.status_code == 302
    with tenant_scope(sched_org):
        assert Booking.objects.get(request=request).request.candidate_id == known.pk
        assert TimelineEvent.objects.filter(candidate=known, kind="public_link_confirmed").exists()
    known.refresh_from_db()
    assert known.mobile_phone == ""  # confirming does not take the typed phone either


def test_an_expired_confirmation_link_says_so_and_ties_nothing(
    client, clock, public_template, known, sched_org, outbox, time_machine
):
    submit(client, public_template, email="jordan@example.com")
    link = path_of(confirmation_link(outbox, known))

    time_machine.move_to(MONDAY + timedelta(hours=24, minutes=1), tick=False)
    response = client.get(link)

    assert response.status_code == 410
    page = text_of(response)
    assert "This link has expired" in page
    assert "works for 24 hours" in page
    assert "Fill in the form again" in page
    assert public_url(public_template) in response.content.decode()
    with tenant_scope(sched_org):
        assert not SchedulingRequest.objects.filter(candidate=known).exists()


def test_a_tampered_confirmation_link_says_so_and_ties_nothing(
    client, clock, public_template, known, make_candidate, sched_org, outbox
):
    other = make_candidate(first_name="Robin", email="robin@example.com")
    submit(client, public_template, email="jordan@example.com")
    link = path_of(confirmation_link(outbox, known))
    proof = link.rstrip("/").rsplit("/", 1)[1]
    payload, _, rest = proof.partition(":")
    # Point the proof at another candidate, keeping the signature: it no longer matches.
    forged_payload = signing.b64_encode(
        signing.JSONSerializer().dumps({"t": public_template.pk, "c": other.pk})
    ).decode()
    forged = link.replace(proof, f"{forged_payload}:{rest}")
    cut = link.replace(proof, proof[:-6])

    for url in (forged, cut):
        response = client.get(url)
        assert response.status_code == 404
        page = text_of(response)
        assert "This link doesn't work" in page
        assert "Open the whole link from the e-mail we sent you" in page
        assert "Robin" not in page and "Jordan" not in page
    with tenant_scope(sched_org):
        assert not SchedulingRequest.objects.exists()


def test_a_new_address_still_goes_straight_to_the_picker(
    client, clock, public_template, known, sched_org
):
    response = submit(client, public_template, email="casey@example.com", first_name="Casey")

    assert response.status_code == 302
    with tenant_scope(sched_org):
        casey = Candidate.objects.get(primary_email="casey@example.com")
        request = SchedulingRequest.objects.get(candidate=casey)
    assert casey.mobile_phone == "+12125550143"
    assert response["Location"].startswith(reverse("booking:page", args=[request.token]))


def test_confirmation_emails_to_one_address_are_capped(
    client, clock, public_template, known, outbox
):
    for ip in ("203.0.113.1", "203.0.113.2", "203.0.113.3", "203.0.113.4"):
        response = submit(client, public_template, email="jordan@example.com", ip=ip)
        assert "Check your e-mail" in text_of(response)

    assert len(emails_to(outbox, known)) == 3


# --------------------------------------------------------------------------------------------
# Rate limits
# --------------------------------------------------------------------------------------------


def test_the_ninth_rapid_submission_from_one_ip_is_refused(
    client, clock, public_template, sched_org, time_machine
):
    for number in range(1, 9):
        response = submit(client, public_template, email=f"visitor{number}@example.com")
        assert response.status_code == 302, number

    ninth = submit(client, public_template, email="visitor9@example.com")
    elsewhere = submit(client, public_template, email="other@example.com", ip="198.51.100.9")

    assert ninth.status_code == 429
    assert ninth["Retry-After"] == "600"
    page = text_of(ninth)
    assert "This form was sent too many times from your connection in a short time" in page
    assert "Please try again in 10 minutes" in page
    assert "Nothing you typed was saved" in page
    assert elsewhere.status_code == 302  # another visitor is not held up
    with tenant_scope(sched_org):
        assert not Candidate.objects.filter(primary_email="visitor9@example.com").exists()
        assert Candidate.objects.filter(primary_email__startswith="visitor").count() == 8

    time_machine.move_to(MONDAY + timedelta(minutes=4), tick=False)
    assert "try again in 6 minutes" in text_of(
        submit(client, public_template, email="visitor9@example.com")
    )
    time_machine.move_to(MONDAY + timedelta(minutes=10, seconds=1), tick=False)
    assert submit(client, public_template, email="visitor9@example.com").status_code == 302


def test_a_link_over_its_own_limit_is_refused_for_everyone(
    client, clock, public_template, sched_org, settings
):
    settings.SCHEDULING_PUBLIC_LINK_RATE_PER_LINK = "3/1h"
    for number in range(1, 4):
        response = submit(
            client, public_template, email=f"v{number}@example.com", ip=f"192.0.2.{number}"
        )
        assert response.status_code == 302

    refused = submit(client, public_template, email="v4@example.com", ip="192.0.2.4")

    assert refused.status_code == 429
    assert refused["Retry-After"] == "3600"
    assert "This link is very busy right now" in text_of(refused)
    assert "Please try again in 60 minutes" in text_of(refused)


def test_a_visitor_just_looking_at_the_form_is_not_counted(client, clock, public_template):
    for _ in range(12):
        assert client.get(public_url(public_template), REMOTE_ADDR="203.0.113.7").status_code == 200
    assert submit(client, public_template, email="late@example.com").status_code == 302


def test_a_rate_that_cannot_be_read_names_the_setting(settings, rf, public_template):
    from django.core.exceptions import ImproperlyConfigured

    from scheduling import public_limits

    settings.SCHEDULING_PUBLIC_LINK_RATE_PER_IP = "eight a minute"
    with pytest.raises(ImproperlyConfigured, match="SCHEDULING_PUBLIC_LINK_RATE_PER_IP"):
        public_limits.submission_check(rf.post("/"), link_token="x")
