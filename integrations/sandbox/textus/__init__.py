"""Fake TextUs Next API (JSON-LD) with signed webhooks, as a WSGI application.

Mount the app anywhere (the sandbox server uses ``/textus``); point the API host
(``https://next.textus.com``) at ``{sandbox}/textus``.

Default credentials
    ``Authorization: Bearer textus-sandbox-token`` (user ``/users/sandbox``; every account).
    Accounts ``acme-talent`` (``+13035550100``) and ``acme-sales`` (``+13035550101``).
    Missing/unknown token → 401, an account the token cannot use → 403, unknown account → 404;
    errors are Hydra JSON-LD ``{"@type":"hydra:Error","hydra:title","hydra:description"}``.
    ``Accept`` must allow ``application/vnd.textus+jsonld`` (``*/*``/absent ok, else 406).

API
    ``POST /{account}/messages {"to": "+1…" | [...], "body"}`` → 201 Message (one recipient) or
    202 without body (several; opted-out recipients are skipped).  Opted-out recipient (single)
    → 422; invalid number / blank body → 422.  ``POST /messages {"from": <account phone>, …}``.
    ``GET /messages/{id}``.  ``GET /{account}/opt_outs{?q,exact[]}``,
    ``GET /{account}/opt_outs/{phone}`` (404 if none), ``PUT /{account}/opt_outs/{phone}`` → 201
    (200 when it already existed).  Rate limit 1,000 requests / 5 min per token:
    ``X-RateLimit-Limit/Remaining/Reset`` (epoch s) on every response, 429 + ``Retry-After``.

Delivery simulation and webhooks
    ``deliveryState`` ``pending`` → ``delivered`` after :attr:`TextUsState.delivery_delay`
    (``failed`` for numbers ending ``0000`` / ``0006`` or per :meth:`TextUsState.set_outcome`).
    Per-account webhook (:meth:`TextUsState.configure_webhook`) gets ``WebhookDelivery``
    JSON-LD bodies (``message.delivered|failed|received``, ``contact.opted_out|opted_in``) signed
    ``X-TextUs-Signature: hex HMAC-SHA256(secret, raw body)``.  Inbound: :meth:`text_from`; a
    single-word STOP-type reply opts the contact out (``createdVia: "keyword"``) and START/YES/
    UNSTOP opts them back in.

Sandbox control (no auth) under ``/_sandbox/``
    ``/_sandbox/`` phones, ``/_sandbox/phone/<E.164>`` conversation + reply form.  JSON:
    ``GET|POST api/config {account?, webhook_url, secret, events, rate_limit, delivery_delay}``,
    ``POST api/inbound {from, body, account?}``, ``POST api/outcomes {phone, state}``,
    ``GET api/messages``, ``GET api/deliveries``, ``GET|POST|DELETE api/faults``,
    ``POST api/reset``.
"""

from __future__ import annotations

from integrations.sandbox.textus.app import API_MAP, TextUsApp
from integrations.sandbox.textus.contract import (
    ALL_ACTIONS,
    DEFAULT_ACCOUNTS,
    DEFAULT_TOKEN,
    FAIL_SUFFIXES,
    MEDIA_TYPE,
    TextUsError,
    formatted,
    jsonld,
    normalize_phone,
    random_id,
)
from integrations.sandbox.textus.control import SANDBOX_MAP
from integrations.sandbox.textus.state import TextUsState
from integrations.sandbox.textus.webhooks import textus_signature

__all__ = [
    "ALL_ACTIONS",
    "API_MAP",
    "DEFAULT_ACCOUNTS",
    "DEFAULT_TOKEN",
    "FAIL_SUFFIXES",
    "MEDIA_TYPE",
    "SANDBOX_MAP",
    "TextUsApp",
    "TextUsError",
    "TextUsState",
    "formatted",
    "jsonld",
    "normalize_phone",
    "random_id",
    "textus_signature",
]
