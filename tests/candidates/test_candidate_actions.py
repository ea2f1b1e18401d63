# ruff: noqa: F811 (pytest fixtures imported from tests.interviews.core_helpers)
"""Acting on a candidate from their page: a text or an e-mail from a Library template or
written by hand, a scheduling request sent now with its link, a journey by hand with a reason;
each refusal says why; a viewer can't act and another organization's member gets a 404."""

from __future__ import annotations

import html
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from candidates.models import Application, TimelineEvent
from journeys import services as journey_services
from journeys.models import JourneyRun
from library.models import MessageTemplate
from messaging import services as messaging_services
from messaging.models import Channel, MessageStatus, OptOutSource
from recruitflow.tenancy import tenant_scope
from scheduling import services as scheduling_services
from scheduling.models import (
    MemberCalendar,
    SchedulingRequest,
    SchedulingTemplate,
    SchedulingTemplateMember,
)
from tests.factories import add_member, live_onsite_journey, onsite_stage_change
from tests.interviews.core_helpers import (  # noqa: F401 (fixtures)
    candidate,
    delivery_queued,
    make_candidate,
    monday_morning,
    org,
    outbox,
)

pytestmark = pytest.mark.django_db

WORKING_WEEK = [{"weekday": day, "start": "09:00", "end": "17:00"} for day in range(5)]


@pytest.fixture(autouse=True)
def texting(org, settings):
    """Texts go through the sandbox, as in the demo organization."""
    settings.SANDBOX_SHORTCUTS = True
    org.is_demo = True
    org.save(update_fields=["is_demo"])


def page_of(response) -> str:
    return html.unescape(response.content.decode())


def detail(candidate) -> str:
    return reverse("candidates:detail", args=[candidate.pk])


def timeline(candidate) -> list[str]:
    with tenant_scope(candidate.organization):
        return list(
            TimelineEvent.objects.filter(candidate=candidate)
            .order_by("occurred_at", "id")
            .values_list("summary", flat=True)
        )


@pytest.fixture
def texts(org):
    with tenant_scope(org):
        return {
            "sms": MessageTemplate.objects.create(
                organization=org,
                name="Quick hello",
                channel="sms",
                text_body="Hi {{ candidate.first_name }}, thanks for applying to {{ job.name }}!",
            ),
            "email": MessageTemplate.objects.create(
                organization=org,
                name="Welcome e-mail",
                channel="email",
                subject="Your {{ job.name }} application",
                html_body="<p>Hi {{ candidate.first_name }}, welcome.</p>",
            ),
        }


# --- Texts and e-mails ---------------------------------------------------------------------


