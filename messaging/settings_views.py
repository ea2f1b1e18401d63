"""Settings → Messaging, in tabs (``?tab=``, links, no script; a form's errors reopen its tab):
quiet hours, the automatic texts, and the texting and e-mail vendors with the account tree's
inheritance shown. Each vendor's card, form and actions are its own
(``integrations/<vendor>/screen.py``, drawn by ``templates/integrations/<vendor>/settings.html``):
this page loops over the ``sms`` and ``email`` screens and names no vendor."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.models import Organization
from candidates.views import render_in_org_time
from integrations import intake
from integrations.forms import apply_errors as _apply_errors
from integrations.messaging import E164
from integrations.models import WebhookDelivery
from integrations.screens import screens_for
from messaging import inbox, selectors
from messaging import settings_services as services
from messaging.models import Channel
from messaging.quiet_hours import candidate_zone, next_window_opening, zone_from_location
from messaging.settings_forms import DAY_CHOICES, AutoTextsForm, QuietHoursForm, ZoneCheckForm
from recruitflow.decorators import admin_required
from recruitflow.tenancy import scopes_disabled

DAY_NAMES = dict(DAY_CHOICES)

# The page's tabs, each at ``?tab=<key>``; the first is the page's own address.
TABS = (
    ("quiet-hours", "Quiet hours"),
    ("auto-texts", "Automatic texts"),
    ("texting", "Texting provider"),
    ("email", "E-mail provider"),
    ("inheritance", "Inheritance"),
)
TAB_NAMES = dict(TABS)
DEFAULT_TAB = TABS[0][0]
# The tab of each form the page re-renders with its errors (vendors' forms: by capability).
FORM_TABS = {"quiet": "quiet-hours", "texts": "auto-texts"}
CAPABILITY_TABS = {"sms": "texting", "email": "email"}


def tab_url(tab: str) -> str:
    """The address of one tab of Settings → Messaging."""
    index = reverse("messaging_settings:index")
    return index if tab == DEFAULT_TAB else f"{index}?tab={tab}"


def _active_tab(request, forms: dict) -> tuple[str, str]:
    """``(tab, problem)``: the tab of the form being re-shown with its errors, else the one the
    address asks for; ``problem`` says why an unknown ``?tab=`` was not followed."""
    for name in forms:
        if name in FORM_TABS:
            return FORM_TABS[name], ""
        for capability, tab in CAPABILITY_TABS.items():
            if any(screen.identifier == name for screen in screens_for(capability)):
                return tab, ""
    asked = request.GET.get("tab", "").strip()
    if not asked or asked in TAB_NAMES:
        return asked or DEFAULT_TAB, ""
    choices = ", ".join(f"“{key}”" for key in TAB_NAMES)
    return DEFAULT_TAB, (
        f"Settings → Messaging has no tab “{asked[:40]}”, so {TAB_NAMES[DEFAULT_TAB]} is shown. "
        f"Use the tabs below (?tab= takes {choices})."
    )


def _models(capability: str) -> list[tuple[str, type]]:
    """``(identifier, settings model)`` of every vendor of ``capability``, in lookup order."""
    return [(screen.identifier, screen.model) for screen in screens_for(capability)]


EMAIL_BACKENDS = {
    "django.core.mail.backends.console.EmailBackend": "prints them in the server's log (console)",
    "django.core.mail.backends.filebased.EmailBackend": "writes them to files on the server",
    "django.core.mail.backends.locmem.EmailBackend": "keeps them in memory (test mode)",
    "django.core.mail.backends.dummy.EmailBackend": "discards them",
    "django.core.mail.backends.smtp.EmailBackend": "hands them to the SMTP server {host}",
}


# ----------------------------------------------------------------------------------------------
# What the page shows
# ----------------------------------------------------------------------------------------------


@dataclass
class ChannelState:
    """Whose provider settings a channel uses: this organization's, an ancestor's, or none."""

    identifier: str | None
    row: object | None
    own: bool
    owner: Organization | None
    screens: tuple = ()

    @property
    def inherited(self) -> bool:
        return self.row is not None and not self.own

    @property
    def screen(self):
        return next((s for s in self.screens if s.identifier == self.identifier), None)

    @property
    def provider_name(self) -> str:
        return self.screen.label if self.screen else ""

    @property
    def summary(self) -> str:
        return self.screen.summary(self.row) if self.screen and self.row is not None else ""


def _channel_state(organization, capability: str) -> ChannelState:
    screens = tuple(screens_for(capability))
    identifier, row = selectors._first_settings(organization, _models(capability))
    if row is None:
        return ChannelState(None, None, False, None, screens)
    own = row.organization_id == organization.pk
    owner = organization if own else Organization.objects.filter(pk=row.organization_id).first()
    return ChannelState(identifier, row, own, owner, screens)


def _inheriting_sub_accounts(organization, capability: str) -> list[Organization]:
    """Sub-accounts (at any depth) that use this organization's settings for a channel because
    neither they nor any account between them and this one has settings of their own."""
    found: list[Organization] = []
    frontier, seen = [organization.pk], {organization.pk}
    with scopes_disabled():  # the rows of this organization's own sub-accounts
        while frontier:
            children = [
                child
                for child in Organization.objects.filter(
                    parent_id__in=frontier, is_active=True
                ).order_by("name")
                if child.pk not in seen
            ]
            ids = [child.pk for child in children]
            with_own = set()
            for _, model in _models(capability):
                with_own |= set(
                    model.objects.filter(organization_id__in=ids).values_list(
                        "organization_id", flat=True
                    )
                )
            inheriting = [child for child in children if child.pk not in with_own]
            found.extend(inheriting)
            seen.update(ids)
            frontier = [child.pk for child in inheriting]
    return found


def _webhook_urls(organization, screen) -> list[dict]:
    try:
        urls = selectors.callback_urls(organization=organization)
    except NoReverseMatch:  # the webhook endpoints are not installed on this deployment
        return []
    found = []
    for name, label, where in screen.webhooks:
        found.append(
            {
                "id": f"{screen.identifier}-webhook-{name}",
                "label": label,
                "url": getattr(urls, name.replace("-", "_")),
                "where": where,
            }
        )
    return found


def _last_callback(organization, provider: str) -> WebhookDelivery | None:
    """The provider's latest callback to this organization (signature verified and stored)."""
    return intake.latest(organization=organization, provider=provider)


