"""The dashboard's setup checklist: each step to a first working journey, read from the rows the
domains write (never from a flag of its own), so an item flips the moment the real thing
happens — and back when it stops being true (a disconnected ATS, a paused journey).

Cost: the dashboard hands in the ATS overview it already read; texting and e-mail read the
messaging settings up the account tree (one query per vendor and organization level); calendars,
journeys, branding, team and API keys come from one query of EXISTS subqueries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Exists, OuterRef, Subquery
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from accounts.models import ApiKey, Membership, Organization
from candidates import selectors as candidate_selectors
from candidates.models import SyncStatus
from integrations.calendar_service import CalendarConnection, CalendarConnectionStatus
from integrations.models import ConnectionStatus
from integrations.screens import screens_for
from journeys.models import Journey
from messaging import selectors as messaging_selectors
from messaging.settings_views import tab_url
from scheduling.calendar_services import DEFAULT_WORKING_HOURS
from scheduling.models import BusyBlock, MemberCalendar

DEFAULT_BRAND_COLOR = "#2563eb"
# A webhook older than this reads as "quiet": still done (the ATS did reach us), but the line
# says when, so a webhook removed in the ATS does not go unnoticed.
WEBHOOK_QUIET_AFTER = timedelta(days=7)


@dataclass
class Item:
    key: str
    title: str
    done: bool
    why: str
    url: str
    action: str
    when: datetime | None = None  # shown after ``why``, in the organization's zone
    next: bool = False
    admin_only: bool = False  # its page is for owners and admins


@dataclass
class Checklist:
    items: list[Item]
    recommended: list[Item]

    @property
    def done(self) -> bool:
        return all(item.done for item in self.items)

    @property
    def done_count(self) -> int:
        return sum(item.done for item in self.items)

    @property
    def next_item(self) -> Item | None:
        return next((item for item in self.items if not item.done), None)


def sandbox_url() -> str:
    """Where "Use the sandbox" posts, or "" while this installation has no such page."""
    try:
        return reverse("use_sandbox")
    except NoReverseMatch:
        return ""


def _labels(capability: str) -> str:
    labels = [screen.label for screen in screens_for(capability)]
    if len(labels) < 2:
        return "".join(labels)
    return ", ".join(labels[:-1]) + " or " + labels[-1]


def _label_of(capability: str, identifier: str | None) -> str:
    return next(
        (s.label for s in screens_for(capability) if s.identifier == identifier), identifier or ""
    )


def _facts(organization: Organization) -> dict[str, bool]:
    """Everything below the ATS and messaging in one query of EXISTS subqueries (each through
    its model's scoped manager, so the tenant scope applies inside them too)."""
    org = OuterRef("pk")
    calendar_used = (
        Exists(
            CalendarConnection.objects.filter(
                organization=org, status=CalendarConnectionStatus.CONNECTED
            )
        )
        | Exists(BusyBlock.objects.filter(organization=org))
        | Exists(
            MemberCalendar.objects.filter(organization=org).exclude(
                working_hours=DEFAULT_WORKING_HOURS
            )
        )
    )
    row = (
        Organization.objects.filter(pk=organization.pk)
        .annotate(
            calendar_used=calendar_used,
            journey_active=Exists(Journey.objects.filter(organization=org, is_active=True)),
            journey_any=Exists(Journey.objects.filter(organization=org)),
            members=Subquery(
                Membership.objects.filter(organization=org)
                .values("organization")
                .annotate(n=Count("id"))
                .values("n")[:1]
            ),
            api_key=Exists(ApiKey.objects.filter(organization=org)),
        )
        .values("calendar_used", "journey_active", "journey_any", "members", "api_key")
        .first()
    )
    return row or {}


def _ats_items(ats, now: datetime) -> list[Item]:
    connection = ats.connection
    integrations = reverse("integrations:index")
    vendors = _labels("ats")
    if connection is None:
        connect = Item(
            "ats",
            "Connect your applicant tracking system",
            False,
            f"{vendors}: candidates and their stage changes come from there.",
            integrations,
            "Connect",
        )
    elif connection.status == ConnectionStatus.CONNECTED and connection.last_checked_at:
        connect = Item(
            "ats",
            "Connect your applicant tracking system",
            True,
            f"{_label_of('ats', ats.provider)} connected; the connection test passed on",
            integrations,
            "Open",
            when=connection.last_checked_at,
        )
    elif connection.status == ConnectionStatus.ERROR:
        first_line = (connection.last_error or "the last test failed").splitlines()[0]
        connect = Item(
            "ats",
            "Connect your applicant tracking system",
            False,
            f"Needs attention: {first_line[:200]} Fix it and test the connection again.",
            integrations,
            "Fix the connection",
        )
    else:
        connect = Item(
            "ats",
            "Connect your applicant tracking system",
            False,
            f"{_label_of('ats', ats.provider)} is saved but not tested: test the connection "
            "so every permission RecruitFlow needs is checked.",
            integrations,
            "Test the connection",
        )

    if ats.last_success is not None:
        sync = Item(
            "sync",
            "Run the first sync",
            True,
            "Jobs, stages and candidates are in; the last sync finished on",
            reverse("integrations:syncs"),
            "Sync history",
            when=ats.last_success.finished_at or ats.last_success.started_at,
        )
    elif ats.running_run is not None:
        sync = Item(
            "sync",
            "Run the first sync",
            False,
            "The first sync is running: jobs, stages and candidates are coming in.",
            reverse("integrations:syncs"),
            "Watch its progress",
        )
    elif ats.last_run is not None and ats.last_run.status == SyncStatus.FAILED:
        sync = Item(
            "sync",
            "Run the first sync",
            False,
            "The last sync failed; its error is in the sync history. Fix it, then Sync now.",
            reverse("integrations:syncs"),
            "See why",
        )
    else:
        sync = Item(
            "sync",
            "Run the first sync",
            False,
            "Copies your jobs, stages and candidates, so journeys can use your stage names.",
            integrations,
            "Sync now",
        )

    heard = connection.last_webhook_at if connection is not None else None
    if heard is None:
        why = (
            "Webhooks start journeys within seconds of a stage change (the poll catches up "
            "only every few minutes). Add the webhook shown on the Integrations page in your ATS."
        )
        hook = Item(
            "webhooks", "Receive webhooks from your ATS", False, why, integrations, "Set up"
        )
    elif now - heard > WEBHOOK_QUIET_AFTER:
        hook = Item(
            "webhooks",
            "Receive webhooks from your ATS",
            True,
            "Quiet for over a week: if stages changed since, check the webhook in your ATS. "
            "The last one arrived on",
            integrations,
            "Check",
            when=heard,
        )
    else:
        hook = Item(
            "webhooks",
            "Receive webhooks from your ATS",
            True,
            "Stage changes arrive in real time; the last webhook arrived on",
            integrations,
            "Open",
            when=heard,
        )
    return [connect, sync, hook]


def _messaging_item(organization: Organization) -> Item:
    sms_identifier, sms_row = messaging_selectors.sms_settings_for(organization)
    email_identifier, email_row = messaging_selectors.email_settings_for(organization)
    sandbox = messaging_selectors.sandbox_chosen_by_default(organization)
    texting = _label_of("sms", sms_identifier) if sms_row else ("the sandbox" if sandbox else "")
    email = (
        _label_of("email", email_identifier) if email_row else ("the sandbox" if sandbox else "")
    )
    # The tab of Settings → Messaging that does what is missing (texting first).
    url = tab_url("email" if texting and not email else "texting")
    if texting and email:
        why = f"Texts go out through {texting}, e-mails through {email}."
        return Item("messaging", "Set up texting and e-mail", True, why, url, "Open")
    missing = []
    if not texting:
        missing.append(f"texting ({_labels('sms')})")
    if not email:
        missing.append(f"e-mail ({_labels('email')}; until then this server's mail setup sends)")
    why = "Connect " + " and ".join(missing) + ", or use the sandbox to try it first."
    return Item("messaging", "Set up texting and e-mail", False, why, url, "Set up")


def setup_checklist(*, organization: Organization, ats=None, now=None) -> Checklist:
    """The six steps to a first working journey, in order, and the three also recommended.
    ``ats`` is ``candidates.selectors.ats_overview`` when the caller already read it."""
    now = now or timezone.now()
    if ats is None:
        ats = candidate_selectors.ats_overview(organization=organization)
    facts = _facts(organization)
    items = _ats_items(ats, now)
    items.append(_messaging_item(organization))
    for item in items:
        item.admin_only = True  # Settings → Integrations and Messaging, the sync history
    items.append(
        Item(
            "calendar",
            "Connect a calendar",
            bool(facts.get("calendar_used")),
            "Interview times come from your team's calendars: a member connected theirs, or "
            "keeps busy time and working hours in the built-in calendar."
            if facts.get("calendar_used")
            else "So candidates book only free times: connect your calendar, or set your "
            "working hours and busy time in the built-in calendar.",
            reverse("scheduling:calendar"),
            "My calendar",
        )
    )
    gallery = reverse("onboarding:starters")
    if facts.get("journey_active"):
        journey = Item(
            "journey",
            "Turn on your first journey",
            True,
            "A journey is live: candidates entering its stage get its messages.",
            reverse("journeys:list"),
            "Journeys",
        )
    elif facts.get("journey_any"):
        journey = Item(
            "journey",
            "Turn on your first journey",
            False,
            "Your journeys are all paused or drafts: open one and make it live, or start "
            "from a template.",
            gallery,
            "Start from a template",
        )
    else:
        journey = Item(
            "journey",
            "Turn on your first journey",
            False,
            "Start from a template (onsite invitation, phone-screen scheduling, rejection, "
            "offer, a nudge for stale candidates) adapted to your stages.",
            gallery,
            "Start from a template",
        )
    items.append(journey)
    following = next((item for item in items if not item.done), None)
    if following is not None:
        following.next = True
    recommended = [
        Item(
            "brand",
            "Brand your organization",
            bool(organization.logo) or organization.brand_color != DEFAULT_BRAND_COLOR,
            "Add your logo and colour; candidates see them on every e-mail and page.",
            reverse("settings:organization"),
            "Brand",
        ),
        Item(
            "team",
            "Invite your team",
            (facts.get("members") or 0) > 1,
            "Recruiters, coordinators and hiring managers each get their own login.",
            reverse("settings:team"),
            "Invite",
        ),
        Item(
            "api_key",
            "Create an API key",
            bool(facts.get("api_key")),
            "Partners and scripts use the REST API at /api/v1/.",
            reverse("settings:api_keys"),
            "API keys",
        ),
    ]
    return Checklist(items=items, recommended=recommended)
