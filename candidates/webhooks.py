"""Inbound ATS webhooks: /webhooks/greenhouse/<token>/ and /webhooks/lever/<token>/.

Order matters: find the connection by the URL's token, verify the signature over the raw body
(forged or missing → 403, nothing stored), store the raw event once (a replay answers 200 and
stores nothing), answer 200 as soon as it is committed. The connection may be the one this
process read a moment ago: the store then inserts only while it is still as read, and what
changed since (a secret, a disconnection) is read again and decided on. The rest is the one webhook intake's
(:mod:`integrations.intake`): applying runs in a task after commit, and when the broker cannot
take that task the beat sweep queues it later. The payload's shape is checked when it is
applied: a malformed one is kept, marked failed with the reason.
"""

from __future__ import annotations

import json

from django.http import Http404, HttpResponse, HttpResponseForbidden
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from candidates import services
from integrations import intake
from integrations.connections import (
    forget_webhook_connection,
    webhook_connection,
    webhook_connection_unchanged,
)
from integrations.greenhouse import webhooks as greenhouse_webhooks
from integrations.greenhouse.models import GreenhouseConnection
from integrations.lever import webhooks as lever_webhooks
from integrations.lever.models import LeverConnection
from recruitflow.decorators import public


def _received(model, token: str, secret: str, accept) -> HttpResponse:
    """``accept(connection)``'s answer for the connection ``token`` names (404 when none). The
    connection may be the one this process read a moment ago: when ``accept`` finds that what
    it says no longer holds (it returns None: a kept secret the signature does not match, or
    a store that found the connection changed), the connection is read again and ``accept``
    runs once more on what is current."""
    for fresh in (False, True):
        connection = webhook_connection(model, token, secret, fresh=fresh)
        if connection is None:
            raise Http404("Unknown webhook endpoint.")
        answer = accept(connection)
        if answer is not None:
            return answer
    # Changed again between the second read and its store: the vendor sends it again.
    return HttpResponse("The connection changed meanwhile; send it again.", status=503)


def _store(connection, **delivery) -> bool:
    """Store a verified delivery while ``connection`` is as read; False when it changed."""
    try:
        services.ats_webhook_store(
            connection=connection,
            only_while=webhook_connection_unchanged(connection),
            **delivery,
        )
    except intake.SourceChanged:
        forget_webhook_connection(connection)
        return False
    return True


@csrf_exempt
@public
@require_POST
def greenhouse(request, token: str):
    raw = request.body

    def accept(connection):
        if not greenhouse_webhooks.verify_signature(
            raw,
            request.headers.get(greenhouse_webhooks.SIGNATURE_HEADER),
            connection.webhook_secret,
        ):
            return None if connection.webhook_kept else HttpResponseForbidden("Invalid signature.")
        try:
            action = greenhouse_webhooks.parse_action(raw)
        except greenhouse_webhooks.InvalidPayload as exc:
            return HttpResponse(str(exc), status=400)
        stored = _store(
            connection,
            event_id=request.headers.get(greenhouse_webhooks.EVENT_ID_HEADER)
            or intake.body_digest(raw),
            action=action,
            raw_body=raw,
            ignore=action == "ping" or action not in greenhouse_webhooks.SUPPORTED_ACTIONS,
        )
        return HttpResponse("OK") if stored else None

    return _received(GreenhouseConnection, token, "webhook_secret", accept)


@csrf_exempt
@public
@require_POST
def lever(request, token: str):
    raw = request.body
    try:
        body = json.loads(raw)
    except ValueError:
        body = None

    def accept(connection):
        if not isinstance(body, dict):
            return HttpResponseForbidden("Invalid signature.")
        refusal = lever_webhooks.delivery_refusal(body, connection.signature_token or "")
        if refusal is not None:
            return None if connection.webhook_kept else HttpResponseForbidden(refusal)
        try:
            parsed = lever_webhooks.parse_event(body)
        except lever_webhooks.InvalidPayload as exc:
            return HttpResponse(str(exc), status=400)
        # Only token + triggeredAt are signed, so the (signed) token is the dedupe key: a
        # replay with a changed body or id still collides.
        stored = _store(
            connection,
            event_id=str(parsed.token),
            action=parsed.event,
            raw_body=raw,
            ignore=not parsed.supported,
        )
        return HttpResponse("OK") if stored else None

    return _received(LeverConnection, token, "signature_token", accept)
