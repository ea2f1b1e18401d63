"""An admin adds a webhook to a local receiver in a real browser, copies the secret shown once,
sends a test event, sees it delivered in the log with the request and the answer, and replays
it — with no console error and no CSP violation."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from standardwebhooks.webhooks import Webhook

from partners import delivery, services
from tests.e2e.steps import sign_in
from tests.factories import make_org_with_owner
from tests.partners.receiver import Receiver

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


class _SendNow:
    """The queued ``partners.deliver_due`` runs at once in the server (no worker here)."""

    def delay(self, *args, **kwargs):
        delivery.deliver_due()


def test_admin_adds_a_webhook_sends_a_test_event_sees_it_delivered_and_replays_it(
    live_server, page, csp_violations, browser_errors, settings, monkeypatch
):
    settings.PARTNER_WEBHOOK_HTTP_HOSTS = ["127.0.0.1"]
    monkeypatch.setattr(services, "task_named", lambda name: _SendNow())
    make_org_with_owner(name="Webhook Works", email="wanda@webhooks.test", first_name="Wanda")
    page.on("dialog", lambda dialog: dialog.accept())
    with Receiver(status=200, answer=b'{"received": true}') as receiver:
        sign_in(page, live_server.url, "wanda@webhooks.test", "Wanda")
        page.locator(".sidebar").get_by_role("link", name="Settings").click()
        page.get_by_role("link", name="Webhooks", exact=True).click()
        expect(page.get_by_role("heading", name="No webhooks yet")).to_be_visible()

        page.locator("#add-webhook").click()
        page.get_by_label("Endpoint URL").fill(receiver.url)
        page.get_by_label("Description").fill("Local receiver")
        page.locator("#event-types").get_by_text("candidate.stage_changed").click()
        page.get_by_role("button", name="Add webhook").click()

        expect(page.locator("#new-secret")).to_contain_text("won't be shown again")
        secret = page.locator("#new-secret-value").inner_text().strip()
        assert secret.startswith("whsec_")
        expect(page.locator("#snippet-python")).to_contain_text("standardwebhooks")
        expect(page.locator("#snippet-node")).to_contain_text("wh.verify")

        page.get_by_role("button", name="Send test event").click()
        log = page.locator("#deliveries")
        expect(log).to_contain_text("webhook.test")
        expect(log).to_contain_text("delivered")
        assert len(receiver.delivered()) == 1
        first = receiver.delivered()[0]
        assert Webhook(secret).verify(first.body, first.headers)["type"] == "webhook.test"
        expect(page.locator("#new-secret")).to_have_count(0)  # shown once only

        log.get_by_role("link", name="webhook.test").click()
        expect(page.locator(".attempt")).to_have_count(1)
        expect(page.locator(".attempt").first).to_contain_text("webhook-signature")
        expect(page.locator(".attempt").first).to_contain_text('{"received": true}')
        page.locator("#replay").click()
        expect(page.locator(".attempt")).to_have_count(2)
        expect(page.get_by_role("heading", name="Attempt 2")).to_be_visible()
        assert len(receiver.delivered()) == 2
        assert receiver.delivered()[1].headers["webhook-id"] == first.headers["webhook-id"]
