"""Two-factor sign-in with an authenticator app, and single sign-on through OIDC."""

import time

import pytest
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from django.test import override_settings
from django.urls import reverse


def _current_code(secret: str) -> str:
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30))


@pytest.mark.django_db
def test_user_who_turned_on_totp_must_enter_a_code_to_sign_in(alice, client):
    client.force_login(alice.user)
    # Turning on 2FA asks for the password again first.
    assert client.get(reverse("mfa_activate_totp")).url.startswith(
        reverse("account_reauthenticate")
    )
    client.post(reverse("account_reauthenticate"), {"password": "correct-horse-9"})
    page = client.get(reverse("mfa_activate_totp"))
    assert page.status_code == 200
    secret = page.context["form"].secret
    activated = client.post(
        reverse("mfa_activate_totp"), {"code": _current_code(secret)}, follow=True
    )
    assert activated.status_code == 200
    client.logout()

    response = client.post(
        reverse("account_login"), {"login": "alice@acme.test", "password": "correct-horse-9"}
    )
    assert response.status_code == 302
    assert response.url == reverse("mfa_authenticate")
    # Not signed in yet: the app still sends us to log in.
    assert client.get(reverse("dashboard")).status_code == 302

    wrong = client.post(reverse("mfa_authenticate"), {"code": "000000"})
    assert wrong.status_code == 200
    done = client.post(reverse("mfa_authenticate"), {"code": _current_code(secret)})
    assert done.status_code == 302
    assert client.get(reverse("dashboard")).status_code == 200


OIDC = {
    "openid_connect": {
        "APPS": [
            {
                "provider_id": "sso",
                "name": "Acme Okta",
                "client_id": "client-123",
                "secret": "s3cret",
                "settings": {"server_url": "https://id.acme.test"},
            }
        ]
    }
}


@pytest.mark.django_db
def test_login_page_offers_single_sign_on_when_oidc_is_configured(client):
    assert b"Acme Okta" not in client.get(reverse("account_login")).content
    with override_settings(SOCIALACCOUNT_PROVIDERS=OIDC):
        page = client.get(reverse("account_login"))
    assert b"Acme Okta" in page.content
    assert b"/accounts/oidc/sso/login/" in page.content
