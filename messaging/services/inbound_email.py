"""E-mail replies and e-mail opt-outs from the provider.

Every outbound e-mail of a conversation carries ``Reply-To: reply+c<id>-<mac>@o<account>.<REPLY_EMAIL_DOMAIN>``
(:func:`reply_address`, the host from :func:`messaging.selectors.reply_domain`): the plus part names the conversation and is signed, so a reply finds
its thread and nobody can post into another one by guessing. The e-mail provider parses the
reply and posts it to the organization's endpoint; the intake hands the neutral
:class:`~integrations.messaging.InboundEmail` to :func:`inbound_email_apply`, which stores it in
the thread (quoted text trimmed, :func:`trim_quoted`), counts it unread and writes the
``replied`` timeline entry (what the journeys' "replied" exit reads, and write-back's first or
later reply). :func:`email_opt_out_apply` applies the provider's unsubscribe, spam report and
hard bounce events to the e-mail ledger.
"""

from __future__ import annotations

import re
import secrets

from django.db.models import F
from django.utils.crypto import salted_hmac

from candidates.models import Candidate
from integrations import intake
from integrations.messaging import EmailOptOutChange, InboundEmail
from messaging import badge, selectors, timeline_kinds
from messaging.email_consent import email_opt_out_lock
from messaging.email_layout import html_to_text
from messaging.models import (
    Channel,
    Conversation,
    Direction,
    EmailOptOutSource,
    Message,
    MessageEvent,
    MessageStatus,
)
from messaging.services.common import _conversation_for, _timeline
from recruitflow.tenancy import tenant_scope

REPLY_SALT = "messaging.reply-address"
REPLY_LOCAL = re.compile(r"^reply\+c(\d+)-([0-9a-f]{20})@", re.IGNORECASE)

# --------------------------------------------------------------------------------------------
# Reply addresses
# --------------------------------------------------------------------------------------------


def _mac(organization_id: int, conversation_id: int) -> str:
    # Hex, so a mail system that lower-cases the address keeps it valid.
    return salted_hmac(REPLY_SALT, f"{organization_id}:{conversation_id}").hexdigest()[:20]


def reply_address(conversation: Conversation, *, domain: str | None = None) -> str:
    """The address replies to this conversation's e-mails go to (``domain``: the
    organization's reply host when the caller already knows it)."""
    mac = _mac(conversation.organization_id, conversation.pk)
    domain = domain or selectors.reply_domain(conversation.organization)
    return f"reply+c{conversation.pk}-{mac}@{domain}"


def conversation_for_recipients(recipients, *, organization_ids: list[int]):
    """The conversation a reply address among ``recipients`` names, when its signature holds
    and it belongs to one of ``organization_ids``; else None."""
    for address in recipients:
        match = REPLY_LOCAL.match(address or "")
        if not match:
            continue
        conversation_id, mac = int(match.group(1)), match.group(2).lower()
        conversation = (
            Conversation.unscoped.select_related("candidate", "organization")
            .filter(pk=conversation_id, organization_id__in=organization_ids)
            .first()
        )
        if conversation is not None and secrets.compare_digest(
            mac, _mac(conversation.organization_id, conversation.pk)
        ):
            return conversation
    return None


# --------------------------------------------------------------------------------------------
# Quoted text
# --------------------------------------------------------------------------------------------

# "On Tue, 3 Dec 2026 at 10:02, Acme Recruiting <reply+…> wrote:" (and a few other languages);
# mail apps wrap it over two lines when it is long.
ATTRIBUTION = re.compile(
    r"^(On\s.+\swrote|Le\s.+\sa\s[ée]crit|Am\s.+\sschrieb|El\s.+\sescribi[oó]|Op\s.+\sschreef)"
    r"\s?:\s*$",
    re.IGNORECASE | re.DOTALL,
)
ORIGINAL_MESSAGE = re.compile(
    r"^(-{2,}\s*(Original Message|Forwarded message)\s*-{2,}|_{20,})\s*$", re.IGNORECASE
)
OUTLOOK_HEADER = re.compile(r"^\*?(From|Sent|Date|To|Cc|Subject)\s*:\*?\s", re.IGNORECASE)


def _outlook_block_at(lines: list[str], index: int) -> bool:
    """Outlook's quoted header: "From: …" followed within a few lines by "Sent:"/"Date:" and
    "To:"/"Subject:"."""
    if not re.match(r"^\*?From\s*:", lines[index].strip(), re.IGNORECASE):
        return False
    following = [line.strip() for line in lines[index + 1 : index + 7]]
    names = {m.group(1).lower() for line in following if (m := OUTLOOK_HEADER.match(line + " "))}
    return bool(names & {"sent", "date"}) and bool(names & {"to", "subject"})


def trim_quoted(text: str) -> str:
    """A reply without the message it quotes: cut at the attribution line ("On … wrote:"),
    at Outlook's "From: / Sent: / To:" block or an "Original Message" rule, and without
    "> " quoted lines. An e-mail that is nothing but quote is returned as it came."""
    lines = (text or "").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    cut = len(lines)
    for index, line in enumerate(lines):
        stripped = line.strip()
        joined = f"{stripped} {lines[index + 1].strip()}" if index + 1 < len(lines) else ""
        if (
            ATTRIBUTION.match(stripped)
            or (stripped.lower().startswith(("on ", "le ", "am ", "el ", "op ")) and joined
                and ATTRIBUTION.match(joined))
            or ORIGINAL_MESSAGE.match(stripped)
            or _outlook_block_at(lines, index)
        ):  # fmt: skip
            cut = index
            break
    kept = [line.rstrip() for line in lines[:cut] if not line.lstrip().startswith(">")]
    trimmed = "\n".join(kept).strip()
    trimmed = re.sub(r"\n{3,}", "\n\n", trimmed)
    return trimmed or (text or "").strip()


