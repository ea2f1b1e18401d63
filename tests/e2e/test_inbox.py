"""A recruiter answers a candidate from the Inbox in a real browser; the candidate answers from
the sandbox phone, and the answer appears in the open thread without a reload; then the
candidate texts STOP and the composer shows the lock."""

from __future__ import annotations

import contextlib
import re
from datetime import time

import pytest
import requests
from django.db import transaction
from django.db.models import F
from playwright.sync_api import expect

from candidates.models import Candidate
from integrations.messaging import sms_segments
from integrations.sandbox.server import SandboxServer
from library.models import MessageTemplate
from messaging import badge, inbox, selectors, services
from messaging.models import Channel, Conversation, Direction, Message, MessageStatus
from recruitflow.tenancy import tenant_scope
from tests.e2e.steps import sign_in
from tests.factories import make_org_with_owner

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

MOBILE = "+447700900123"


@pytest.fixture(scope="module")
def sandbox():
    with SandboxServer(port=0, n_candidates=5) as server:
        yield server


@pytest.fixture(autouse=True)
def celery_runs_in_process(settings):
    """Deliveries and callbacks are processed eagerly inside the web request, so the browser
    sees their outcome; the queue and worker path is covered by the messaging backend tests."""
    from recruitflow.celery import app

    settings.CELERY_TASK_ALWAYS_EAGER = True
    previous = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = previous


def _texts_seen_by_the_phone(sandbox) -> list[str]:
    messages = requests.get(f"{sandbox.url}/twilio/_sandbox/api/messages", timeout=5).json()
    return [m["body"] for m in messages if m["to"] == MOBILE]


