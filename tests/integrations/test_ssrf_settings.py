"""SSRF through the settings pages: what an admin can type as a provider address, and what
happens to saved secrets when the address changes.

Every provider form (Greenhouse, Lever, Twilio, TextUs, SendGrid, Cronofy) refuses loopback,
private, link-local and IPv4-mapped addresses with a clear message, offers only the vendor's
documented hosts when the operator does not allow custom addresses, and never sends a secret
someone saved to a new address: the admin must paste it again.
"""

from __future__ import annotations

import html

import pytest
from django.urls import reverse
from pytest_httpserver import HTTPServer

from integrations.cronofy.models import CronofySettings
from integrations.greenhouse.models import GreenhouseConnection
from integrations.lever.models import LeverAuth, LeverConnection
from integrations.sendgrid.models import SendGridSettings
from integrations.textus.models import TextUsSettings
from integrations.twilio.models import TwilioSettings
from recruitflow.tenancy import tenant_scope

pytestmark = pytest.mark.django_db

TWILIO_SID = "AC" + "1" * 32
SERVICE_SID = "MG" + "2" * 32


def page_text(response) -> str:
    return html.unescape(response.content.decode())


@pytest.fixture
def trap():
    """A server on 127.0.0.1 that answers everything: any hit means a request left."""
    server = HTTPServer(host="127.0.0.1", port=0)
    server.expect_request("").respond_with_json({"ok": True})
    server.start()
    yield server
    server.clear()
    if server.is_running():
        server.stop()


def messaging_form(provider: str, base_url: str, **overrides) -> dict:
    data = {
        "twilio": {
            "account_sid": TWILIO_SID,
            "auth_token": "AT-new-token-0000",
            "messaging_service_sid": SERVICE_SID,
            "from_number": "",
            "base_url": base_url,
        },
        "textus": {
            "token": "textus-new-token",
            "account_slug": "acme-talent",
            "signing_secret": "",
            "base_url": base_url,
        },
        "sendgrid": {
            "api_key": "SG.new-key",
            "from_email": "jobs@acme.test",
            "from_name": "",
            "reply_to": "",
            "event_public_key": "",
            "base_url": base_url,
        },
    }[provider]
    data.update(overrides)
    return data


SECRET_FIELD = {"twilio": "auth_token", "textus": "token", "sendgrid": "api_key"}
SECRET_LABEL = {"twilio": "auth token", "textus": "api token", "sendgrid": "api key"}
MODELS = {"twilio": TwilioSettings, "textus": TextUsSettings, "sendgrid": SendGridSettings}


def saved_row(provider: str, organization, base_url: str):
    with tenant_scope(organization):
        if provider == "twilio":
            return TwilioSettings.objects.create(
                organization=organization,
                account_sid=TWILIO_SID,
                auth_token="AT-saved-secret-1234",
                messaging_service_sid=SERVICE_SID,
                base_url=base_url,
            )
        if provider == "textus":
            return TextUsSettings.objects.create(
                organization=organization,
                token="textus-saved-secret-1234",
                account_slug="acme-talent",
                signing_secret="signing-saved-secret",
                base_url=base_url,
            )
        return SendGridSettings.objects.create(
            organization=organization,
            api_key="SG.saved-secret-1234",
            from_email="jobs@acme.test",
            base_url=base_url,
        )


LOOPBACK_FORMS = [
    "http://127.0.0.1:{port}",
    "http://localhost:{port}",
    "http://[::ffff:127.0.0.1]:{port}",
    "http://169.254.169.254",
    "http://10.1.2.3",
]


@pytest.mark.parametrize("address", LOOPBACK_FORMS)
@pytest.mark.parametrize("provider", ["twilio", "textus", "sendgrid"])
def test_messaging_settings_refuse_internal_addresses(
    strict_provider_addresses, alice, client_for, trap, provider, address
):
    url = address.format(port=trap.port)

    response = client_for(alice).post(
        reverse(f"messaging_settings:{provider}"), messaging_form(provider, url)
    )

    assert response.status_code == 400
    assert "will not call" in page_text(response)
    assert trap.log == []
    with tenant_scope(alice.organization):
        assert not MODELS[provider].objects.exists()


