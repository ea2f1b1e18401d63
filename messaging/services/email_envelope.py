"""What an outbound e-mail carries besides its content: the conversation's reply address in
``Reply-To`` (so the candidate's answer lands in the Inbox thread), and for journey e-mails an
unsubscribe link in the footer plus the RFC 8058 one-click headers."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.utils.html import escape

from integrations.messaging import EmailProvider, ProviderError
from messaging import selectors
from messaging.email_consent import unsubscribe_headers, unsubscribe_url
from messaging.email_layout import html_to_text, text_to_html
from messaging.models import Conversation, Message
from messaging.services.inbound_email import reply_address

logger = logging.getLogger(__name__)

# Messages from these sources are bulk, automated mail: they carry the unsubscribe link and
# headers. A recruiter's own e-mail from the Inbox and interview logistics do not.
UNSUBSCRIBABLE_SOURCES = frozenset({"journey"})
FOOTER_TEXT = "Don't want these e-mails? Unsubscribe: {url}"
FOOTER_HTML = (
    '<p style="margin-top:24px;font-size:12px;color:#6b7280;">Don\'t want these e-mails? '
    '<a href="{url}">Unsubscribe</a>.</p>'
)


@dataclass(frozen=True)
class EmailEnvelope:
    html: str
    text: str
    reply_to: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


def email_envelope(
    *, organization, message: Message, reply_domain: str | None = None
) -> EmailEnvelope:
    """The parts of ``message`` to hand to the layout and the provider. ``reply_domain``: the
    organization's reply host when the caller knows it (else it is looked up)."""
    html, text = message.html or "", message.body or ""
    reply_to = None
    if message.conversation_id is not None:
        conversation = Conversation(
            pk=message.conversation_id, organization_id=message.organization_id
        )
        reply_to = reply_address(conversation, domain=reply_domain or None)
    headers: dict[str, str] = {}
    if message.source in UNSUBSCRIBABLE_SOURCES and message.to_address:
        url = unsubscribe_url(organization=organization, email=message.to_address)
        headers = unsubscribe_headers(url)
        content_html = html if html.strip() else text_to_html(text)
        content_text = text if text.strip() else html_to_text(html)
        html = content_html + FOOTER_HTML.format(url=escape(url))
        text = f"{content_text.rstrip()}\n\n{FOOTER_TEXT.format(url=url)}"
    return EmailEnvelope(html=html, text=text, reply_to=reply_to, headers=headers)


def sandbox_email_wire(*, organization, provider: EmailProvider) -> bool:
    """Before an e-mail goes out through the sandbox e-mail provider (development, with
    ``SANDBOX_SHORTCUTS``), have it parse ``organization``'s reply domain to the organization's
    reply URL — what an admin does once at the real provider — so "Reply as the candidate" in
    the sandbox outbox reaches the Inbox. The sandbox keeps it in memory, hence before every
    send (one local call). Never raises: a refusal is logged and the send goes on."""
    sandbox = settings.SANDBOX_URL
    if not (selectors.sandbox_shortcuts_enabled() and provider.base_url.startswith(sandbox)):
        return False
    parse = selectors.inbound_parse_url(organization=organization)
    try:
        return provider.configure_inbound(
            hostname=selectors.reply_domain(organization), url=parse.url_with_credentials
        )
    except ProviderError as exc:
        logger.warning("Could not point the sandbox's inbound parsing at %s: %s", parse.url, exc)
        return False
