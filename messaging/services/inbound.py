"""Callbacks and inbound: delivery updates, inbound texts and opt-out changes, routed
through a tree of accounts."""

from __future__ import annotations

import contextlib

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from candidates.models import Candidate
from integrations.messaging import (
    E164,
    DeliveryUpdate,
    InboundSMS,
    OptOutChange,
    should_apply,
    sms_segments,
    twilio_error_explanation,
)
from messaging import badge, selectors, timeline_kinds
from messaging.models import (
    Channel,
    Conversation,
    Direction,
    Message,
    MessageEvent,
    MessageStatus,
    OptOutSource,
)
from messaging.services.common import (
    DELIVERY_STATUS_MAP,
    OPTED_OUT_CODE,
    CannotSend,
    _conversation_for,
    _timeline,
)
from messaging.services.optouts import opt_out_lock, opt_out_unlock
from messaging.services.sending import message_send
from recruitflow.tenancy import tenant_scope

# --------------------------------------------------------------------------------------------
# Callbacks and inbound
# --------------------------------------------------------------------------------------------


@transaction.atomic
def message_status_apply(*, organization, update: DeliveryUpdate) -> Message | None:
    """Apply a delivery callback. Duplicates (same event id) are ignored; a terminal state only
    moves on delivered → read. A provider's "recipient opted out" refusal locks the number. None when the message is not ours."""
    message = selectors.message_find(
        organization=organization,
        our_id=update.our_message_id,
        provider_message_id=update.provider_message_id,
    )
    if message is None:
        return None
    message = Message.objects.select_for_update().get(pk=message.pk)
    event_id = update.event_id or ""
    if (
        event_id
        and MessageEvent.objects.filter(
            organization=organization, provider_event_id=event_id
        ).exists()
    ):
        return message
    MessageEvent.objects.create(
        organization=organization,
        message=message,
        status=update.status,
        error_code=update.error_code or "",
        provider_event_id=event_id,
        raw=dict(update.raw),
        occurred_at=update.occurred_at,
    )
    new_status = DELIVERY_STATUS_MAP.get(update.status)
    # Our "sending"/"unknown" mean "handed over, no word yet": any provider news is progress.
    current = "queued" if message.status in (MessageStatus.SENDING, "unknown") else message.status
    if new_status and should_apply(current, new_status):
        message.status = new_status
        message.status_updated_at = timezone.now()
        if not message.provider_message_id:
            message.provider_message_id = update.provider_message_id
        if new_status == MessageStatus.DELIVERED:
            message.delivered_at = update.occurred_at
        if update.error_code:
            message.error_code = update.error_code
            message.error_message = (
                update.error_message
                or twilio_error_explanation(update.error_code)
                or f"The provider reported error {update.error_code}."
            )
        message.save()
    if (
        update.error_code == OPTED_OUT_CODE
        and message.channel == Channel.SMS
        and not selectors.is_locked(organization, message.to_address)
    ):
        opt_out_lock(
            organization=organization,
            phone=message.to_address,
            source=OptOutSource.PROVIDER_ERROR_21610,
            message=message,
        )
    return message


@transaction.atomic
def inbound_sms_receive(*, organization, inbound: InboundSMS, provider: str = "") -> Message:
    """Store a text from a candidate (matched by mobile number; unmatched texts are kept
    without a conversation), count it unread, and act on STOP / START / HELP."""
    existing = Message.objects.filter(
        organization=organization,
        direction=Direction.INBOUND,
        provider_message_id=inbound.provider_message_id,
    ).first()
    if existing is not None:  # the provider retried the webhook
        return existing
    candidate = (
        Candidate.objects.filter(
            organization=organization, mobile_phone=inbound.from_e164, deleted_at__isnull=True
        )
        .order_by("-remote_updated_at", "-id")
        .first()
    )
    conversation = (
        _conversation_for(organization=organization, candidate=candidate) if candidate else None
    )
    encoding, segments, _ = sms_segments(inbound.body)
    message = Message.objects.create(
        organization=organization,
        conversation=conversation,
        candidate=candidate,
        channel=Channel.SMS,
        direction=Direction.INBOUND,
        to_address=inbound.to_e164,
        from_address=inbound.from_e164,
        body=inbound.body,
        status=MessageStatus.RECEIVED,
        provider=provider,
        provider_message_id=inbound.provider_message_id,
        segments=segments,
        encoding=encoding,
        source="inbound",
        status_updated_at=inbound.received_at,
    )
    MessageEvent.objects.create(
        organization=organization,
        message=message,
        status=MessageStatus.RECEIVED,
        raw=dict(inbound.raw),
        occurred_at=inbound.received_at,
    )
    if conversation is not None:
        Conversation.objects.filter(pk=conversation.pk).update(
            unread_count=F("unread_count") + 1, last_message_at=inbound.received_at
        )
        badge.unread_changed(organization_id=organization.pk)
    keyword = inbound.opt_out_keyword
    phone = inbound.from_e164
    if keyword == "stop":
        if not selectors.is_locked(organization, phone):
            opt_out_lock(
                organization=organization,
                phone=phone,
                source=OptOutSource.KEYWORD,
                keyword=inbound.body.strip()[:40],
                message=message,
            )
    elif keyword == "start":
        if selectors.is_locked(organization, phone):
            opt_out_unlock(
                organization=organization,
                phone=phone,
                source=OptOutSource.KEYWORD,
                keyword=inbound.body.strip()[:40],
                message=message,
            )
    elif keyword == "help" and candidate is not None:
        # A locked number gets no help reply either; the skip is on the timeline.
        with contextlib.suppress(CannotSend):
            message_send(
                organization=organization,
                candidate=candidate,
                channel=Channel.SMS,
                body=selectors.preferences_for(organization=organization).help_reply,
                source="auto_reply",
                idempotency_key=f"help-reply:{inbound.provider_message_id}",
                respect_quiet_hours=False,  # they just wrote to us
            )
    _timeline(
        organization=organization,
        candidate=candidate,
        kind=timeline_kinds.REPLIED,
        summary=f"Replied by text: {inbound.body}"[:500],
        message_id=message.pk,
        channel=Channel.SMS,
        keyword=keyword or "",
    )
    return message


