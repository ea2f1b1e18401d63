"""SendGrid v3 Mail Send through the official SDK (``sendgrid.SendGridAPIClient``).

The SDK talks urllib (via python-http-client), not requests, so it cannot go through
:class:`integrations.http.HttpClient`; this module gives it the same manners: an explicit
timeout, a :class:`CallRecord` per attempt, retries only when SendGrid provably did not act
(429, connection never made), and errors mapped to the shared :class:`ProviderError` types with
messages an admin can act on.
"""

from __future__ import annotations

import base64
import http.client
import json
import logging
import random
import socket
import ssl
import time
import urllib.error
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email.utils import parseaddr
from typing import Any
from urllib.parse import urlsplit

import python_http_client.exceptions as sg_errors
import sendgrid

from integrations.http import (
    AuthError,
    CallRecord,
    PermissionDenied,
    ProviderError,
    RateLimited,
    ValidationFailed,
    parse_retry_after,
)
from integrations.messaging import (
    MESSAGE_ID_KEY,
    EmailMessage,
    MessagingTransientError,
    NotSupported,
    SendResult,
)
from integrations.sendgrid.transport import guard_sdk

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.sendgrid.com"
DEFAULT_TIMEOUT_S = 10
MAX_CATEGORIES = 10
MAX_CATEGORY_LENGTH = 255
VERIFIED_SENDER_TEXT = "verified sender identity"


# --------------------------------------------------------------------------------------------
# Payload
# --------------------------------------------------------------------------------------------


def _address(email: str, name: str | None) -> dict[str, str]:
    # SendGrid rejects names containing ";" or "," ("Smith, Jane" is common in ATS data), so
    # soften them rather than fail the send.
    entry = {"email": email.strip()}
    clean = " ".join((name or "").replace(";", " ").replace(",", " ").split())
    if clean:
        entry["name"] = clean
    return entry


def build_mail_payload(
    message: EmailMessage,
    *,
    default_from_email: str | None = None,
    default_from_name: str | None = None,
    default_reply_to: str | None = None,
) -> dict[str, Any]:
    """The ``POST /v3/mail/send`` body for one message. Raises ValidationFailed for what
    SendGrid would reject anyway, with a message saying what to fix."""
    problems: list[tuple[str | None, str]] = []
    from_email = (message.from_email or default_from_email or "").strip()
    if not message.to_email or "@" not in message.to_email:
        problems.append(("to_email", "The recipient has no valid e-mail address."))
    if not from_email:
        problems.append(("from_email", "Set the sender address in the SendGrid settings."))
    if not (message.subject or "").strip():
        problems.append(("subject", "The e-mail needs a subject."))
    if not (message.text or message.html):
        problems.append(("content", "The e-mail has no text."))
    categories = list(dict.fromkeys(c.strip() for c in message.categories if c and c.strip()))
    if len(categories) > MAX_CATEGORIES:
        problems.append(("categories", f"SendGrid allows at most {MAX_CATEGORIES} categories."))
    if any(len(c) > MAX_CATEGORY_LENGTH for c in categories):
        problems.append(("categories", "A category is longer than 255 characters."))
    if problems:
        raise ValidationFailed(
            "The e-mail cannot be sent: " + " ".join(m for _, m in problems),
            field_errors=problems,
            code="invalid_message",
        )

    personalization: dict[str, Any] = {"to": [_address(message.to_email, message.to_name)]}
    if message.message_id is not None:
        # custom_args values must be strings; they come back as top-level keys of each event.
        personalization["custom_args"] = {MESSAGE_ID_KEY: str(message.message_id)}
    payload: dict[str, Any] = {
        "personalizations": [personalization],
        "from": _address(from_email, message.from_name or default_from_name),
        "subject": message.subject,
        # SendGrid requires text/plain before text/html.
        "content": [
            {"type": kind, "value": value}
            for kind, value in (("text/plain", message.text), ("text/html", message.html))
            if value
        ],
    }
    reply_to = (message.reply_to or default_reply_to or "").strip()
    if reply_to:
        name, email = parseaddr(reply_to)
        payload["reply_to"] = _address(email or reply_to, name)
    if categories:
        payload["categories"] = categories
    if message.attachments:
        payload["attachments"] = [
            {
                "content": base64.b64encode(content).decode("ascii"),
                "type": mime or "application/octet-stream",
                "filename": filename,
                "disposition": "attachment",
            }
            for filename, content, mime in message.attachments
        ]
    return payload


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------


