import pytest

from accounts.models import Organization
from integrations.textus.models import TextUsSettings
from integrations.twilio.models import TwilioSettings
from messaging import selectors, services
from messaging.models import Channel, MessageStatus
from messaging.selectors import MessagingNotConfigured
from recruitflow.tenancy import tenant_scope

pytestmark = pytest.mark.django_db


def _twilio(org, sid):
    with tenant_scope(org):
        return TwilioSettings.objects.create(
            organization=org, account_sid=sid, auth_token="secret-token", from_number="+15005550199"
        )


def test_child_account_uses_the_parents_settings_unless_it_has_its_own(org):
    child = Organization.objects.create(name="Acme EU", slug="acme-eu", parent=org)
    _twilio(org, "ACparent")

    assert selectors.sms_provider_for(child).account_sid == "ACparent"

    _twilio(child, "ACchild")
    assert selectors.sms_provider_for(child).account_sid == "ACchild"
    assert selectors.sms_provider_for(org).account_sid == "ACparent"


def test_textus_at_the_top_of_the_tree_applies_to_every_sub_account(org):
    child = Organization.objects.create(name="Acme EU", slug="acme-eu", parent=org)
    grandchild = Organization.objects.create(name="Acme FR", slug="acme-fr", parent=child)
    with tenant_scope(org):
        TextUsSettings.objects.create(organization=org, token="tok", account_slug="acme")

    provider = selectors.sms_provider_for(grandchild)
    assert provider.identifier == "textus" and provider.account_slug == "acme"


def test_the_demo_organizations_texts_go_to_the_sandbox_when_no_provider_is_set_anywhere(
    scoped, candidate, sandbox, settings, django_capture_on_commit_callbacks
):
    settings.SANDBOX_URL = sandbox.url
    scoped.is_demo = True  # the organization that chose the sandbox without settings
    scoped.save(update_fields=["is_demo"])
    with django_capture_on_commit_callbacks():
        message = services.message_send(
            organization=scoped, candidate=candidate, channel=Channel.SMS, body="Hi", source="api"
        )

    services.message_deliver(organization=scoped, message_id=message.pk)

    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert [m["to"] for m in sandbox.twilio.messages.values()] == [candidate.mobile_phone]


def test_text_fails_with_a_clear_reason_when_no_provider_and_no_sandbox(
    scoped, candidate, django_capture_on_commit_callbacks
):
    with pytest.raises(MessagingNotConfigured, match="Texting is not set up"):
        selectors.sms_provider_for(scoped)
    with django_capture_on_commit_callbacks():
        message = services.message_send(
            organization=scoped, candidate=candidate, channel=Channel.SMS, body="Hi", source="api"
        )

    services.message_deliver(organization=scoped, message_id=message.pk)

    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED
    assert "connect Twilio or TextUs" in message.error_message


def test_provider_secrets_are_encrypted_at_rest(org):
    from django.db import connection

    settings_row = _twilio(org, "ACsecret")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT auth_token FROM twilio_twiliosettings WHERE id = %s", [settings_row.pk]
        )
        (stored,) = cursor.fetchone()
    assert stored.startswith("fernet:") and "secret-token" not in stored
