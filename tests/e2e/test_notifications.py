"""A candidate answers from the sandbox phone while a recruiter has the app open: the bell in
the top bar counts it without a reload (beat's reader runs beside the browser, as in
production), the Notifications page lists it, and marking it read clears the count."""

from __future__ import annotations

import contextlib
import re
import threading
from datetime import time

import pytest
from django.db import connection
from playwright.sync_api import expect

from candidates.models import Candidate
from messaging import selectors, services
from messaging.models import Channel
from notifications import collector
from recruitflow.tenancy import tenant_scope
from tests.e2e.steps import sign_in
from tests.e2e.test_inbox import (  # noqa: F401 (fixtures)
    MOBILE,
    celery_runs_in_process,
    sandbox,
)
from tests.factories import make_org_with_owner

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@contextlib.contextmanager
def beat_reader(organization, lock: threading.Lock, every: float = 0.5):
    """What beat's ``notifications.collect_sweep`` does, beside the live server: read what
    happened every ``every`` seconds (taking the same turn as the server's requests)."""
    stop = threading.Event()

    def run() -> None:
        try:
            while not stop.wait(every):
                with lock, tenant_scope(organization):
                    collector.collect(organization=organization)
        finally:
            connection.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(10)


def test_a_reply_from_the_sandbox_phone_rings_the_bell_and_reading_it_clears_it(
    live_server,
    page,
    csp_violations,
    sandbox,  # noqa: F811
    settings,
    one_request_at_a_time,  # noqa: F811
):
    settings.SANDBOX_URL = sandbox.url
    settings.PUBLIC_BASE_URL = live_server.url
    settings.SANDBOX_SHORTCUTS = True
    settings.NOTIFICATIONS_POLL_SECONDS = 1
    settings.NOTIFICATIONS_SETTLE_SECONDS = 2
    sandbox.twilio.reset()
    sandbox.twilio.configure(sent_delay=0.2, delivery_delay=0.2, inbound_url=None)
    org, _user, _membership = make_org_with_owner(
        name="Northwind Hiring", email="rita@northwind.test", first_name="Rita"
    )
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
        )
        prefs = selectors.preferences_for(organization=org)
        prefs.sms_window_start, prefs.sms_window_end = time(0, 0), time(23, 59, 59, 999999)
        prefs.save()
        first = services.message_send(
            organization=org,
            candidate=candidate,
            channel=Channel.SMS,
            body="Hi Sam, can you do Tuesday at 10:00?",
            source="journey",
        )
        collector.collect(organization=org)  # the reader starts here: nothing of the past
    assert sandbox.twilio.wait_idle(10)
    base = live_server.url

    with beat_reader(org, one_request_at_a_time):
        sign_in(page, base, "rita@northwind.test", "Rita")
        bell = page.locator("#notification-bell")
        expect(bell).to_be_visible()
        expect(bell.locator("[data-bell-count]")).to_be_hidden()  # nothing unread yet

        page.goto(f"{base}/inbox/{first.conversation_id}/")
        with page.context.expect_page() as opened:
            page.get_by_role("link", name="Open sandbox phone").click()
        phone = opened.value
        expect(phone.locator(".thread")).to_contain_text("Hi Sam, can you do Tuesday at 10:00?")
        phone.fill("input[name=body]", "Tuesday works, see you then")
        phone.locator("form.reply").get_by_role("button", name="Send").click()

        # The bell counts the reply without a reload.
        url_before = page.url
        expect(bell.locator("[data-bell-count]")).to_have_text("1", timeout=20000)
        expect(page.locator("#notification-bell-count")).to_have_attribute(
            "title", "1 unread notification"
        )
        assert page.url == url_before

        bell.click()
        expect(page).to_have_url(re.compile(r"/notifications/$"))
        item = page.locator("li.notification", has_text="Sam Okafor replied")
        expect(item).to_contain_text("Replied by text: Tuesday works, see you then")
        expect(item).to_have_class(re.compile(r"\bunread\b"))
        item.get_by_role("button", name="Mark as read").click()

        expect(page.locator("li.notification", has_text="Sam Okafor replied")).to_contain_text(
            "Read"
        )
        expect(page.locator("#notification-bell [data-bell-count]")).to_be_hidden()
        # Opening it goes to the conversation.
        page.locator("li.notification").get_by_role("button", name="Sam Okafor replied").click()
        expect(page).to_have_url(re.compile(rf"/inbox/{first.conversation_id}/$"))
    with contextlib.suppress(Exception):
        phone.close()
    assert csp_violations == []