def _error_body(exc: sg_errors.HTTPError) -> Any:
    raw = exc.body or b""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    try:
        return json.loads(text)
    except ValueError:
        return text[:2000]


def _field_errors(body: Any) -> list[tuple[str | None, str]]:
    errors = body.get("errors") if isinstance(body, Mapping) else None
    result: list[tuple[str | None, str]] = []
    for err in errors if isinstance(errors, list) else []:
        if isinstance(err, Mapping):
            result.append((err.get("field"), str(err.get("message") or "")))
        else:
            result.append((None, str(err)))
    return result


def _said(status: int, body: Any) -> str:
    messages = [m for _, m in _field_errors(body) if m]
    if not messages and isinstance(body, str) and body.strip():
        messages = [body.strip()[:300]]
    return f"{status} {'; '.join(messages)}".strip()


def map_http_error(
    exc: sg_errors.HTTPError, *, from_email: str | None = None, now: float | None = None
) -> ProviderError:
    """A SendGrid error response as a :class:`ProviderError` with a human fix."""
    status = int(exc.status_code)
    body = _error_body(exc)
    said = _said(status, body)
    common: dict[str, Any] = {"status": status, "body": body}
    if status == 401:
        return AuthError(
            f"SendGrid rejected the API key ({said}). Create a key with “Mail Send” access in "
            "SendGrid → Settings → API Keys and paste it into RecruitFlow's e-mail settings.",
            code="invalid_credentials",
            **common,
        )
    if status == 403:
        if VERIFIED_SENDER_TEXT in said.lower():
            sender = f" {from_email}" if from_email else ""
            return PermissionDenied(
                f"SendGrid will not send from{sender} because it is not a verified sender "
                f"({said}). Verify the address or its domain in SendGrid → Settings → Sender "
                "Authentication.",
                vendor_message=said,
                code="unverified_sender",
                **common,
            )
        return PermissionDenied(
            f"SendGrid refused the request ({said}). Give the API key “Mail Send” access "
            "(SendGrid → Settings → API Keys) and check the account is active.",
            vendor_message=said,
            code="forbidden",
            **common,
        )
    if status == 413:
        return ValidationFailed(
            "The e-mail is too large for SendGrid (30 MB including attachments). Remove or "
            "shrink the attachments.",
            code="too_large",
            **common,
        )
    if status in (400, 422):
        field_errors = _field_errors(body)
        details = "; ".join(f"{f}: {m}" if f else m for f, m in field_errors) or said
        return ValidationFailed(
            f"SendGrid rejected the e-mail: {details}",
            field_errors=field_errors,
            code="validation",
            **common,
        )
    if status == 429:
        headers = exc.headers or {}
        clock = time.time() if now is None else now
        retry_after = parse_retry_after(
            headers.get("Retry-After") or headers.get("X-RateLimit-Reset"), now=clock
        )
        when = f" Try again in {int(retry_after + 0.999)} s." if retry_after else ""
        return RateLimited(
            f"SendGrid is rate limiting us ({said}).{when}",
            retry_after=retry_after,
            code="rate_limited",
            **common,
        )
    if status >= 500:
        return MessagingTransientError(
            f"SendGrid is having problems ({said}). The e-mail may or may not have been "
            "accepted; RecruitFlow waits for SendGrid's events before sending it again.",
            ambiguous=True,
            code="server_error",
            **common,
        )
    return ProviderError(f"SendGrid returned an unexpected response ({said}).", **common)


def _never_sent(exc: BaseException) -> bool:
    """True when the request never fully reached SendGrid, so it cannot have acted on it.

    urllib wraps in URLError whatever fails while connecting and writing the request; failures
    while waiting for the answer (read timeout, connection reset) surface unwrapped, and then
    SendGrid may well have accepted the e-mail.
    """
    return isinstance(exc, urllib.error.URLError) and not isinstance(exc, urllib.error.HTTPError)


