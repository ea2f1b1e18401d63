"""Fake Lever Data API (v1), OAuth and webhooks, as a WSGI application.

Paths are relative to the mount:

* ``/v1/...``: Basic (API key as username, blank password) or ``Bearer <access token>``.
  Envelopes ``{"data": ...}`` / ``{"data": [...], "next": "<token>", "hasNext": bool}``;
  errors ``{"code": ..., "message": ...}``.  ``limit`` 1..100; ``offset`` only accepts tokens
  this server issued for the same query (anything else: 400 ``BadRequestError``).
* ``/authorize`` and ``/oauth/token`` (like ``auth.lever.co``; ``/oauth/authorize`` is kept as
  an alias): authorization-code flow with rotating refresh
  tokens (a refresh token is issued when the scope contains ``offline_access``).  Pass
  ``deny=1`` to the authorize URL (or set ``LeverState.oauth_deny``) to simulate a user
  declining consent.
* ``/_sandbox/``: HTML page and JSON control API (no auth; loopback only).

Permissions: a key added with ``permissions`` (``LIMITED_API_KEY`` has none) or a token
whose scope lacks ``notes:write:admin`` / ``files:write:admin`` gets 403 on that write; a
token whose scope lacks ``notes:read:admin`` / ``files:read:admin`` gets 403 on that read.

Rate limit: token bucket per credential (10 req/s, burst 20 by default); 429 with no headers.
Webhooks: ``{id, event, triggeredAt, token, signature, data}`` signed as
``hex(HMAC-SHA256(signatureToken, token + str(triggeredAt)))``, ``User-Agent: Lever-Webhooks``,
any 2xx is success, 5 retries on a scaled schedule.
"""

from __future__ import annotations

from integrations.sandbox.lever.api import LEVER_MAP
from integrations.sandbox.lever.app import LeverApp
from integrations.sandbox.lever.contract import (
    DEFAULT_API_KEY,
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    HIRED_REASON_TEXT,
    LIMITED_API_KEY,
    MAX_FILE_BYTES,
    LeverError,
    bad_request,
    ms_param,
    not_found,
    read_json,
)
from integrations.sandbox.lever.control import SANDBOX_MAP
from integrations.sandbox.lever.state import LeverState
from integrations.sandbox.lever.webhooks import lever_signature

__all__ = [
    "DEFAULT_API_KEY",
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "HIRED_REASON_TEXT",
    "LIMITED_API_KEY",
    "LEVER_MAP",
    "LeverApp",
    "LeverError",
    "LeverState",
    "MAX_FILE_BYTES",
    "SANDBOX_MAP",
    "bad_request",
    "lever_signature",
    "ms_param",
    "not_found",
    "read_json",
]
