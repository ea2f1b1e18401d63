"""Settings → Messaging: quiet hours, automatic texts, provider connections tested against the
sandbox over HTTP, secrets at rest, and the account tree."""

from __future__ import annotations

import html
from datetime import UTC, datetime, time

import pytest
from django.db import connection
from django.urls import reverse

from accounts import services as account_services
from integrations.models import ProviderCall
from integrations.sendgrid.models import SendGridSettings
from integrations.textus.models import TextUsSettings
from integrations.twilio.models import TwilioSettings
from integrations.twilio.sandbox import SANDBOX_ACCOUNT_SID, SANDBOX_AUTH_TOKEN, SANDBOX_SERVICE_SID
from messaging import selectors, services
from messaging.models import Channel, MessageStatus, MessagingPreferences
from recruitflow.tenancy import tenant_scope

pytestmark = pytest.mark.django_db

INDEX = reverse("messaging_settings:index")
TEXTING = INDEX + "?tab=texting"


def twilio_form(sandbox, **overrides) -> dict:
    return {
        "account_sid": SANDBOX_ACCOUNT_SID,
        "auth_token": SANDBOX_AUTH_TOKEN,
        "messaging_service_sid": SANDBOX_SERVICE_SID,
        "from_number": "",
        "base_url": f"{sandbox.url}/twilio",
        **overrides,
    }


def quiet_form(**overrides) -> dict:
    data = {
        "sms_window_start": "08:00",
        "sms_window_end": "21:00",
        "sms_days": ["0", "1", "2", "3", "4", "5", "6"],
        "email_window_start": "",
        "email_window_end": "",
    }
    data.update(overrides)
    return data


def text_of(response) -> str:
    return html.unescape(response.content.decode())


