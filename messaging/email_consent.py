"""E-mail consent: the e-mail opt-out ledger (beside the texts' one), the signed unsubscribe
links and the RFC 8058 one-click headers every journey e-mail carries.

An address is locked when its latest :class:`~messaging.models.EmailOptOutEntry` in the
organization is a lock. It gets locked when the recipient unsubscribes (the link in the e-mail,
or their mail app's one-click button, which POSTs ``List-Unsubscribe=One-Click`` to the same
URL), and when the e-mail provider reports an unsubscribe, a spam report or a hard bounce
(the provider suppresses the address from then on anyway). Locking cancels e-mails still
queued or held for it; every later e-mail is skipped with the reason on the timeline.
"""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from messaging.models import (
    Channel,
    Direction,
    EmailOptOutEntry,
    EmailOptOutSource,
    Message,
    MessageStatus,
    OptOutAction,
)

UNSUBSCRIBE_SALT = "messaging.email-unsubscribe"
ONE_CLICK_BODY = "List-Unsubscribe=One-Click"
# Why a candidate whose ATS record forbids e-mail (its ``can_email`` flag) gets none.
CAN_EMAIL_OFF_REASON = (
    "the candidate's ATS record says they may not be e-mailed (can_email is off), so no e-mail "
    "goes to them until that changes in the ATS"
)


def normalize_email(email: str) -> str:
    return (email or "").strip().lower()


# --------------------------------------------------------------------------------------------
# Reads
# --------------------------------------------------------------------------------------------


def email_opt_out_latest(*, organization, email: str) -> EmailOptOutEntry | None:
    return (
        EmailOptOutEntry.unscoped.filter(
            organization_id=organization.pk, email=normalize_email(email)
        )
        .order_by("-created_at", "-id")
        .first()
    )


def email_is_locked(organization, email: str) -> bool:
    """True when the latest e-mail ledger entry for ``email`` in ``organization`` is a lock."""
    if not email:
        return False
    latest = email_opt_out_latest(organization=organization, email=email)
    return latest is not None and latest.action == OptOutAction.LOCK


SOURCE_WORDS: dict[str, str] = {
    EmailOptOutSource.UNSUBSCRIBE_LINK: "unsubscribed with the link in an e-mail",
    EmailOptOutSource.ONE_CLICK: "unsubscribed with their mail app's unsubscribe button",
    EmailOptOutSource.PROVIDER_UNSUBSCRIBE: "unsubscribed (reported by the e-mail provider)",
    EmailOptOutSource.SPAM_REPORT: "marked an e-mail as spam",
    EmailOptOutSource.BOUNCE: "bounced: the address does not accept e-mail",
    EmailOptOutSource.MANUAL: "was marked as not to be e-mailed by a team member",
}


def email_opt_out_reason(organization, email: str) -> str:
    """Why ``email`` gets no e-mail, in words for a recruiter."""
    entry = email_opt_out_latest(organization=organization, email=email)
    if entry is None:
        return f"{email} gets no e-mails."
    when = entry.created_at.date().isoformat()
    how = SOURCE_WORDS.get(entry.source, "opted out")
    return f"{email} {how} on {when}; no e-mails go to this address."


def email_opt_out_history(*, organization, email: str) -> list[EmailOptOutEntry]:
    """Every lock and unlock of ``email`` in ``organization``, newest first."""
    return list(
        EmailOptOutEntry.unscoped.filter(
            organization_id=organization.pk, email=normalize_email(email)
        )
        .select_related("actor")
        .order_by("-created_at", "-id")
    )


def email_opt_out_entry_text(entry: EmailOptOutEntry) -> str:
    """One ledger entry in words: how the address was locked, or who opted it back in and
    why."""
    who = (entry.actor.get_full_name() or entry.actor.email) if entry.actor else ""
    if entry.action == OptOutAction.UNLOCK:
        return f"Opted back in by {who or 'a team member'}: {entry.detail or 'no reason given'}"
    how = SOURCE_WORDS.get(entry.source, "opted out")
    if entry.source == EmailOptOutSource.MANUAL and who:
        how = f"was locked by {who}"
    return f"Locked: {entry.email} {how}" + (f" ({entry.detail})" if entry.detail else "")


