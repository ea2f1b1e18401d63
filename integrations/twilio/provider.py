"""Twilio Programmable Messaging adapter: :class:`SMSProvider` on the official SDK.

The SDK's HTTP layer is replaced by :class:`TwilioTransport`, which keeps the SDK's behaviour
but (a) always has a timeout, (b) reports every attempt as a :class:`CallRecord`, (c) can send
``https://api.twilio.com`` calls to another base URL (the sandbox, over plain HTTP) and (d) puts
every request through the SSRF guard of :mod:`integrations.http` (documented host, or an
allowed custom one; checked address; no redirects; nothing echoed from a custom host).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Collection, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests
from twilio.base.exceptions import TwilioException
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import get_signature_algorithm
from twilio.rest import Client

from integrations.http import (
    AuthError,
    BlockedAddress,
    CallRecord,
    NotFound,
    PermissionDenied,
    ProviderError,
    RateLimited,
    UnsafeURL,
    ValidationFailed,
    check_provider_url,
    guard_session,
    redirect_error,
    untrusted_error,
)
from integrations.messaging import (
    E164,
    MESSAGE_ID_KEY,
    DeliveryUpdate,
    InvalidNumber,
    MessagingTransientError,
    OptedOut,
    SendResult,
    SMSProvider,
    WebhookEvent,
    WebhookRequest,
    config_value,
    header_value,
    twilio_error_explanation,
)
from integrations.registry import register
from integrations.twilio.webhooks import (
    IDEMPOTENCY_HEADER,
    SIGNATURE_HEADER,
    SIGNATURE_SETTINGS_HEADER,
    normalize_status,
    parse_webhook,
    verify_signature,
)

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.twilio.com"
# Twilio's REST host: the only one reached unless the operator allows custom provider addresses.
DOCUMENTED_BASE_URLS = (DEFAULT_BASE_URL,)
DEFAULT_TIMEOUT_S = 10

OPTED_OUT_CODES = frozenset({21610})
INVALID_NUMBER_CODES = frozenset({21211, 21614})
AUTH_CODES = frozenset({20003})
RATE_LIMIT_CODES = frozenset({20429})
NOT_FOUND_CODES = frozenset({20404})


class TwilioTransport(TwilioHttpClient):
    """The SDK's HTTP client with a base-URL override and call records.

    Twilio 9.x has no host setting: every resource builds ``https://api.twilio.com/...`` (or a
    regional variant when ``edge``/``region`` are set, which we never set). Rewriting the URL
    here is the one place that sees every request.
    """

    def __init__(
        self,
        *,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = DEFAULT_TIMEOUT_S,
        on_call: Callable[[CallRecord], Any] | None = None,
    ) -> None:
        super().__init__(timeout=timeout)
        # The SDK sends through self.session; a guarded one, so every connection is checked.
        self.session = guard_session(self.session or requests.Session())
        self.base_url = (base_url or DEFAULT_BASE_URL).rstrip("/")
        self.on_call = on_call
        self.attempt = 1

    def rewrite(self, url: str) -> str:
        if self.base_url != DEFAULT_BASE_URL and url.startswith(DEFAULT_BASE_URL + "/"):
            return self.base_url + url[len(DEFAULT_BASE_URL) :]
        return url

    def request(self, method: str, url: str, *args: Any, **kwargs: Any):  # type: ignore[override]
        url = self.rewrite(url)
        host = urlsplit(url).netloc
        started, started_at = time.monotonic(), datetime.now(UTC)
        try:
            trusted = check_provider_url(url, documented=DOCUMENTED_BASE_URLS, vendor="Twilio")
        except UnsafeURL as exc:
            self._record(method, url, None, started, started_at, f"Refused: {exc}")
            raise BlockedAddress(str(exc)) from exc
        # Never follow a redirect: the request carries the Auth Token.
        if len(args) >= 6:  # (params, data, headers, auth, timeout, allow_redirects)
            args = (*args[:5], False, *args[6:])
        else:
            kwargs["allow_redirects"] = False
        try:
            response = super().request(method, url, *args, **kwargs)
        except UnsafeURL as exc:  # the connect-time address check
            self._record(method, url, None, started, started_at, f"Refused: {exc}")
            raise BlockedAddress(str(exc)) from exc
        except requests.RequestException as exc:
            self._record(method, url, None, started, started_at, f"{type(exc).__name__}: {exc}")
            if not trusted:
                # One answer for every failure, so a custom address cannot probe ports.
                raise requests.ConnectionError(f"The custom address {host} failed.") from None
            raise
        status = response.status_code
        self._record(
            method, url, status, started, started_at, None if status < 400 else f"HTTP {status}"
        )
        if 300 <= status < 400:
            raise redirect_error("Twilio", host, status)
        if not trusted and status >= 400:
            raise untrusted_error(status, "Twilio", host)
        return response

    def _record(
        self,
        method: str,
        url: str,
        status: int | None,
        started: float,
        started_at: datetime,
        error: str | None,
    ) -> None:
        if self.on_call is None:
            return
        record = CallRecord(
            method=method.upper(),
            url=url,
            path=urlsplit(url).path,
            status=status,
            duration_ms=int(round((time.monotonic() - started) * 1000)),
            attempt=self.attempt,
            error=error[:500] if error else None,
            started_at=started_at,
        )
        try:
            self.on_call(record)
        except Exception:  # a logging failure must never break the send
            logger.exception("on_call callback failed for %s", record.url)


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------


def _code(exc: TwilioException) -> int | None:
    try:
        return int(getattr(exc, "code", None))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _vendor_text(exc: TwilioException) -> str:
    text = getattr(exc, "msg", None) or getattr(exc, "detail", None) or ""
    text = str(text or getattr(exc, "title", "") or "")
    # The SDK prefixes "Unable to create record: "; the rest is Twilio's own sentence.
    return text.split(": ", 1)[1] if text.startswith("Unable to ") and ": " in text else text


def map_twilio_error(exc: TwilioException, *, to: str | None = None) -> ProviderError:
    """A Twilio API error as a :class:`ProviderError` whose message a recruiter understands."""
    code = _code(exc)
    status = getattr(exc, "status", None)
    vendor = _vendor_text(exc)
    explanation = twilio_error_explanation(code) if code and code != status else None
    said = f"Twilio {code}: {vendor}" if code and code != status else f"Twilio {status}: {vendor}"
    common: dict[str, Any] = {
        "status": status,
        "code": str(code) if code is not None else None,
        "body": {"code": code, "message": vendor, "status": status},
    }
    who = to or "The number"
    if code in OPTED_OUT_CODES:
        return OptedOut(
            f"{who} has opted out of texts from this sender (they replied STOP); they get no "
            "texts until they reply START.",
            phone=to,
            **common,
        )
    if code in INVALID_NUMBER_CODES:
        return InvalidNumber(f"{explanation} ({said})", phone=to, **common)
    if code in AUTH_CODES or status == 401:
        return AuthError(
            "Twilio rejected the Account SID or Auth Token "
            f"({said}). Copy them again from the Twilio Console → Account Info.",
            **common,
        )
    if code in RATE_LIMIT_CODES or status == 429:
        return RateLimited(
            "Twilio is handling too many requests from this account; the text was not sent "
            f"and will be retried ({said}).",
            **common,
        )
    if status == 403:
        return PermissionDenied(
            f"Twilio refused the request ({said}). Check the account is active and allowed to "
            "use this sender.",
            vendor_message=vendor,
            **common,
        )
    if code in NOT_FOUND_CODES or status == 404:
        return NotFound(f"Twilio could not find it ({said}).", **common)
    if isinstance(status, int) and status >= 500:
        return MessagingTransientError(
            f"Twilio is having problems ({said}). The text may or may not have been sent; "
            "RecruitFlow checks its status before sending it again.",
            ambiguous=True,
            **common,
        )
    detail = f"{explanation} ({said})" if explanation else f"Twilio refused the text ({said})."
    return ValidationFailed(detail, **common)


def _never_sent(exc: requests.RequestException) -> bool:
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    if not isinstance(exc, requests.exceptions.ConnectionError):
        return False
    text = str(exc)
    return any(
        marker in text
        for marker in ("NewConnectionError", "Failed to establish", "NameResolution", "refused")
    )


def _network_error(exc: requests.RequestException, host: str) -> MessagingTransientError:
    if _never_sent(exc):
        return MessagingTransientError(
            f"Could not reach Twilio at {host} ({type(exc).__name__}). The text was not sent; "
            "RecruitFlow will try again later.",
            ambiguous=False,
            code="unreachable",
        )
    why = (
        "did not answer in time" if isinstance(exc, requests.Timeout) else "dropped the connection"
    )
    return MessagingTransientError(
        f"Twilio at {host} {why}. The text may or may not have been sent; RecruitFlow checks "
        "its status before sending it again.",
        ambiguous=True,
        code="timeout",
    )


def with_message_id(url: str, our_message_id: str) -> str:
    """``url`` with our id as a query parameter, so its status callbacks map back to us."""
    parts = urlsplit(url)
    query = [
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != MESSAGE_ID_KEY
    ]
    query.append((MESSAGE_ID_KEY, str(our_message_id)))
    return urlunsplit(parts._replace(query=urlencode(query)))


# --------------------------------------------------------------------------------------------
# The adapter
# --------------------------------------------------------------------------------------------


@register("twilio")
class TwilioSMSProvider(SMSProvider):
    """Twilio. ``config``: a dict or object with ``account_sid``, ``auth_token`` (also the key
    that signs webhooks), optionally ``api_key_sid``/``api_key_secret`` (used for REST calls
    instead of the token), ``messaging_service_sid`` and/or ``from_number`` (the default
    sender) and ``base_url`` (default ``https://api.twilio.com``; the sandbox is
    ``http://127.0.0.1:<port>/twilio``) and ``webhook_key`` (only for webhooks signed with a
    shared key instead of the Auth Token). Keyword arguments: ``on_call``, ``timeout``,
    ``max_attempts``, ``sleep``."""

    identifier = "twilio"
    display_name = "Twilio"

    def __init__(
        self,
        config: Any,
        *,
        on_call: Callable[[CallRecord], Any] | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
        max_attempts: int = 3,
        sleep: Callable[[float], Any] = time.sleep,
    ) -> None:
        self.account_sid = (config_value(config, "account_sid") or "").strip()
        self.auth_token = (config_value(config, "auth_token") or "").strip()
        # Webhooks signed with a shared key (X-Twilio-Webhooks-Signature-Settings) use it
        # instead of the Auth Token.
        self.webhook_key = (config_value(config, "webhook_key") or "").strip() or None
        if not self.account_sid or not self.auth_token:
            raise AuthError(
                "Enter the Twilio Account SID and Auth Token (Twilio Console → Account Info).",
                code="missing_credentials",
            )
        self.messaging_service_sid = config_value(config, "messaging_service_sid") or None
        self.from_number = config_value(config, "from_number") or None
        self.base_url = (config_value(config, "base_url") or DEFAULT_BASE_URL).rstrip("/")
        self.transport = TwilioTransport(base_url=self.base_url, timeout=timeout, on_call=on_call)
        key_sid = config_value(config, "api_key_sid")
        key_secret = config_value(config, "api_key_secret")
        username, password = (
            (key_sid, key_secret) if key_sid and key_secret else (self.account_sid, self.auth_token)
        )
        # A non-empty environment without TWILIO_* keys stops the SDK reading os.environ (an
        # empty dict would fall back to it): a TWILIO_EDGE/REGION there would move requests
        # off the host we rewrite, and a tenant must use exactly what the tenant configured.
        self.client = Client(
            username,
            password,
            account_sid=self.account_sid,
            http_client=self.transport,
            environment={"RECRUITFLOW_TENANT_CLIENT": "1"},
        )
        self.max_attempts = max(1, max_attempts)
        self.sleep = sleep

    @property
    def host(self) -> str:
        return urlsplit(self.base_url).netloc

    def _call(self, fn: Callable[[], Any], *, to: str | None = None, retry_safe: bool) -> Any:
        """Run one SDK call; resend only what Twilio provably never processed (429/20429,
        connection not made) — or anything when ``retry_safe`` (reads)."""
        attempt = 0
        while True:
            attempt += 1
            self.transport.attempt = attempt
            last = attempt >= self.max_attempts
            try:
                return fn()
            except TwilioException as exc:
                error = map_twilio_error(exc, to=to)
                retryable = isinstance(error, RateLimited) or (
                    retry_safe and isinstance(error, MessagingTransientError)
                )
                if retryable and not last:
                    self.sleep(self._backoff(attempt))
                    continue
                raise error from exc
            except requests.RequestException as exc:
                error = _network_error(exc, self.host)
                if (retry_safe or not error.ambiguous) and not last:
                    self.sleep(self._backoff(attempt))
                    continue
                raise error from exc

    @staticmethod
    def _backoff(attempt: int) -> float:
        ceiling = min(10.0, 0.5 * 2 ** (attempt - 1))
        return ceiling / 2 + random.random() * ceiling / 2

    # -- sending ---------------------------------------------------------------------------

    def send(
        self,
        to_e164: str,
        body: str,
        *,
        our_message_id: str | None = None,
        status_callback: str | None = None,
        sender: str | None = None,
        messaging_service_sid: str | None = None,
        from_number: str | None = None,
    ) -> SendResult:
        """Text via a Messaging Service (``MG…``, preferred: sender pool, opt-outs per service)
        or a from-number. ``sender`` may be either; explicit arguments beat the config."""
        to = (to_e164 or "").strip()
        if not E164.match(to):
            raise InvalidNumber(
                f"{to or 'The number'} is not a full international number (E.164, like "
                "+447700900123). Check the candidate's phone number.",
                phone=to,
                code="21211",
            )
        if not (body or "").strip():
            raise ValidationFailed("The text is empty.", code="empty_body")
        service, from_ = messaging_service_sid, from_number
        if sender:
            if sender.startswith("MG"):
                service = sender
            else:
                from_ = sender
        if not service and not from_:
            service, from_ = self.messaging_service_sid, self.from_number
        if not service and not from_:
            raise ValidationFailed(
                "Choose the Twilio Messaging Service or phone number texts are sent from.",
                code="missing_sender",
            )
        kwargs: dict[str, Any] = {"to": to, "body": body}
        if service:
            kwargs["messaging_service_sid"] = service
        if from_:
            kwargs["from_"] = from_
        if status_callback:
            kwargs["status_callback"] = (
                with_message_id(status_callback, our_message_id)
                if our_message_id is not None
                else status_callback
            )
        message = self._call(lambda: self.client.messages.create(**kwargs), to=to, retry_safe=False)
        raw = {
            "sid": message.sid,
            "status": message.status,
            "to": message.to,
            "from": message.from_,
            "messaging_service_sid": message.messaging_service_sid,
            "num_segments": message.num_segments,
            "error_code": message.error_code,
        }
        return SendResult(
            provider_message_id=str(message.sid), status=str(message.status or "queued"), raw=raw
        )

    def get_status(self, provider_message_id: str) -> DeliveryUpdate:
        message = self._call(
            lambda: self.client.messages(provider_message_id).fetch(), retry_safe=True
        )
        code = message.error_code or None
        return DeliveryUpdate(
            provider_message_id=str(message.sid),
            status=normalize_status(message.status),
            occurred_at=message.date_updated or datetime.now(UTC),
            error_code=str(code) if code else None,
            error_message=twilio_error_explanation(code),
            event_id=None,
            recipient=message.to,
            raw={"status": message.status, "error_message": message.error_message},
        )

    def find_recent(
        self, to_e164: str, body: str, *, since: datetime, exclude: Collection[str] = ()
    ) -> SendResult | None:
        """A text to ``to_e164`` with exactly ``body`` created at or after ``since`` (and not
        one of the SIDs in ``exclude``, texts already accounted for), if Twilio has one: how a
        send that ended ambiguously (a 5xx, a timeout) is reconciled before it is ever sent
        again. None means Twilio never created it."""
        messages = self._call(
            lambda: self.client.messages.list(to=to_e164, limit=50), retry_safe=True
        )
        for message in messages:  # newest first
            created = message.date_created
            if created is not None and created < since:
                break
            if (
                (message.direction or "").startswith("outbound")
                and message.body == body
                and message.sid not in exclude
            ):
                return SendResult(
                    provider_message_id=str(message.sid),
                    status=str(message.status or "queued"),
                    raw={
                        "sid": message.sid,
                        "status": message.status,
                        "to": message.to,
                        "from": message.from_,
                        "messaging_service_sid": message.messaging_service_sid,
                        "error_code": message.error_code,
                        "reconciled": True,
                    },
                )
        return None

    def configure_incoming_number(
        self, phone_number: str, *, sms_url: str, provision: bool = False
    ) -> dict[str, Any]:
        """Point the account's number ``phone_number`` at ``sms_url`` for incoming texts
        (IncomingPhoneNumbers ``SmsUrl``, method POST), as one does in the Twilio Console.
        With ``provision`` a number the account does not have yet is bought first. Returns
        ``{"sid", "phone_number", "sms_url", "changed"}``."""
        found = self._call(
            lambda: self.client.incoming_phone_numbers.list(phone_number=phone_number, limit=1),
            retry_safe=True,
        )
        if found:
            number = found[0]
            if number.sms_url == sms_url and (number.sms_method or "POST").upper() == "POST":
                return {
                    "sid": number.sid,
                    "phone_number": number.phone_number,
                    "sms_url": number.sms_url,
                    "changed": False,
                }
            number = self._call(
                lambda: self.client.incoming_phone_numbers(number.sid).update(
                    sms_url=sms_url, sms_method="POST"
                ),
                retry_safe=True,  # setting the same URL twice is harmless
            )
        elif provision:
            number = self._call(
                lambda: self.client.incoming_phone_numbers.create(
                    phone_number=phone_number, sms_url=sms_url, sms_method="POST"
                ),
                retry_safe=False,
            )
        else:
            raise NotFound(
                f"The Twilio account has no number {phone_number}. Check the sending number "
                "in the Twilio settings.",
                code="20404",
            )
        return {
            "sid": number.sid,
            "phone_number": number.phone_number,
            "sms_url": number.sms_url,
            "changed": True,
        }

    def is_opted_out(self, phone: str) -> bool | None:
        # Twilio keeps its opt-out list to itself; our mirror, fed by inbound STOP/START, is
        # the answer (and error 21610 the backstop).
        return None

    # -- webhooks --------------------------------------------------------------------------

    def verify_webhook(self, request: WebhookRequest) -> bool:
        params: Mapping[str, Any] | str = request.params
        if "bodySHA256=" in urlsplit(request.url).query:
            params = request.raw_body.decode("utf-8", "replace")
        settings = header_value(request.headers, SIGNATURE_SETTINGS_HEADER)
        return verify_signature(
            request.url,
            params,
            header_value(request.headers, SIGNATURE_HEADER),
            (self.webhook_key or self.auth_token) if settings else self.auth_token,
            algorithm=get_signature_algorithm(settings) if settings else None,
        )

    def parse_webhook(
        self, request: WebhookRequest, *, now: datetime | None = None
    ) -> list[WebhookEvent]:
        return parse_webhook(
            request.params,
            url=request.url,
            idempotency_token=header_value(request.headers, IDEMPOTENCY_HEADER),
            now=now,
        )
