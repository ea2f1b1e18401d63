"""Inbound Parse: the parse settings (hostname → URL, as in SendGrid's
``/v3/user/webhooks/parse/settings``) and the candidate's reply to a mail in the outbox, posted
the way SendGrid posts it.

A reply goes to the mail's ``reply_to`` (else its sender); the setting for that address's
domain says where to POST. The POST is ``multipart/form-data`` (boundary ``xYzZY``) with
``headers, dkim, content-ids, to, from, cc, subject, text, html, sender_ip, spam_report,
envelope, attachments, spam_score, charsets, SPF`` — or, with ``send_raw``, ``email`` (the whole
MIME message) in place of ``headers``/``text``/``html`` — and HTTP basic auth taken from the
URL's ``user:password@`` (SendGrid signs nothing). Non-2xx answers are retried like events.
"""

from __future__ import annotations

import base64
import email.utils
import json
import time
import urllib.parse
import uuid
from email.message import EmailMessage

from integrations.sandbox._common import WebhookDispatcher
from integrations.sandbox.sendgrid.contract import SendGridError, error_item

BOUNDARY = "xYzZY"
DEFAULT_REPLY = "Thanks, that works for me. See you then!"


def _multipart(fields: list[tuple[str, str]]) -> bytes:
    chunks = []
    for name, value in fields:
        chunks.append(
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
            + value.encode("utf-8")
            + b"\r\n"
        )
    chunks.append(f"--{BOUNDARY}--\r\n".encode())
    return b"".join(chunks)


def _quoted(text: str) -> str:
    return "\n".join(f"> {line}" if line else ">" for line in (text or "").splitlines())