def test_recruiter_replies_candidate_answers_from_the_sandbox_phone_then_stops(
    live_server, page, csp_violations, sandbox, settings, one_request_at_a_time
):
    settings.SANDBOX_URL = sandbox.url
    settings.PUBLIC_BASE_URL = live_server.url
    sandbox.twilio.reset()
    sandbox.twilio.configure(sent_delay=0.2, delivery_delay=0.2, inbound_url=None)
    org, _user, _membership = make_org_with_owner(
        name="Northwind Hiring", email="rita@northwind.test", first_name="Rita"
    )
    settings.SANDBOX_SHORTCUTS = True
    org.is_demo = True  # texts through the sandbox phone without settings, as the demo does
    org.save(update_fields=["is_demo"])
    with tenant_scope(org):
        candidate = Candidate.objects.create(
            organization=org,
            provider="greenhouse",
            external_id="c-1",
            first_name="Sam",
            last_name="Okafor",
            mobile_phone=MOBILE,
            primary_email="sam@example.com",
        )
        # This organization texts around the clock, whatever hour the test runs at.
        prefs = selectors.preferences_for(organization=org)
        prefs.sms_window_start, prefs.sms_window_end = time(0, 0), time(23, 59, 59, 999999)
        prefs.save()
        MessageTemplate.objects.create(
            organization=org,
            name="Interview slot",
            channel="sms",
            text_body="Hi {{ candidate.first_name }}, can you do Tuesday at 10:00?",
        )
        # A journey texted Sam earlier: the conversation the recruiter answers.
        first = services.message_send(
            organization=org,
            candidate=candidate,
            channel=Channel.SMS,
            body="Hi Sam, thanks for applying to Northwind!",
            source="journey",
        )
    assert sandbox.twilio.wait_idle(10)
    assert "Hi Sam, thanks for applying to Northwind!" in _texts_seen_by_the_phone(sandbox)
    base = live_server.url
    page.on("dialog", lambda dialog: dialog.accept())

    sign_in(page, base, "rita@northwind.test", "Rita")

    # The Inbox lists the conversation; opening it shows the journey's text, delivered.
    page.locator("nav.sidebar").get_by_role("link", name="Inbox").click()
    row = page.locator(".conversation", has_text="Sam Okafor")
    expect(row).to_contain_text("Hi Sam, thanks for applying")
    row.locator("a").click()
    expect(page).to_have_url(re.compile(rf"/inbox/{first.conversation_id}/$"))
    thread = page.locator("#thread-messages")
    expect(thread).to_contain_text("Hi Sam, thanks for applying to Northwind!")
    expect(thread.locator(f"[data-message='{first.pk}'] [data-status-label]")).to_have_text(
        "Delivered"
    )

    # The composer counts segments as the carrier will, and agrees with the server's rules.
    body = page.locator("[data-composer-body]")
    counter = page.locator("[data-segment-counter]")
    body.fill("a" * 161)
    expect(counter).to_contain_text("161 characters · 2 texts of up to 153 · GSM-7")
    body.fill("Ça va? 😀")
    chars = sms_segments("Ça va? 😀")[2]
    expect(counter).to_contain_text(f"{chars}/70 characters · 1 text · UCS-2")
    samples = ["a" * 160, "a" * 161, "€" * 80, "€" * 81, "ł" * 70, "ł" * 71, "😀" * 35, "😀" * 36]
    in_browser = page.evaluate(
        "samples => samples.map(s => [window.RecruitFlowSms.segments(s).encoding,"
        " window.RecruitFlowSms.segments(s).segments, window.RecruitFlowSms.segments(s).chars])",
        samples,
    )
    assert [tuple(r) for r in in_browser] == [sms_segments(s) for s in samples]

    # Insert a Library template, rendered for Sam, and send it.
    body.fill("")
    picker = page.locator("[data-template-select]")
    expect(picker).to_be_visible()
    picker.select_option(label="Interview slot")
    expect(body).to_have_value("Hi Sam, can you do Tuesday at 10:00?")
    page.locator("#composer").get_by_role("button", name="Send").click()
    expect(body).to_have_value("")  # a fresh composer, ready for the next message
    reply = thread.locator(".bubble-row.out").last
    expect(reply).to_contain_text("Hi Sam, can you do Tuesday at 10:00?")
    expect(reply.locator("[data-status-label]")).to_have_text("Delivered", timeout=15000)
    expect(reply).to_contain_text("Rita")
    assert "Hi Sam, can you do Tuesday at 10:00?" in _texts_seen_by_the_phone(sandbox)

    # The candidate answers on the sandbox phone...
    with page.context.expect_page() as opened:
        page.get_by_role("link", name="Open sandbox phone").click()
    phone = opened.value
    expect(phone.locator(".thread")).to_contain_text("Hi Sam, can you do Tuesday at 10:00?")
    phone.fill("input[name=body]", "Tuesday works, see you then")
    phone.locator("form.reply").get_by_role("button", name="Send").click()

    # ...and the answer appears in the open thread, without a reload.
    expect(thread.locator(".bubble-row.in").last).to_contain_text(
        "Tuesday works, see you then", timeout=15000
    )
    expect(thread.locator(".bubble-row.in").last).to_contain_text("Sam Okafor")

    # A draft is being typed when the candidate texts STOP: the lock replaces the Text channel.
    body.fill("One more thing")
    phone.get_by_role("button", name="STOP", exact=True).click()
    lock = page.locator("#composer-lock")
    expect(lock).to_contain_text(
        re.compile(
            rf"\{MOBILE} opted out on \d+ \w+ \d{{4}} by texting STOP — texts are blocked "
            r"until they reply START\."
        ),
        timeout=15000,
    )
    expect(page.locator("input[data-channel-radio][value=sms]")).to_have_count(0)
    expect(page.locator("input[data-channel-radio][value=email]")).to_be_checked()
    expect(body).to_have_value("One more thing")  # nothing typed was lost
    expect(page.locator(".lock-history")).to_contain_text("Opted out: the candidate texted STOP")
    expect(row).to_contain_text("Opted out")
    assert page.url.endswith(f"/inbox/{first.conversation_id}/")  # never reloaded

    with one_request_at_a_time, tenant_scope(org):
        texts = list(
            Message.objects.filter(direction=Direction.INBOUND).values_list("body", flat=True)
        )
        assert texts == ["Tuesday works, see you then", "STOP"]
        assert selectors.is_locked(org, MOBILE)
        assert not Message.objects.filter(status=MessageStatus.FAILED).exists()
    with contextlib.suppress(Exception):
        phone.close()
    assert csp_violations == []