def _network_message(exc: BaseException, host: str) -> str:
    reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    if isinstance(reason, TimeoutError):
        why = "it did not answer in time"
    elif isinstance(reason, ConnectionRefusedError):
        why = "the connection was refused"
    elif isinstance(reason, socket.gaierror):
        why = "the host name could not be resolved"
    elif isinstance(reason, ssl.SSLError):
        why = "its TLS certificate could not be verified"
    else:
        why = f"the connection failed ({type(reason).__name__})"
    return f"Could not reach SendGrid at {host}: {why}."


# --------------------------------------------------------------------------------------------
# The client
# --------------------------------------------------------------------------------------------


class SendGridClient:
    """Mail Send with the official SDK, a timeout, call records and typed errors.

    ``base_url`` may point at the sandbox (``http://127.0.0.1:<port>/sendgrid``); the SDK adds
    ``/v3/mail/send``. Only requests SendGrid provably never processed are resent (429 within
    ``max_wait``, connection refused), so an e-mail is never sent twice by a retry here.
    """

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = DEFAULT_TIMEOUT_S,
        on_call: Callable[[CallRecord], Any] | None = None,
        max_attempts: int = 3,
        max_wait: float = 30,
        sleep: Callable[[float], Any] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not api_key or not api_key.strip():
            # The SDK would silently fall back to $SENDGRID_API_KEY: never for a tenant.
            raise AuthError("Paste the SendGrid API key.", code="missing_credentials")
        self.base_url = (base_url or DEFAULT_BASE_URL).rstrip("/")
        self.sg = sendgrid.SendGridAPIClient(api_key=api_key.strip(), host=self.base_url)
        # Every SDK request passes the SSRF guard: checked address, no redirects.
        guard_sdk(self.sg)
        # urllib waits forever without a timeout; python-http-client copies this to every
        # child client it builds for a path.
        self.sg.client.timeout = timeout
        self.timeout = timeout
        self.on_call = on_call
        self.max_attempts = max(1, max_attempts)
        self.max_wait = max_wait
        self.sleep = sleep
        self.clock = clock

    @property
    def send_url(self) -> str:
        return f"{self.base_url}/v3/mail/send"

    def _record(
        self, started: float, started_at: datetime, attempt: int, status: int | None, error: str
    ) -> None:
        if self.on_call is None:
            return
        url = self.send_url
        record = CallRecord(
            method="POST",
            url=url,
            path=urlsplit(url).path,
            status=status,
            duration_ms=int(round((time.monotonic() - started) * 1000)),
            attempt=attempt,
            error=error or None,
            started_at=started_at,
        )
        try:
            self.on_call(record)
        except Exception:  # a logging failure must never break the send
            logger.exception("on_call callback failed for %s", record.url)

    def _backoff(self, attempt: int) -> float:
        ceiling = min(10.0, 0.5 * 2 ** (attempt - 1))
        return ceiling / 2 + random.random() * ceiling / 2

    def send(self, payload: Mapping[str, Any]) -> SendResult:
        """POST the payload; returns ``SendResult(X-Message-Id, "queued")`` on 202."""
        from_email = (payload.get("from") or {}).get("email")
        host = urlsplit(self.base_url).netloc
        attempt = 0
        while True:
            attempt += 1
            last = attempt >= self.max_attempts
            started, started_at = time.monotonic(), datetime.now(UTC)
            try:
                response = self.sg.send(dict(payload))
            except sg_errors.HTTPError as exc:
                self._record(
                    started, started_at, attempt, exc.status_code, f"HTTP {exc.status_code}"
                )
                error = map_http_error(exc, from_email=from_email, now=self.clock())
                if isinstance(error, RateLimited) and not last:
                    wait = error.retry_after
                    if wait is None or wait <= self.max_wait:
                        self.sleep(wait if wait is not None else self._backoff(attempt))
                        continue
                raise error from exc
            except (OSError, http.client.HTTPException) as exc:
                self._record(started, started_at, attempt, None, f"{type(exc).__name__}: {exc}")
                never_sent = _never_sent(exc)
                if never_sent and not last:
                    self.sleep(self._backoff(attempt))
                    continue
                message = _network_message(exc, host)
                if never_sent:
                    message += " The e-mail was not sent; RecruitFlow will try again later."
                else:
                    message += (
                        " The e-mail may or may not have been accepted; RecruitFlow waits for "
                        "SendGrid's events before sending it again."
                    )
                raise MessagingTransientError(
                    message, ambiguous=not never_sent, code="unreachable"
                ) from exc
            status = int(response.status_code)
            self._record(started, started_at, attempt, status, "")
            headers = response.headers
            message_id = headers.get("X-Message-Id") if headers is not None else None
            if status not in (200, 202) or not message_id:
                raise ProviderError(
                    f"SendGrid answered {status} without a message id; the e-mail may not "
                    "have been accepted.",
                    status=status,
                    permanent=False,
                )
            return SendResult(
                provider_message_id=str(message_id),
                status="queued",
                raw={"status_code": status, "x_message_id": str(message_id)},
            )

    # -- Email Activity (reconcile) -----------------------------------------------------------

    @property
    def activity_url(self) -> str:
        return f"{self.base_url}/v3/messages"

    def find_by_message_id(self, our_message_id: str) -> SendResult | None:
        """The e-mail SendGrid has with our ``custom_args`` id (:data:`MESSAGE_ID_KEY`), asked
        through the Email Activity API (``GET /v3/messages?query=unique_args['…']="…"``): how
        a send that ended ambiguously (a 5xx, a timeout) is settled before it is ever sent
        again. None means SendGrid's activity has no such e-mail. The API is a paid add-on and
        the key needs "Email Activity" access: without them :class:`NotSupported` is raised
        (then only the Event Webhook, which carries the same id, can settle the e-mail)."""
        value = str(our_message_id).replace("\\", "").replace('"', "")
        query = f"unique_args['{MESSAGE_ID_KEY}']=\"{value}\""
        host = urlsplit(self.base_url).netloc
        started, started_at = time.monotonic(), datetime.now(UTC)
        try:
            response = self.sg.client.messages.get(query_params={"query": query, "limit": 10})
        except sg_errors.HTTPError as exc:
            self._record_get(started, started_at, exc.status_code, f"HTTP {exc.status_code}")
            status = int(exc.status_code)
            if status in (403, 404):
                raise NotSupported(
                    "SendGrid's Email Activity API is not available with this key "
                    f"({_said(status, _error_body(exc))}): it needs the paid "
                    "“Additional Email Activity History” add-on and a key with Email Activity "
                    "access. Until then an e-mail whose send was cut off is settled by "
                    "SendGrid's events.",
                    status=status,
                    code="activity_unavailable",
                ) from exc
            error = map_http_error(exc, now=self.clock())
            if status >= 500:
                raise MessagingTransientError(
                    f"SendGrid's Email Activity API is having problems ({status}); asking "
                    "again later.",
                    status=status,
                    code="server_error",
                ) from exc
            raise error from exc
        except (OSError, http.client.HTTPException) as exc:
            self._record_get(started, started_at, None, f"{type(exc).__name__}: {exc}")
            raise MessagingTransientError(
                _network_message(exc, host) + " Asking again later.", code="unreachable"
            ) from exc
        self._record_get(started, started_at, int(response.status_code), "")
        try:
            body = json.loads(response.body or b"{}")
        except ValueError:
            body = {}
        for found in body.get("messages") or []:
            msg_id = str(found.get("msg_id") or "")
            if not msg_id:
                continue
            return SendResult(
                # Events carry sg_message_id = X-Message-Id + "." + …; we store the first part.
                provider_message_id=msg_id.split(".", 1)[0],
                status="queued",
                raw={
                    "msg_id": msg_id,
                    "status": found.get("status"),
                    "to_email": found.get("to_email"),
                    "from": found.get("from_email"),
                    "last_event_time": found.get("last_event_time"),
                    "reconciled": True,
                },
            )
        return None

    def _record_get(self, started: float, started_at: datetime, status, error: str) -> None:
        if self.on_call is None:
            return
        record = CallRecord(
            method="GET",
            url=self.activity_url,
            path=urlsplit(self.activity_url).path,
            status=status,
            duration_ms=int(round((time.monotonic() - started) * 1000)),
            attempt=1,
            error=error or None,
            started_at=started_at,
        )
        try:
            self.on_call(record)
        except Exception:  # a logging failure must never break the lookup
            logger.exception("on_call callback failed for %s", record.url)
