"""Fake Cronofy calendar API with OAuth, Enterprise Connect and signed push notifications.

Mount the app anywhere (the sandbox server uses ``/cronofy``). One mount serves every data
center: ``{mount}`` plays ``api.cronofy.com`` *and* ``app.cronofy.com`` (US), ``{mount}/uk``
plays ``api-uk``/``app-uk`` and so on for ``de``, ``au``, ``ca``, ``sg``. An account lives in
one data center: its tokens are refused (401) by the others.

Default credentials
    OAuth client ``sandbox-cronofy-client`` / secret ``CRN_sandbox_cronofy_secret`` (the secret
    also signs notifications). Users (password-less: pick one on the authorize page):
    ``ana.interviewer@sandbox.test`` (Europe/London), ``ben.hiring@sandbox.test``
    (America/New_York), ``chloe.panel@sandbox.test`` (Europe/Berlin) in ``us``, and
    ``dev.uk@sandbox.test`` (Europe/London) in ``uk``. Each has one primary calendar holding
    seeded busy blocks (seeded by e-mail: 09:00–18:00 local meetings on weekdays, the odd
    tentative one and all-day "Out of office", from a week before the anchor date to six weeks
    after it).

Authorization (as docs.cronofy.com/developers/api/authorization)
    ``GET /oauth/authorize?response_type=code&client_id&redirect_uri&scope&state`` shows a
    sign-in page; choosing a user and *Allow* redirects to ``redirect_uri?code=…&state=…``,
    *Deny* to ``?error=access_denied``. Unknown client or no redirect_uri → 400 page; no scope,
    an unknown scope or another response_type → redirect with ``error``.
    ``POST /oauth/token`` (JSON or form, client_id + client_secret in the body):
    ``authorization_code`` (single use, 5 minutes, same redirect_uri) →
    ``{token_type, access_token, expires_in, refresh_token, scope, account_id, sub,
    linking_profile{provider_name, profile_id, profile_name}}``; ``refresh_token`` → new tokens,
    and the refresh token **rotates** (the old one is dead). Failures: 400 ``{"error":
    "invalid_grant"|"invalid_client"|"unsupported_grant_type"|"invalid_request",
    "error_description"}``. ``POST /oauth/token/revoke``.
    Enterprise Connect: ``GET /enterprise_connect/oauth/authorize?…&scope=service_account/…
    &delegated_scope=…`` (the domain ``sandbox.test``), code → service-account tokens
    (``service_account_id``, 30 minutes). ``POST /v1/service_account_authorizations``
    (service-account token; one ``{email, callback_url, scope, state}`` or a batch) → 202, then
    a signed POST to ``callback_url``: ``{"authorization": {"code", "state"}}`` or
    ``{"authorization": {"error", "error_key", "error_description", "state"}}``. The code is
    redeemed at ``/oauth/token`` with the callback_url as ``redirect_uri``.

API (``Authorization: Bearer <access token>``; 401 unknown or expired token, 403 missing scope)
    ``GET /v1/userinfo``, ``GET /v1/account``, ``GET /v1/calendars``.
    ``GET /v1/free_busy?tzid=…&from=&to=&include_managed=&calendar_ids[]=`` (tzid required;
    dates read in tzid, ``to`` exclusive; defaults 42 days back / 201 ahead; managed events
    only with include_managed) and ``GET /v1/events`` (also ``last_modified``,
    ``include_deleted``, ``only_managed``) are paged (``page_size``, default 50):
    ``{"pages": {"current", "total", "next_page"}, …}``, next pages at ``…/pages/<token>``.
    ``POST /v1/calendars/{calendar_id}/events`` upserts by ``event_id`` (202, empty body);
    ``DELETE /v1/calendars/{calendar_id}/events`` with ``{"event_id"}`` or ``{"event_uid"}``
    (202, also when already gone). Invalid data → 422 ``{"errors": {field: [{"key",
    "description"}]}}``. ``GET|POST /v1/channels``, ``DELETE /v1/channels/{id}``: a new channel
    gets a ``verification`` notification; changes not made through the API (see the controls)
    send ``{"notification": {"type": "change", "changes_since"}, "channel": {…}}`` with
    ``Cronofy-HMAC-SHA256`` = base64 HMAC-SHA256 of the body with each active client secret,
    comma-separated. Non-2xx answers are retried (delays × ``retry_scale``).
    Rate limits per client and data center: 50 requests a second, 500 a minute → 429.
    Everything lives in memory: a restarted sandbox starts from the seeded calendars again.

Sandbox control (no auth) under ``{mount}/_sandbox/``
    ``/_sandbox/`` users, calendars and deliveries; ``/_sandbox/users/<email>`` the calendar
    with *Delete as interviewer* buttons. JSON: ``GET|POST api/config {token_lifetime,
    page_size, rate_per_second, rate_per_minute}``, ``POST api/clients {client_id,
    client_secret}``, ``POST api/clients/<id>/secrets {secrets: [...]}`` (rotation),
    ``GET|POST api/users``, ``GET api/users/<email>/events``, ``POST api/users/<email>/events
    {summary, start, end}`` (a busy block added by the person), ``POST
    api/users/<email>/events/delete {event_id | event_uid}`` and ``…/events/update {event_id |
    event_uid, start?, end?, summary?}`` (changes made by the person, as in their calendar
    app: channels are notified), ``POST api/users/<email>/expire_tokens``, ``GET api/channels``,
    ``GET api/deliveries``, ``GET|POST|DELETE api/faults {status, count, match?}``,
    ``POST api/reset``, ``POST api/users/<email>/conferencing/disconnect|reconnect``.

Conferencing (see ``conferencing.py``)
    An upsert's ``conferencing`` (``default``, the person's ``pro_…`` or ``explicit`` with a
    ``join_url``) gives the event a conference: reads show ``{"pending": true}`` for
    ``conferencing_delay`` seconds (config, default 0), then ``{"provider_description":
    "Sandbox Meet", "join_url": "https://meet.sandbox.example/<id>"}``; none for a past event;
    a disconnected conferencing profile keeps them pending and sends
    ``conferencing_profile_disconnected`` to the person's channels.
"""

from __future__ import annotations

from integrations.sandbox.cronofy.api import API_ROUTES
from integrations.sandbox.cronofy.app import CronofyApp
from integrations.sandbox.cronofy.contract import (
    CHANNEL_LIMIT,
    CODE_TTL_S,
    DATA_CENTERS,
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_USERS,
    ENTERPRISE_DOMAIN,
    MEETINGS,
    MINUTE_LIMIT,
    NEEDS,
    RETRY_DELAYS,
    SCOPES,
    SECOND_LIMIT,
    SERVICE_ACCOUNT_SCOPES,
    TZID_RE,
    CronofyError,
    field_error,
    iso,
    oauth_error,
    parse_time,
    read_body,
    sign,
    stable_id,
    truthy,
)
from integrations.sandbox.cronofy.state import CronofyState

__all__ = [
    "API_ROUTES",
    "CHANNEL_LIMIT",
    "CODE_TTL_S",
    "CronofyApp",
    "CronofyError",
    "CronofyState",
    "DATA_CENTERS",
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "DEFAULT_USERS",
    "ENTERPRISE_DOMAIN",
    "MEETINGS",
    "MINUTE_LIMIT",
    "NEEDS",
    "RETRY_DELAYS",
    "SCOPES",
    "SECOND_LIMIT",
    "SERVICE_ACCOUNT_SCOPES",
    "TZID_RE",
    "field_error",
    "iso",
    "oauth_error",
    "parse_time",
    "read_body",
    "sign",
    "stable_id",
    "truthy",
]
