"""Messaging provider callbacks: Twilio status and inbound texts, TextUs deliveries, SendGrid
e-mail events. ``/webhooks/<provider>/<endpoint token>/...``; the token names the organization.

Order matters: find the organization by the token, verify the provider's signature over the
raw request with the organization's own key (or its nearest ancestor's — the account tree) —
a forged, unsigned or stale callback gets 403 and nothing is stored — then store the callback
raw through the one webhook intake (:mod:`integrations.intake`), once per provider identity (a
retry finds the stored row and changes nothing). Storing queues the intake's apply task after
commit; once the row is committed it is also applied right here, to keep a delivery update or a
reply as quick as the provider sends it — the task (and the intake's sweep) is the safety net:
whichever holds the row applies it, the other does nothing. A callback that cannot be applied
right away keeps its error and is applied by the sweep; the provider still gets its 2xx,
because the callback is safely stored.

Twilio signs the URL it called, so the signature is checked against the public URL
(``PUBLIC_BASE_URL`` + path and query), not the one this process sees behind a proxy.

A body larger than its endpoint's :data:`BODY_LIMITS` is refused with 413 before anything else
is read: no provider sends callbacks that large, and a signed one would only be stored to fail.
"""

from __future__ import annotations

import functools
import json
import logging
import time

from django.conf import settings
from django.db import OperationalError, models, transaction
from django.http import (
    Http404,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseForbidden,
)
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from integrations import intake
from integrations.messaging import WebhookRequest
from integrations.models import WebhookDelivery
from integrations.sendgrid import webhooks as sendgrid_webhooks
from integrations.textus import webhooks as textus_webhooks
from integrations.twilio import webhooks as twilio_webhooks
from messaging import selectors
from messaging.selectors import organization_for_endpoint
from recruitflow.decorators import public
from recruitflow.tenancy import tenant_scope

logger = logging.getLogger(__name__)


class WebhookProvider(models.TextChoices):
    """The messaging vendors whose callbacks these endpoints take (the intake's provider)."""

    TWILIO = "twilio", "Twilio"
    TEXTUS = "textus", "TextUs"
    SENDGRID = "sendgrid", "SendGrid"


class WebhookKind(models.TextChoices):
    """Which callback of the vendor a stored delivery is (the intake's record type)."""

    STATUS = "status", "Delivery status"
    INBOUND = "inbound", "Inbound text"
    DELIVERY = "delivery", "Webhook delivery"
    EVENTS = "events", "E-mail events"


# Tries to store a callback (a busy database usually frees up within a moment), and to apply it
# within the request before leaving it to the sweep.
APPLY_PAUSES_S = (0, 0.1, 0.4)
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
# The largest body each endpoint accepts. Twilio posts a few form fields (a text is at most
# 1,600 characters), a TextUs delivery is one JSON-LD object with its conversation, SendGrid
# batches many events per POST, a Cronofy notification is a small JSON object.
BODY_LIMITS = {
    WebhookProvider.TWILIO: 64 * 1024,
    WebhookProvider.TEXTUS: 256 * 1024,
    WebhookProvider.SENDGRID: 2 * 1024 * 1024,
    "cronofy": 64 * 1024,
}
KEPT_HEADERS = (
    "Content-Type",
    "User-Agent",
    twilio_webhooks.SIGNATURE_HEADER,
    twilio_webhooks.IDEMPOTENCY_HEADER,
    textus_webhooks.SIGNATURE_HEADER,
    sendgrid_webhooks.SIGNATURE_HEADER,
    sendgrid_webhooks.TIMESTAMP_HEADER,
)