class InboundMixin:
    """Parse settings and replies (part of :class:`SendGridState`)."""

    def _install_inbound(self) -> None:
        self.parse_settings: dict[str, dict] = {}
        self.inbound_deliveries: list[dict] = []
        self.inbound_dispatcher = WebhookDispatcher(
            self.inbound_deliveries,
            self.retry_delays,
            self.retry_scale,
            is_success=lambda code: 200 <= code < 300,
            user_agent="Sendlib/1.0 server.sendgrid.net",
        )

    # settings -------------------------------------------------------------------------------
    def parse_setting_put(
        self, hostname: str, url: str, spam_check: bool = False, send_raw: bool = False
    ) -> dict:
        hostname = (hostname or "").strip().lower()
        parts = urllib.parse.urlsplit(url or "")
        problems = []
        if not hostname or "." not in hostname:
            problems.append(error_item("hostname is required", "hostname"))
        if parts.scheme not in ("http", "https") or not parts.hostname:
            problems.append(error_item("url must be a valid URL", "url"))
        if problems:
            raise SendGridError(400, problems)
        with self.lock:
            setting = {
                "hostname": hostname,
                "url": url,
                "spam_check": bool(spam_check),
                "send_raw": bool(send_raw),
            }
            self.parse_settings[hostname] = setting
            return dict(setting)

    def parse_setting_delete(self, hostname: str) -> None:
        with self.lock:
            if self.parse_settings.pop(hostname.lower(), None) is None:
                raise KeyError(f"No parse setting for {hostname}")

    # replies ----------------------------------------------------------------------------------
    def reply_as_candidate(self, mid: str, text: str | None = None) -> dict:
        """POST the first recipient's reply to mail ``mid`` to the parse URL of its reply
        address's domain. Raises KeyError (no such mail) or ValueError (no parse setting)."""
        with self.lock:
            mail = self.mails[mid]
            rcpt = next((r for r in mail["recipients"] if r["kind"] == "to"), None)
            if rcpt is None:
                raise ValueError("The mail has no recipient to reply from.")
            target = (mail.get("reply_to") or {}).get("email") or mail["from"]["email"]
            domain = target.rpartition("@")[2].lower()
            setting = self.parse_settings.get(domain)
        if setting is None:
            raise ValueError(
                f"No Inbound Parse setting for {domain}: add one (Settings → Inbound Parse, or "
                "POST /v3/user/webhooks/parse/settings) with the URL replies should go to."
            )
        body, headers = self._parse_request(mail, rcpt, target, text or DEFAULT_REPLY, setting)
        parts = urllib.parse.urlsplit(setting["url"])
        if parts.username is not None:
            credentials = f"{urllib.parse.unquote(parts.username)}:" + urllib.parse.unquote(
                parts.password or ""
            )
            headers["Authorization"] = "Basic " + base64.b64encode(credentials.encode()).decode()
        netloc = parts.hostname or ""
        if parts.port:
            netloc = f"{netloc}:{parts.port}"
        url = urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
        entry = {"mail_id": mid, "from": rcpt["email"], "to": target}
        return self.inbound_dispatcher.submit(entry, url, body, headers)

    def _parse_request(
        self, mail: dict, rcpt: dict, target: str, text: str, setting: dict
    ) -> tuple[bytes, dict]:
        sender_name = rcpt.get("name") or ""
        sender = email.utils.formataddr((sender_name, rcpt["email"])) if sender_name else rcpt[
            "email"]  # fmt: skip
        subject = rcpt.get("subject") or mail.get("subject") or ""
        subject = subject if subject.lower().startswith("re:") else f"Re: {subject}"
        sent = email.utils.formatdate(mail["received_at"], usegmt=True)
        original_from = mail["from"].get("name") or mail["from"]["email"]
        attribution = f"On {sent}, {original_from} <{mail['from']['email']}> wrote:"
        plain = f"{text}\n\n{attribution}\n{_quoted(mail.get('text') or '')}\n"
        html = (
            f'<div dir="ltr">{_html_escape(text)}</div><br><div class="gmail_quote">'
            f"{_html_escape(attribution)}<br><blockquote>{mail.get('html') or ''}</blockquote>"
            "</div>"
        )
        message_id = f"<{uuid.uuid4().hex}@mail.candidate.sandbox>"
        mime = EmailMessage()
        mime["From"] = sender
        mime["To"] = target
        mime["Subject"] = subject
        mime["Date"] = email.utils.formatdate(time.time(), usegmt=True)
        mime["Message-ID"] = message_id
        mime["In-Reply-To"] = f"<{mail['id']}@ismtpd-sandbox>"
        mime.set_content(plain)
        mime.add_alternative(html, subtype="html")
        header_block = "".join(
            f"{name}: {value}\n" for name, value in mime.items() if name.lower() != "content-type"
        )
        header_block = (
            "Received: by mx.sendgrid.net with SMTP id sandbox; "
            f"{email.utils.formatdate(time.time(), usegmt=True)}\n"
            + header_block
            + f"Content-Type: {mime['Content-Type']}\n"
        )
        envelope = json.dumps({"to": [target], "from": rcpt["email"]})
        fields: list[tuple[str, str]] = []
        if setting["send_raw"]:
            fields.append(("email", mime.as_string()))
        else:
            fields.extend([("headers", header_block), ("content-ids", "{}")])
        fields.extend(
            [
                ("dkim", "{@mail.candidate.sandbox : pass}"),
                ("to", target),
                ("from", sender),
                ("sender_ip", "203.0.113.25"),
                ("envelope", envelope),
                ("subject", subject),
                ("SPF", "pass"),
            ]
        )
        if not setting["send_raw"]:
            fields.extend(
                [
                    ("text", plain),
                    ("html", html),
                    ("attachments", "0"),
                    (
                        "charsets",
                        json.dumps({k: "UTF-8" for k in ("to", "html", "subject", "from", "text")}),
                    ),
                ]
            )
        if setting["spam_check"]:
            fields.extend([("spam_score", "0.1"), ("spam_report", "Spam detection: 0.1 points")])
        headers = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
        return _multipart(fields), headers


def _html_escape(value: str) -> str:
    return (
        (value or "")
        .replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace("\n", "<br>")
    )