def test_a_text_from_a_library_template_goes_out_written_for_the_candidate(
    alice, client_for, candidate, texts, outbox
):
    client = client_for(alice)
    page = page_of(client.get(detail(candidate)))
    assert 'id="send-message"' in page
    assert "Quick hello (text)" in page and "Welcome e-mail (e-mail)" in page

    response = client.post(
        reverse("candidate_actions:message", args=[candidate.pk]),
        {"channel": "sms", "template": texts["sms"].pk, "body": "", "send_key": "k1"},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == detail(candidate)
    assert "Text to Jordan Rivera queued." in page_of(response)
    [message] = outbox(candidate)
    assert message.channel == Channel.SMS
    assert message.body == "Hi Jordan, thanks for applying to Sales Rep!"
    assert message.sent_by == alice.user and message.source == "manual"

    # The same form posted twice (a double click) sends once.
    client.post(
        reverse("candidate_actions:message", args=[candidate.pk]),
        {"channel": "sms", "template": texts["sms"].pk, "body": "", "send_key": "k1"},
    )
    assert len(outbox(candidate)) == 1


def test_an_email_written_by_hand_and_one_from_a_template(
    alice, client_for, candidate, texts, outbox
):
    client = client_for(alice)
    url = reverse("candidate_actions:message", args=[candidate.pk])
    response = client.post(
        url,
        {"channel": "email", "subject": "Next steps", "body": "Can we talk on Tuesday?"},
        follow=True,
    )
    assert "E-mail to Jordan Rivera queued." in page_of(response)
    client.post(url, {"channel": "email", "template": texts["email"].pk})
    typed, templated = outbox(candidate)
    assert (typed.subject, typed.body, typed.html) == ("Next steps", "Can we talk on Tuesday?", "")
    assert templated.subject == "Your Sales Rep application"
    assert templated.html == "<p>Hi Jordan, welcome.</p>"


def test_refusals_say_why_and_send_nothing(alice, client_for, org, make_candidate, texts, outbox):
    client = client_for(alice)
    jordan = make_candidate()
    url = reverse("candidate_actions:message", args=[jordan.pk])

    empty = client.post(url, {"channel": "sms", "body": "  "}, follow=True)
    assert "Text not sent: Write a message before sending." in page_of(empty)
    no_subject = client.post(url, {"channel": "email", "body": "Hello"}, follow=True)
    assert "E-mail not sent: An e-mail needs a subject" in page_of(no_subject)
    wrong = client.post(url, {"channel": "email", "template": texts["sms"].pk}, follow=True)
    assert "“Quick hello” is a text template: switch the channel" in page_of(wrong)
    nochannel = client.post(url, {"body": "Hello"}, follow=True)
    assert "Choose Text or E-mail before sending." in page_of(nochannel)
    gone = client.post(url, {"channel": "sms", "template": "999999"}, follow=True)
    assert "That template is no longer in the Library." in page_of(gone)

    # Opted out of texts: the page and the refusal say since when.
    with tenant_scope(org):
        messaging_services.opt_out_lock(
            organization=org, phone=jordan.mobile_phone, source=OptOutSource.KEYWORD
        )
    today = timezone.localtime(timezone.now()).strftime("%-d %b %Y")
    page = page_of(client.get(detail(jordan)))
    assert f"Text: {jordan.mobile_phone} opted out on {today} by texting STOP" in page
    stopped = client.post(url, {"channel": "sms", "body": "Still there?"}, follow=True)
    assert f"Text not sent: {jordan.mobile_phone} opted out on {today} by texting STOP" in (
        page_of(stopped)
    )

    # No e-mail address and no mobile: nothing to choose, and the page says why.
    nobody = make_candidate(email="", mobile="")
    page = page_of(client.get(detail(nobody)))
    assert "Text: No mobile number for Jordan Rivera" in page
    assert "E-mail: No e-mail address for Jordan Rivera" in page
    refused = client.post(
        reverse("candidate_actions:message", args=[nobody.pk]),
        {"channel": "email", "subject": "Hi", "body": "Hello"},
        follow=True,
    )
    assert "E-mail not sent: No e-mail address for Jordan Rivera" in page_of(refused)
    assert outbox(jordan) == [] and outbox(nobody) == []


def test_a_text_outside_quiet_hours_is_held_and_the_page_says_until_when(
    alice, client_for, candidate, outbox, time_machine
):
    # Monday 2 March 2026, 23:00 in London: after the default texting window.
    time_machine.move_to("2026-03-02T23:00:00+00:00", tick=False)
    response = client_for(alice).post(
        reverse("candidate_actions:message", args=[candidate.pk]),
        {"channel": "sms", "body": "Hi Jordan"},
        follow=True,
    )
    [message] = outbox(candidate)
    assert message.status == MessageStatus.HELD
    assert re.search(
        r"Text to Jordan Rivera held for quiet hours: it goes out Tue 3 Mar \d\d:\d\d "
        r"\(Europe/London\)\.",
        page_of(response),
    )
    assert any(s.startswith("Text held until") for s in timeline(candidate))


# --- Scheduling requests -------------------------------------------------------------------


@pytest.fixture
def onsite(org, texts):
    interviewer = add_member(organization=org, email="morgan.lee@acme.test").user
    with tenant_scope(org):
        MemberCalendar.objects.create(
            organization=org,
            user=interviewer,
            time_zone="Europe/London",
            working_hours=WORKING_WEEK,
        )
        request_sms = MessageTemplate.objects.create(
            organization=org,
            name="Request to Schedule (text)",
            channel="sms",
            text_body="Hi {{ candidate.first_name }}, pick a time: {{ scheduling_link }}",
        )
        template = SchedulingTemplate.objects.create(
            organization=org,
            name="Onsite interview",
            event_title="Onsite interview",
            time_zone="Europe/London",
            windows=WORKING_WEEK,
            request_sms=request_sms,
        )
        SchedulingTemplateMember.objects.create(
            organization=org, template=template, user=interviewer, required=True
        )
    return template


def test_a_scheduling_request_goes_out_now_and_its_link_is_on_the_page(
    alice, client_for, org, candidate, onsite, outbox
):
    client = client_for(alice)
    assert f'<option value="{onsite.pk}">Onsite interview</option>' in page_of(
        client.get(detail(candidate))
    )
    response = client.post(
        reverse("candidate_actions:scheduling_request", args=[candidate.pk]),
        {"template": onsite.pk},
        follow=True,
    )
    with tenant_scope(org):
        made = SchedulingRequest.objects.select_related("application", "created_by").get(
            candidate=candidate
        )
        application = Application.objects.get(candidate=candidate)
    link = scheduling_services.request_link(made)
    assert link in outbox(candidate)[0].body  # the text the candidate gets
    page = page_of(response)
    assert f"Request to Schedule “Onsite interview” sent to Jordan Rivera. Their link: {link}" in (
        page
    )
    # The request is listed with its link and a Copy button.
    assert re.search(
        rf'data-scheduling-request="{made.pk}".*?Waiting for the candidate.*?'
        rf'<code id="scheduling-link-{made.pk}" class="mono">{re.escape(link)}</code>'
        rf'<button type="button" class="btn small secondary" data-copy="scheduling-link-{made.pk}">',
        page,
        flags=re.S,
    )
    assert made.source == "recruiter" and made.created_by == alice.user
    assert made.application == application
    assert "Request to Schedule “Onsite interview” sent by text message" in timeline(candidate)


def test_a_scheduling_request_that_cannot_reach_the_candidate_is_refused(
    alice, client_for, make_candidate, onsite, org
):
    client = client_for(alice)
    unreachable = make_candidate(mobile="")
    response = client.post(
        reverse("candidate_actions:scheduling_request", args=[unreachable.pk]),
        {"template": onsite.pk},
        follow=True,
    )
    assert (
        "Scheduling request not sent: The Request to Schedule can't reach Jordan Rivera: it is "
        "a text message and they have no mobile number." in page_of(response)
    )
    missing = client.post(
        reverse("candidate_actions:scheduling_request", args=[unreachable.pk]), {}, follow=True
    )
    assert "Choose the scheduling template to send" in page_of(missing)
    with tenant_scope(org):
        assert not SchedulingRequest.objects.filter(candidate=unreachable).exists()


# --- Journeys ------------------------------------------------------------------------------


@pytest.fixture
def onsite_journey(org, candidate):
    onsite_stage_change(org, candidate)
    return live_onsite_journey(org)


def test_a_journey_by_hand_with_a_reason_on_the_timeline(
    alice, client_for, org, candidate, onsite_journey
):
    client = client_for(alice)
    assert f'<option value="{onsite_journey.pk}">Onsite follow-up</option>' in page_of(
        client.get(detail(candidate))
    )
    url = reverse("candidate_actions:journey", args=[candidate.pk])
    no_reason = client.post(url, {"journey": onsite_journey.pk, "reason": " "}, follow=True)
    assert "Not added to a journey: Say why you are adding them by hand" in page_of(no_reason)

    response = client.post(
        url, {"journey": onsite_journey.pk, "reason": "Missed the webhook"}, follow=True
    )
    assert "Jordan Rivera added to “Onsite follow-up”." in page_of(response)
    name = alice.user.get_full_name() or alice.user.email
    expected = f"Added to journey “Onsite follow-up” by {name}: Missed the webhook"
    assert expected in timeline(candidate)
    assert expected in page_of(response)
    with tenant_scope(org):
        assert JourneyRun.objects.filter(journey=onsite_journey, candidate=candidate).count() == 1

    # The engine's checks apply: not twice.
    again = client.post(url, {"journey": onsite_journey.pk, "reason": "Again"}, follow=True)
    assert "Not added to “Onsite follow-up”: Jordan Rivera is already in" in page_of(again)


def test_a_paused_journey_and_a_candidate_without_a_stage_change_are_refused(
    alice, client_for, org, make_candidate, onsite_journey
):
    client = client_for(alice)
    fresh = make_candidate(first_name="Casey")
    url = reverse("candidate_actions:journey", args=[fresh.pk])
    response = client.post(url, {"journey": onsite_journey.pk, "reason": "Try"}, follow=True)
    assert "Not added to “Onsite follow-up”: No stage change of Casey Rivera's application" in (
        page_of(response)
    )
    with tenant_scope(org):
        journey_services.journey_pause(journey=onsite_journey)
    paused = client.post(url, {"journey": onsite_journey.pk, "reason": "Try"}, follow=True)
    assert (
        "“Onsite follow-up” is not live: publish or resume it before adding candidates."
        in page_of(paused)
    )
    unknown = client.post(url, {"journey": "12345678", "reason": "Try"}, follow=True)
    assert "that journey no longer exists" in page_of(unknown)


# --- Who may act ---------------------------------------------------------------------------


def test_a_viewer_sees_no_actions_and_cannot_post(org, client_for, candidate, texts, outbox):
    viewer = add_member(organization=org, email="vic@acme.test", role=Role.VIEWER)
    client = client_for(viewer)
    assert 'id="candidate-actions"' not in page_of(client.get(detail(candidate)))
    response = client.post(
        reverse("candidate_actions:message", args=[candidate.pk]),
        {"channel": "sms", "body": "Hello"},
    )
    assert response.status_code == 403
    assert outbox(candidate) == []


@pytest.mark.parametrize("name", ["message", "scheduling_request", "journey"])
def test_another_organization_gets_404(name, candidate, client_for, mallory, outbox):
    response = client_for(mallory).post(
        reverse(f"candidate_actions:{name}", args=[candidate.pk]),
        {"channel": "sms", "body": "Hello", "template": "1", "journey": "1", "reason": "x"},
    )
    assert response.status_code == 404
    assert outbox(candidate) == []
    assert timeline(candidate) == []


def test_get_is_refused(alice, client_for, candidate):
    response = client_for(alice).get(reverse("candidate_actions:message", args=[candidate.pk]))
    assert response.status_code == 405


# --- Open in the ATS -----------------------------------------------------------------------


def test_open_in_the_ats_links_the_candidates_page_at_the_vendor(alice, client_for, org, candidate):
    from integrations.greenhouse.models import GreenhouseConnection
    from integrations.models import ConnectionStatus

    client = client_for(alice)
    assert 'id="open-in-ats"' not in page_of(client.get(detail(candidate)))  # not connected
    with tenant_scope(org):
        connection = GreenhouseConnection.objects.create(
            organization=org,
            base_url="https://harvest.greenhouse.io",
            api_key="harvest-key",
            status=ConnectionStatus.CONNECTED,
        )
    page = page_of(client.get(detail(candidate)))
    assert (
        f'<a href="https://app.greenhouse.io/people/{candidate.external_id}" target="_blank" '
        'rel="noopener noreferrer" id="open-in-ats">Open in Greenhouse ↗</a>' in page
    )
    # The sandbox's Greenhouse has no candidate pages to open.
    with tenant_scope(org):
        connection.base_url = "http://127.0.0.1:9/greenhouse"
        connection.save(update_fields=["base_url"])
    assert 'id="open-in-ats"' not in page_of(client.get(detail(candidate)))