def _local(moment: datetime, zone: str) -> str:
    return moment.astimezone(ZoneInfo(zone)).strftime("%H:%M on %A")


def quiet_hours_examples(prefs, zone: str, *, today=None) -> list[str]:
    """Sentences saying what the SMS window does to a text queued after hours, computed with
    the same function that holds real texts."""
    start, end, days = prefs.window(Channel.SMS)
    tz = ZoneInfo(zone)
    today = today or timezone.now().astimezone(tz).date()
    outside = (
        datetime.combine(today, start) - datetime.combine(today, end)
    ).total_seconds() % 86400
    offset = timedelta(seconds=min(70 * 60, outside / 2))
    examples = []

    def example(day) -> str | None:
        queued = datetime.combine(day, end, tzinfo=tz) + offset
        opening = next_window_opening(
            now=queued.astimezone(UTC), zone=zone, start=start, end=end, days=days
        )
        if opening is None:
            return None
        return (
            f"A text queued at {_local(queued, zone)} ({zone}) for a candidate in {zone} is held "
            f"until {_local(opening, zone)}, then sent."
        )

    allowed = sorted(set(days))
    if not allowed:
        return []
    first_day = next(
        today + timedelta(days=n)
        for n in range(7)
        if (today + timedelta(days=n)).weekday() in allowed
    )
    sentence = example(first_day)
    if sentence:
        examples.append(sentence)
    # A day whose next day has no window (e.g. Friday when weekends are off).
    for n in range(7):
        day = today + timedelta(days=n)
        if day.weekday() in allowed and (day.weekday() + 1) % 7 not in allowed:
            sentence = example(day)
            if sentence and sentence not in examples:
                examples.append(sentence)
            break
    return examples