def test_email_reply_needs_a_subject_and_the_picker_hides_without_the_library(
    live_server, page, csp_violations, settings, one_request_at_a_time, browser_errors
):
    settings.SANDBOX_URL = ""
    org, _user, _membership = make_org_with_owner(
        name="Contoso Talent", email="eve@contoso.test", first_name="Eve"
    )
    with tenant_scope(org):
        candidate = Candidate.objects.create(
            organization=org,
            provider="lever",
            external_id="c-2",
            first_name="Lee",
            last_name="Park",
            mobile_phone="+12125550123",
            primary_email="lee@example.com",
        )
        conversation = inbox.conversation_open(organization=org, candidate=candidate)
    # The Library's template endpoints are unavailable: the picker must stay out of the way.
    page.route("**/library/templates/options/**", lambda route: route.fulfill(status=404))
    sign_in(page, live_server.url, "eve@contoso.test", "Eve")

    with page.expect_response(re.compile(r"/library/templates/options/\?channel=email")):
        page.goto(f"{live_server.url}/inbox/{conversation.pk}/")
    expect(page.locator("[data-template-picker]")).to_be_hidden()
    # The one failure the browser logs is the 404 this test arranged.
    assert len(browser_errors) == 1
    assert browser_errors[0].endswith("status of 404 (Not Found)"), browser_errors
    browser_errors.clear()
    # Texting is not set up here: e-mail is the only channel, and the page says why.
    expect(page.locator("[data-channel-off=sms]")).to_contain_text(
        "Texting is not set up: connect Twilio or TextUs in Settings → Messaging."
    )
    expect(page.locator("input[data-channel-radio][value=email]")).to_be_checked()
    expect(page.locator("[data-segment-counter]")).to_be_hidden()

    body = page.locator("[data-composer-body]")
    body.fill("Could you send your portfolio before Friday?")
    page.locator("#composer").get_by_role("button", name="Send").click()
    expect(page.locator("#composer")).to_contain_text("An e-mail needs a subject")
    expect(body).to_have_value("Could you send your portfolio before Friday?")

    page.locator("[data-composer-subject]").fill("Your portfolio")
    page.locator("#composer").get_by_role("button", name="Send").click()
    sent = page.locator("#thread-messages .bubble-row.out").last
    expect(sent).to_contain_text("Your portfolio")
    expect(sent).to_contain_text("Could you send your portfolio before Friday?")
    expect(sent.locator("[data-status-label]")).to_have_text("Sent")
    expect(sent.locator("svg[aria-label=E-mail]")).to_have_count(1)
    expect(body).to_have_value("")

    # Assign the conversation, then lock the number by hand (Lee asked on a call) and undo it.
    page.on("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Assign to me").click()
    expect(page.locator("[data-assignee]")).to_have_text("Assigned to you")
    expect(page.locator(".conversation", has_text="Lee Park")).to_contain_text("Mine")
    page.get_by_role("button", name="Lock this number").click()
    expect(page.locator("#composer-lock")).to_contain_text(
        re.compile(r"\+12125550123 was locked by Eve on \d+ \w+ \d{4} — texts are blocked")
    )
    expect(page.locator(".lock-history")).to_contain_text("Locked by Eve")
    page.get_by_role("button", name="Undo the manual lock").click()
    expect(page.locator("#composer-lock")).to_have_count(0)
    expect(page.locator(".lock-history")).to_contain_text("Unlocked by Eve")
    assert csp_violations == []


