"""Reading what SendGrid posts: Inbound Parse multipart (parsed and raw modes, charsets) and
the events that lock an address."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest

from integrations.messaging import DeliveryUpdate, EmailOptOutChange, InboundEmail
from integrations.sendgrid import inbound, webhooks

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
BOUNDARY = "xYzZY"


def multipart(fields: list[tuple[str, bytes]], files=()) -> tuple[str, bytes]:
    chunks = []
    for name, value in fields:
        chunks.append(
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
            + value
            + b"\r\n"
        )
    for name, filename, kind, content in files:
        chunks.append(
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"; '
            f'filename="{filename}"\r\nContent-Type: {kind}\r\n\r\n'.encode()
            + content
            + b"\r\n"
        )
    chunks.append(f"--{BOUNDARY}--\r\n".encode())
    return f"multipart/form-data; boundary={BOUNDARY}", b"".join(chunks)


def read(content_type: str, body: bytes) -> InboundEmail:
    parsed = inbound.parse_multipart(content_type, body)
    stored = inbound.stored_body(parsed)
    (record,) = webhooks.parse_stored(
        stored, url="", received_at=NOW, event_id=inbound.event_id(parsed)
    )
    return record


def test_parsed_mode_post_becomes_an_inbound_email_with_text_decoded_by_its_charset():
    text = "Grüße — Dienstag passt.\n\nOn Mon, Acme wrote:\n> Hi Jürgen"
    content_type, body = multipart(
        [
            ("headers", b"Message-ID: <abc-123@mail.example>\nIn-Reply-To: <x@y>\n"),
            ("from", "Jürgen Weiß <jurgen@example.com>".encode()),
            ("to", b"reply+c7-0123456789abcdef0123@reply.example.test"),
            ("subject", b"Re: Your interview"),
            ("text", text.encode("iso-8859-1", errors="replace").replace(b"?", b"-")),
            (
                "envelope",
                b'{"to":["reply+c7-0123456789abcdef0123@reply.example.test"],'
                b'"from":"jurgen@example.com"}',
            ),  # fmt: skip
            ("charsets", b'{"text":"iso-8859-1","from":"UTF-8","subject":"UTF-8"}'),
            ("attachments", b"1"),
            ("attachment-info", b'{"attachment1":{"filename":"cv.pdf","type":"application/pdf"}}'),
            ("spam_score", b"0.3"),
        ],
        files=[("attachment1", "cv.pdf", "application/pdf", b"%PDF-1.4 bytes")],
    )

    record = read(content_type, body)

    assert record.message_id == "<abc-123@mail.example>"
    assert (record.from_email, record.from_name) == ("jurgen@example.com", "Jürgen Weiß")
    assert record.recipients == ("reply+c7-0123456789abcdef0123@reply.example.test",)
    assert record.subject == "Re: Your interview"
    assert record.text.startswith("Grüße - Dienstag passt.")
    assert record.in_reply_to == "<x@y>"
    assert record.attachments == (("cv.pdf", "application/pdf", 14),)
    assert record.spam_score == 0.3


def test_raw_mode_post_is_read_from_the_whole_mime_message():
    mime = (
        "From: Sam Okafor <sam@example.com>\r\nTo: reply+c9-aaaaaaaaaaaaaaaaaaaa@r.example.test\r\n"
        "Subject: Re: Hello\r\nMessage-ID: <raw-1@example.com>\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\nYes please.\r\n"
    )
    content_type, body = multipart(
        [
            ("email", mime.encode()),
            ("to", b"reply+c9-aaaaaaaaaaaaaaaaaaaa@r.example.test"),
            ("from", b"Sam Okafor <sam@example.com>"),
            (
                "envelope",
                b'{"to":["reply+c9-aaaaaaaaaaaaaaaaaaaa@r.example.test"],"from":"sam@example.com"}',
            ),  # fmt: skip
        ]
    )

    record = read(content_type, body)

    assert record.message_id == "<raw-1@example.com>"
    assert record.text.strip() == "Yes please."
    assert record.from_email == "sam@example.com"


def test_a_body_that_is_not_multipart_is_refused():
    with pytest.raises(inbound.InvalidInbound, match="multipart/form-data"):
        inbound.parse_multipart("application/json", b"{}")


def test_basic_auth_must_match_exactly():
    good = "Basic " + base64.b64encode(b"inbound:s3cret").decode()
    assert inbound.basic_auth_matches(good, username="inbound", password="s3cret")
    wrong = "Basic " + base64.b64encode(b"inbound:guess").decode()
    assert not inbound.basic_auth_matches(wrong, username="inbound", password="s3cret")
    assert not inbound.basic_auth_matches(None, username="inbound", password="s3cret")
    assert not inbound.basic_auth_matches("Basic !!!", username="inbound", password="s3cret")


def _event(name, **extra):
    return {
        "email": "Sam@Example.com",
        "timestamp": 1_700_000_000,
        "event": name,
        "sg_event_id": f"ev-{name}-{extra.get('type', '')}",
        "sg_message_id": "XMID.filter-1",
        "recruitflow_message_id": "42",
        **extra,
    }


def test_unsubscribe_spamreport_and_hard_bounce_events_lock_the_address_but_blocked_does_not():
    batch = json.dumps(
        [
            _event("spamreport"),
            _event("group_unsubscribe", asm_group_id=1),
            _event("bounce", type="bounce", reason="550 no such user"),
            _event("bounce", type="blocked", reason="421 try later"),
            _event("delivered"),
        ]
    )

    records = webhooks.parse_stored(batch, url="", received_at=NOW)

    changes = [r for r in records if isinstance(r, EmailOptOutChange)]
    assert [(c.email, c.reason) for c in changes] == [
        ("sam@example.com", "spam_report"),
        ("sam@example.com", "unsubscribe"),
        ("sam@example.com", "bounce"),
    ]
    assert changes[0].our_message_id == "42"
    # The delivery updates are still there for the message's own status.
    assert len([r for r in records if isinstance(r, DeliveryUpdate)]) == 5
