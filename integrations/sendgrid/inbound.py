"""SendGrid Inbound Parse: the multipart POST SendGrid makes for every e-mail to a parsed
domain, read into the vendor-neutral :class:`~integrations.messaging.InboundEmail`.

What SendGrid posts (``multipart/form-data``, "parsed" mode): ``headers`` (the raw header
block), ``text``, ``html``, ``from``, ``to``, ``cc``, ``subject``, ``envelope`` (JSON
``{"to": [...], "from": "..."}``: the SMTP envelope, the addresses the mail was really
delivered to), ``charsets`` (JSON: the character set of each text field, e.g.
``{"text": "iso-8859-1", "subject": "UTF-8"}``), ``dkim``, ``SPF``, ``sender_ip``,
``spam_score``, ``spam_report``, ``content-ids``, ``attachments`` (how many), ``attachment-info``
(JSON ``{"attachment1": {"filename", "name", "type", "content-id"?}}``) and the files
``attachment1`` … ``attachmentN``. With "POST the raw, full MIME message" ticked, the field
``email`` holds the whole message instead of ``text``/``html``/``headers``.

Inbound Parse signs nothing: the endpoint is protected by a secret in its URL and HTTP basic
auth (credentials in the URL configured at SendGrid, ``https://user:pass@host/...``), checked
with :func:`basic_auth_matches` before anything is stored.

The endpoint stores what it read (:func:`stored_body`, JSON: the decoded fields and the
attachments' names, types and sizes — not their bytes) through the webhook intake; the
intake's reader (:func:`integrations.sendgrid.webhooks.parse_stored`) turns that back into an
:class:`InboundEmail` with :func:`inbound_from_stored`.
"""

from __future__ import annotations

import base64
import binascii
import email
import email.policy
import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import datetime
from email.header import decode_header, make_header
from email.message import Message as MimeMessage
from email.utils import getaddresses, parseaddr
from typing import Any

from integrations.messaging import InboundEmail

STORED_MARKER = "sendgrid_inbound_parse"
# Text fields SendGrid decodes per ``charsets``; the rest are ASCII or JSON.
TEXT_FIELDS = ("headers", "text", "html", "from", "to", "cc", "subject", "email")
KEPT_FIELDS = (
    *TEXT_FIELDS,
    "envelope",
    "charsets",
    "dkim",
    "SPF",
    "sender_ip",
    "spam_score",
    "spam_report",
    "attachments",
    "attachment-info",
    "content-ids",
)
FIELD_LIMIT = 1_000_000  # characters kept of any one field (a reply's text is far smaller)


class InvalidInbound(ValueError):
    """The request is not an Inbound Parse POST we can read."""


# --------------------------------------------------------------------------------------------
# Authentication
# --------------------------------------------------------------------------------------------


def basic_auth_matches(authorization: str | None, *, username: str, password: str) -> bool:
    """True when the ``Authorization: Basic …`` header carries exactly ``username`` and
    ``password`` (compared in constant time). Missing or malformed headers give False."""
    if not authorization or not password:
        return False
    scheme, _, encoded = authorization.strip().partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return False
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return False
    given_user, sep, given_password = decoded.partition(":")
    if not sep:
        return False
    user_ok = hmac.compare_digest(given_user.encode(), username.encode())
    password_ok = hmac.compare_digest(given_password.encode(), password.encode())
    return user_ok and password_ok


# --------------------------------------------------------------------------------------------
# Reading the multipart body
# --------------------------------------------------------------------------------------------


def _charsets(raw: bytes | None) -> dict[str, str]:
    if not raw:
        return {}
    try:
        value = json.loads(raw.decode("utf-8", errors="replace"))
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, Mapping) else {}


def _decode(raw: bytes, charset: str | None) -> str:
    for candidate in (charset, "utf-8"):
        if not candidate:
            continue
        try:
            return raw.decode(candidate)
        except (LookupError, UnicodeDecodeError):
            continue
    return raw.decode("utf-8", errors="replace")


def parse_multipart(content_type: str, raw_body: bytes) -> dict[str, Any]:
    """The fields of an Inbound Parse POST: ``{"fields": {name: text}, "attachments":
    [{"field", "filename", "type", "size"}]}``. Text fields are decoded with the charset
    SendGrid names for them in ``charsets`` (UTF-8 when it names none or a wrong one).

    Raises :class:`InvalidInbound` when the body is not ``multipart/form-data``."""
    if not content_type or "multipart/form-data" not in content_type.lower():
        raise InvalidInbound("Inbound Parse posts multipart/form-data; this body is not.")
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1")
    container = email.message_from_bytes(head + raw_body, policy=email.policy.HTTP)
    if not container.is_multipart():
        raise InvalidInbound("The multipart body has no parts (a wrong boundary?).")
    raw_fields: dict[str, bytes] = {}
    files: list[dict[str, Any]] = []
    for part in container.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not name:
            continue
        decoded = part.get_payload(decode=True)
        payload = decoded if isinstance(decoded, bytes) else b""
        filename = part.get_param("filename", header="content-disposition")
        if filename is not None:
            files.append(
                {
                    "field": str(name),
                    "filename": str(filename),
                    "type": part.get_content_type(),
                    "size": len(payload),
                }
            )
            continue
        raw_fields[str(name)] = payload
    charsets = _charsets(raw_fields.get("charsets"))
    fields: dict[str, str] = {}
    for name, value in raw_fields.items():
        if name not in KEPT_FIELDS:
            continue
        charset = charsets.get(name) if name in TEXT_FIELDS else "utf-8"
        fields[name] = _decode(value, charset)[:FIELD_LIMIT]
    if not fields and not files:
        raise InvalidInbound("The multipart body has no Inbound Parse fields.")
    return {"fields": fields, "attachments": files}