# --------------------------------------------------------------------------------------------
# Callbacks to a tree of accounts
# --------------------------------------------------------------------------------------------


def _inbound_target(*, organization, subtree: list, inbound: InboundSMS):
    """Which organization a text that arrived on ``organization``'s number belongs to.

    The rule, for a number shared by an organization and its sub-accounts:
    1. Only organizations of the tree (``organization`` and its sub-accounts at any depth)
       with a candidate whose mobile number is the sender's are considered.
    2. Of those, the one that most recently texted that candidate wins — preferring texts sent
       from the number the reply arrived on — because a reply answers the last text.
    3. No texts yet: ``organization`` itself when it has the candidate, else the organization
       whose matching candidate changed most recently in the ATS.
    4. No candidate anywhere in the tree: ``organization`` keeps it, unmatched.
    """
    from_phone = inbound.from_e164
    by_id = {org.pk: org for org in subtree}
    with_candidate = list(
        dict.fromkeys(
            Candidate.unscoped.filter(
                organization_id__in=by_id, mobile_phone=from_phone, deleted_at__isnull=True
            )
            .order_by("-remote_updated_at", "-id")
            .values_list("organization_id", flat=True)
        )
    )
    if not with_candidate:
        return organization
    latest = selectors.latest_outbound_text(
        organizations=[by_id[pk] for pk in with_candidate],
        phone=from_phone,
        sender=inbound.to_e164,
    )
    if latest is not None:
        return by_id[latest.organization_id]
    if organization.pk in with_candidate:
        return organization
    return by_id[with_candidate[0]]


def _opt_out_everywhere(
    *, organizations: list, phone: str, lock: bool, source: str, keyword: str = ""
) -> int:
    """Lock (or unlock) ``phone`` in each of ``organizations`` where it is not already so.
    Returns how many ledgers changed."""
    changed = 0
    for org in organizations:
        with tenant_scope(org):
            if selectors.is_locked(org, phone) == lock:
                continue
            if lock:
                opt_out_lock(organization=org, phone=phone, source=source, keyword=keyword)
            else:
                opt_out_unlock(organization=org, phone=phone, source=source, keyword=keyword)
            changed += 1
    return changed


def inbound_sms_accept(*, organization, inbound: InboundSMS, provider: str = "") -> Message:
    """A text that arrived at ``organization``'s incoming-text URL: stored once in the
    organization it belongs to (see :func:`_inbound_target`), and a STOP or START applied to
    every organization of the tree that texts from the same sender — the provider blocks the
    sender for all of them, so none of them may text the number."""
    subtree = selectors.organization_subtree(organization)
    if inbound.provider_message_id:
        existing = Message.unscoped.filter(
            organization_id__in=[org.pk for org in subtree],
            direction=Direction.INBOUND,
            provider_message_id=inbound.provider_message_id,
        ).first()
        if existing is not None:  # a retry of a text already stored
            return existing
    target = _inbound_target(organization=organization, subtree=subtree, inbound=inbound)
    with tenant_scope(target):
        try:
            message = inbound_sms_receive(organization=target, inbound=inbound, provider=provider)
        except IntegrityError:
            # The same text, stored by a concurrent delivery of the webhook.
            return Message.unscoped.get(
                organization_id=target.pk,
                direction=Direction.INBOUND,
                provider_message_id=inbound.provider_message_id,
            )
    if inbound.opt_out_keyword in ("stop", "start"):
        sharing = selectors.organizations_sharing_sms_sender(
            organization=organization, among=subtree
        )
        _opt_out_everywhere(
            organizations=[org for org in sharing if org.pk != target.pk],
            phone=inbound.from_e164,
            lock=inbound.opt_out_keyword == "stop",
            source=OptOutSource.KEYWORD,
            keyword=inbound.body.strip()[:40],
        )
    return message


def opt_out_change_apply(*, organization, change: OptOutChange) -> int:
    """The provider reports that ``change.phone`` opted out or back in (a contact's opt-out
    event): applied to every organization of the tree
    that texts from the same sender. Changes that come with an inbound keyword text are left to
    that text (:func:`inbound_sms_accept`). Returns how many ledgers changed."""
    if change.source.endswith(":keyword") or not E164.match(change.phone or ""):
        return 0
    subtree = selectors.organization_subtree(organization)
    sharing = selectors.organizations_sharing_sms_sender(organization=organization, among=subtree)
    return _opt_out_everywhere(
        organizations=sharing,
        phone=change.phone,
        lock=change.opted_out,
        source=OptOutSource.PROVIDER_WEBHOOK,
    )


def message_status_route(*, organization, update: DeliveryUpdate) -> Message | None:
    """Apply a delivery callback that arrived at ``organization``'s URL to the message it is
    about — in the organization or one of its sub-accounts, whose texts and e-mails go out
    through the same provider account. None when no message of the tree matches."""
    subtree = selectors.organization_subtree(organization)
    message = selectors.message_find(
        organization=organization,
        organizations=subtree,
        our_id=update.our_message_id,
        provider_message_id=update.provider_message_id,
    )
    if message is None:
        return None
    owner = next(org for org in subtree if org.pk == message.organization_id)
    with tenant_scope(owner):
        return message_status_apply(organization=owner, update=update)
