"""Writes behind Settings → Messaging: quiet hours and automatic texts, the texting and e-mail
provider connections (Twilio or TextUs; SendGrid), and their connection tests.

Every function is keyword-only and atomic. An organization has at most one texting provider of
its own; a sub-account without one uses the nearest ancestor's (``messaging.selectors``).
"""

from __future__ import annotations

import http.client
import json
import ssl
import urllib.error
import uuid
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any
from urllib.parse import urlsplit

import requests
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from integrations.connections import CallRecorder
from integrations.forms import address_change_message, same_address
from integrations.http import (
    AuthError,
    NotFound,
    PermissionDenied,
    ProviderError,
    RateLimited,
    TransientError,
    Unreachable,
    UnsafeURL,
    ValidationFailed,
    check_provider_url,
)
from integrations.messaging import MessagingTransientError
from integrations.sendgrid.models import SendGridSettings
from integrations.textus.models import TextUsSettings
from integrations.twilio.models import TwilioSettings
from messaging import selectors
from messaging.models import MessagingPreferences

PREFERENCE_FIELDS = frozenset(
    {
        "sms_window_start",
        "sms_window_end",
        "sms_days",
        "email_window_start",
        "email_window_end",
        "email_days",
        "help_reply",
        "opt_out_footer",
    }
)
SMS_PROVIDERS = {"twilio": TwilioSettings, "textus": TextUsSettings}
PROVIDER_NAMES = {"twilio": "Twilio", "textus": "TextUs", "sendgrid": "SendGrid"}
TEST_TIMEOUT_S = 10
# SendGrid's sandbox mode validates a send (key, permission, sender) without delivering it.
TEST_SUBJECT = "RecruitFlow connection test (sandbox mode: not delivered)"


# --------------------------------------------------------------------------------------------
# Quiet hours and automatic texts
# --------------------------------------------------------------------------------------------


def window_problems(
    *, start: time | None, end: time | None, days: list[int], prefix: str, what: str
) -> dict[str, str]:
    """What is wrong with a sending window, by form field name (empty when nothing is)."""
    problems: dict[str, str] = {}
    if start is not None and end is not None and start == end:
        problems[f"{prefix}_window_end"] = (
            f"{what} would never go out: the window starts and ends at {start:%H:%M}. "
            "Pick an end time after the start (a window may run past midnight, e.g. "
            "22:00 until 02:00)."
        )
    if not days:
        problems[f"{prefix}_days"] = (
            f"Pick at least one day. With no days, {what.lower()} would be held forever."
        )
    elif any(not isinstance(day, int) or not 0 <= day <= 6 for day in days):
        problems[f"{prefix}_days"] = "Days are numbers from 0 (Monday) to 6 (Sunday)."
    return problems


@transaction.atomic
def messaging_preferences_update(*, organization, **changes: Any) -> MessagingPreferences:
    """Set some of the organization's messaging preferences (creating the row on first use)."""
    unknown = set(changes) - PREFERENCE_FIELDS
    if unknown:
        raise TypeError(f"Not a messaging preference: {', '.join(sorted(unknown))}")
    prefs = (
        MessagingPreferences.objects.select_for_update().filter(organization=organization).first()
    )
    if prefs is None:
        prefs = MessagingPreferences(organization=organization)
    for name, value in changes.items():
        setattr(prefs, name, value)
    problems = window_problems(
        start=prefs.sms_window_start,
        end=prefs.sms_window_end,
        days=list(prefs.sms_days),
        prefix="sms",
        what="Texts",
    )
    if bool(prefs.email_window_start) != bool(prefs.email_window_end):
        problems["email_window_end"] = "Set both ends of the e-mail window, or neither."
    elif prefs.email_window_start:
        problems.update(
            window_problems(
                start=prefs.email_window_start,
                end=prefs.email_window_end,
                days=list(prefs.email_days),
                prefix="email",
                what="E-mails",
            )
        )
    if "help_reply" in changes and not (prefs.help_reply or "").strip():
        problems["help_reply"] = "Write the reply candidates get when they text HELP."
    if problems:
        raise ValidationError(problems)
    prefs.save()
    return prefs


def _ensure_preferences(organization) -> MessagingPreferences:
    """The preferences row (it carries the organization's webhook address)."""
    return selectors.preferences_for(organization=organization)


# --------------------------------------------------------------------------------------------
# Provider connections
# --------------------------------------------------------------------------------------------


def _own(model, organization):
    return model.objects.select_for_update().filter(organization=organization).first()


def _address_for(row, base_url: str, *, field_default: str) -> tuple[str, bool]:
    """The address to store and whether it differs from the saved one. A changed address
    means no saved secret may be reused: it would be sent somewhere the admin who saved it
    never chose."""
    new = (base_url or row.base_url or "").rstrip("/") or field_default
    changed = bool(row.pk and row.base_url) and not same_address(new, row.base_url)
    return new, changed


