"""The shared review page a hiring manager opens without an account
(``/interviews/shared/<signed>/``, see ``interviews.sharing``) and the recordings it plays.

Public: the signed link is the key. The organization and interview come from the verified
payload; every read then runs in that organization's ``tenant_scope``, so a link reaches only
its own interview. A changed link gets a 404 page, an expired one a 410 page that says when it
expired and whom to ask; neither names anything of the interview.

The recordings are played through this link too (``.../answers/<n>/video/``), checked again on
every request, so they stop with the link: from a filesystem storage they are streamed here with
HTTP Range support (browsers seek with ranges); from an object store the request is redirected
to a short-lived presigned URL (``interviews.playback``).
"""

from __future__ import annotations

from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from accounts.models import Organization
from candidates.views import organization_time
from recruitflow.decorators import public
from recruitflow.tenancy import tenant_scope

from . import selectors, sharing
from .playback import RangeNotSatisfiable, byte_range, content_type_of, playback_url
from .review_views import SPEEDS, player_urls
from .storage import is_filesystem

CHUNK = 64 * 1024
MEDIA_FIELDS = {"video": "rendition", "poster": "poster"}


def _closed(request, state: str, *, expired_at=None, status: int):
    response = render(
        request,
        "interviews/shared_closed.html",
        {"state": state, "expired_at": expired_at},
        status=status,
    )
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _open(signed: str):
    """(organization, share) of a valid link, or raises ShareInvalid/ShareExpired."""
    share = sharing.share_read(signed)
    organization = Organization.objects.filter(pk=share.organization_id, is_active=True).first()
    if organization is None:
        raise sharing.ShareInvalid("The organization is gone.")
    return organization, share


@public
@never_cache
@require_safe
def shared_review(request, signed: str):
    try:
        organization, share = _open(signed)
    except sharing.ShareExpired as exc:
        return _closed(request, "expired", expired_at=exc.expired_at, status=410)
    except sharing.ShareInvalid:
        return _closed(request, "invalid", status=404)
    with tenant_scope(organization), organization_time(organization):
        interview = selectors.shared_interview(organization=organization, pk=share.interview_id)
        if interview is None:
            return _closed(request, "invalid", status=404)
        sheet = selectors.review_sheet(interview=interview)
        player_urls(
            sheet.answers,
            lambda answer, field: reverse(
                "interviews:shared_media",
                args=[signed, answer.question_index, "video" if field == "rendition" else "poster"],
            ),
        )
        response = render(
            request,
            "interviews/shared.html",
            {
                "company": organization,
                "interview": interview,
                "sheet": sheet,
                "share": share,
                "speeds": SPEEDS,
            },
        )
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


@public
@require_safe
def shared_media(request, signed: str, index: int, kind: str):
    """One answer's rendition (``video``) or poster frame (``poster``) for a valid link."""
    field = MEDIA_FIELDS.get(kind)
    try:
        organization, share = _open(signed)
    except (sharing.ShareExpired, sharing.ShareInvalid):
        return HttpResponse("This link has expired or is not valid.", status=404)
    if field is None:
        return HttpResponse("No such recording.", status=404)
    with tenant_scope(organization):
        interview = selectors.shared_interview(organization=organization, pk=share.interview_id)
        answer = (
            selectors.final_answer(interview=interview, index=index)
            if interview is not None and interview.recordings_deleted_at is None
            else None
        )
        file = getattr(answer, field, None) if answer is not None else None
        if answer is None or not file:
            return HttpResponse("No such recording.", status=404)
        if not is_filesystem(file.storage):
            # An object store: its presigned URL serves ranges itself.
            return redirect(playback_url(answer, field, ttl=300))
        content_type = answer.content_type
    return ranged_file_response(request, file.storage, file.name, content_type)


def ranged_file_response(request, storage, name: str, content_type: str = ""):
    """The file, whole (200) or one byte range of it (206; the rules of
    ``interviews.playback.byte_range``), or 416 for a range outside it."""
    try:
        size = storage.size(name)
    except FileNotFoundError:
        return HttpResponse("The recording's file is missing.", status=404)
    wanted = None
    if "Range" in request.headers:
        try:
            wanted = byte_range(request.headers["Range"], size)
        except RangeNotSatisfiable:
            return _unsatisfiable(size)
    start, end = wanted if wanted is not None else (0, size - 1)
    length = max(0, end - start + 1)

    def chunks():
        with storage.open(name, "rb") as handle:
            handle.seek(start)
            remaining = length
            while remaining > 0:
                data = handle.read(min(CHUNK, remaining))
                if not data:
                    break
                remaining -= len(data)
                yield data

    response = StreamingHttpResponse(
        chunks() if request.method != "HEAD" else iter(()),
        status=206 if wanted is not None else 200,
        content_type=content_type_of(name, content_type),
    )
    response["Content-Length"] = str(length)
    response["Accept-Ranges"] = "bytes"
    if wanted is not None:
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
    response["Cache-Control"] = "private, no-store"
    response["Referrer-Policy"] = "no-referrer"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _unsatisfiable(size: int) -> HttpResponse:
    response = HttpResponse("That byte range is outside the recording.", status=416)
    response["Content-Range"] = f"bytes */{size}"
    return response