def _days_text(days) -> str:
    days = sorted(set(days))
    if days == list(range(7)):
        return "every day"
    if days == list(range(5)):
        return "Monday to Friday"
    return ", ".join(DAY_NAMES[d] for d in days)


def _zone_check(organization, prefs, form: ZoneCheckForm) -> dict | None:
    if not form.is_valid():
        return None
    phone = form.cleaned_data["check_phone"]
    location = form.cleaned_data["check_location"]
    guess = candidate_zone(
        phone=phone,
        office_locations=[location] if location else [],
        organization_zone=organization.time_zone,
    )
    now = timezone.now()
    start, end, days = prefs.window(Channel.SMS)
    opening = next_window_opening(now=now, zone=guess.zone, start=start, end=end, days=days)
    return {
        "phone": phone,
        "location": location,
        "zone": guess.zone,
        "evidence": guess.evidence,
        "location_unknown": bool(location) and zone_from_location(location) is None,
        "now_local": _local(now, guess.zone),
        "opening_local": _local(opening, guess.zone) if opening else "",
        "phone_is_e164": bool(phone and E164.match(phone)),
    }


class MessagingSettingsPage:
    """Settings → Messaging, as the texting and e-mail vendor screens see it."""

    capabilities = ("sms", "email")
    url_name = "messaging_settings:index"

    def render(self, request, *, forms=None, status=200):
        return _render(request, forms=forms, status=status)

    def address_of(self, screen) -> str:
        """The tab a vendor's card is on: its actions go back there."""
        return tab_url(CAPABILITY_TABS[screen.capability])

    def card(self, request, screen) -> dict:
        """The callback URLs to paste at the vendor, and its last callback (own row only)."""
        if screen.own(request.organization) is None:
            return {"webhooks": [], "last_callback": None}
        return {
            "webhooks": _webhook_urls(request.organization, screen),
            "last_callback": _last_callback(request.organization, screen.identifier),
        }

    def saved(self, request, screen) -> None:
        """A vendor's settings were saved: the organization needs its preferences row (it
        carries the webhook address)."""
        services.preferences_ensure(organization=request.organization)

    def after_disconnect(self, request, screen) -> str:
        """What the organization's texts or e-mails use now."""
        organization = request.organization
        after = _channel_state(organization, screen.capability)
        if screen.capability == "sms":
            if after.row is not None:
                return f"Texts now use {after.owner.name}'s {after.provider_name} settings."
            if selectors.sms_uses_sandbox(organization):
                return "Texts now go to the sandbox phone."
            return "No texts can be sent until a texting provider is connected."
        if after.row is not None:
            return f"E-mails now use {after.owner.name}'s {after.provider_name} settings."
        return "E-mails now go through the server's own e-mail backend."


PAGE = MessagingSettingsPage()


def _cards(request, channel: ChannelState, forms: dict) -> dict[str, dict]:
    cards = {}
    for screen in channel.screens:
        own_row = channel.row if channel.own and channel.identifier == screen.identifier else None
        cards[screen.identifier] = screen.card(
            request, PAGE, form=forms.get(screen.identifier), row=own_row
        )
    return cards