def _checked_address(url: str, *, vendor: str, documented) -> str:
    try:
        check_provider_url(url, documented=documented, vendor=vendor)
    except UnsafeURL as exc:
        raise ValidationError({"base_url": str(exc)}) from exc
    return url


def _saved_secret(row, name: str, typed: str, *, address_changed: bool) -> str:
    if typed.strip():
        return typed.strip()
    return "" if address_changed else (getattr(row, name) or "")


def _refuse_second_sms_provider(organization, keeping: str) -> None:
    for identifier, model in SMS_PROVIDERS.items():
        if identifier != keeping and model.objects.filter(organization=organization).exists():
            raise ValidationError(
                f"{PROVIDER_NAMES[identifier]} already sends this organization's texts. "
                f"Disconnect {PROVIDER_NAMES[identifier]} first, then connect "
                f"{PROVIDER_NAMES[keeping]}."
            )


@transaction.atomic
def twilio_settings_save(
    *,
    organization,
    account_sid: str,
    auth_token: str = "",
    messaging_service_sid: str = "",
    from_number: str = "",
    base_url: str = "",
) -> TwilioSettings:
    """Connect Twilio or change its settings. An empty ``auth_token`` keeps the saved one,
    unless the address changes."""
    from integrations.twilio.provider import DOCUMENTED_BASE_URLS

    _refuse_second_sms_provider(organization, "twilio")
    row = _own(TwilioSettings, organization) or TwilioSettings(organization=organization)
    address, changed = _address_for(
        row, base_url, field_default=TwilioSettings._meta.get_field("base_url").default
    )
    _checked_address(address, vendor="Twilio", documented=DOCUMENTED_BASE_URLS)
    token = _saved_secret(row, "auth_token", auth_token, address_changed=changed)
    if not token:
        raise ValidationError(
            {
                "auth_token": address_change_message("Auth Token")
                if changed
                else "Paste the Twilio Auth Token."
            }
        )
    if not messaging_service_sid and not from_number:
        raise ValidationError(
            {"messaging_service_sid": "Enter a Messaging Service SID or a from number."}
        )
    row.account_sid = account_sid.strip()
    row.auth_token = token
    row.messaging_service_sid = messaging_service_sid.strip()
    row.from_number = from_number.strip()
    row.base_url = address
    row.save()
    _ensure_preferences(organization)
    return row


@transaction.atomic
def textus_settings_save(
    *,
    organization,
    account_slug: str,
    token: str = "",
    signing_secret: str = "",
    base_url: str = "",
) -> TextUsSettings:
    """Connect TextUs or change its settings. Empty secrets keep the saved ones, unless the
    address changes."""
    from integrations.textus.client import DOCUMENTED_BASE_URLS

    _refuse_second_sms_provider(organization, "textus")
    row = _own(TextUsSettings, organization) or TextUsSettings(organization=organization)
    address, changed = _address_for(
        row, base_url, field_default=TextUsSettings._meta.get_field("base_url").default
    )
    _checked_address(address, vendor="TextUs", documented=DOCUMENTED_BASE_URLS)
    stored_token = _saved_secret(row, "token", token, address_changed=changed)
    if not stored_token:
        raise ValidationError(
            {
                "token": address_change_message("API token")
                if changed
                else "Paste the TextUs API token."
            }
        )
    row.token = stored_token
    row.account_slug = account_slug.strip().strip("/")
    row.signing_secret = _saved_secret(
        row, "signing_secret", signing_secret, address_changed=changed
    )
    row.base_url = address
    row.save()
    _ensure_preferences(organization)
    return row


@transaction.atomic
def sendgrid_settings_save(
    *,
    organization,
    from_email: str,
    api_key: str = "",
    from_name: str = "",
    reply_to: str = "",
    event_public_key: str = "",
    base_url: str = "",
) -> SendGridSettings:
    """Connect SendGrid or change its settings. An empty ``api_key`` keeps the saved one,
    unless the address changes."""
    from integrations.sendgrid.transport import DOCUMENTED_BASE_URLS

    row = _own(SendGridSettings, organization) or SendGridSettings(organization=organization)
    address, changed = _address_for(
        row, base_url, field_default=SendGridSettings._meta.get_field("base_url").default
    )
    _checked_address(address, vendor="SendGrid", documented=DOCUMENTED_BASE_URLS)
    key = _saved_secret(row, "api_key", api_key, address_changed=changed)
    if not key:
        raise ValidationError(
            {
                "api_key": address_change_message("API key")
                if changed
                else "Paste the SendGrid API key."
            }
        )
    row.api_key = key
    row.from_email = from_email.strip()
    row.from_name = from_name.strip()
    row.reply_to = reply_to.strip()
    row.event_public_key = event_public_key.strip()
    row.base_url = address
    row.save()
    _ensure_preferences(organization)
    return row


