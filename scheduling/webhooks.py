"""Cronofy callbacks: ``/webhooks/cronofy/<endpoint token>/`` (push notifications about
members' calendars) and ``…/authorization/`` (the result of connecting a teammate's calendar by
e-mail through Enterprise Connect).

The token is the organization's ``MessagingPreferences.endpoint_token`` (the same one its
messaging callbacks carry). Order matters: find the organization by the token, then verify
``Cronofy-HMAC-SHA256`` over the raw body with the organization's Cronofy client secret or the
previous one (a rotation in progress; settings are found up the account tree) — anything not
provably from Cronofy gets 403 and changes nothing. A push notification is then stored by the
one webhook intake (:mod:`integrations.intake`), once per notification identity (channel, type
and ``changes_since``: Cronofy sends no id and may deliver one more than once), and answered;
the intake's task applies it (a change notification carries no event data: the calendar's
changes are read then, by ``scheduling.calendar_changes``).
"""

from __future__ import annotations

import logging

from django.http import Http404, HttpResponse, HttpResponseBadRequest, HttpResponseForbidden
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from integrations import intake
from integrations.cronofy import connections
from integrations.cronofy.webhooks import (
    SIGNATURE_HEADER,
    InvalidPayload,
    InvalidSignature,
    check_signature,
    dedupe_key,
    parse_notification,
    parse_service_account_callback,
)
from integrations.http import ProviderError
from messaging.selectors import organization_for_endpoint
from messaging.webhooks import BODY_LIMITS, body_too_large
from recruitflow.decorators import public
from recruitflow.tenancy import tenant_scope

from . import calendars

logger = logging.getLogger(__name__)

PROVIDER = "cronofy"


def _organization(token: str):
    organization = organization_for_endpoint(token)
    if organization is None:
        raise Http404("Unknown webhook endpoint.")
    return organization


def _refusal(request, organization) -> str | None:
    """None when the request is signed by the organization's Cronofy application."""
    settings_row = connections.cronofy_settings_for(organization)
    try:
        check_signature(
            request.body,
            request.headers.get(SIGNATURE_HEADER),
            secret=settings_row.client_secret if settings_row else "",
            previous_secret=settings_row.previous_client_secret if settings_row else "",
        )
    except InvalidSignature as exc:
        return f"Refused: {exc} Nothing was changed."
    return None


@csrf_exempt
@public
@require_POST
def cronofy(request, token: str):
    """Cronofy push notifications: ``verification`` (a new channel), ``change`` (read the
    calendar's changes), ``profile_disconnected`` (the connection needs attention),
    ``conferencing_profile_disconnected`` and ``gdpr_requested`` (forget the account)."""
    organization = _organization(token)
    if too_large := body_too_large(request, BODY_LIMITS["cronofy"]):
        return too_large
    with tenant_scope(organization):
        refusal = _refusal(request, organization)
        if refusal:
            logger.warning("Cronofy notification refused for organization %s", organization.pk)
            return HttpResponseForbidden(refusal, content_type="text/plain; charset=utf-8")
        try:
            notification = parse_notification(request.body)
        except InvalidPayload as exc:
            return HttpResponseBadRequest(str(exc), content_type="text/plain; charset=utf-8")
        if not notification.known:
            logger.info("Ignored a Cronofy notification of type %r", notification.type)
        intake.store(
            organization=organization,
            provider=PROVIDER,
            kind=notification.type,
            event_id=dedupe_key(notification),
            raw_body=request.body,
            url=request.build_absolute_uri(),
            # Nothing to apply in a channel's verification or a type we do not know: kept, as
            # ignored, so support sees what Cronofy sent.
            ignore=not notification.applies,
        )
    return HttpResponse("OK", content_type="text/plain")


@csrf_exempt
@public
@require_POST
def cronofy_authorization(request, token: str):
    """The signed result of ``connection_request_enterprise_connect``: the teammate's calendar
    is connected (and its push channel opened), or the connection keeps Cronofy's reason."""
    organization = _organization(token)
    if too_large := body_too_large(request, BODY_LIMITS["cronofy"]):
        return too_large
    with tenant_scope(organization):
        refusal = _refusal(request, organization)
        if refusal:
            return HttpResponseForbidden(refusal, content_type="text/plain; charset=utf-8")
        try:
            result = parse_service_account_callback(request.body)
        except InvalidPayload as exc:
            return HttpResponseBadRequest(str(exc), content_type="text/plain; charset=utf-8")
        try:
            connection = connections.connection_complete_enterprise_connect(
                organization=organization,
                result=result,
                callback_url=calendars.enterprise_connect_callback_url(organization),
            )
        except ProviderError as exc:
            # Stored on the connection ("Needs attention"); Cronofy need not send it again.
            logger.warning("Enterprise Connect result could not be redeemed: %s", exc)
            return HttpResponse("Recorded", content_type="text/plain")
        if connection is not None and connection.connected:
            try:
                connections.connection_ensure_channel(
                    connection, callback_url=calendars.push_callback_url(organization)
                )
            except ProviderError as exc:
                logger.warning("No push channel for connection %s: %s", connection.pk, exc)
    return HttpResponse("OK", content_type="text/plain")