def raw_column(table: str, column: str, pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def switch_to(client, organization) -> None:
    session = client.session
    session["organization_id"] = organization.pk
    session.save()


# ---------------------------------------------------------------------------------------------
# The page and who may open it
# ---------------------------------------------------------------------------------------------


def test_admin_sees_default_quiet_hours_and_where_messages_go_when_nothing_is_connected(
    alice, client_for, sandbox, settings
):
    settings.SANDBOX_URL = sandbox.url

    response = client_for(alice).get(INDEX)

    page = text_of(response)
    assert response.status_code == 200
    assert "in the candidate's time zone" in page
    assert 'value="08:00"' in page and 'value="21:00"' in page
    assert "texts go out 08:00–21:00, every day" in page
    assert "e-mails go out at any hour" in page
    # Not the demo organization, so no sandbox shortcut: it chooses the sandbox explicitly.
    assert "Texts cannot be sent</strong> until you connect Twilio or TextUs" in page
    assert "Django's e-mail backend" in page
    # The example is computed with the organization's zone (UTC for Acme).
    assert "A text queued at 22:10 on" in page and "(UTC)" in page
    assert "held until 08:00 on" in page
    assert 'class="active">Messaging</a>' in page


def test_recruiter_is_refused_every_messaging_settings_page_and_changes_nothing(
    bob, client_for, sandbox
):
    client = client_for(bob)

    page = client.get(INDEX)
    save = client.post(reverse("messaging_settings:twilio"), twilio_form(sandbox))
    quiet = client.post(reverse("messaging_settings:quiet_hours"), quiet_form(sms_days=["0"]))

    assert page.status_code == save.status_code == quiet.status_code == 403
    with tenant_scope(bob.organization):
        assert not TwilioSettings.objects.exists()
        assert not MessagingPreferences.objects.exists()


# ---------------------------------------------------------------------------------------------
# Quiet hours and automatic texts
# ---------------------------------------------------------------------------------------------


def test_saved_quiet_hours_hold_a_text_queued_after_the_window_until_it_opens(
    alice, client_for, make_candidate, time_machine
):
    response = client_for(alice).post(
        reverse("messaging_settings:quiet_hours"),
        quiet_form(sms_window_start="09:00", sms_window_end="17:00", sms_days=list("01234")),
        follow=True,
    )
    assert "Quiet hours saved" in text_of(response)
    assert "texts go out 09:00–17:00, Monday to Friday" in text_of(response)

    # Friday 18:30 in London: the next window opens Monday 09:00 London time.
    time_machine.move_to(datetime(2025, 1, 17, 18, 30, tzinfo=UTC), tick=False)
    candidate = make_candidate(mobile_phone="+447700900123")
    with tenant_scope(alice.organization):
        message = services.message_send(
            organization=alice.organization,
            candidate=candidate,
            channel=Channel.SMS,
            body="Are you free for a call?",
            source="manual",
        )
    assert message.status == MessageStatus.HELD
    assert message.hold_until == datetime(2025, 1, 20, 9, 0, tzinfo=UTC)


def test_impossible_quiet_hours_are_refused_with_the_reason_and_the_typed_values_kept(
    alice, client_for
):
    response = client_for(alice).post(
        reverse("messaging_settings:quiet_hours"),
        quiet_form(sms_window_start="10:00", sms_window_end="10:00", sms_days=[]),
    )

    page = text_of(response)
    assert response.status_code == 400
    assert "the window starts and ends at 10:00" in page
    assert "Pick at least one day" in page
    assert 'value="10:00"' in page  # what the admin typed is still there
    with tenant_scope(alice.organization):
        prefs = selectors.preferences_for(organization=alice.organization)
    assert (prefs.sms_window_start, prefs.sms_window_end) == (time(8, 0), time(21, 0))
    assert prefs.sms_days == [0, 1, 2, 3, 4, 5, 6]


def test_email_quiet_hours_need_both_times_when_switched_on(alice, client_for):
    response = client_for(alice).post(
        reverse("messaging_settings:quiet_hours"),
        quiet_form(email_quiet_hours="on", email_window_start="09:00", email_days=["0"]),
    )

    assert response.status_code == 400
    assert "Enter a time, or untick" in text_of(response)


def test_help_reply_and_footer_are_saved_and_a_footer_without_stop_is_refused(alice, client_for):
    client = client_for(alice)
    refused = client.post(
        reverse("messaging_settings:auto_texts"),
        {"help_reply": "Acme Talent here.", "opt_out_footer": "Text us anytime"},
    )
    saved = client.post(
        reverse("messaging_settings:auto_texts"),
        {
            "help_reply": "Acme Talent recruiting. Reply STOP to opt out.",
            "opt_out_footer": "Txt STOP to end",
        },
        follow=True,
    )

    assert refused.status_code == 400
    assert "Mention the word STOP" in text_of(refused)
    assert "Automatic texts saved" in text_of(saved)
    with tenant_scope(alice.organization):
        prefs = MessagingPreferences.objects.get()
    assert prefs.help_reply == "Acme Talent recruiting. Reply STOP to opt out."
    assert prefs.opt_out_footer == "Txt STOP to end"


def test_zone_check_shows_the_candidates_zone_and_when_a_text_would_go_out(alice, client_for):
    client = client_for(alice)

    new_york = client.get(INDEX, {"check_phone": "+1 212 555 0123"}, HTTP_HX_REQUEST="true")
    london_office = client.get(
        INDEX, {"check_phone": "", "check_location": "London, UK"}, HTTP_HX_REQUEST="true"
    )

    assert "<html" not in text_of(new_york)  # only the partial is swapped in
    assert "America/New_York" in text_of(new_york)
    assert "from the phone number's area code 212" in text_of(new_york)
    assert "It is 10:00 on Wednesday there. A text queued now goes out straight away." in text_of(
        new_york
    )
    assert "Europe/London, from the job's office location (London, UK)" in text_of(london_office)


def test_zone_check_explains_a_number_it_cannot_read(alice, client_for):
    response = client_for(alice).get(INDEX, {"check_phone": "call me"})

    assert response.status_code == 200
    assert "“call me” is not a phone number" in text_of(response)


# ---------------------------------------------------------------------------------------------
# Providers: connect, test, secrets, disconnect
# ---------------------------------------------------------------------------------------------


def test_connecting_twilio_tests_it_against_the_sandbox_and_stores_the_token_encrypted(
    alice, client_for, sandbox
):
    token = SANDBOX_AUTH_TOKEN
    response = client_for(alice).post(
        reverse("messaging_settings:twilio"), twilio_form(sandbox), follow=True
    )

    page = text_of(response)
    assert "Twilio works: Twilio accepted the Account SID and Auth Token" in page
    assert 'data-connection-status="working"' in page
    assert token not in page
    assert "••••" + token[-4:] in page  # the most the page ever shows of it
    with tenant_scope(alice.organization):
        row = TwilioSettings.objects.get()
        calls = list(ProviderCall.objects.filter(provider="twilio"))
        urls = selectors.callback_urls(organization=alice.organization)
    # What to paste into Twilio: this organization's own callback addresses.
    assert urls.twilio_inbound in page and urls.twilio_status in page
    assert row.auth_token == token
    stored = raw_column("twilio_twiliosettings", "auth_token", row.pk)
    assert token not in stored and stored.startswith("fernet:")
    assert [c.status for c in calls] == [200]


def test_wrong_twilio_token_is_saved_but_the_test_says_the_credentials_were_rejected(
    alice, client_for, sandbox
):
    response = client_for(alice).post(
        reverse("messaging_settings:twilio"),
        twilio_form(sandbox, auth_token="not-the-token"),
        follow=True,
    )

    page = text_of(response)
    assert "Twilio rejected the Account SID or Auth Token" in page
    assert "Copy them again from the Twilio Console" in page
    assert 'data-problem="credentials"' in page
    assert 'data-connection-status="error"' in page
    with tenant_scope(alice.organization):
        assert TwilioSettings.objects.get().auth_token == "not-the-token"  # nothing lost


def test_unreachable_twilio_host_is_named_in_the_test_result(alice, client_for, sandbox):
    response = client_for(alice).post(
        reverse("messaging_settings:twilio"),
        twilio_form(sandbox, base_url="http://127.0.0.1:9/twilio"),
        follow=True,
    )

    page = text_of(response)
    assert "Could not reach Twilio at 127.0.0.1:9" in page
    assert 'data-problem="unreachable"' in page


def test_leaving_the_token_empty_keeps_the_saved_one(alice, client_for, sandbox):
    client = client_for(alice)
    client.post(reverse("messaging_settings:twilio"), twilio_form(sandbox))

    response = client.post(
        reverse("messaging_settings:twilio"),
        twilio_form(sandbox, auth_token="", messaging_service_sid="", from_number="+15005550199"),
        follow=True,
    )

    assert "Twilio works" in text_of(response)
    with tenant_scope(alice.organization):
        row = TwilioSettings.objects.get()
    assert row.auth_token == SANDBOX_AUTH_TOKEN
    assert row.from_number == "+15005550199" and row.messaging_service_sid == ""


def test_twilio_form_explains_each_mistake_and_saves_nothing(alice, client_for, sandbox):
    response = client_for(alice).post(
        reverse("messaging_settings:twilio"),
        twilio_form(sandbox, account_sid="SK123", auth_token="", messaging_service_sid=""),
    )

    page = text_of(response)
    assert response.status_code == 400
    assert "An Account SID is AC followed by 32 letters and digits" in page
    assert "Paste the Auth Token." in page
    assert "Enter the Messaging Service SID, or the Twilio number texts are sent from." in page
    assert 'value="SK123"' in page
    with tenant_scope(alice.organization):
        assert not TwilioSettings.objects.exists()


def test_textus_token_without_access_to_the_account_is_reported_as_a_missing_permission(
    alice, client_for, sandbox
):
    sandbox.textus.add_token("sales-only-token", accounts=["acme-sales"])

    response = client_for(alice).post(
        reverse("messaging_settings:textus"),
        {
            "token": "sales-only-token",
            "account_slug": "acme-talent",
            "signing_secret": "",
            "base_url": f"{sandbox.url}/textus",
        },
        follow=True,
    )

    page = text_of(response)
    assert "cannot use the account “acme-talent”" in page
    assert "Add the user to that account in TextUs" in page
    assert 'data-problem="permission"' in page


def test_textus_with_the_sandbox_token_works_and_asks_for_the_signing_secret(
    alice, client_for, sandbox
):
    response = client_for(alice).post(
        reverse("messaging_settings:textus"),
        {
            "token": "textus-sandbox-token",
            "account_slug": "acme-talent",
            "signing_secret": "",
            "base_url": f"{sandbox.url}/textus",
        },
        follow=True,
    )

    page = text_of(response)
    assert "TextUs accepted the token, and its user can text from acme-talent." in page
    assert "Paste the webhook signing secret too" in page
    with tenant_scope(alice.organization):
        assert selectors.callback_urls(organization=alice.organization).textus in page


def test_sendgrid_wrong_key_and_unverified_sender_get_their_own_messages(
    alice, client_for, sandbox
):
    client = client_for(alice)
    form = {
        "api_key": "SG.not-a-real-key",
        "from_email": "talent@acme.test",
        "from_name": "Acme Talent",
        "reply_to": "",
        "event_public_key": "",
        "base_url": f"{sandbox.url}/sendgrid",
    }
    wrong_key = client.post(reverse("messaging_settings:sendgrid"), form, follow=True)
    sandbox.sendgrid.verified_senders = {"jobs@acme.test"}
    try:
        unverified = client.post(
            reverse("messaging_settings:sendgrid"),
            {**form, "api_key": "SG.sandbox-key"},
            follow=True,
        )
    finally:
        sandbox.sendgrid.verified_senders = None
    verified = client.post(reverse("messaging_settings:sendgrid_test"), follow=True)

    assert "SendGrid rejected the API key" in text_of(wrong_key)
    assert 'data-problem="credentials"' in text_of(wrong_key)
    assert "not a verified sender" in text_of(unverified)
    assert 'data-problem="permission"' in text_of(unverified)
    assert "SendGrid accepted the API key and will send from talent@acme.test" in text_of(verified)
    assert not [m for m in sandbox.sendgrid.mails.values() if not m["sandbox_mode"]]  # none sent


def test_sendgrid_verification_key_that_is_not_a_key_is_refused(alice, client_for, sandbox):
    response = client_for(alice).post(
        reverse("messaging_settings:sendgrid"),
        {
            "api_key": "SG.sandbox-key",
            "from_email": "talent@acme.test",
            "event_public_key": "hello",
            "base_url": f"{sandbox.url}/sendgrid",
        },
    )

    assert response.status_code == 400
    assert "This is not a SendGrid verification key" in text_of(response)
    with tenant_scope(alice.organization):
        assert not SendGridSettings.objects.exists()


def test_second_texting_provider_is_refused_until_the_first_is_disconnected(
    alice, client_for, sandbox, settings
):
    settings.SANDBOX_URL = sandbox.url
    client = client_for(alice)
    client.post(reverse("messaging_settings:twilio"), twilio_form(sandbox))

    refused = client.post(
        reverse("messaging_settings:textus"),
        {"token": "textus-sandbox-token", "account_slug": "acme-talent", "base_url": sandbox.url},
    )
    disconnected = client.post(reverse("messaging_settings:sms_disconnect"), follow=True)

    assert refused.status_code == 400
    assert "Twilio already sends this organization's texts. Disconnect Twilio first" in text_of(
        refused
    )
    assert (
        "Twilio is disconnected and its credentials deleted. No texts can be sent until a "
        "texting provider is connected." in text_of(disconnected)
    )
    with tenant_scope(alice.organization):
        assert not TwilioSettings.objects.exists()
        assert not TextUsSettings.objects.exists()


def test_test_connection_without_a_provider_says_to_connect_first(alice, client_for):
    response = client_for(alice).post(reverse("messaging_settings:twilio_test"), follow=True)

    assert "Connect Twilio first." in text_of(response)


# ---------------------------------------------------------------------------------------------
# Account tree
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def sub_account(alice):
    return account_services.organization_create(
        name="Acme Nursing", owner=alice.user, parent=alice.organization
    )


def test_sub_account_without_settings_uses_the_parents_twilio_and_the_parent_lists_it(
    alice, client_for, sandbox, sub_account, twilio_settings
):
    client = client_for(alice)
    switch_to(client, alice.organization)

    parent_page = text_of(client.get(TEXTING))
    switch_to(client, sub_account)
    child_page = text_of(client.get(TEXTING))

    assert "Sub-accounts using these settings" in parent_page
    assert "<li>Acme Nursing" in parent_page
    assert "Using <strong>Acme Talent</strong>'s Twilio settings" in child_page
    assert f"(Account SID {SANDBOX_ACCOUNT_SID})" in child_page
    assert "Set up Acme Nursing's own texting provider instead" in child_page
    assert SANDBOX_AUTH_TOKEN not in child_page
    assert "••••" not in child_page  # not even the masked form of the parent's secret


def test_sub_account_with_its_own_settings_overrides_the_parent_and_leaves_its_list(
    alice, client_for, sandbox, sub_account, twilio_settings
):
    client = client_for(alice)
    switch_to(client, sub_account)

    own = client.post(
        reverse("messaging_settings:twilio"),
        twilio_form(sandbox, messaging_service_sid="", from_number="+15005550199"),
        follow=True,
    )
    switch_to(client, alice.organization)
    parent_page = text_of(client.get(TEXTING))

    assert "They replace Acme Talent's Twilio settings for Acme Nursing" in text_of(own)
    assert "<li>Acme Nursing" not in parent_page
    assert "every sub-account has settings of its own" in parent_page
    with tenant_scope(alice.organization):
        assert TwilioSettings.objects.get().messaging_service_sid == SANDBOX_SERVICE_SID


# ---------------------------------------------------------------------------------------------
# In a real browser
# ---------------------------------------------------------------------------------------------


class TestInABrowser:
    @pytest.fixture(autouse=True)
    def _midday(self):
        """Real time here: a session cookie dated in the frozen past would expire at once."""
        yield

    @pytest.mark.e2e
    @pytest.mark.django_db(transaction=True)
    def test_admin_connects_the_sandbox_twilio_and_checks_a_zone_without_csp_violations(
        self, live_server, page, sandbox, settings
    ):
        from playwright.sync_api import expect

        from tests.factories import make_org_with_owner

        settings.SANDBOX_URL = sandbox.url
        make_org_with_owner(name="Northwind Talent", email="nina@northwind.test", first_name="Nina")
        violations: list[str] = []
        page.on(
            "console",
            lambda message: (
                violations.append(message.text)
                if "Content Security Policy" in message.text or "Refused to" in message.text
                else None
            ),
        )

        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("input[name=login]", "nina@northwind.test")
        page.fill("input[name=password]", "correct-horse-9")
        page.get_by_role("button", name="Sign In").click()
        expect(page.get_by_role("heading", name="Welcome, Nina")).to_be_visible()
        page.goto(f"{live_server.url}/settings/messaging/")
        expect(page.locator("#demo-default")).to_contain_text("Texts cannot be sent")
        page.locator("#messaging-tabs").get_by_role("link", name="Texting provider").click()

        twilio = page.locator("#twilio")
        twilio.get_by_role("button", name="Use the sandbox").click()
        twilio.get_by_role("button", name="Connect Twilio").click()

        expect(page.locator("#twilio [data-connection-status=working]")).to_be_visible()
        expect(page.locator("#twilio-test-result")).to_contain_text(
            "Twilio accepted the Account SID and Auth Token"
        )
        expect(page.locator("#twilio_auth_token")).to_have_value("")  # never sent back
        assert "tab=texting" in page.url  # back on the tab of the vendor's card

        page.locator("#messaging-tabs").get_by_role("link", name="Quiet hours").click()
        page.fill("#zone_check_phone", "+1 212 555 0123")
        page.get_by_role("button", name="Show their time zone").click()
        expect(page.locator("#zone-check")).to_contain_text("America/New_York")
        assert "check_phone" not in page.url  # swapped in place by htmx
        assert violations == []
