"""The Inbox: the conversation list with its filters, the state of one thread (messages, the
opt-out lock, how texting is set up) and the two small writes the Inbox makes itself (mark a
conversation read, assign it). Sending goes through :func:`messaging.services.message_send`.

Every function takes the organization; reads go through the unscoped manager with an explicit
organization filter so they also work outside a request (tests, the context processor).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Count, F, Max, OuterRef, Q, QuerySet, Subquery, Sum
from django.utils import timezone

from accounts.models import Membership
from integrations.messaging import E164, twilio_error_explanation
from integrations.messaging_screens import MessagingScreen
from integrations.screens import get_screen
from messaging import badge, selectors
from messaging.email_consent import CAN_EMAIL_OFF_REASON, email_is_locked, email_opt_out_reason
from messaging.models import (
    Channel,
    Conversation,
    Direction,
    Message,
    MessageStatus,
    OptOutAction,
    OptOutEntry,
    OptOutSource,
)
from messaging.quiet_hours import ZoneGuess, next_window_opening

FILTER_VIEWS: dict[str, str] = {
    "all": "All",
    "unread": "Unread",
    "mine": "Mine",
    "opted_out": "Opted out",
}
THREAD_MESSAGE_LIMIT = 200
SMS_MAX_CHARS = 1600  # the texting providers refuse longer bodies
_PHONE_QUERY = re.compile(r"^\+?[\d\s().-]{3,}$")


# --------------------------------------------------------------------------------------------
# The conversation list
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InboxFilters:
    view: str = "all"
    q: str = ""

    @classmethod
    def from_query(cls, query) -> InboxFilters:
        view = query.get("view") or "all"
        return cls(
            view=view if view in FILTER_VIEWS else "all",
            q=(query.get("q") or "").strip()[:100],
        )

    @property
    def active(self) -> bool:
        return self.view != "all" or bool(self.q)

    def query(self, **extra) -> str:
        """The filters as a query string (without ``?``), for links that keep them."""
        params = {"view": self.view if self.view != "all" else "", "q": self.q, **extra}
        return urlencode({k: v for k, v in params.items() if v not in ("", None)})


def _fingerprint(state) -> str:
    """A short, stable digest of ``state`` (change detection only, not security)."""
    return hashlib.blake2b(repr(state).encode(), digest_size=8).hexdigest()


def _latest_opt_out_action(organization):
    return Subquery(
        OptOutEntry.unscoped.filter(
            organization_id=organization.pk, phone=OuterRef("candidate__mobile_phone")
        )
        .order_by("-created_at", "-id")
        .values("action")[:1]
    )


def _annotated(organization) -> QuerySet[Conversation]:
    return Conversation.unscoped.filter(organization_id=organization.pk).annotate(
        opt_out_action=_latest_opt_out_action(organization)
    )


def _search(q: str) -> Q:
    """Match a name, an e-mail or a phone number, however it was typed."""
    if _PHONE_QUERY.match(q):
        digits = re.sub(r"\D", "", q)
        national = digits.lstrip("0")  # "07700 900123" finds "+447700900123"
        if len(national) >= 3:
            return Q(candidate__mobile_phone__contains=national)
    condition = Q()
    for term in q.split():
        condition &= (
            Q(candidate__first_name__icontains=term)
            | Q(candidate__last_name__icontains=term)
            | Q(candidate__primary_email__icontains=term)
        )
    return condition


def conversation_list(*, organization, user, filters: InboxFilters) -> QuerySet[Conversation]:
    """Conversations matching ``filters``, newest message first, each annotated with
    ``opt_out_action`` (the latest ledger action for the candidate's mobile number) and
    ``last_message_id``."""
    last_message = (
        Message.unscoped.filter(organization_id=organization.pk, conversation_id=OuterRef("pk"))
        .order_by("-created_at", "-id")
        .values("pk")[:1]
    )
    qs = (
        _annotated(organization)
        .annotate(last_message_id=Subquery(last_message))
        .select_related("candidate", "assigned_to")
    )
    if filters.view == "unread":
        qs = qs.filter(unread_count__gt=0)
    elif filters.view == "mine":
        qs = qs.filter(assigned_to=user)
    elif filters.view == "opted_out":
        qs = qs.filter(opt_out_action=OptOutAction.LOCK)
    if filters.q:
        qs = qs.filter(_search(filters.q))
    return qs.order_by(F("last_message_at").desc(nulls_last=True), "-id")


def attach_last_messages(*, organization, conversations: list[Conversation]) -> None:
    """Set ``conversation.last_message`` on each (one query for the whole page)."""
    ids = [c.last_message_id for c in conversations if c.last_message_id]
    found = Message.unscoped.filter(organization_id=organization.pk, pk__in=ids).only(
        "pk", "channel", "direction", "subject", "body", "created_at", "status"
    )
    by_id = {m.pk: m for m in found}
    for conversation in conversations:
        conversation.last_message = by_id.get(conversation.last_message_id)


@dataclass(frozen=True)
class InboxSummary:
    total: int
    unread: int
    mine: int
    opted_out: int
    fingerprint: str

    def count_for(self, view: str) -> int:
        return {"all": self.total, "unread": self.unread, "mine": self.mine}.get(
            view, self.opted_out
        )


def inbox_summary(*, organization, user, salt: str = "") -> InboxSummary:
    """Counts for the filter tabs and a fingerprint that changes whenever the list would:
    a new message, a read, an assignment, a lock or unlock. One query."""
    row = _annotated(organization).aggregate(
        total=Count("id"),
        unread=Count("id", filter=Q(unread_count__gt=0)),
        unread_messages=Sum("unread_count"),
        mine=Count("id", filter=Q(assigned_to=user)),
        opted_out=Count("id", filter=Q(opt_out_action=OptOutAction.LOCK)),
        last=Max("last_message_at"),
        # A change detector, not a figure: any assign or unassign moves the sum.
        assignments=Sum("assigned_to_id"),
    )
    digest = _fingerprint((sorted(row.items()), salt))
    return InboxSummary(
        total=row["total"],
        unread=row["unread"],
        mine=row["mine"],
        opted_out=row["opted_out"],
        fingerprint=digest,
    )


def unread_conversation_count(*, organization) -> int:
    """The sidebar's badge (cached per organization: ``messaging.badge``)."""
    return badge.unread_conversation_count(organization=organization)


def conversation_get(*, organization, pk: int) -> Conversation | None:
    return (
        Conversation.unscoped.filter(organization_id=organization.pk, pk=pk)
        .select_related("candidate", "assigned_to")
        .first()
    )


# --------------------------------------------------------------------------------------------
# One thread
# --------------------------------------------------------------------------------------------


def _person(user) -> str:
    if user is None:
        return "a former team member"
    return user.get_full_name() or user.email


@dataclass
class LockState:
    """The opt-out state of a candidate's mobile number, with its ledger history."""

    phone: str
    history: list[OptOutEntry] = field(default_factory=list)

    @property
    def latest(self) -> OptOutEntry | None:
        return self.history[0] if self.history else None

    @property
    def locked(self) -> bool:
        return self.latest is not None and self.latest.action == OptOutAction.LOCK

    @property
    def manual(self) -> bool:
        return self.locked and self.latest.source == OptOutSource.MANUAL

    @property
    def notice(self) -> str:
        """Why texts are blocked, in the words a recruiter needs."""
        entry = self.latest
        if not self.locked:
            return ""
        when = timezone.localtime(entry.created_at).strftime("%-d %b %Y")
        tail = "texts are blocked until they reply START."
        if entry.source == OptOutSource.KEYWORD:
            word = (entry.keyword or "STOP").strip().upper()
            return f"{self.phone} opted out on {when} by texting {word} — {tail}"
        if entry.source == OptOutSource.MANUAL:
            return f"{self.phone} was locked by {_person(entry.actor)} on {when} — {tail}"
        if entry.source == OptOutSource.PROVIDER_ERROR_21610:
            return (
                f"{self.phone} opted out on {when}: the texting provider refused a text because "
                f"they replied STOP to our number (provider error 21610) — {tail}"
            )
        return f"{self.phone} opted out on {when} (reported by the texting provider) — {tail}"


def entry_description(entry: OptOutEntry) -> str:
    """One line of the ledger history: what happened and who or what did it."""
    if entry.source == OptOutSource.KEYWORD:
        word = (entry.keyword or "").strip().upper()
        verb = "Opted out" if entry.action == OptOutAction.LOCK else "Opted back in"
        return f"{verb}: the candidate texted {word}" if word else verb
    if entry.source == OptOutSource.MANUAL:
        verb = "Locked" if entry.action == OptOutAction.LOCK else "Unlocked"
        return f"{verb} by {_person(entry.actor)}"
    if entry.source == OptOutSource.PROVIDER_ERROR_21610:
        return "Opted out: the provider refused a text (provider error 21610)"
    verb = "Opted out" if entry.action == OptOutAction.LOCK else "Opted back in"
    return f"{verb}: reported by the texting provider"


def lock_state(*, organization, phone: str) -> LockState:
    if not phone:
        return LockState(phone="")
    history = list(
        selectors.opt_out_history(organization=organization, phone=phone)
        .select_related("actor")
        .order_by("-created_at", "-id")[:50]
    )
    return LockState(phone=phone, history=history)


def thread_messages(*, organization, conversation: Conversation) -> tuple[list[Message], bool]:
    """The latest messages of a thread, oldest first, and whether older ones were left out."""
    newest_first = list(
        selectors.conversation_messages(organization=organization, conversation=conversation)
        .select_related("sent_by")
        .order_by("-created_at", "-id")[: THREAD_MESSAGE_LIMIT + 1]
    )
    truncated = len(newest_first) > THREAD_MESSAGE_LIMIT
    return list(reversed(newest_first[:THREAD_MESSAGE_LIMIT])), truncated


def thread_fingerprint(*, conversation: Conversation, lock: LockState) -> str:
    """Changes whenever the thread would look different: a message arrives or changes status,
    the number is locked or unlocked, the conversation is (un)assigned. One query."""
    row = Message.unscoped.filter(
        organization_id=conversation.organization_id, conversation_id=conversation.pk
    ).aggregate(n=Count("id"), newest=Max("id"), changed=Max("status_updated_at"))
    latest = lock.latest.pk if lock.latest else None
    state = (sorted(row.items()), latest, conversation.assigned_to_id)
    return _fingerprint(state)


@dataclass(frozen=True)
class SmsSetup:
    """How the organization texts: its own provider, the default sandbox, or not at all."""

    mode: str  # "provider" | "sandbox" | "missing"
    provider: str = ""

    @property
    def missing_reason(self) -> str:
        if self.mode != "missing":
            return ""
        return selectors.texting_not_set_up()


def sms_setup(*, organization) -> SmsSetup:
    identifier, row = selectors.sms_settings_for(organization)
    if row is not None:
        return SmsSetup(mode="provider", provider=identifier)
    if selectors.sms_uses_sandbox(organization):
        return SmsSetup(mode="sandbox", provider=selectors.sandbox_sms_provider())
    return SmsSetup(mode="missing")


def sandbox_phone_url(setup: SmsSetup, phone: str = "") -> str:
    """The sandbox texting vendor's phone screen for ``phone`` (the texts it received, and a
    form to answer as the candidate), or all its phones; "" unless texts go to the sandbox."""
    screen = get_screen(setup.provider) if setup.mode == "sandbox" else None
    return screen.sandbox_phones(phone) if isinstance(screen, MessagingScreen) else ""


def quiet_hours_hint(*, organization, zone: ZoneGuess, now: datetime | None = None) -> str:
    """When a text sent now would be held for quiet hours, say so (and until when)."""
    window = selectors.preferences_for(organization=organization).window(Channel.SMS)
    if window is None:
        return ""
    now = now or timezone.now()
    start, end, days = window
    opens = next_window_opening(now=now, zone=zone.zone, start=start, end=end, days=days)
    if opens is None:
        return ""
    tz = ZoneInfo(zone.zone)
    local_now, local_open = now.astimezone(tz), opens.astimezone(tz)
    when = local_open.strftime("%H:%M")
    if local_open.date() != local_now.date():
        when = local_open.strftime("%a %-d %b %H:%M")
    return (
        f"It is {local_now:%H:%M} for the candidate ({zone.zone}): a text sent now is held "
        f"until {when} (quiet hours)."
    )


# --------------------------------------------------------------------------------------------
# Message status as users know it
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StatusLabel:
    text: str
    tone: str = ""  # "ok" | "warn" | "bad" | ""
    detail: str = ""


_PLAIN_STATUS = {
    MessageStatus.QUEUED: StatusLabel("Queued"),
    MessageStatus.SENDING: StatusLabel("Sending"),
    MessageStatus.SENT: StatusLabel("Sent"),
    MessageStatus.DELIVERED: StatusLabel("Delivered", "ok"),
    MessageStatus.READ: StatusLabel("Read", "ok"),
    MessageStatus.OPENED: StatusLabel("Opened", "ok"),
    MessageStatus.RECEIVED: StatusLabel("Received"),
}


def _held_until(moment: datetime, zone: str) -> str:
    tz = ZoneInfo(zone)
    local = moment.astimezone(tz)
    if local.date() == timezone.now().astimezone(tz).date():
        return f"{local:%H:%M} {zone}"
    return f"{local:%a %-d %b %H:%M} {zone}"


def message_status_label(message: Message, *, zone: str) -> StatusLabel:
    """The status line under a message. ``zone`` is the candidate's (quiet hours are kept in
    it)."""
    status = message.status
    if status in _PLAIN_STATUS:
        return _PLAIN_STATUS[status]
    if status in (MessageStatus.UNDELIVERED, MessageStatus.FAILED):
        code = message.error_code
        explanation = message.error_message or twilio_error_explanation(code) or ""
        if not explanation:
            explanation = "The provider gave no reason."
        detail = f"Error {code}: {explanation}" if code else explanation
        return StatusLabel("Not delivered", "bad", detail)
    if status == MessageStatus.HELD:
        if message.hold_until:
            return StatusLabel(
                f"Held until {_held_until(message.hold_until, zone)} (quiet hours)", "warn"
            )
        return StatusLabel("Held (quiet hours)", "warn")
    if status == MessageStatus.CANCELED:
        if "opted out" in message.error_message.lower():
            return StatusLabel("Canceled: opted out", "bad", message.error_message)
        return StatusLabel("Canceled", "bad", message.error_message)
    if status == MessageStatus.UNKNOWN:
        return StatusLabel(
            "Unknown — check before resending",
            "warn",
            message.error_message or "The provider did not confirm the send; it may still arrive.",
        )
    if status == MessageStatus.SKIPPED:
        return StatusLabel("Skipped", "warn", message.error_message)
    return StatusLabel(message.get_status_display())


_SOURCE_LABELS = {
    "auto_reply": "Automatic reply",
    "journey": "Journey",
    "api": "API",
    "inbox": "Inbox",
    "manual": "Sent by hand",
    "bulk": "Bulk send",
}


def sender_label(message: Message, *, candidate=None) -> str:
    """Who wrote a message: the candidate, a person, a journey, an automatic reply."""
    if message.direction == Direction.INBOUND:
        return candidate.full_name if candidate else message.from_address
    if message.sent_by_id:
        return _person(message.sent_by)
    source = message.source or ""
    return _SOURCE_LABELS.get(source, source.replace("_", " ").capitalize() or "RecruitFlow")


@dataclass(frozen=True)
class ThreadItem:
    message: Message
    sender: str
    status: StatusLabel
    inbound: bool
    retryable: bool


def thread_items(*, messages: list[Message], candidate, zone: str) -> list[ThreadItem]:
    return [
        ThreadItem(
            message=m,
            sender=sender_label(m, candidate=candidate),
            status=message_status_label(m, zone=zone),
            inbound=m.direction == Direction.INBOUND,
            retryable=m.direction == Direction.OUTBOUND
            and m.status in (MessageStatus.FAILED, MessageStatus.UNKNOWN),
        )
        for m in messages
    ]


def sms_availability(*, candidate, lock: LockState, setup: SmsSetup) -> str:
    """Why the Text channel cannot be used for ``candidate`` (empty when it can)."""
    phone = (candidate.mobile_phone or "").strip()
    if not phone:
        return f"No mobile number for {candidate.full_name}: add one in your ATS to text them."
    if not E164.match(phone):
        return (
            f"{phone} is not a full international mobile number (like +447700900123): "
            "correct it in your ATS to text them."
        )
    if lock.locked:
        return lock.notice
    return setup.missing_reason


def email_availability(*, candidate, organization=None) -> str:
    """Why the E-mail channel cannot be used for ``candidate`` (empty when it can): no address,
    the ATS forbids e-mail, or the address is on the e-mail opt-out ledger."""
    address = (candidate.primary_email or "").strip()
    if not address:
        return f"No e-mail address for {candidate.full_name}: add one in your ATS to e-mail them."
    if not candidate.can_email:
        return f"E-mail is locked: {CAN_EMAIL_OFF_REASON}."
    if organization is not None and email_is_locked(organization, address):
        return f"E-mail is locked: {email_opt_out_reason(organization, address)}"
    return ""


# --------------------------------------------------------------------------------------------
# Writes
# --------------------------------------------------------------------------------------------


@transaction.atomic
def conversation_mark_read(*, organization, conversation: Conversation) -> bool:
    """Reset the unread count; True when there was something unread."""
    changed = Conversation.objects.filter(
        organization=organization, pk=conversation.pk, unread_count__gt=0
    ).update(unread_count=0)
    if changed:
        conversation.unread_count = 0
        badge.conversation_read(organization_id=organization.pk)
    return bool(changed)


def open_conversation_mark_read(*, organization, pk: int) -> bool:
    """The conversation open in the Inbox's thread pane is being read: reset its unread count
    (one UPDATE, nothing when it is read already or not this organization's). True when there
    was something unread."""
    changed = Conversation.objects.filter(
        organization=organization, pk=pk, unread_count__gt=0
    ).update(unread_count=0)
    if changed:
        badge.conversation_read(organization_id=organization.pk)
    return bool(changed)


@transaction.atomic
def conversation_assign(*, organization, conversation: Conversation, assignee) -> Conversation:
    """Give the conversation to ``assignee`` (a member of the organization), or to nobody."""
    if (
        assignee is not None
        and not Membership.objects.filter(organization=organization, user=assignee).exists()
    ):
        raise ValueError(f"{_person(assignee)} is not a member of {organization.name}.")
    Conversation.objects.filter(organization=organization, pk=conversation.pk).update(
        assigned_to=assignee
    )
    conversation.assigned_to = assignee
    return conversation


@transaction.atomic
def conversation_open(*, organization, candidate) -> Conversation:
    """The candidate's conversation, created empty when nobody wrote to them yet."""
    conversation, _ = Conversation.objects.get_or_create(
        organization=organization, candidate=candidate
    )
    return conversation
