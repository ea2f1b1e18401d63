"""SendGrid v3 Mail Send through the official SDK (``sendgrid.SendGridAPIClient``).

The SDK builds the requests; its transport (:mod:`integrations.sendgrid.transport`) sends them
through :class:`integrations.http.HttpClient`, so a SendGrid call has the timeout, retries,
pacing, call records and SSRF guard every vendor's has. What is SendGrid's own lives here: the
Mail Send payload, error answers in words an admin can act on, and the at-most-once rule for
sends (resent only when SendGrid provably did not act: a 429, or a connection never made).
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Mapping
from email.utils import parseaddr
from typing import Any

import requests
import sendgrid

from integrations.http import (
    AuthError,
    CallRecord,
    HttpClient,
    NotFound,
    PermissionDenied,
    ProviderError,
    RateLimited,
    TransientError,
    Unreachable,
    ValidationFailed,
    response_body,
)
from integrations.messaging import (
    MESSAGE_ID_KEY,
    EmailMessage,
    MessagingTransientError,
    NotSupported,
    SendResult,
)
from integrations.sendgrid.transport import DOCUMENTED_BASE_URLS, use_http

VENDOR = "SendGrid"
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


def _sender(response: requests.Response) -> str | None:
    """The ``from`` address of the Mail Send body the request carried, if any."""
    body = response.request.body if response.request is not None else None
    try:
        sent = json.loads(body) if isinstance(body, str | bytes) and body else None
    except ValueError:
        return None
    sender = sent.get("from") if isinstance(sent, Mapping) else None
    return sender.get("email") if isinstance(sender, Mapping) else None


def map_sendgrid_response(response: requests.Response) -> ProviderError:
    """A SendGrid error response as a :class:`ProviderError` with a human fix."""
    status = response.status_code
    body = response_body(response)
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
            from_email = _sender(response)
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
    if status == 404:
        return NotFound(f"SendGrid could not find it ({said}).", **common)
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
    if status >= 500:
        return MessagingTransientError(
            f"SendGrid is having problems ({said}). The e-mail may or may not have been "
            "accepted; RecruitFlow waits for SendGrid's events before sending it again.",
            ambiguous=True,
            code="server_error",
            **common,
        )
    return ProviderError(f"SendGrid returned an unexpected response ({said}).", **common)


# --------------------------------------------------------------------------------------------
# The client
# --------------------------------------------------------------------------------------------


class SendGridClient:
    """Mail Send with the official SDK over :class:`HttpClient`, with typed errors.

    ``base_url`` may point at the sandbox (``http://127.0.0.1:<port>/sendgrid``); the SDK adds
    ``/v3/mail/send``. Only requests SendGrid provably never processed are resent (429 within
    ``max_wait``, connection refused), so an e-mail is never sent twice by a retry.
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
        session: requests.Session | None = None,
    ) -> None:
        if not api_key or not api_key.strip():
            # The SDK would silently fall back to $SENDGRID_API_KEY: never for a tenant.
            raise AuthError("Paste the SendGrid API key.", code="missing_credentials")
        self.base_url = (base_url or DEFAULT_BASE_URL).rstrip("/")
        self.http = HttpClient(
            self.base_url,
            timeout=timeout,
            max_attempts=max_attempts,
            max_wait=max_wait,
            sleep=sleep,
            clock=clock,
            on_call=on_call,
            session=session,
            vendor=VENDOR,
            error_mapper=map_sendgrid_response,
            documented=DOCUMENTED_BASE_URLS,
        )
        self.sg = sendgrid.SendGridAPIClient(api_key=api_key.strip(), host=self.base_url)
        use_http(self.sg, self.http)
        # python-http-client copies this to every child client it builds for a path.
        self.sg.client.timeout = timeout
        self.timeout = timeout

    def send(self, payload: Mapping[str, Any]) -> SendResult:
        """POST the payload; returns ``SendResult(X-Message-Id, "queued")`` on 202."""
        try:
            response = self.sg.send(dict(payload))
        except Unreachable as exc:
            if exc.never_sent:
                fate = " The e-mail was not sent; RecruitFlow will try again later."
            else:
                fate = (
                    " The e-mail may or may not have been accepted; RecruitFlow waits for "
                    "SendGrid's events before sending it again."
                )
            raise MessagingTransientError(
                exc.message + fate, ambiguous=not exc.never_sent, code="unreachable"
            ) from exc
        status = int(response.status_code)
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

    def check_send(self, payload: Mapping[str, Any]) -> None:
        """POST ``payload`` (a connection test in sandbox mode): raises what a send would."""
        self.sg.client.mail.send.post(request_body=dict(payload))

    # -- Email Activity (reconcile) -----------------------------------------------------------

    def find_by_message_id(self, our_message_id: str) -> SendResult | None:
        """The e-mail SendGrid has with our ``custom_args`` id (:data:`MESSAGE_ID_KEY`), asked
        through the Email Activity API (``GET /v3/messages?query=unique_args['…']="…"``): how
        a send that ended ambiguously (a 5xx, a timeout) is settled before it is ever sent
        again. None means SendGrid's activity has no such e-mail. The API is a paid add-on and
        the key needs "Email Activity" access: without them :class:`NotSupported` is raised
        (then only the Event Webhook, which carries the same id, can settle the e-mail)."""
        value = str(our_message_id).replace("\\", "").replace('"', "")
        query = f"unique_args['{MESSAGE_ID_KEY}']=\"{value}\""
        try:
            response = self.sg.client.messages.get(query_params={"query": query, "limit": 10})
        except (PermissionDenied, NotFound) as exc:
            raise NotSupported(
                "SendGrid's Email Activity API is not available with this key "
                f"({_said(exc.status or 0, exc.body)}): it needs the paid "
                "“Additional Email Activity History” add-on and a key with Email Activity "
                "access. Until then an e-mail whose send was cut off is settled by "
                "SendGrid's events.",
                status=exc.status,
                code="activity_unavailable",
            ) from exc
        except RateLimited:
            raise
        except TransientError as exc:
            raise MessagingTransientError(
                f"{exc.message} Asking SendGrid's Email Activity API again later.",
                ambiguous=False,
                status=exc.status,
                code="unreachable" if exc.status is None else "server_error",
            ) from exc
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
