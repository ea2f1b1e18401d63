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


def _received(model, token: str, secret: str, *, refusal, delivery, raw: bytes) -> HttpResponse:
    """The answer to a POST at the endpoint of the connection ``token`` names (404 when none).

    ``refusal(connection)``: why the POST is not the vendor's (403), or None. ``delivery()``:
    what to store of it (``event_id``, ``action``, ``ignore``), read only once it is known to
    be the vendor's; a payload it cannot read answers 400. The connection may be the one this
    process read a moment ago: when its kept secret refuses the POST, or the store finds the
    connection changed since, it is read again and the POST decided on what is current."""
    for fresh in (False, True):
        connection = webhook_connection(model, token, secret, fresh=fresh)
        if connection is None:
            raise Http404("Unknown webhook endpoint.")
        refused = refusal(connection)
        if refused is not None:
            if connection.webhook_kept:
                continue
            return HttpResponseForbidden(refused)
        try:
            event = delivery()
        except (greenhouse_webhooks.InvalidPayload, lever_webhooks.InvalidPayload) as exc:
            return HttpResponse(str(exc), status=400)
        try:
            services.ats_webhook_store(
                connection=connection,
                raw_body=raw,
                only_while=webhook_connection_unchanged(connection),
                **event,
            )
        except intake.SourceChanged:
            forget_webhook_connection(connection)
            continue
        return HttpResponse("OK")
    # Changed again between the second read and its store: the vendor sends it again.
    return HttpResponse("The connection changed meanwhile; send it again.", status=503)


@csrf_exempt
@public
@require_POST
def greenhouse(request, token: str):
    raw = request.body

    def refusal(connection) -> str | None:
        signature = request.headers.get(greenhouse_webhooks.SIGNATURE_HEADER)
        if greenhouse_webhooks.verify_signature(raw, signature, connection.webhook_secret):
            return None
        return "Invalid signature."

    def delivery() -> dict:
        action = greenhouse_webhooks.parse_action(raw)
        return {
            "event_id": request.headers.get(greenhouse_webhooks.EVENT_ID_HEADER)
            or intake.body_digest(raw),
            "action": action,
            "ignore": action == "ping" or action not in greenhouse_webhooks.SUPPORTED_ACTIONS,
        }

    return _received(
        GreenhouseConnection, token, "webhook_secret", refusal=refusal, delivery=delivery, raw=raw
    )


@csrf_exempt
@public
@require_POST
def lever(request, token: str):
    raw = request.body
    try:
        body = json.loads(raw)
    except ValueError:
        body = None

    def refusal(connection) -> str | None:
        if not isinstance(body, dict):
            return "Invalid signature."
        return lever_webhooks.delivery_refusal(body, connection.signature_token or "")

    def delivery() -> dict:
        parsed = lever_webhooks.parse_event(body)
        # Only token + triggeredAt are signed, so the (signed) token is the dedupe key: a
        # replay with a changed body or id still collides.
        return {
            "event_id": str(parsed.token),
            "action": parsed.event,
            "ignore": not parsed.supported,
        }

    return _received(
        LeverConnection, token, "signature_token", refusal=refusal, delivery=delivery, raw=raw
    )