def body_too_large(request, limit: int) -> HttpResponse | None:
    """A 413 answer when the request body is over ``limit`` bytes, else None. Judged by the
    Content-Length before the body is read; a body sent without one is measured."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if not length:
        length = len(request.body)
    if length <= limit:
        return None
    return HttpResponse(
        f"Refused: the body is {length} bytes; this endpoint accepts at most {limit} bytes. "
        "Nothing was stored.",
        status=413,
        content_type="text/plain; charset=utf-8",
    )


def _organization(token: str):
    organization = organization_for_endpoint(token)
    if organization is None:
        raise Http404("Unknown webhook endpoint.")
    return organization


def _public_url(request) -> str:
    return settings.PUBLIC_BASE_URL.rstrip("/") + request.get_full_path()


def _headers(request) -> dict[str, str]:
    return {name: request.headers[name] for name in KEPT_HEADERS if name in request.headers}


def _verified(request, organization, provider: str, url: str) -> str | None:
    """None when the request is the provider's; else why it is refused."""
    adapter, reason = selectors.callback_provider_for(organization, provider)
    if adapter is None:
        return f"Refused: {reason} Nothing was changed."
    signed = WebhookRequest(
        url=url, headers=request.headers, raw_body=request.body, params=request.POST
    )
    if adapter.verify_webhook(signed):
        return None
    return {
        WebhookProvider.TWILIO: "Refused: the X-Twilio-Signature does not match this URL and "
        "these parameters for this organization's Twilio auth token. Nothing was changed.",
        WebhookProvider.TEXTUS: "Refused: the X-TextUs-Signature does not match the body for "
        "this organization's TextUs signing secret, or the delivery's timestamp is missing or "
        "more than five minutes away from now (a replay). Nothing was changed.",
        WebhookProvider.SENDGRID: "Refused: the SendGrid Event Webhook signature is missing, "
        "does not match the body, or its timestamp is more than five minutes old. Nothing was "
        "changed.",
    }[provider]


def _receive(request, organization, *, provider: str, kind: str, dedupe_key: str, url: str):
    """Store once, then apply inline once the row is committed. A duplicate already applied
    is answered, not applied again.

    A database too busy to take the row answers 500, so the provider sends it again."""
    delivery = None
    for pause in APPLY_PAUSES_S:
        time.sleep(pause)
        try:
            delivery, _created = intake.store(
                organization=organization,
                provider=provider,
                kind=kind,
                event_id=dedupe_key,
                url=url,
                headers=_headers(request),
                raw_body=request.body,
            )
        except OperationalError:
            logger.warning("Could not store a %s callback yet; trying again.", provider)
            continue
        break
    if delivery is None:
        raise OperationalError(f"The {provider} callback could not be stored.")
    # Right away when the row is committed (this view runs outside a transaction); in a
    # caller's transaction, once it commits.
    transaction.on_commit(functools.partial(_apply_inline, delivery.pk))


def _apply_inline(delivery_id: int) -> None:
    """Apply a committed delivery within the request, trying again briefly when it fails on
    something passing; the intake's task and sweep do the rest. Never raises: the callback
    is stored, so the provider gets its answer whatever happens here."""
    for pause in APPLY_PAUSES_S:
        time.sleep(pause)
        try:
            applied = intake.apply(delivery_id=delivery_id)
        except Exception:
            logger.exception("Applying webhook delivery %s inline failed", delivery_id)
            return
        if applied is None or applied.state != WebhookDelivery.State.FAILED:
            return
        if applied.next_attempt_at is None:
            return  # failed for good: the reason is on the row, for support and Reprocess


def _malformed(request, organization, *, provider: str, kind: str, url: str, error: str):
    """A signed body we cannot read: kept for support (nothing lost), answered 400."""
    intake.store(
        organization=organization,
        provider=provider,
        kind=kind,
        event_id=intake.body_digest(request.body),
        url=url,
        headers=_headers(request),
        raw_body=request.body,
        error=error,
    )
    return HttpResponseBadRequest(error)