def _render(request, *, forms: dict | None = None, status: int = 200):
    organization = request.organization
    forms = forms or {}
    prefs = selectors.preferences_for(organization=organization)
    sms = _channel_state(organization, "sms")
    email = _channel_state(organization, "email")
    own_sms = sms.row if sms.own else None
    own_email = email.row if email.own else None

    checking = "check_phone" in request.GET or "check_location" in request.GET
    zone_form = ZoneCheckForm(request.GET if checking else None)
    sms_cards = _cards(request, sms, forms)
    email_cards = _cards(request, email, forms)
    active_tab, tab_problem = _active_tab(request, forms)
    context = {
        "tab": "messaging",
        "active_tab": active_tab,
        "tab_problem": tab_problem,
        "messaging_tabs": [
            {"key": key, "label": label, "url": tab_url(key), "active": key == active_tab}
            for key, label in TABS
        ],
        "texting_url": tab_url("texting"),
        "email_url": tab_url("email"),
        "prefs": prefs,
        "quiet_form": forms.get("quiet")
        or QuietHoursForm(initial=QuietHoursForm.initial_from(prefs)),
        "texts_form": forms.get("texts")
        or AutoTextsForm(initial=AutoTextsForm.initial_from(prefs)),
        "help_reply_length": AutoTextsForm.segments_text(prefs.help_reply),
        "sms_days_text": _days_text(prefs.sms_days),
        "email_days_text": _days_text(prefs.email_days),
        "email_window": prefs.window(Channel.EMAIL),
        "examples": quiet_hours_examples(prefs, organization.time_zone or "UTC"),
        "zone_form": zone_form,
        "zone_result": _zone_check(organization, prefs, zone_form) if checking else None,
        "sms": sms,
        "email": email,
        "own_sms": own_sms,
        "own_email": own_email,
        "sms_cards": list(sms_cards.values()),
        "email_cards": list(email_cards.values()),
        "own_sms_card": sms_cards.get(sms.identifier) if own_sms else None,
        "own_email_card": email_cards.get(email.identifier) if own_email else None,
        # The other texting vendors, named in "To switch to …, disconnect … first."
        "other_sms": [c["name"] for c in sms_cards.values() if c["id"] != sms.identifier],
        "sms_names": [c["name"] for c in sms_cards.values()],
        "sms_parent": (
            _channel_state(organization.parent, "sms")
            if own_sms and organization.parent_id
            else None
        ),
        "email_parent": (
            _channel_state(organization.parent, "email")
            if own_email and organization.parent_id
            else None
        ),
        "open_sms_forms": any(name in forms for name in sms_cards),
        # A refused attempt to connect a second texting provider, shown with its error.
        "refused_sms": [
            card
            for name, card in sms_cards.items()
            if own_sms is not None and name in forms and name != sms.identifier
        ],
        "open_email_form": any(name in forms for name in email_cards),
        "sms_heirs": _inheriting_sub_accounts(organization, "sms") if own_sms else [],
        "email_heirs": _inheriting_sub_accounts(organization, "email") if own_email else [],
        "sandbox_url": settings.SANDBOX_URL,
        "sandbox_phone": inbox.sandbox_phone_url(inbox.sms_setup(organization=organization)),
        "email_backend": EMAIL_BACKENDS.get(
            settings.EMAIL_BACKEND, "hands them to {backend}"
        ).format(host=getattr(settings, "EMAIL_HOST", ""), backend=settings.EMAIL_BACKEND),
    }
    return render_in_org_time(request, "messaging/settings.html", context, status=status)


# ----------------------------------------------------------------------------------------------
# Pages and actions
# ----------------------------------------------------------------------------------------------


@admin_required
def index(request):
    if request.htmx and "check_phone" in request.GET:
        organization = request.organization
        prefs = selectors.preferences_for(organization=organization)
        form = ZoneCheckForm(request.GET)
        return render_in_org_time(
            request,
            "messaging/settings_zone.html",
            {"zone_form": form, "zone_result": _zone_check(organization, prefs, form)},
        )
    return _render(request)


@admin_required
@require_POST
def quiet_hours_save(request):
    form = QuietHoursForm(request.POST)
    if form.is_valid():
        try:
            services.messaging_preferences_update(
                organization=request.organization, **form.preference_changes()
            )
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(
                request, "Quiet hours saved. They apply to every text queued from now on."
            )
            return redirect(tab_url("quiet-hours") + "#quiet-hours")
    return _render(request, forms={"quiet": form}, status=400)


@admin_required
@require_POST
def auto_texts_save(request):
    form = AutoTextsForm(request.POST)
    if form.is_valid():
        try:
            services.messaging_preferences_update(
                organization=request.organization,
                help_reply=form.cleaned_data["help_reply"],
                opt_out_footer=form.cleaned_data["opt_out_footer"],
            )
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, "Automatic texts saved.")
            return redirect(tab_url("auto-texts") + "#auto-texts")
    return _render(request, forms={"texts": form}, status=400)
