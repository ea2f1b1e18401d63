"""Sandbox shortcuts apply only to organizations that chose the sandbox — the seeded demo
organization, or one that saved the sandbox's settings — and only while the deployment allows
them (SANDBOX_SHORTCUTS, on by default with DEBUG only). The sandbox Twilio's auth token is
public, so anywhere else a callback signed with it is a forgery."""

from __future__ import annotations

import urllib.parse

import pytest
from twilio.request_validator import RequestValidator

from integrations.models import WebhookDelivery
from integrations.twilio import sandbox as twilio_sandbox
from integrations.twilio.models import TwilioSettings
from messaging import selectors
from recruitflow.tenancy import tenant_scope

from .conftest import LONDON_MOBILE

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("callbacks_commit")]

PUBLIC = "https://rf.example"


@pytest.fixture(autouse=True)
def _sandbox_deployment(settings):
    settings.PUBLIC_BASE_URL = PUBLIC
    settings.SANDBOX_URL = "http://127.0.0.1:8100"
    settings.SANDBOX_SHORTCUTS = True


def forged_stop(client, org):
    """A STOP 'from' the candidate, signed with the sandbox's public auth token."""
    url = selectors.callback_urls(organization=org).twilio_inbound
    params = {
        "MessageSid": "SM" + "f" * 32,
        "AccountSid": twilio_sandbox.SANDBOX_ACCOUNT_SID,
        "From": LONDON_MOBILE,
        "To": selectors.sandbox_sms_number(org),
        "Body": "STOP",
        "SmsStatus": "received",
    }
    signature = RequestValidator(twilio_sandbox.SANDBOX_AUTH_TOKEN).compute_signature(url, params)
    return client.post(
        urllib.parse.urlsplit(url).path,
        urllib.parse.urlencode(params),
        content_type="application/x-www-form-urlencoded",
        HTTP_X_TWILIO_SIGNATURE=signature,
    )


def make_demo(org):
    org.is_demo = True
    org.save(update_fields=["is_demo"])


def save_sandbox_settings(org):
    with tenant_scope(org):
        TwilioSettings.objects.create(
            organization=org,
            account_sid=twilio_sandbox.SANDBOX_ACCOUNT_SID,
            auth_token=twilio_sandbox.SANDBOX_AUTH_TOKEN,
            messaging_service_sid=twilio_sandbox.SANDBOX_SERVICE_SID,
            base_url="http://127.0.0.1:8100/twilio",
        )


def test_a_stop_signed_with_the_sandbox_token_is_refused_for_an_organization_without_sms_settings(
    client, org, candidate
):
    response = forged_stop(client, org)

    assert response.status_code == 403
    assert "Twilio is not connected" in response.content.decode()
    assert not selectors.is_locked(org, LONDON_MOBILE)
    with tenant_scope(org):
        assert not WebhookDelivery.objects.exists()


def test_an_organization_without_sms_settings_does_not_text_through_the_sandbox(org):
    with pytest.raises(selectors.MessagingNotConfigured, match="Texting is not set up"):
        selectors.sms_provider_for(org)
    assert selectors.sandbox_sms_sender(org) is None


def test_the_demo_organization_texts_through_the_sandbox_and_its_replies_are_accepted(
    client, org, candidate
):
    make_demo(org)

    response = forged_stop(client, org)  # what the sandbox phone sends for the demo

    assert response.status_code == 200
    assert selectors.is_locked(org, LONDON_MOBILE)
    assert selectors.sms_provider_for(org).identifier == "twilio"


def test_an_organization_that_saved_the_sandbox_settings_accepts_its_callbacks(
    client, org, candidate
):
    save_sandbox_settings(org)

    response = forged_stop(client, org)

    assert response.status_code == 200
    assert selectors.is_locked(org, LONDON_MOBILE)


@pytest.mark.parametrize("chose_the_sandbox", [make_demo, save_sandbox_settings])
def test_with_sandbox_shortcuts_off_no_organization_accepts_the_sandbox_token(
    client, org, candidate, settings, chose_the_sandbox
):
    settings.SANDBOX_SHORTCUTS = False  # the default with DEBUG=0
    chose_the_sandbox(org)

    response = forged_stop(client, org)

    assert response.status_code == 403
    assert not selectors.is_locked(org, LONDON_MOBILE)


def test_settings_show_the_sandbox_phone_as_the_default_only_to_the_demo_organization(
    alice, client
):
    client.force_login(alice.user)
    page = client.get("/settings/messaging/").content.decode()
    assert "Texts cannot be sent</strong> until you connect Twilio or TextUs" in page

    make_demo(alice.organization)
    page = client.get("/settings/messaging/").content.decode()
    assert "<strong>Demo default:</strong> texts go to the" in page
    assert 'href="http://127.0.0.1:8100/twilio/_sandbox/"' in page
