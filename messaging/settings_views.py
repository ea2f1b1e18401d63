"""Settings → Messaging: quiet hours, the automatic texts, and the texting (Twilio or TextUs) and
e-mail (SendGrid) connections, with the account tree's inheritance shown."""

from __future__ import annotations

import json
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
from integrations.messaging import E164
from integrations.sendgrid.models import SendGridSettings
from integrations.textus.models import TextUsSettings
from integrations.twilio.models import TwilioSettings
from messaging import selectors
from messaging import settings_services as services
from messaging.models import Channel, ProviderWebhookEvent
from messaging.quiet_hours import candidate_zone, next_window_opening, zone_from_location
from messaging.settings_forms import (
    DAY_CHOICES,
    AutoTextsForm,
    QuietHoursForm,
    SendGridSettingsForm,
    TextUsSettingsForm,
    TwilioSettingsForm,
    ZoneCheckForm,
)
from recruitflow.decorators import admin_required
from recruitflow.tenancy import scopes_disabled

SESSION_CHECK = "messaging_settings:check:{provider}"
SMS_MODELS = [("twilio", TwilioSettings), ("textus", TextUsSettings)]
EMAIL_MODELS = [("sendgrid", SendGridSettings)]
DAY_NAMES = dict(DAY_CHOICES)

# (URL name in the messaging_webhooks namespace, label, where to paste it)
WEBHOOKS = {
    "twilio": [
        (
            "twilio-inbound",
            "Inbound texts",
            "In Twilio, open Messaging → Services → your service → Integration and choose "
            "“Send a webhook” with this URL for incoming messages (or set it as “A message comes "
            "in” on the phone number).",
        ),
        (
            "twilio-status",
            "Delivery status callback",
            "RecruitFlow asks Twilio to report each text's delivery here; paste it as the "
            "service's “Delivery Status Callback” too so reports reach us even for texts sent "
            "from the Twilio Console.",
        ),
    ],
    "textus": [
        (
            "textus",
            "Webhook URL",
            "In TextUs, go to Settings → Integrations → Webhooks, add this URL and subscribe to "
            "message.received, message.delivered, message.failed, contact.opted_out and "
            "contact.opted_in. Paste TextUs's signing secret into the form above.",
        ),
    ],
    "sendgrid": [
        (
            "sendgrid-events",
            "Event Webhook URL",
            "In SendGrid, go to Settings → Mail Settings → Event Webhook, paste this URL, tick "
            "Processed, Delivered, Deferred, Bounced, Dropped, Opened, Clicked, Spam Reports and "
            "Unsubscribes, and turn on Signed Event Webhook.",
        ),
    ],
}
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

    @property
    def inherited(self) -> bool:
        return self.row is not None and not self.own

    @property
    def provider_name(self) -> str:
        return services.PROVIDER_NAMES.get(self.identifier or "", "")


def _channel_state(organization, models) -> ChannelState:
    identifier, row = selectors._first_settings(organization, models)
    if row is None:
        return ChannelState(None, None, False, None)
    own = row.organization_id == organization.pk
    owner = organization if own else Organization.objects.filter(pk=row.organization_id).first()
    return ChannelState(identifier, row, own, owner)


def _inheriting_sub_accounts(organization, models) -> list[Organization]:
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
            for _, model in models:
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


def _webhook_urls(organization, provider: str) -> list[dict]:
    try:
        urls = selectors.callback_urls(organization=organization)
    except NoReverseMatch:  # the webhook endpoints are not installed on this deployment
        return []
    found = []
    for name, label, where in WEBHOOKS[provider]:
        found.append(
            {
                "id": f"{provider}-webhook-{name}",
                "label": label,
                "url": getattr(urls, name.replace("-", "_")),
                "where": where,
            }
        )
    return found


def _last_callback(provider: str) -> ProviderWebhookEvent | None:
    """The provider's latest callback to this organization (signature verified and stored)."""
    return ProviderWebhookEvent.objects.filter(provider=provider).order_by("-received_at").first()