def _twilio(request, token: str, *, kind: str) -> HttpResponse:
    organization = _organization(token)
    if too_large := body_too_large(request, BODY_LIMITS[WebhookProvider.TWILIO]):
        return too_large
    url = _public_url(request)
    with tenant_scope(organization):
        refusal = _verified(request, organization, WebhookProvider.TWILIO, url)
        if refusal:
            return HttpResponseForbidden(refusal)
        params = request.POST
        sid = params.get("MessageSid") or params.get("SmsSid")
        if not sid:
            return _malformed(
                request,
                organization,
                provider=WebhookProvider.TWILIO,
                kind=kind,
                url=url,
                error="The Twilio callback has no MessageSid.",
            )
        if twilio_webhooks.is_inbound(params):
            dedupe_key = f"inbound:{sid}"
        else:
            status = params.get("MessageStatus") or params.get("SmsStatus") or ""
            dedupe_key = f"status:{sid}:{status.lower()}"
        _receive(
            request,
            organization,
            provider=WebhookProvider.TWILIO,
            kind=kind,
            dedupe_key=dedupe_key,
            url=url,
        )
    return HttpResponse(EMPTY_TWIML, content_type="text/xml")


@csrf_exempt
@public
@require_POST
def twilio_status(request, token: str):
    """Twilio StatusCallback: queued → sent → delivered / undelivered / failed (ErrorCode)."""
    return _twilio(request, token, kind=WebhookKind.STATUS)


@csrf_exempt
@public
@require_POST
def twilio_inbound(request, token: str):
    """Twilio incoming-message webhook (a number's SmsUrl or a Messaging Service's inbound
    URL); answered with empty TwiML."""
    return _twilio(request, token, kind=WebhookKind.INBOUND)


@csrf_exempt
@public
@require_POST
def textus(request, token: str):
    """TextUs webhook deliveries: message.received / delivered / failed, contact opt-outs."""
    organization = _organization(token)
    if too_large := body_too_large(request, BODY_LIMITS[WebhookProvider.TEXTUS]):
        return too_large
    url = _public_url(request)
    with tenant_scope(organization):
        refusal = _verified(request, organization, WebhookProvider.TEXTUS, url)
        if refusal:
            return HttpResponseForbidden(refusal)
        try:
            textus_webhooks.parse_delivery(request.body)
            body = json.loads(request.body)
        except (textus_webhooks.InvalidPayload, ValueError) as exc:
            return _malformed(
                request,
                organization,
                provider=WebhookProvider.TEXTUS,
                kind=WebhookKind.DELIVERY,
                url=url,
                error=str(exc),
            )
        delivery_id = body.get("id") if isinstance(body, dict) else None
        _receive(
            request,
            organization,
            provider=WebhookProvider.TEXTUS,
            kind=WebhookKind.DELIVERY,
            dedupe_key=str(delivery_id) if delivery_id else intake.body_digest(request.body),
            url=url,
        )
    return HttpResponse("OK")


@csrf_exempt
@public
@require_POST
def sendgrid_events(request, token: str):
    """SendGrid's signed Event Webhook: a batch of delivery and engagement events."""
    organization = _organization(token)
    if too_large := body_too_large(request, BODY_LIMITS[WebhookProvider.SENDGRID]):
        return too_large
    url = _public_url(request)
    with tenant_scope(organization):
        refusal = _verified(request, organization, WebhookProvider.SENDGRID, url)
        if refusal:
            return HttpResponseForbidden(refusal)
        try:
            sendgrid_webhooks.parse_events(request.body)
        except sendgrid_webhooks.InvalidPayload as exc:
            return _malformed(
                request,
                organization,
                provider=WebhookProvider.SENDGRID,
                kind=WebhookKind.EVENTS,
                url=url,
                error=str(exc),
            )
        # Each event also has its own sg_event_id, deduplicated where it is applied.
        _receive(
            request,
            organization,
            provider=WebhookProvider.SENDGRID,
            kind=WebhookKind.EVENTS,
            dedupe_key=intake.body_digest(request.body),
            url=url,
        )
    return HttpResponse("OK")