def test_opening_an_unread_conversation_clears_its_badge_and_the_sidebar_count(
    live_server, page, csp_violations, settings, one_request_at_a_time
):
    """Issue 17: a conversation opened in the Inbox kept its "1 unread" badge."""
    settings.SANDBOX_URL = ""
    org, _user, _membership = make_org_with_owner(
        name="Fabrikam Hiring", email="una@fabrikam.test", first_name="Una"
    )
    conversations = {}
    with tenant_scope(org):
        for index, (first_name, reply) in enumerate(
            (("Ana", "Yes, Tuesday works"), ("Ben", "Can we move it to Friday?"))
        ):
            candidate = Candidate.objects.create(
                organization=org,
                provider="greenhouse",
                external_id=f"c-{index}",
                first_name=first_name,
                last_name="Reyes",
                mobile_phone=f"+44770090012{index}",
                primary_email=f"{first_name.lower()}@example.com",
            )
            conversation = inbox.conversation_open(organization=org, candidate=candidate)
            Message.objects.create(
                organization=org,
                conversation=conversation,
                candidate=candidate,
                channel=Channel.SMS,
                direction=Direction.INBOUND,
                to_address="+447700900999",
                from_address=candidate.mobile_phone,
                body=reply,
                status=MessageStatus.RECEIVED,
            )
            conversation.unread_count = 1
            conversation.last_message_at = conversation.created_at
            conversation.save(update_fields=["unread_count", "last_message_at"])
            conversations[first_name] = conversation
    sign_in(page, live_server.url, "una@fabrikam.test", "Una")

    sidebar_count = page.locator("nav.sidebar #inbox-unread-badge")
    expect(sidebar_count).to_have_text("2")
    page.locator("nav.sidebar").get_by_role("link", name="Inbox").click()
    ana = page.locator(".conversation", has_text="Ana Reyes")
    ben = page.locator(".conversation", has_text="Ben Reyes")
    expect(ana.locator(".unread-count")).to_have_text("1 unread")
    expect(ben.locator(".unread-count")).to_have_text("1 unread")
    expect(page.locator("[data-filter=unread] .count")).to_have_text("2")

    ana.locator("a").click()
    expect(page.locator("#thread-messages")).to_contain_text("Yes, Tuesday works")
    expect(ana.locator(".unread-count")).to_have_count(0)
    expect(ana).not_to_have_class(re.compile(r"\bunread\b"))
    expect(ana).to_have_class(re.compile(r"\bactive\b"))
    expect(ben.locator(".unread-count")).to_have_text("1 unread")
    expect(sidebar_count).to_have_text("1")
    expect(page.locator("[data-filter=unread] .count")).to_have_text("1")

    # Ana answers again while her conversation is open: the reply shows, and stays read.
    with one_request_at_a_time, tenant_scope(org), transaction.atomic():
        ana_conversation = conversations["Ana"]
        Message.objects.create(
            organization=org,
            conversation=ana_conversation,
            candidate=ana_conversation.candidate,
            channel=Channel.SMS,
            direction=Direction.INBOUND,
            to_address="+447700900999",
            from_address=ana_conversation.candidate.mobile_phone,
            body="Shall I bring my portfolio?",
            status=MessageStatus.RECEIVED,
        )
        Conversation.objects.filter(pk=ana_conversation.pk).update(
            unread_count=F("unread_count") + 1
        )
        # What the inbound path does with an unread count (messaging.services.inbound).
        badge.unread_changed(organization_id=org.pk)
    expect(page.locator("#thread-messages")).to_contain_text("Shall I bring my portfolio?")
    expect(ana.locator(".unread-count")).to_have_count(0)
    expect(sidebar_count).to_have_text("1")
    with one_request_at_a_time, tenant_scope(org):
        assert Conversation.objects.get(pk=conversations["Ana"].pk).unread_count == 0

    # A reload (the URL the click pushed) shows it read too, and so does the next page.
    page.reload()
    expect(
        page.locator(".conversation", has_text="Ana Reyes").locator(".unread-count")
    ).to_have_count(0)
    expect(sidebar_count).to_have_text("1")
    ben.locator("a").click()
    expect(page.locator("#thread-messages")).to_contain_text("Can we move it to Friday?")
    expect(sidebar_count).to_be_hidden()
    expect(ben.locator(".unread-count")).to_have_count(0)
    page.get_by_role("link", name="Dashboard").first.click()
    expect(page.locator("nav.sidebar #inbox-unread-badge")).to_be_hidden()
    with one_request_at_a_time, tenant_scope(org):
        assert [c.unread_count for c in Conversation.objects.order_by("id")] == [0, 0]
    assert csp_violations == []