# --------------------------------------------------------------------------------------------
# Applying a reply
# --------------------------------------------------------------------------------------------


def _reply_text(inbound: InboundEmail) -> str:
    text = inbound.text.strip() if inbound.text and inbound.text.strip() else ""
    if not text and inbound.html:
        text = html_to_text(inbound.html)
    return trim_quoted(text)


def inbound_email_receive(
    *, organization, inbound: InboundEmail, conversation: Conversation | None, provider: str
) -> Message:
    """Store a reply in ``organization`` (in ``conversation`` when the reply address named one,
    else with the candidate whose address sent it, else unmatched), count it unread and write
    the ``replied`` timeline entry. Raises IntegrityError (the database's) for a reply already stored."""
    candidate = conversation.candidate if conversation is not None else None
    if candidate is None:
        candidate = (
            Candidate.objects.filter(
                organization=organization,
                primary_email__iexact=inbound.from_email,
                deleted_at__isnull=True,
            )
            .order_by("-remote_updated_at", "-id")
            .first()
        )
        if candidate is not None:
            conversation = _conversation_for(organization=organization, candidate=candidate)
    earlier_replies = (
        Message.objects.filter(
            organization=organization, candidate=candidate, direction=Direction.INBOUND
        ).exists()
        if candidate is not None
        else False
    )
    body = _reply_text(inbound)
    to_address = next(
        (a for a in inbound.recipients if REPLY_LOCAL.match(a)),
        inbound.recipients[0] if inbound.recipients else "",
    )
    message = Message.objects.create(
        organization=organization,
        conversation=conversation,
        candidate=candidate,
        channel=Channel.EMAIL,
        direction=Direction.INBOUND,
        to_address=to_address[:254],
        from_address=inbound.from_email[:254],
        subject=inbound.subject[:500],
        body=body,
        status=MessageStatus.RECEIVED,
        provider=provider[:20],
        provider_message_id=intake.fit_id(inbound.message_id, 100),
        source="inbound",
        status_updated_at=inbound.received_at,
    )
    MessageEvent.objects.create(
        organization=organization,
        message=message,
        status=MessageStatus.RECEIVED,
        raw={
            **dict(inbound.raw),
            "attachments": [
                {"filename": name, "type": kind, "size": size}
                for name, kind, size in inbound.attachments
            ],
            "full_text": inbound.text[:20000],
        },
        occurred_at=inbound.received_at,
    )
    if conversation is not None:
        Conversation.objects.filter(pk=conversation.pk).update(
            unread_count=F("unread_count") + 1, last_message_at=inbound.received_at
        )
        badge.unread_changed(organization_id=organization.pk)
    _timeline(
        organization=organization,
        candidate=candidate,
        kind=timeline_kinds.REPLIED,
        summary=f"Replied by e-mail: {body}"[:500],
        message_id=message.pk,
        channel=Channel.EMAIL,
        reply="later" if earlier_replies else "first",
        subject=inbound.subject[:200],
    )
    return message


def inbound_email_apply(record: InboundEmail, context: intake.Context) -> bool:
    """The intake's handler for :class:`InboundEmail`: the reply lands in the thread its reply
    address names (in the organization of the endpoint or one of its sub-accounts), once."""
    organization = context.organization
    subtree = selectors.organization_subtree(organization)
    org_ids = [org.pk for org in subtree]
    message_id = intake.fit_id(record.message_id, 100)
    if message_id:
        existing = Message.unscoped.filter(
            organization_id__in=org_ids,
            direction=Direction.INBOUND,
            channel=Channel.EMAIL,
            provider_message_id=message_id,
        ).first()
        if existing is not None:
            raise intake.Ignored(f"This reply is already message {existing.pk}.")
    conversation = conversation_for_recipients(record.recipients, organization_ids=org_ids)
    target = conversation.organization if conversation is not None else organization
    with tenant_scope(target):
        inbound_email_receive(
            organization=target,
            inbound=record,
            conversation=conversation,
            provider=context.delivery.provider,
        )
    return True


# --------------------------------------------------------------------------------------------
# The provider's opt-outs
# --------------------------------------------------------------------------------------------

OPT_OUT_SOURCES = {
    "unsubscribe": EmailOptOutSource.PROVIDER_UNSUBSCRIBE,
    "spam_report": EmailOptOutSource.SPAM_REPORT,
    "bounce": EmailOptOutSource.BOUNCE,
}


def email_opt_out_apply(record: EmailOptOutChange, context: intake.Context) -> bool:
    """The intake's handler for :class:`EmailOptOutChange`: lock the address in the
    organization whose provider reported it (an address already locked is left as it is)."""
    organization = context.organization
    message = selectors.message_find(organization=organization, our_id=record.our_message_id)
    entry = email_opt_out_lock(
        organization=organization,
        email=record.email,
        source=OPT_OUT_SOURCES.get(record.reason, EmailOptOutSource.PROVIDER_UNSUBSCRIBE),
        detail=record.detail,
        provider_event_id=record.event_id or "",
        message=message
        if message is not None and message.organization_id == organization.pk
        else None,
    )
    if entry is None:
        raise intake.Ignored(f"{record.email} is already opted out of e-mail.")
    return True


def register_email_handlers() -> None:
    """Called from ``MessagingConfig.ready()``."""
    intake.register(InboundEmail, inbound_email_apply)
    intake.register(EmailOptOutChange, email_opt_out_apply)
