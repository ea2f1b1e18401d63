"""Fake Greenhouse Harvest API (v1 and v3) plus webhooks, as a WSGI application.

Mount the app anywhere; paths below are relative to the mount.

Harvest v1 (``/v1/...``)
    HTTP Basic with the API key as username and an empty password.  Missing or unknown key:
    ``401 {"message":"Invalid Basic Auth credentials"}``.  Each key carries a set of endpoint
    grants named like Greenhouse's Dev Center labels (``"GET: List Candidates"``...); a missing
    grant gives ``403 {"message":"This API Key does not have permission for this endpoint"}``.
    Unknown routes and records give ``404 {"message":"Resource not found"}``; a GET carrying a
    body gives 403.  Paging, Link headers, filters and the per-10-second rate limit follow the
    Harvest documentation.

    On-Behalf-Of policy: every write needs an ``On-Behalf-Of`` header holding the numeric id of
    an existing user.  A missing header, a non-numeric value (for example an e-mail address)
    or an unknown id is refused with **403** and a ``{"message": ...}`` body; nothing is
    written.  Successful ``PATCH /v1/candidates/{id}`` returns the candidate object (not
    wrapped in a list).

Harvest v3 (``/v3/...``) and ``POST /auth/token``
    Client-credentials tokens (Basic ``client_id:client_secret``, form
    ``grant_type=client_credentials&sub=<user id>``) used as Bearer tokens.  Cursor paging,
    id-descending order, ``created_at``/``updated_at`` pipe filters, scopes named
    ``harvest:<resource>:list`` and ``harvest:notes:create``, fixed 30-second rate window.

Webhooks
    Configure with :meth:`GreenhouseState.configure_webhook`.  Deliveries carry
    ``Greenhouse-Event-ID``, ``Signature: sha256 <hex HMAC-SHA256(secret, raw body)>`` and a
    Greenhouse-style escaped JSON body; only HTTP 200 counts as success; retries follow
    ``retry_delays`` (seconds) multiplied by ``retry_scale``.

Sandbox control (``/_sandbox/``)
    An HTML page and a JSON API under ``/_sandbox/api/`` (no auth; loopback use only).
    ``GET /_sandbox/api/custom_fields`` lists every custom field definition (the demo's
    candidate fields include "Video Interview", Long text); ``POST
    /_sandbox/api/custom_fields/<name_key>`` with ``{"active": false}`` deletes one (listed by
    Harvest only with ``include_inactive=true``, gone from records, a 422 "Custom field not
    found" on writes) and ``{"active": true}`` restores it.  The candidate screen shows each
    candidate's custom field values.

Companies (``companies.py``)
    ``POST /_sandbox/api/companies`` makes a company of its own (credentials, data seeded from
    its key, webhook, screens at ``/companies/<key>/_sandbox/``); its credentials reach only it.
"""

from __future__ import annotations

from integrations.sandbox.greenhouse.app import GreenhouseApp
from integrations.sandbox.greenhouse.companies import (
    GreenhouseCompanies,
    GreenhouseCompaniesApp,
    company_seed,
)
from integrations.sandbox.greenhouse.contract import (
    ALL_V1_PERMISSIONS,
    ALL_V3_SCOPES,
    ATTACHMENT_CONTENT_TYPES,
    BAD_AUTH,
    CURSOR_ERROR,
    DEFAULT_V1_KEY,
    DEFAULT_V3_CLIENT_ID,
    DEFAULT_V3_CLIENT_SECRET,
    LIMITED_V1_KEY,
    NO_PERMISSION,
    NOT_FOUND,
    V3_RESOURCES,
    ApiError,
    validation_error,
)
from integrations.sandbox.greenhouse.control import SANDBOX_MAP
from integrations.sandbox.greenhouse.harvest_v1 import V1_MAP, V1_PERMISSION, V1_RULES
from integrations.sandbox.greenhouse.harvest_v3 import V3_MAP
from integrations.sandbox.greenhouse.params import in_window, int_param, read_json, time_param
from integrations.sandbox.greenhouse.state import GreenhouseState
from integrations.sandbox.greenhouse.webhooks import greenhouse_json, greenhouse_signature

__all__ = [
    "ALL_V1_PERMISSIONS",
    "ALL_V3_SCOPES",
    "ATTACHMENT_CONTENT_TYPES",
    "ApiError",
    "BAD_AUTH",
    "CURSOR_ERROR",
    "DEFAULT_V1_KEY",
    "DEFAULT_V3_CLIENT_ID",
    "DEFAULT_V3_CLIENT_SECRET",
    "GreenhouseApp",
    "GreenhouseCompanies",
    "GreenhouseCompaniesApp",
    "GreenhouseState",
    "LIMITED_V1_KEY",
    "NOT_FOUND",
    "NO_PERMISSION",
    "SANDBOX_MAP",
    "V1_MAP",
    "V1_PERMISSION",
    "V1_RULES",
    "V3_MAP",
    "V3_RESOURCES",
    "company_seed",
    "greenhouse_json",
    "greenhouse_signature",
    "in_window",
    "int_param",
    "read_json",
    "time_param",
    "validation_error",
]