@transaction.atomic
def sms_settings_disconnect(*, organization) -> str | None:
    """Delete the organization's own texting provider settings (credentials included). Returns
    the provider's name, or None when it had none. Texts then use the parent's settings, if
    any, else the sandbox."""
    for identifier, model in SMS_PROVIDERS.items():
        deleted, _ = model.objects.filter(organization=organization).delete()
        if deleted:
            return PROVIDER_NAMES[identifier]
    return None


@transaction.atomic
def email_settings_disconnect(*, organization) -> str | None:
    """Delete the organization's own SendGrid settings (the API key included)."""
    deleted, _ = SendGridSettings.objects.filter(organization=organization).delete()
    return PROVIDER_NAMES["sendgrid"] if deleted else None


# --------------------------------------------------------------------------------------------
# Connection tests
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConnectionCheck:
    """The outcome of a connection test. ``problem`` is "" when it passed, else one of
    credentials, permission, not_found, unreachable, busy, invalid, error."""

    provider: str
    ok: bool
    message: str
    problem: str = ""
    checked: tuple[str, ...] = ()
    checked_at: datetime = field(default_factory=timezone.now)

    def as_session(self) -> dict:
        return {
            "provider": self.provider,
            "ok": self.ok,
            "message": self.message,
            "problem": self.problem,
            "checked": list(self.checked),
            "checked_at": self.checked_at.isoformat(),
        }


def _problem_of(error: ProviderError) -> str:
    if isinstance(error, AuthError):
        return "credentials"
    if isinstance(error, PermissionDenied):
        return "permission"
    if isinstance(error, NotFound):
        return "not_found"
    if isinstance(error, RateLimited):
        return "busy"
    if isinstance(error, Unreachable) or getattr(error, "code", None) in ("unreachable", "timeout"):
        return "unreachable"
    if isinstance(error, ValidationFailed):
        return "invalid"
    if isinstance(error, TransientError | MessagingTransientError):
        return "unreachable" if error.status is None else "error"
    return "error"


def _host(url: str) -> str:
    return urlsplit(url or "").netloc or url


def _failed(provider: str, error: ProviderError) -> ConnectionCheck:
    return ConnectionCheck(
        provider=provider, ok=False, message=error.message, problem=_problem_of(error)
    )


def _unreachable(provider: str, base_url: str, exc: BaseException) -> ConnectionCheck:
    reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    if isinstance(reason, requests.Timeout | TimeoutError):
        why = "it did not answer in time"
    elif isinstance(reason, requests.exceptions.SSLError | ssl.SSLError):
        why = "its TLS certificate could not be verified"
    elif isinstance(reason, ConnectionRefusedError) or "refused" in str(reason).lower():
        why = "the connection was refused"
    elif "resolve" in str(reason).lower() or "Name or service not known" in str(reason):
        why = "its host name could not be resolved"
    else:
        why = "the connection failed"
    return ConnectionCheck(
        provider=provider,
        ok=False,
        problem="unreachable",
        message=f"Could not reach {PROVIDER_NAMES[provider]} at {_host(base_url)}: {why}. Check "
        "the API address, and that this server may make outgoing HTTPS connections.",
    )


def _test_twilio(row: TwilioSettings, recorder: CallRecorder) -> ConnectionCheck:
    from twilio.base.exceptions import TwilioRestException

    from integrations.twilio.provider import (
        DEFAULT_BASE_URL,
        TwilioSMSProvider,
        map_twilio_error,
    )

    try:
        provider = TwilioSMSProvider(
            row.provider_config(), on_call=recorder, timeout=TEST_TIMEOUT_S, max_attempts=1
        )
        # One page of the account's message log: proves the SID and token, texts nobody.
        uri = f"{DEFAULT_BASE_URL}/2010-04-01/Accounts/{provider.account_sid}/Messages.json"
        response = provider.client.request("GET", uri, params={"PageSize": 1})
    except ProviderError as exc:
        return _failed("twilio", exc)
    except requests.RequestException as exc:
        return _unreachable("twilio", row.base_url, exc)
    if response.status_code >= 400:
        try:
            body = json.loads(response.text or "{}")
        except ValueError:
            body = {}
        body = body if isinstance(body, dict) else {}
        error = map_twilio_error(
            TwilioRestException(
                response.status_code, uri, msg=str(body.get("message") or ""), code=body.get("code")
            )
        )
        return _failed("twilio", error)
    sender = (
        f"Messaging Service {row.messaging_service_sid}"
        if row.messaging_service_sid
        else f"number {row.from_number}"
    )
    return ConnectionCheck(
        provider="twilio",
        ok=True,
        message=f"Twilio accepted the Account SID and Auth Token. Texts go out through {sender}.",
        checked=("Account SID and Auth Token accepted", f"Sender: {sender}"),
    )