def _stored_check(request, provider: str) -> dict | None:
    stored = request.session.get(SESSION_CHECK.format(provider=provider))
    if not stored:
        return None
    result = dict(stored)
    try:
        result["checked_at"] = datetime.fromisoformat(stored["checked_at"])
    except (KeyError, TypeError, ValueError):
        result["checked_at"] = None
    return result


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


def _sandbox_fill() -> dict[str, str]:
    """Values of the sandbox providers `make run` starts, for the "Use the sandbox" buttons."""
    sandbox = settings.SANDBOX_URL
    if not sandbox:
        return {}
    return {
        "twilio": json.dumps(
            {
                "account_sid": selectors.SANDBOX_ACCOUNT_SID,
                "auth_token": selectors.SANDBOX_AUTH_TOKEN,
                "messaging_service_sid": selectors.SANDBOX_SERVICE_SID,
                "from_number": "",
                "base_url": f"{sandbox}/twilio",
            }
        ),
        "textus": json.dumps(
            {
                "token": "textus-sandbox-token",
                "account_slug": "acme-talent",
                "base_url": f"{sandbox}/textus",
            }
        ),
        "sendgrid": json.dumps(
            {
                "api_key": "SG.sandbox-key",
                "from_email": "talent@recruitflow.test",
                "from_name": "RecruitFlow Talent Team",
                "base_url": f"{sandbox}/sendgrid",
            }
        ),
    }


def _provider_form(form_class, row, data=None):
    """A provider form for this organization's own settings row (or a blank one)."""
    initial, stored = {}, {}
    if row is not None:
        for name in form_class.base_fields:
            if name in form_class.secret_fields:
                stored[name] = getattr(row, name, "") or ""
            else:
                initial[name] = getattr(row, name, "")
    return form_class(
        data,
        initial=initial,
        stored_secrets=stored,
        stored_address=row.base_url if row is not None else "",
    )