def email_opt_outs(*, organization):
    """The organization's e-mail ledger, newest first."""
    return EmailOptOutEntry.unscoped.filter(organization_id=organization.pk).order_by(
        "-created_at", "-id"
    )


# --------------------------------------------------------------------------------------------
# Writes
# --------------------------------------------------------------------------------------------


@transaction.atomic
def email_opt_out_lock(
    *,
    organization,
    email: str,
    source: str,
    detail: str = "",
    provider_event_id: str = "",
    actor=None,
    message: Message | None = None,
) -> EmailOptOutEntry | None:
    """Lock ``email`` (a new ledger entry) and cancel every e-mail still queued or held for it.
    Idempotent: an address already locked gets no second entry (returns None)."""
    email = normalize_email(email)
    if not email or email_is_locked(organization, email):
        return None
    entry = EmailOptOutEntry.objects.create(
        organization=organization,
        email=email,
        locked=True,
        action=OptOutAction.LOCK,
        source=source,
        detail=detail[:500],
        provider_event_id=(provider_event_id or "")[:200],
        actor=actor,
        message=message,
    )
    Message.objects.filter(
        organization=organization,
        channel=Channel.EMAIL,
        direction=Direction.OUTBOUND,
        to_address__iexact=email,
        status__in=[MessageStatus.QUEUED, MessageStatus.HELD],
    ).update(
        status=MessageStatus.CANCELED,
        error_message=email_opt_out_reason(organization, email)[:1000],
        status_updated_at=timezone.now(),
    )
    return entry


@transaction.atomic
def email_opt_out_unlock(
    *, organization, email: str, reason: str, actor=None
) -> EmailOptOutEntry | None:
    """A team member lifts the lock because the candidate asked to be e-mailed again (by
    phone, in a reply…). ``reason`` is required and kept on the ledger beside who lifted it.
    Returns None when the address was not locked."""
    email = normalize_email(email)
    reason = (reason or "").strip()
    if not reason:
        raise ValueError("Say why this address may be e-mailed again.")
    if not email_is_locked(organization, email):
        return None
    return EmailOptOutEntry.objects.create(
        organization=organization,
        email=email,
        locked=False,
        action=OptOutAction.UNLOCK,
        source=EmailOptOutSource.MANUAL,
        detail=reason[:500],
        actor=actor,
    )


# --------------------------------------------------------------------------------------------
# Unsubscribe links and headers
# --------------------------------------------------------------------------------------------


def unsubscribe_token(*, organization, email: str) -> str:
    """A signed token naming the organization and the address (no expiry: a link in an old
    e-mail must keep working)."""
    return signing.dumps(
        {"o": organization.pk, "e": normalize_email(email)}, salt=UNSUBSCRIBE_SALT, compress=True
    )


def read_unsubscribe_token(token: str) -> tuple[int, str] | None:
    """``(organization id, email)`` of a genuine token, else None."""
    try:
        data = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("o"), int) or not data.get("e"):
        return None
    return data["o"], str(data["e"])


def unsubscribe_url(*, organization, email: str) -> str:
    token = unsubscribe_token(organization=organization, email=email)
    return settings.PUBLIC_BASE_URL.rstrip("/") + reverse(
        "messaging_email:unsubscribe", args=[token]
    )


def unsubscribe_headers(url: str) -> dict[str, str]:
    """RFC 8058 one-click unsubscribe: mail apps POST ``List-Unsubscribe=One-Click`` to the
    https URL in ``List-Unsubscribe``."""
    return {"List-Unsubscribe": f"<{url}>", "List-Unsubscribe-Post": ONE_CLICK_BODY}
