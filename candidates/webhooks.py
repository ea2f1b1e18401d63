"""Inbound ATS webhooks: /webhooks/greenhouse/<token>/ and /webhooks/lever/<token>/.

Order matters: find the connection by the URL's token, verify the signature over the raw body
(forged or missing → 403, nothing stored), store the raw event once (a replay answers 200 and
stores nothing), answer 200 as soon as it is committed. The rest is the one webhook intake's
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
from integrations.connections import webhook_connection
from integrations.greenhouse import webhooks as greenhouse_webhooks
from integrations.greenhouse.models import GreenhouseConnection
from integrations.lever import webhooks as lever_webhooks
from integrations.lever.models import LeverConnection
from recruitflow.decorators import public


def _connection(model, token: str, secret: str):
    connection = webhook_connection(model, token, secret)
    if connection is None:
        raise Http404("Unknown webhook endpoint.")
    return connection


@csrf_exempt
@public
@require_POST
def greenhouse(request, token: str):
    connection = _connection(GreenhouseConnection, token, "webhook_secret")
    raw = request.body
    if not greenhouse_webhooks.verify_signature(
        raw, request.headers.get(greenhouse_webhooks.SIGNATURE_HEADER), connection.webhook_secret
    ):
        return HttpResponseForbidden("Invalid signature.")
    try:
        action = greenhouse_webhooks.parse_action(raw)
    except greenhouse_webhooks.InvalidPayload as exc:
        return HttpResponse(str(exc), status=400)
    event_id = request.headers.get(greenhouse_webhooks.EVENT_ID_HEADER) or intake.body_digest(raw)
    services.ats_webhook_store(
        connection=connection,
        event_id=event_id,
        action=action,
        raw_body=raw,
        ignore=action == "ping" or action not in greenhouse_webhooks.SUPPORTED_ACTIONS,
    )
    return HttpResponse("OK")


@csrf_exempt
@public
@require_POST
def lever(request, token: str):
    connection = _connection(LeverConnection, token, "signature_token")
    raw = request.body
    try:
        body = json.loads(raw)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return HttpResponseForbidden("Invalid signature.")
    refusal = lever_webhooks.delivery_refusal(body, connection.signature_token or "")
    if refusal is not None:
        return HttpResponseForbidden(refusal)
    try:
        parsed = lever_webhooks.parse_event(body)
    except lever_webhooks.InvalidPayload as exc:
        return HttpResponse(str(exc), status=400)
    # Only token + triggeredAt are signed, so the (signed) token is the dedupe key: a replay
    # with a changed body or id still collides.
    services.ats_webhook_store(
        connection=connection,
        event_id=str(parsed.token),
        action=parsed.event,
        raw_body=raw,
        ignore=not parsed.supported,
    )
    return HttpResponse("OK")
