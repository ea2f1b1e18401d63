"""Twilio Programmable Messaging adapter: :class:`SMSProvider` on the official SDK.

The SDK builds the requests (paths, form fields, paging) and reads the answers; it sends them
through :class:`TwilioTransport`, which hands each one to the shared
:class:`integrations.http.HttpClient`: so a Twilio call gets the same timeout, retries
(``Retry-After`` honoured), pacing, :class:`CallRecord` per attempt and SSRF guard (documented
host, or an allowed custom one; checked address; no redirects; nothing echoed from a custom
host) as every other vendor's. The transport also sends ``https://api.twilio.com`` calls to
another base URL (the sandbox, over plain HTTP).

At most once: a create (``POST`` to a list, e.g. ``Messages.json``) is resent only when Twilio
provably did not process it (429, or the connection was never made); reads and updates of one
resource (``POST …/<SID>.json``) are retried like any idempotent call.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Collection, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit, urlunsplit

import requests

# The REST client's API modules, which `Client.api` would import at a process's first send (a
# tenth of a second, in the middle of a worker's first batch): loaded with this module, so
# before a worker forks or a web process serves.
import twilio.rest.api  # noqa: F401
from twilio.http import HttpClient as TwilioHttpClient
from twilio.http.response import Response as TwilioResponse
from twilio.request_validator import get_signature_algorithm
from twilio.rest import Client

from integrations.http import (
    AuthError,
    CallRecord,
    HttpClient,
    NotFound,
    PermissionDenied,
    ProviderError,
    RateLimited,
    Unreachable,
    ValidationFailed,
    response_body,
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

VENDOR = "Twilio"
DEFAULT_BASE_URL = "https://api.twilio.com"
# Twilio's REST host: the only one reached unless the operator allows custom provider addresses.
DOCUMENTED_BASE_URLS = (DEFAULT_BASE_URL,)
DEFAULT_TIMEOUT_S = 10
# The longest server-requested wait (Retry-After) a call sleeps through; a longer one raises
# RateLimited at once so the task reschedules instead of blocking a worker.
MAX_WAIT_S = 30
# A POST to one resource (…/Messages/SM….json, …/IncomingPhoneNumbers/PN….json) updates it:
# sending it twice leaves the same state. A POST to a list creates something new.
INSTANCE_PATH = re.compile(r"/[A-Z]{2}[0-9a-fA-F]{32}\.json$")
# Only a 429 proves Twilio did not act on a create (a 503 may come after it did).
NOT_PROCESSED = frozenset({429})
SUCCESS = range(200, 300)

OPTED_OUT_CODES = frozenset({21610})
INVALID_NUMBER_CODES = frozenset({21211, 21614})
AUTH_CODES = frozenset({20003})
RATE_LIMIT_CODES = frozenset({20429})
NOT_FOUND_CODES = frozenset({20404})


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------


def _vendor_text(message: str) -> str:
    # The SDK prefixes "Unable to create record: "; the rest is Twilio's own sentence.
    return (
        message.split(": ", 1)[1]
        if message.startswith("Unable to ") and ": " in message
        else message
    )


def twilio_error(
    status: int | None, code: int | None, message: str, *, to: str | None = None
) -> ProviderError:
    """A Twilio API error (HTTP ``status``, Twilio ``code`` and message) as a
    :class:`ProviderError` whose message a recruiter understands."""
    vendor = _vendor_text(message or "")
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


def _recipient(response: requests.Response) -> str | None:
    """The ``To`` of the form the request sent, if any (names the number in an error)."""
    body = response.request.body if response.request is not None else None
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if not isinstance(body, str):
        return None
    found = parse_qs(body).get("To")
    return found[0] if found else None


def map_twilio_response(response: requests.Response) -> ProviderError:
    """A Twilio error response (``{"code", "message", "status", "more_info"}``) in words."""
    body = response_body(response)
    body = body if isinstance(body, Mapping) else {}
    raw_code = body.get("code")
    try:
        code = int(raw_code) if raw_code is not None else None
    except (TypeError, ValueError):
        code = None
    message = str(body.get("message") or "") or (response.reason or "")
    return twilio_error(response.status_code, code, message, to=_recipient(response))


def unreachable_error(error: Unreachable) -> MessagingTransientError:
    """The transport's :class:`Unreachable`, saying what became of the text."""
    if error.never_sent:
        return MessagingTransientError(
            f"{error.message} The text was not sent; RecruitFlow will try again later.",
            ambiguous=False,
            code="unreachable",
        )
    return MessagingTransientError(
        f"{error.message} The text may or may not have been sent; RecruitFlow checks its "
        "status before sending it again.",
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
# Transport
# --------------------------------------------------------------------------------------------


class TwilioTransport(TwilioHttpClient):
    """The SDK's HTTP client: every request goes out through :class:`HttpClient`.

    Twilio 9.x has no host setting: every resource builds ``https://api.twilio.com/...`` (or a
    regional variant when ``edge``/``region`` are set, which we never set). Rewriting the URL
    here is the one place that sees every request. Error answers never reach the SDK:
    HttpClient raises them as :class:`ProviderError` (through :func:`map_twilio_response`).
    """

    def __init__(
        self,
        *,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = DEFAULT_TIMEOUT_S,
        on_call: Callable[[CallRecord], Any] | None = None,
        max_attempts: int = 3,
        sleep: Callable[[float], Any] = time.sleep,
        session: requests.Session | None = None,
    ) -> None:
        super().__init__(logger, False, timeout)
        self.base_url = (base_url or DEFAULT_BASE_URL).rstrip("/")
        self.http = HttpClient(
            self.base_url,
            timeout=timeout,
            max_attempts=max_attempts,
            sleep=sleep,
            on_call=on_call,
            session=session,
            vendor=VENDOR,
            error_mapper=map_twilio_response,
            max_wait=MAX_WAIT_S,
            documented=DOCUMENTED_BASE_URLS,
        )

    def rewrite(self, url: str) -> str:
        if self.base_url != DEFAULT_BASE_URL and url.startswith(DEFAULT_BASE_URL + "/"):
            return self.base_url + url[len(DEFAULT_BASE_URL) :]
        return url

    def request(  # type: ignore[override]
        self,
        method: str,
        url: str,
        params: Mapping[str, Any] | None = None,
        data: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> TwilioResponse:
        """One SDK request through HttpClient (never following a redirect: it carries the
        Auth Token); the answer as the SDK's Response."""
        method = method.upper()
        url = self.rewrite(url)
        content_type = (headers or {}).get("Content-Type", "")
        body = {"json": data} if content_type.endswith("json") else {"data": data}
        path = urlsplit(url).path
        response = self.http.request(
            method,
            url,
            params=params,
            headers=headers,
            auth=auth,
            expect=SUCCESS,
            idempotent=method != "POST" or bool(INSTANCE_PATH.search(path)),
            not_processed=NOT_PROCESSED,
            timeout=timeout,
            **body,
        )
        return TwilioResponse(int(response.status_code), response.text, response.headers)


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
        self.transport = TwilioTransport(
            base_url=self.base_url,
            timeout=timeout,
            on_call=on_call,
            max_attempts=max_attempts,
            sleep=sleep,
        )
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

    @property
    def host(self) -> str:
        return urlsplit(self.base_url).netloc

    def _call(self, fn: Callable[[], Any]) -> Any:
        """Run one SDK call (HttpClient retries inside it); an unreachable Twilio becomes
        the messaging error that says whether the text may have left."""
        try:
            return fn()
        except Unreachable as exc:
            raise unreachable_error(exc) from exc
        except RateLimited as exc:
            if exc.code is not None:
                raise  # already in Twilio's words
            # HttpClient's retries ran out on 429s: say so as Twilio's error does.
            body = exc.body if isinstance(exc.body, Mapping) else {}
            raw_code = body.get("code")
            error = twilio_error(
                exc.status,
                int(raw_code) if isinstance(raw_code, int) else None,
                str(body.get("message") or "Too Many Requests"),
            )
            if isinstance(error, RateLimited):
                error.retry_after = exc.retry_after
            raise error from exc

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
        message = self._call(lambda: self.client.messages.create(**kwargs))
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
        message = self._call(lambda: self.client.messages(provider_message_id).fetch())
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
        messages = self._call(lambda: self.client.messages.list(to=to_e164, limit=50))
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
            lambda: self.client.incoming_phone_numbers.list(phone_number=phone_number, limit=1)
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
                )  # an update of one number: setting the same URL twice is harmless
            )
        elif provision:
            number = self._call(
                lambda: self.client.incoming_phone_numbers.create(
                    phone_number=phone_number, sms_url=sms_url, sms_method="POST"
                )  # a purchase: resent only when Twilio provably did not act
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