def _test_textus(row: TextUsSettings, recorder: CallRecorder) -> ConnectionCheck:
    from integrations.textus.provider import TextUsSMSProvider

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
        return _failed("textus", exc)
    checked = ["API token accepted", f"The token's user can use the account {row.account_slug}"]
    message = f"TextUs accepted the token, and its user can text from {row.account_slug}."
    if not row.signing_secret:
        checked.append("No webhook signing secret: replies and delivery reports are refused")
        message += (
            " Paste the webhook signing secret too, or replies and delivery reports from TextUs "
            "will be refused."
        )
    return ConnectionCheck(provider="textus", ok=True, message=message, checked=tuple(checked))


def _test_sendgrid(row: SendGridSettings, recorder: CallRecorder) -> ConnectionCheck:
    import python_http_client.exceptions as sg_errors

    from integrations.sendgrid.client import SendGridClient, map_http_error

    try:
        client = SendGridClient(
            row.api_key,
            base_url=row.base_url,
            on_call=recorder,
            timeout=TEST_TIMEOUT_S,
            max_attempts=1,
        )
    except ProviderError as exc:
        return _failed("sendgrid", exc)
    payload = {
        "personalizations": [{"to": [{"email": row.from_email}]}],
        "from": {"email": row.from_email, **({"name": row.from_name} if row.from_name else {})},
        "subject": TEST_SUBJECT,
        "content": [{"type": "text/plain", "value": "Connection test from RecruitFlow."}],
        "mail_settings": {"sandbox_mode": {"enable": True}},
        "custom_args": {"recruitflow_connection_test": uuid.uuid4().hex},
    }
    started = timezone.now()
    try:
        client.sg.client.mail.send.post(request_body=payload)
    except sg_errors.HTTPError as exc:
        recorder(_sendgrid_record(client, started, exc.status_code))
        return _failed("sendgrid", map_http_error(exc, from_email=row.from_email))
    except (OSError, http.client.HTTPException) as exc:
        recorder(_sendgrid_record(client, started, None, type(exc).__name__))
        return _unreachable("sendgrid", row.base_url, exc)
    except ProviderError as exc:  # the SSRF guard refused the address, or a redirect
        recorder(_sendgrid_record(client, started, exc.status, exc.code or "refused"))
        return _failed("sendgrid", exc)
    recorder(_sendgrid_record(client, started, 200))
    checked = [
        "API key accepted, with Mail Send access",
        f"SendGrid will send from {row.from_email}",
    ]
    message = (
        f"SendGrid accepted the API key and will send from {row.from_email} (checked in "
        "SendGrid's sandbox mode: nothing was delivered)."
    )
    if not row.event_public_key:
        checked.append("No Event Webhook verification key: delivery events are refused")
        message += (
            " Paste the Event Webhook verification key too, or delivery, bounce and open "
            "events will be refused."
        )
    return ConnectionCheck(provider="sendgrid", ok=True, message=message, checked=tuple(checked))


def _sendgrid_record(client, started: datetime, status: int | None, error: str = ""):
    from integrations.http import CallRecord

    return CallRecord(
        method="POST",
        url=client.send_url,
        path=urlsplit(client.send_url).path,
        status=status,
        duration_ms=int((timezone.now() - started).total_seconds() * 1000),
        attempt=1,
        error=error or (f"HTTP {status}" if status and status >= 400 else None),
        started_at=started,
    )


PROVIDER_TESTS = {
    "twilio": (TwilioSettings, _test_twilio),
    "textus": (TextUsSettings, _test_textus),
    "sendgrid": (SendGridSettings, _test_sendgrid),
}


def provider_connection_test(*, organization, provider: str) -> ConnectionCheck:
    """Call the provider with the organization's own saved settings and say whether they work:
    wrong credentials, a missing permission or an unreachable host each get their own message.
    Nothing is sent to anyone. The calls made are stored as ProviderCall rows."""
    if provider not in PROVIDER_TESTS:
        raise ValueError(f"Unknown messaging provider {provider!r}.")
    model, run = PROVIDER_TESTS[provider]
    row = model.objects.filter(organization=organization).first()
    if row is None:
        return ConnectionCheck(
            provider=provider,
            ok=False,
            problem="not_connected",
            message=f"Connect {PROVIDER_NAMES[provider]} first.",
        )
    recorder = CallRecorder(organization=organization, provider=provider)
    result = run(row, recorder)
    with transaction.atomic():
        recorder.flush()
    return result
