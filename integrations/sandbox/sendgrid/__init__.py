"""Fake SendGrid v3 Mail Send with a signed Event Webhook and an e-mail outbox, as a WSGI app.

Mount the app anywhere (the sandbox server uses ``/sendgrid``); point the API base
(``https://api.sendgrid.com/v3/``) at ``{sandbox}/sendgrid/v3/``.

Default credentials
    ``Authorization: Bearer SG.sandbox-key``.  Missing/wrong key → 401
    ``{"errors":[{"field":null,"message":"The provided authorization grant is invalid, expired,
    or revoked"}]}``.

``POST /v3/mail/send``
    Validated like SendGrid (all problems reported at once): personalizations (1–1000, each with
    ≥1 valid ``to``, unique addresses), ``from.email``, ``subject`` (top level or in every
    personalization, unless ``template_id``), ``content`` (or ``template_id``; text/plain first;
    non-empty values), ``reply_to`` xor ``reply_to_list``, string ``custom_args`` values,
    ≤1000 recipients over to/cc/bcc, ``send_at`` ≤ 72 h ahead → 400
    ``{"errors":[{"message","field","help"}]}``; body > 30 MB → 413; unverified sender (when
    :attr:`SendGridState.verified_senders` is set) → 403.  Success: **202**, empty body,
    ``X-Message-Id``.  ``mail_settings.sandbox_mode.enable`` → 200, no events.

Event Webhook
    One JSON array per send (all recipients): ``processed`` then ``delivered``; addresses at
    ``bounce.test`` → ``bounce`` (type bounce), ``blocked.test`` → ``bounce`` (type blocked),
    ``deferred.test`` → ``deferred`` then ``delivered``; local part ``invalid`` or a suppressed
    address (earlier bounce / unsubscribe / spam report) → ``dropped`` only.  Each event has
    ``email, timestamp, event, sg_event_id, sg_message_id (X-Message-Id + "."…), smtp-id,
    category`` and the merged ``custom_args`` as top-level keys.  Signed with an ECDSA P-256 key
    made at start: ``X-Twilio-Email-Event-Webhook-Signature`` (base64 DER over
    ``timestamp + body``) and ``X-Twilio-Email-Event-Webhook-Timestamp``; public key (base64 DER
    SubjectPublicKeyInfo) at ``GET /v3/user/webhooks/event/settings/signed``.  Non-2xx answers
    are retried (delays × ``retry_scale``).  Every API key is an account with its own Event
    Webhook setting (``GET|PATCH /v3/user/webhooks/event/settings`` with that key): a mail's
    events go to the webhook of the account whose key sent it.

Inbound Parse
    ``GET|POST /v3/user/webhooks/parse/settings`` ``{hostname, url, spam_check, send_raw}`` and
    ``GET|PATCH|DELETE …/settings/<hostname>``.  "Reply as the candidate" on a mail's screen (or
    ``POST /_sandbox/api/mails/<id>/reply {text?}``) posts the first recipient's reply to the
    parse URL of the Reply-To address's domain: ``multipart/form-data`` (boundary ``xYzZY``)
    with ``headers, dkim, content-ids, to, from, subject, text, html, sender_ip, envelope,
    attachments, charsets, SPF`` (``email`` instead of ``headers``/``text``/``html`` with
    ``send_raw``; ``spam_score``/``spam_report`` with ``spam_check``), basic auth from the URL's
    ``user:password@``; non-2xx retried.  ``GET /_sandbox/api/inbound`` lists settings and posts.

Email Activity API (a paid add-on at SendGrid: off until enabled with ``api/config
{"email_activity": true}`` or :attr:`SendGridState.email_activity`; off → 403 "access forbidden")
    ``GET /v3/messages?query=…&limit=…`` (limit 1–1000, default 10): one entry per recipient
    ``{from_email, msg_id (= sg_message_id), subject, to_email, status (processed | delivered |
    not_delivered), opens_count, clicks_count, last_event_time}``, newest first.  The query is
    conditions joined by ``AND``: ``msg_id``, ``to_email``, ``from_email``, ``subject``,
    ``status`` with ``="…"`` or ``!="…"``, ``msg_id LIKE '<X-Message-Id>%'`` and
    ``unique_args['<name>']="…"`` (our ``custom_args``); anything else → 400.  Sandbox-mode mails
    are not in the activity.

Sandbox control (no auth) under ``/_sandbox/``
    ``/_sandbox/`` outbox, ``/_sandbox/mail/<id>`` one mail (HTML in a sandboxed iframe, text
    part, buttons to emit engagement events).  JSON: ``GET|POST api/config {event_url, enabled,
    signed, api_key?}`` (one account's webhook, the default key's without ``api_key``; a new
    ``api_key`` becomes an account the API accepts), ``POST api/events {message_id, event: open|click|spamreport|unsubscribe|
    group_unsubscribe|…, email?, url?}``, ``GET api/mails``, ``GET api/mails/<id>``,
    ``GET api/deliveries``, ``GET|POST|DELETE api/faults {status, count}``, ``POST api/reset``.
"""

from __future__ import annotations

from integrations.sandbox.sendgrid.app import API_MAP, SendGridApp
from integrations.sandbox.sendgrid.contract import (
    BAD_AUTH,
    DEFAULT_API_KEY,
    EMAIL_RE,
    ENGAGEMENT,
    HELP,
    MAX_BYTES,
    SUPPRESSING,
    SendGridError,
    b64id,
    error_item,
)
from integrations.sandbox.sendgrid.control import SANDBOX_MAP
from integrations.sandbox.sendgrid.state import SendGridState
from integrations.sandbox.sendgrid.validation import validate_mail

__all__ = [
    "API_MAP",
    "BAD_AUTH",
    "DEFAULT_API_KEY",
    "EMAIL_RE",
    "ENGAGEMENT",
    "HELP",
    "MAX_BYTES",
    "SANDBOX_MAP",
    "SUPPRESSING",
    "SendGridApp",
    "SendGridError",
    "SendGridState",
    "b64id",
    "error_item",
    "validate_mail",
]