def header_message_id(headers_block: str) -> str:
    """The ``Message-ID`` of a raw header block, or ""."""
    if not headers_block:
        return ""
    parsed = email.message_from_string(headers_block + "\n\n", policy=email.policy.compat32)
    return str(parsed.get("Message-ID") or "").strip()


def event_id(parsed: Mapping[str, Any]) -> str:
    """The dedupe key of a parsed POST: its ``Message-ID`` (a retry carries the same one), or
    a digest of its sender, recipients, subject and text when it has none."""
    fields = parsed.get("fields") or {}
    message_id = header_message_id(fields.get("headers", ""))
    if not message_id and fields.get("email"):
        message_id = str(email.message_from_string(fields["email"]).get("Message-ID") or "")
    if message_id:
        return message_id.strip()
    digest = hashlib.sha256(
        "\n".join(
            fields.get(name, "") for name in ("from", "to", "subject", "text", "envelope")
        ).encode("utf-8")
    ).hexdigest()
    return f"sha256:{digest}"


def stored_body(parsed: Mapping[str, Any]) -> str:
    """What the endpoint stores: the parsed POST as JSON, marked as an Inbound Parse POST."""
    return json.dumps(
        {
            STORED_MARKER: 1,
            "fields": dict(parsed.get("fields") or {}),
            "attachments": list(parsed.get("attachments") or []),
        },
        ensure_ascii=False,
    )


def is_stored_inbound(body: Any) -> bool:
    return isinstance(body, Mapping) and body.get(STORED_MARKER) == 1


# --------------------------------------------------------------------------------------------
# Into the neutral record
# --------------------------------------------------------------------------------------------


def _unfold(value: str) -> str:
    """A header value with RFC 2047 encoded words decoded ("=?utf-8?q?Ana?=" → "Ana")."""
    try:
        return str(make_header(decode_header(value)))
    except (ValueError, LookupError, UnicodeDecodeError):
        return value


def _raw_parts(raw_mime: str) -> dict[str, str]:
    """text, html, headers, from, to, subject of a raw MIME message ("send raw" mode)."""
    message = email.message_from_string(raw_mime, policy=email.policy.default)
    parts: dict[str, str] = {
        "from": str(message.get("From") or ""),
        "to": str(message.get("To") or ""),
        "cc": str(message.get("Cc") or ""),
        "subject": str(message.get("Subject") or ""),
        "headers": "".join(f"{k}: {v}\n" for k, v in message.items()),
    }
    for kind in ("plain", "html"):
        body = message.get_body(preferencelist=(kind,))
        if isinstance(body, MimeMessage):
            try:
                parts["text" if kind == "plain" else "html"] = body.get_content()
            except (LookupError, KeyError):
                continue
    return parts


def _recipients(fields: Mapping[str, str]) -> list[str]:
    found: list[str] = []
    try:
        envelope = json.loads(fields.get("envelope") or "{}")
    except ValueError:
        envelope = {}
    to = envelope.get("to") if isinstance(envelope, Mapping) else None
    if isinstance(to, str):
        to = [to]
    if isinstance(to, list):
        found.extend(str(address) for address in to if address)
    for name in ("to", "cc"):
        found.extend(address for _, address in getaddresses([_unfold(fields.get(name, ""))]))
    return list(dict.fromkeys(a.strip().lower() for a in found if a and "@" in a))


def _in_reply_to(headers_block: str) -> str:
    if not headers_block:
        return ""
    parsed = email.message_from_string(headers_block + "\n\n", policy=email.policy.compat32)
    return str(parsed.get("In-Reply-To") or "").strip()


def inbound_from_stored(
    body: Mapping[str, Any], *, received_at: datetime, event_id: str = ""
) -> InboundEmail:
    """The :class:`InboundEmail` of a stored Inbound Parse POST (see :func:`stored_body`).
    Raises :class:`InvalidInbound` when it names no sender."""
    fields: dict[str, str] = dict(body.get("fields") or {})
    if fields.get("email") and not fields.get("text") and not fields.get("html"):
        fields = {**fields, **_raw_parts(fields["email"])}
    from_name, from_email = parseaddr(_unfold(fields.get("from", "")))
    if not from_email:
        try:
            envelope = json.loads(fields.get("envelope") or "{}")
        except ValueError:
            envelope = {}
        from_email = str(envelope.get("from") or "") if isinstance(envelope, Mapping) else ""
    if not from_email or "@" not in from_email:
        raise InvalidInbound("The Inbound Parse POST names no sender address.")
    try:
        spam_score: float | None = float(fields.get("spam_score") or "")
    except ValueError:
        spam_score = None
    attachments = tuple(
        (str(a.get("filename") or a.get("field") or ""), str(a.get("type") or ""), int(a["size"]))
        for a in body.get("attachments") or []
        if isinstance(a, Mapping) and isinstance(a.get("size"), int)
    )
    headers_block = fields.get("headers", "")
    return InboundEmail(
        message_id=event_id or header_message_id(headers_block) or "",
        from_email=from_email.strip().lower(),
        from_name=from_name.strip(),
        recipients=tuple(_recipients(fields)),
        subject=_unfold(fields.get("subject", "")).strip(),
        text=fields.get("text", ""),
        html=fields.get("html", ""),
        in_reply_to=_in_reply_to(headers_block),
        received_at=received_at,
        attachments=attachments,
        spam_score=spam_score,
        raw={
            name: fields[name]
            for name in ("from", "to", "subject", "envelope", "SPF", "dkim")
            if name in fields
        },
    )