def _render(request, *, forms: dict | None = None, status: int = 200):
    organization = request.organization
    forms = forms or {}
    prefs = selectors.preferences_for(organization=organization)
    sms = _channel_state(organization, SMS_MODELS)
    email = _channel_state(organization, EMAIL_MODELS)
    own_sms = sms.row if sms.own else None
    own_email = email.row if email.own else None

    checking = "check_phone" in request.GET or "check_location" in request.GET
    zone_form = ZoneCheckForm(request.GET if checking else None)
    fills = _sandbox_fill()
    providers = {}
    for provider, form_class, channel in (
        ("twilio", TwilioSettingsForm, sms),
        ("textus", TextUsSettingsForm, sms),
        ("sendgrid", SendGridSettingsForm, email),
    ):
        own_row = channel.row if channel.own and channel.identifier == provider else None
        connected = own_row is not None
        providers[provider] = {
            "id": provider,
            "name": services.PROVIDER_NAMES[provider],
            "connected": connected,
            "row": own_row,
            "form": forms.get(provider) or _provider_form(form_class, own_row),
            "check": _stored_check(request, provider) if connected else None,
            "webhooks": _webhook_urls(organization, provider) if connected else [],
            "last_callback": _last_callback(provider) if connected else None,
            "test_url": reverse(f"messaging_settings:{provider}_test"),
            "save_url": reverse(f"messaging_settings:{provider}"),
            "fill": fills.get(provider, ""),
        }
    context = {
        "tab": "messaging",
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
        "providers": providers,
        "sms_parent": (
            _channel_state(organization.parent, SMS_MODELS)
            if own_sms and organization.parent_id
            else None
        ),
        "email_parent": (
            _channel_state(organization.parent, EMAIL_MODELS)
            if own_email and organization.parent_id
            else None
        ),
        "open_sms_forms": "twilio" in forms or "textus" in forms,
        # A refused attempt to connect a second texting provider, shown with its error.
        "refused_sms": [
            providers[name]
            for name in ("twilio", "textus")
            if own_sms is not None and name in forms and name != sms.identifier
        ],
        "open_email_form": "sendgrid" in forms,
        "sms_heirs": _inheriting_sub_accounts(organization, SMS_MODELS) if own_sms else [],
        "email_heirs": _inheriting_sub_accounts(organization, EMAIL_MODELS) if own_email else [],
        "sandbox_url": settings.SANDBOX_URL,
        "sandbox_phone": (
            f"{settings.SANDBOX_URL}/twilio/_sandbox/"
            if selectors.sms_uses_sandbox(organization)
            else ""
        ),
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


def _apply_errors(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for name, errors in exc.message_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


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
            return redirect(reverse("messaging_settings:index") + "#quiet-hours")
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
            return redirect(reverse("messaging_settings:index") + "#auto-texts")
    return _render(request, forms={"texts": form}, status=400)


def _run_test(request, provider: str):
    result = services.provider_connection_test(organization=request.organization, provider=provider)
    request.session[SESSION_CHECK.format(provider=provider)] = result.as_session()
    name = services.PROVIDER_NAMES[provider]
    if result.ok:
        messages.success(request, f"{name} works: {result.message}")
    else:
        messages.error(request, f"{name} test failed: {result.message}")
    return result


def _save_provider(request, provider: str, form_class, model, save):
    organization = request.organization
    own = model.objects.filter(organization=organization).first()
    form = _provider_form(form_class, own, request.POST)
    if form.is_valid():
        try:
            save(organization=organization, **form.service_kwargs())
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            _run_test(request, provider)
            return redirect(reverse("messaging_settings:index") + f"#{provider}")
    return _render(request, forms={provider: form}, status=400)


@admin_required
@require_POST
def twilio_save(request):
    return _save_provider(
        request, "twilio", TwilioSettingsForm, TwilioSettings, services.twilio_settings_save
    )


@admin_required
@require_POST
def textus_save(request):
    return _save_provider(
        request, "textus", TextUsSettingsForm, TextUsSettings, services.textus_settings_save
    )


@admin_required
@require_POST
def sendgrid_save(request):
    return _save_provider(
        request, "sendgrid", SendGridSettingsForm, SendGridSettings, services.sendgrid_settings_save
    )


def _test(request, provider: str):
    _run_test(request, provider)
    return redirect(reverse("messaging_settings:index") + f"#{provider}")


@admin_required
@require_POST
def twilio_test(request):
    return _test(request, "twilio")


@admin_required
@require_POST
def textus_test(request):
    return _test(request, "textus")


@admin_required
@require_POST
def sendgrid_test(request):
    return _test(request, "sendgrid")


@admin_required
@require_POST
def sms_disconnect(request):
    organization = request.organization
    name = services.sms_settings_disconnect(organization=organization)
    for provider in ("twilio", "textus"):
        request.session.pop(SESSION_CHECK.format(provider=provider), None)
    if name:
        after = _channel_state(organization, SMS_MODELS)
        if after.row is not None:
            then = f"Texts now use {after.owner.name}'s {after.provider_name} settings."
        elif selectors.sms_uses_sandbox(organization):
            then = "Texts now go to the sandbox phone."
        else:
            then = "No texts can be sent until a texting provider is connected."
        messages.success(request, f"{name} is disconnected and its credentials deleted. {then}")
    return redirect(reverse("messaging_settings:index") + "#texting")


@admin_required
@require_POST
def email_disconnect(request):
    organization = request.organization
    name = services.email_settings_disconnect(organization=organization)
    request.session.pop(SESSION_CHECK.format(provider="sendgrid"), None)
    if name:
        after = _channel_state(organization, EMAIL_MODELS)
        if after.row is not None:
            then = f"E-mails now use {after.owner.name}'s SendGrid settings."
        else:
            then = "E-mails now go through the server's own e-mail backend."
        messages.success(request, f"SendGrid is disconnected and its API key deleted. {then}")
    return redirect(reverse("messaging_settings:index") + "#email")
