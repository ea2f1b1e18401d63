"""TextUs on Settings → Messaging (texts): the API token, the account texts go out from and the
webhook signing secret, checked against the account's opt-out list."""

from __future__ import annotations

from django.conf import settings

from integrations.http import NotFound, ProviderError
from integrations.messaging_screens import TEST_TIMEOUT_S, ConnectionCheck, MessagingScreen
from integrations.screens import register
from integrations.textus.forms import TextUsSettingsForm
from integrations.textus.models import TextUsSettings
from integrations.textus.provider import TextUsSMSProvider


@register
class TextUsScreen(MessagingScreen):
    identifier = "textus"
    capability = "sms"
    label = "TextUs"
    logo = "img/integrations/textus.svg"
    help_text = (
        "TextUs: texts go out from a TextUs account, and replies appear both in TextUs and here."
    )
    docs_url = "https://developers.textus.com/"
    model = TextUsSettings
    form_class = TextUsSettingsForm
    legacy_routes = (
        ("textus/", "save", "textus"),
        ("textus/test/", "test", "textus_test"),
    )
    webhooks = (
        (
            "textus",
            "Webhook URL",
            "In TextUs, go to Settings → Integrations → Webhooks, add this URL and subscribe to "
            "message.received, message.delivered, message.failed, contact.opted_out and "
            "contact.opted_in. Paste TextUs's signing secret into the form above.",
        ),
    )

    def summary(self, row) -> str:
        return f"account {row.account_slug}"

    def sandbox_fill(self):
        sandbox = settings.SANDBOX_URL
        if not sandbox:
            return None
        return {
            "token": "textus-sandbox-token",
            "account_slug": "acme-talent",
            "base_url": f"{sandbox}/textus",
        }

    def callback_problem(self, row, *, sandbox_shortcuts: bool) -> str:
        if not row.signing_secret:
            return (
                "The TextUs signing secret is not set: copy it from the TextUs webhook "
                "integration into Settings → Messaging."
            )
        return ""

    def clean_row(self, row) -> None:
        row.account_slug = row.account_slug.strip("/")

    def check(self, row, recorder) -> ConnectionCheck:
        try:
            provider = TextUsSMSProvider(
                row.provider_config(), on_call=recorder, timeout=TEST_TIMEOUT_S, max_attempts=1
            )
            # The account's opt-out list: needs a valid token *and* access to this account.
            provider.client.get(f"/{provider.account_slug}/opt_outs")
        except NotFound as exc:
            return ConnectionCheck(
                provider="textus",
                ok=False,
                problem="not_found",
                message=f"TextUs has no account “{row.account_slug}” ({exc.status}). Check the "
                "account's short name in the TextUs address bar: next.textus.com/<account>/…",
            )
        except ProviderError as exc:
            return self.failed(exc)
        checked = [
            "API token accepted",
            f"The token's user can use the account {row.account_slug}",
        ]
        message = f"TextUs accepted the token, and its user can text from {row.account_slug}."
        if not row.signing_secret:
            checked.append("No webhook signing secret: replies and delivery reports are refused")
            message += (
                " Paste the webhook signing secret too, or replies and delivery reports from "
                "TextUs will be refused."
            )
        return ConnectionCheck(provider="textus", ok=True, message=message, checked=tuple(checked))
