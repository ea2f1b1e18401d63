"""What every partner API answer shares, wrapped around every view of `/api/v1/` (in
``recruitflow.urls``) so none can forget it: errors as problem details (an unexpected failure
too), the RateLimit-* headers, and `Idempotency-Key` on every POST."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import re
from functools import wraps

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import IntegrityError, transaction
from django.http import HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from accounts.api_auth import OrganizationRateThrottle
from accounts.models import IDEMPOTENCY_KEPT, IdempotencyRecord
from recruitflow import page_cache
from recruitflow.decorators import public

from .api import (
    IDEMPOTENCY_HEADER,
    IDEMPOTENCY_KEY_MAX,
    IDEMPOTENCY_KEY_PATTERN,
    PROBLEM_CONTENT_TYPE,
    problem_body,
    problem_name_for_status,
)

# How often a request retries its claim when the request that held the key was refused and
# freed it at the moment this one looked.
CLAIM_ATTEMPTS = 3

logger = logging.getLogger("django.request")


def problem_response(request, *, status_code: int, name: str, detail: str, **extra) -> HttpResponse:
    body = problem_body(status_code=status_code, name=name, detail=detail, request=request, **extra)
    return JsonResponse(body, status=status_code, content_type=PROBLEM_CONTENT_TYPE)


def _as_problem(request, response) -> HttpResponse:
    """An error answered outside the API views' handler (an unknown address, a guard that
    stopped the request early) in the same problem format."""
    detail = response.reason_phrase
    errors = None
    if response.get("Content-Type", "").startswith("application/json"):
        try:
            data = json.loads(response.content)
        except ValueError:
            data = None
        if isinstance(data, dict) and isinstance(data.get("detail"), str):
            detail = data["detail"]
        elif isinstance(data, dict) and data:
            errors = {k: v if isinstance(v, list) else [str(v)] for k, v in data.items()}
    problem = problem_response(
        request,
        status_code=response.status_code,
        name=problem_name_for_status(response.status_code),
        detail=detail,
        errors=errors,
    )
    for header in ("Retry-After", "WWW-Authenticate", "Allow"):
        if response.has_header(header):
            problem[header] = response[header]
    return problem


def api_endpoint(view):
    """Wrap one API view: idempotent POSTs, problem details, RateLimit-* headers."""

    @wraps(view)
    def endpoint(request, *args, **kwargs):
        try:
            if request.method == "POST" and request.headers.get(IDEMPOTENCY_HEADER) is not None:
                response = _idempotent(request, view, args, kwargs)
            elif request.method == "GET" and request.api_key is not None and settings.PAGE_CACHE:
                response = page_cache.api_answer(
                    request,
                    lambda: _rendered(view(request, *args, **kwargs)),
                    lambda: OrganizationRateThrottle.count(request),
                )
            else:
                response = _rendered(view(request, *args, **kwargs))
        except Exception as exc:  # noqa: BLE001 — answered as a problem, and logged
            logger.error("Internal Server Error: %s", request.path, exc_info=exc)
            response = problem_response(
                request,
                status_code=500,
                name="server_error",
                detail="Something went wrong on our side and it was logged. Retrying with the "
                "same Idempotency-Key is safe.",
            )
        if response.status_code >= 400 and not response.get("Content-Type", "").startswith(
            PROBLEM_CONTENT_TYPE
        ):
            response = _as_problem(request, response)
        state = getattr(request, "rate_limit", None) or OrganizationRateThrottle.peek(request)
        if state is not None:
            for name, value in state.headers().items():
                response[name] = value
        return response

    return endpoint


def api_endpoints(patterns: list) -> list:
    """Every URL pattern of the API with its view wrapped by :func:`api_endpoint`."""
    for pattern in patterns:
        pattern.callback = api_endpoint(pattern.callback)
    return patterns


@csrf_exempt  # it changes nothing; a session POST gets this 404, not the CSRF page
@public
def api_not_found(request, unknown: str = ""):
    """An address under `/api/v1/` that names no endpoint."""
    return problem_response(
        request,
        status_code=404,
        name="not_found",
        detail="No endpoint at this address. The endpoints are listed at /api/v1/docs/.",
        instance=False,  # an address is never echoed back: it may carry anything
    )


def _rendered(response):
    render = getattr(response, "render", None)
    if callable(render) and not getattr(response, "is_rendered", True):
        response = render()
    return response


def _fingerprint(request) -> str:
    """The request a key stands for: method, path with query, and the body (JSON compared by
    content, so spacing and key order don't matter)."""
    body = request.body
    with contextlib.suppress(ValueError, RecursionError):
        body = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    digest = hashlib.sha256()
    for part in (request.method.encode(), request.get_full_path().encode(), body):
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()


def _principal(request) -> str | None:
    if getattr(request, "api_key", None) is not None:
        return f"key:{request.api_key.pk}"
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    return None


def _replay(record: IdempotencyRecord) -> HttpResponse:
    response = HttpResponse(bytes(record.body), status=200, content_type=record.content_type)
    if record.location:
        response["Location"] = record.location
    response["Idempotent-Replayed"] = "true"
    return response


def _idempotent(request, view, args, kwargs):
    """`Idempotency-Key` on a POST, whatever the view.

    The key is claimed by inserting its row, in the same transaction as the view's work, before
    the view runs. A second request with the same key blocks on that insert until the first
    commits, then replays the stored answer (200, `Idempotent-Replayed: true`) — or, if its
    body differs, is refused (422, `idempotency_conflict`). A refused first request (4xx) frees
    the key so a corrected retry can use it; a failure (5xx) rolls back its work with the claim.
    Runs inside the tenant scope (views do).
    """
    key = request.headers[IDEMPOTENCY_HEADER].strip()
    if re.fullmatch(IDEMPOTENCY_KEY_PATTERN, key) is None:
        return problem_response(
            request,
            status_code=400,
            name="validation",
            detail=f"{IDEMPOTENCY_HEADER}: use 1 to {IDEMPOTENCY_KEY_MAX} visible ASCII "
            "characters, such as a UUID.",
            errors={
                IDEMPOTENCY_HEADER: [
                    f"Use 1 to {IDEMPOTENCY_KEY_MAX} visible ASCII characters (no spaces)."
                ]
            },
        )
    principal = _principal(request)
    if request.organization is None or principal is None:
        return _rendered(view(request, *args, **kwargs))  # the view refuses it (401/403)
    try:
        fingerprint = _fingerprint(request)
    except RequestDataTooBig:
        return problem_response(
            request,
            status_code=413,
            name="payload_too_large",
            detail="The body is larger than this API accepts.",
        )
    for _ in range(CLAIM_ATTEMPTS):
        response = _run_claimed(request, view, args, kwargs, principal, key, fingerprint)
        if response is not None:
            return response
        record = IdempotencyRecord.objects.filter(
            organization=request.organization, principal=principal, key=key
        ).first()
        if record is None:
            continue  # its first request was refused and freed the key: claim it now
        if record.fingerprint != fingerprint:
            return problem_response(
                request,
                status_code=422,
                name="idempotency_conflict",
                detail=f"This {IDEMPOTENCY_HEADER} was already used for {record.method} "
                f"{record.path} with a different body. Use a new key for a new request.",
            )
        return _replay(record)
    return problem_response(
        request,
        status_code=409,
        name="conflict",
        detail=f"Other requests with this {IDEMPOTENCY_HEADER} keep failing; retry later.",
    )


def _run_claimed(request, view, args, kwargs, principal: str, key: str, fingerprint: str):
    """Claim the key and run the view; None when another request holds the key."""
    organization = request.organization
    with transaction.atomic():
        IdempotencyRecord.objects.filter(
            organization=organization,
            principal=principal,
            key=key,
            created_at__lt=timezone.now() - IDEMPOTENCY_KEPT,
        ).delete()
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(
                    organization=organization,
                    principal=principal,
                    key=key,
                    fingerprint=fingerprint,
                    method=request.method,
                    path=request.get_full_path()[:2000],
                )
        except IntegrityError:
            return None
        response = _rendered(view(request, *args, **kwargs))
        if 200 <= response.status_code < 300 and not response.streaming:
            record.status_code = response.status_code
            record.content_type = response.get("Content-Type", "")[:100]
            record.location = response.get("Location", "")[:2000]
            record.body = response.content
            record.save(update_fields=["status_code", "content_type", "location", "body"])
        elif response.status_code >= 500:
            transaction.set_rollback(True)
        else:
            record.delete()
        return response