@pytest.mark.parametrize("address", LOOPBACK_FORMS)
def test_integration_settings_refuse_internal_addresses(
    strict_provider_addresses, alice, client_for, trap, address
):
    url = address.format(port=trap.port)
    client = client_for(alice)

    greenhouse = client.post(
        reverse("integrations:greenhouse"),
        {
            "api_version": "v3",
            "base_url": url,
            "client_id": "cid",
            "client_secret": "csecret",
            "acting_user_id": "4080",
            "poll_interval_minutes": "15",
        },
    )
    lever = client.post(
        reverse("integrations:lever"),
        {"api_key": "lever-key", "base_url": url, "poll_interval_minutes": "15"},
    )

    for response in (greenhouse, lever):
        assert response.status_code == 200  # the page again, with the error at the field
        assert "will not call" in page_text(response)
    assert trap.log == []
    with tenant_scope(alice.organization):
        assert not GreenhouseConnection.objects.exists()
        assert not LeverConnection.objects.exists()


@pytest.mark.parametrize("address", LOOPBACK_FORMS)
def test_calendar_settings_refuse_internal_addresses(
    strict_provider_addresses, alice, client_for, trap, address
):
    url = address.format(port=trap.port)

    response = client_for(alice).post(
        reverse("calendar_settings:save"),
        {
            "client_id": "cronofy-client",
            "client_secret": "CRN_secret",
            "data_center": "us",
            "api_base_url": url,
            "app_base_url": "",
        },
    )

    assert response.status_code == 400
    assert "will not call" in page_text(response)
    assert trap.log == []
    with tenant_scope(alice.organization):
        assert not CronofySettings.objects.exists()


@pytest.mark.parametrize("provider", ["twilio", "textus", "sendgrid"])
def test_changing_a_messaging_address_never_reuses_the_saved_secret(
    alice, client_for, trap, httpserver, provider
):
    """Another admin's saved token stays put: a new address needs the secret typed again."""
    old = httpserver.url_for(f"/{provider}").rstrip("/")
    saved_row(provider, alice.organization, old)
    stolen_to = f"http://127.0.0.1:{trap.port}/{provider}"
    client = client_for(alice)

    refused = client.post(
        reverse(f"messaging_settings:{provider}"),
        messaging_form(provider, stolen_to, **{SECRET_FIELD[provider]: ""}),
    )

    assert refused.status_code == 400
    text = page_text(refused).lower()
    assert f"you changed the address, so the saved {SECRET_LABEL[provider]} was cleared" in text
    assert trap.log == []
    with tenant_scope(alice.organization):
        row = MODELS[provider].objects.get()
    assert row.base_url == old  # nothing changed
    assert "saved-secret" in getattr(row, SECRET_FIELD[provider])

    retyped = client.post(
        reverse(f"messaging_settings:{provider}"),
        messaging_form(provider, stolen_to),  # the admin's own new secret
    )
    assert retyped.status_code == 302
    with tenant_scope(alice.organization):
        row = MODELS[provider].objects.get()
    assert row.base_url == stolen_to
    assert "saved-secret" not in getattr(row, SECRET_FIELD[provider])
    if provider == "textus":
        assert row.signing_secret == ""  # every saved secret went with the old address
    sent = " ".join(
        str(request.headers) + request.get_data(as_text=True) for request, _ in trap.log
    )
    assert "saved-secret" not in sent


def test_changing_the_greenhouse_address_clears_the_saved_client_secret(alice, client_for, trap):
    with tenant_scope(alice.organization):
        GreenhouseConnection.objects.create(
            organization=alice.organization,
            base_url="https://harvest.greenhouse.io",
            api_version="v3",
            client_id="cid",
            client_secret="gh-saved-secret-1234",
            acting_user_id="4080",
        )

    response = client_for(alice).post(
        reverse("integrations:greenhouse"),
        {
            "api_version": "v3",
            "base_url": f"http://127.0.0.1:{trap.port}",
            "client_id": "cid",
            "client_secret": "",
            "acting_user_id": "4080",
            "poll_interval_minutes": "15",
        },
    )

    text = page_text(response).lower()
    assert "you changed the address, so the saved client secret was cleared" in text
    assert trap.log == []
    with tenant_scope(alice.organization):
        row = GreenhouseConnection.objects.get()
    assert row.base_url == "https://harvest.greenhouse.io"
    assert row.client_secret == "gh-saved-secret-1234"


