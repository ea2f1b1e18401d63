"""The e-mail provider's reply POSTs: SendGrid Inbound Parse, at
``/webhooks/sendgrid/<endpoint token>/inbound/``.

Inbound Parse signs nothing, so two secrets guard the endpoint: the organization's endpoint
token in the path (unknown → 404) and the HTTP basic auth credentials SendGrid sends from the
URL it was given (wrong or missing → 401, with ``WWW-Authenticate``). Nothing is stored before
both hold. The POST is read by the vendor's reader (text fields decoded with the charsets
SendGrid names), stored once per ``Message-ID`` through the webhook intake, and applied right
away once committed (the intake's task and sweep are the safety net); the reply is applied by
:func:`messaging.services.inbound_email.inbound_email_apply`.
"""

from __future__ import annotations

import functools
import logging

from django.db import transaction
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from integrations import intake
from integrations.sendgrid import inbound as inbound_parse
from messaging.selectors import issued_reply_endpoint, organization_for_endpoint
from recruitflow.decorators import public
from recruitflow.tenancy import tenant_scope

logger = logging.getLogger(__name__)

# A reply with a few attachments; larger mail is refused before it is read (SendGrid's own
# limit for parsed mail is 30 MB, but nothing we keep needs more than the text).
INBOUND_BODY_LIMIT = 30 * 1024 * 1024
KEPT_HEADERS = ("Content-Type", "User-Agent")


def _unauthorized() -> HttpResponse:
    response = HttpResponse(
        "Refused: the basic auth credentials are missing or wrong for this endpoint. "
        "Nothing was stored.",
        status=401,
        content_type="text/plain; charset=utf-8",
    )
    response["WWW-Authenticate"] = 'Basic realm="RecruitFlow e-mail replies"'
    return response


def _apply_inline(delivery_id: int) -> None:
    try:
        intake.apply(delivery_id=delivery_id)
    except Exception:  # stored: the intake's task and sweep apply it
        logger.exception("Applying inbound e-mail delivery %s inline failed", delivery_id)


@csrf_exempt
@public
@require_POST
def sendgrid_inbound(request, token: str):
    """SendGrid Inbound Parse: a candidate's e-mail reply (multipart/form-data)."""
    organization = organization_for_endpoint(token)
    if organization is None:
        raise Http404("Unknown webhook endpoint.")
    with tenant_scope(organization):
        # Credentials are made when an admin is shown the URL (or the sandbox is wired): an
        # organization without any was never given one, and a request does not make them.
        endpoint = issued_reply_endpoint(organization)
        if endpoint is None or not inbound_parse.basic_auth_matches(
            request.headers.get("Authorization"),
            username=endpoint.username,
            password=endpoint.password,
        ):
            return _unauthorized()
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > INBOUND_BODY_LIMIT:
            return HttpResponse(
                f"Refused: the e-mail is {length} bytes; at most {INBOUND_BODY_LIMIT} are "
                "accepted. Nothing was stored.",
                status=413,
            )
        try:
            parsed = inbound_parse.parse_multipart(
                request.META.get("CONTENT_TYPE", ""), request.body
            )
        except inbound_parse.InvalidInbound as exc:
            return HttpResponseBadRequest(f"{exc} Nothing was stored.")
        delivery, _created = intake.store(
            organization=organization,
            provider="sendgrid",
            kind="inbound_parse",
            event_id=inbound_parse.event_id(parsed),
            raw_body=inbound_parse.stored_body(parsed),
            url=request.build_absolute_uri(request.path),
            headers={k: request.headers[k] for k in KEPT_HEADERS if k in request.headers},
        )
        transaction.on_commit(functools.partial(_apply_inline, delivery.pk))
    return HttpResponse("OK", content_type="text/plain")
