"""Settings → Messaging in tabs: each tab at its own address, a saved form back on its tab, a
form with errors re-shown on its tab, an unknown tab explained, and the account tree's
inheritance on a tab of its own."""

from __future__ import annotations

import html

import pytest
from django.urls import reverse

from accounts import services as account_services
from integrations.twilio.sandbox import SANDBOX_ACCOUNT_SID, SANDBOX_AUTH_TOKEN, SANDBOX_SERVICE_SID

pytestmark = pytest.mark.django_db

INDEX = reverse("messaging_settings:index")


def text_of(response) -> str:
    return html.unescape(response.content.decode())


def active_tab(page: str) -> str:
    start = page.index('id="messaging-tabs"')
    nav = page[start : page.index("</nav>", start)]
    (label,) = [
        part.split(">", 1)[1].split("<", 1)[0]
        for part in nav.split("<a ")[1:]
        if 'class="active"' in part
    ]
    return label


def test_each_tab_has_its_own_address_and_shows_only_its_section(alice, client_for):
    client = client_for(alice)

    quiet = text_of(client.get(INDEX))
    texts = text_of(client.get(INDEX, {"tab": "auto-texts"}))
    texting = text_of(client.get(INDEX, {"tab": "texting"}))
    email = text_of(client.get(INDEX, {"tab": "email"}))

    assert active_tab(quiet) == "Quiet hours"
    assert 'id="quiet-hours"' in quiet and 'id="texting"' not in quiet
    assert active_tab(texts) == "Automatic texts"
    assert 'id="auto-texts"' in texts and 'id="quiet-hours"' not in texts
    assert active_tab(texting) == "Texting provider" and 'id="twilio"' in texting
    assert 'id="sendgrid"' not in texting
    assert active_tab(email) == "E-mail provider" and 'id="sendgrid"' in email
    assert 'id="twilio"' not in email
    # Every tab is a plain link: switching needs no script.
    assert f'href="{INDEX}?tab=email"' in quiet and f'href="{INDEX}"' in email


def test_saving_quiet_hours_comes_back_to_the_quiet_hours_tab(alice, client_for):
    response = client_for(alice).post(
        reverse("messaging_settings:quiet_hours"),
        {
            "sms_window_start": "09:00",
            "sms_window_end": "17:00",
            "sms_days": ["0", "1", "2", "3", "4"],
        },
    )

    assert response.status_code == 302
    assert response["Location"] == f"{INDEX}#quiet-hours"


def test_saving_automatic_texts_comes_back_to_their_tab(alice, client_for):
    response = client_for(alice).post(
        reverse("messaging_settings:auto_texts"),
        {"help_reply": "Acme Talent: reply STOP to opt out.", "opt_out_footer": "STOP to end"},
        follow=True,
    )

    page = text_of(response)
    assert response.redirect_chain[-1][0] == f"{INDEX}?tab=auto-texts#auto-texts"
    assert "Automatic texts saved." in page and active_tab(page) == "Automatic texts"


def test_a_form_with_errors_reopens_its_own_tab(alice, client_for):
    client = client_for(alice)

    quiet = client.post(
        reverse("messaging_settings:quiet_hours"),
        {"sms_window_start": "9 o'clock", "sms_window_end": "17:00", "sms_days": ["0"]},
    )
    texts = client.post(
        reverse("messaging_settings:auto_texts"), {"help_reply": "", "opt_out_footer": ""}
    )

    assert quiet.status_code == texts.status_code == 400
    assert active_tab(text_of(quiet)) == "Quiet hours"
    assert 'class="errors"' in text_of(quiet)
    assert active_tab(text_of(texts)) == "Automatic texts"
    assert 'id="auto-texts"' in text_of(texts) and 'class="errors"' in text_of(texts)


def test_a_vendor_form_with_errors_reopens_the_texting_tab(alice, client_for, sandbox):
    response = client_for(alice).post(
        reverse("messaging_settings:twilio"),
        {
            "account_sid": "SK123",
            "auth_token": "",
            "messaging_service_sid": "",
            "from_number": "",
            "base_url": f"{sandbox.url}/twilio",
        },
    )

    page = text_of(response)
    assert response.status_code == 400
    assert active_tab(page) == "Texting provider" and 'id="twilio"' in page


def test_a_vendor_action_goes_back_to_its_tab(alice, client_for, sandbox):
    response = client_for(alice).post(
        reverse("messaging_settings:twilio"),
        {
            "account_sid": SANDBOX_ACCOUNT_SID,
            "auth_token": SANDBOX_AUTH_TOKEN,
            "messaging_service_sid": SANDBOX_SERVICE_SID,
            "from_number": "",
            "base_url": f"{sandbox.url}/twilio",
        },
    )

    assert response.status_code == 302
    assert response["Location"] == f"{INDEX}?tab=texting#twilio"


def test_an_unknown_tab_says_which_tabs_there_are(alice, client_for):
    page = text_of(client_for(alice).get(INDEX, {"tab": "providers"}))

    assert "Settings → Messaging has no tab “providers”, so Quiet hours is shown." in page
    assert "“texting”" in page and "“email”" in page
    assert active_tab(page) == "Quiet hours"


def test_the_inheritance_tab_says_whose_providers_each_account_uses(
    alice, client_for, twilio_settings
):
    child = account_services.organization_create(
        name="Acme Nursing", owner=alice.user, parent=alice.organization
    )
    client = client_for(alice)

    def page_of(organization) -> str:
        session = client.session
        session["organization_id"] = organization.pk
        session.save()
        return text_of(client.get(INDEX, {"tab": "inheritance"}))

    parent_page, child_page = page_of(alice.organization), page_of(child)

    assert active_tab(parent_page) == "Inheritance"
    assert "Acme Talent is a top-level account." in parent_page
    parent_texts = parent_page.split('id="inherit-sms">', 1)[1].split("</tr>", 1)[0]
    assert "Its own Twilio settings" in parent_texts and "Acme Nursing" in parent_texts
    assert "Acme Nursing is a sub-account of <strong>Acme Talent</strong>." in child_page
    child_texts = child_page.split('id="inherit-sms">', 1)[1].split("</tr>", 1)[0]
    assert "Acme Talent's Twilio settings" in child_texts
    assert "has no texting settings of its own to pass on" in child_texts
    assert SANDBOX_AUTH_TOKEN not in child_page