def test_changing_the_lever_address_clears_the_oauth_tokens(alice, client_for, trap):
    with tenant_scope(alice.organization):
        LeverConnection.objects.create(
            organization=alice.organization,
            base_url="https://api.lever.co/v1",
            auth_method=LeverAuth.OAUTH,
            access_token="lever-access-saved",
            refresh_token="lever-refresh-saved",
        )
    client = client_for(alice)
    stolen_to = f"http://127.0.0.1:{trap.port}/v1"

    refused = client.post(
        reverse("integrations:lever"), {"base_url": stolen_to, "poll_interval_minutes": "15"}
    )
    assert "you changed the address, so the lever oauth authorization was cleared" in (
        page_text(refused).lower()
    )

    client.post(
        reverse("integrations:lever"),
        {"base_url": stolen_to, "api_key": "my-own-key", "poll_interval_minutes": "15"},
    )

    with tenant_scope(alice.organization):
        row = LeverConnection.objects.get()
    assert (row.base_url, row.access_token, row.refresh_token) == (stolen_to, "", "")
    assert row.auth_method == LeverAuth.API_KEY
    sent = " ".join(str(request.headers) for request, _ in trap.log)
    assert "lever-access-saved" not in sent and "lever-refresh-saved" not in sent


def test_changing_the_cronofy_address_needs_the_client_secret_again(alice, client_for, trap):
    with tenant_scope(alice.organization):
        CronofySettings.objects.create(
            organization=alice.organization,
            client_id="cronofy-client",
            client_secret="CRN_saved_secret_1234",
            previous_client_secret="CRN_previous_saved",
            data_center="us",
        )

    response = client_for(alice).post(
        reverse("calendar_settings:save"),
        {
            "client_id": "cronofy-client",
            "client_secret": "",
            "data_center": "us",
            "api_base_url": f"http://127.0.0.1:{trap.port}/cronofy",
            "app_base_url": "",
        },
    )

    assert response.status_code == 400
    assert "you changed the address, so the saved client secret was cleared" in (
        page_text(response).lower()
    )
    assert trap.log == []
    with tenant_scope(alice.organization):
        row = CronofySettings.objects.get()
    assert row.api_base_url == "" and row.client_secret == "CRN_saved_secret_1234"


def test_without_custom_addresses_the_forms_offer_only_the_vendors_hosts(
    settings, alice, client_for, trap
):
    settings.PROVIDER_CUSTOM_URLS = False
    client = client_for(alice)

    index = reverse("messaging_settings:index")
    page = page_text(client.get(f"{index}?tab=email")) + page_text(
        client.get(f"{index}?tab=texting")
    )
    refused = client.post(
        reverse("messaging_settings:sendgrid"),
        messaging_form("sendgrid", f"http://127.0.0.1:{trap.port}"),
    )
    calendars = page_text(client.get(reverse("calendar_settings:index")))
    ats = page_text(client.get(reverse("integrations:index")))

    assert '<option value="https://api.eu.sendgrid.com"' in page
    assert '<option value="https://api.twilio.com"' in page
    assert 'type="url" name="base_url"' not in page
    assert refused.status_code == 400
    assert "Select a valid choice" in page_text(refused)
    assert 'name="api_base_url"' not in calendars
    assert '<option value="https://harvest.greenhouse.io"' in ats
    assert '<option value="https://api-eu.lever.co/v1"' in ats
    assert trap.log == []


@pytest.mark.parametrize("provider", ["twilio", "textus", "sendgrid"])
def test_a_connection_test_to_a_now_refused_address_sends_nothing_and_says_why(
    strict_provider_addresses, alice, client_for, trap, provider
):
    """Settings saved while an address was allowed: the guard still refuses at call time."""
    saved_row(provider, alice.organization, f"http://127.0.0.1:{trap.port}/{provider}")

    response = client_for(alice).post(reverse(f"messaging_settings:{provider}_test"), follow=True)

    assert trap.log == []
    assert "will not call" in page_text(response)


def test_an_ats_connection_test_to_a_refused_address_sends_nothing(
    strict_provider_addresses, alice, client_for, trap
):
    with tenant_scope(alice.organization):
        GreenhouseConnection.objects.create(
            organization=alice.organization,
            base_url=f"http://[::ffff:127.0.0.1]:{trap.port}",
            api_version="v1",
            api_key="gh-key",
            acting_user_id="4080",
            status="connected",
        )

    response = client_for(alice).post(reverse("integrations:greenhouse_test"), follow=True)

    assert trap.log == []
    assert "will not call" in page_text(response)
