"""The streaming view of recordings kept on the filesystem (``/interviews/media/<token>/``).

Only reached through :func:`interviews.playback.playback_url`: the token is signed and
short-lived, and the view still checks who asks. It answers HTTP ranges (206 Partial Content),
so browsers seek and resume without downloading the whole file first.
"""

from __future__ import annotations

from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.utils.http import http_date, parse_http_date_safe
from django.views.decorators.http import require_safe

from recruitflow.decorators import organization_required

from . import playback
from .models import Answer
from .selectors import interviews_for

BLOCK_SIZE = 64 * 1024


class _FileRange:
    """Bytes ``first`` .. ``first + length - 1`` of an open file, read in blocks; the response
    closes the file when it is done with it, even if it never started reading."""

    def __init__(self, file, first: int, length: int) -> None:
        self.file, self.first, self.length = file, first, length

    def __iter__(self):
        self.file.seek(self.first)
        remaining = self.length
        while remaining > 0:
            block = self.file.read(min(BLOCK_SIZE, remaining))
            if not block:
                return
            remaining -= len(block)
            yield block

    def close(self) -> None:
        self.file.close()


@require_safe
@organization_required
def recording_stream(request, token: str):
    """Stream one recording file to a member of its organization who may see the candidate."""
    try:
        grant = playback.grant_from_token(token)
    except playback.PlaybackExpired:
        return _refusal(403, "This playback link has expired. Reload the page to get a new one.")
    except playback.PlaybackRefused as error:
        raise Http404(str(error)) from error
    # Another organization's recording is not there for this person, as for any other row; a
    # hiring manager sees only the interviews of their hiring teams' jobs (as on the pages),
    # even of a candidate who also applied to one of those jobs.
    if grant.organization_id != request.organization.pk:
        raise Http404("No such recording.")
    visible = interviews_for(organization=request.organization, membership=request.membership)
    answer = (
        Answer.objects.select_related("interview")
        .filter(
            pk=grant.answer_id,
            interview__recordings_deleted_at__isnull=True,
            interview__in=visible,
        )
        .first()
    )
    file = getattr(answer, grant.field, None) if answer is not None else None
    if file is None or file.name != grant.name:
        # Deleted by retention or an erasure, or replaced since the link was made.
        raise Http404("No such recording.")
    return _file_response(request, answer, file, grant)


def _file_response(request, answer: Answer, file, grant: playback.PlaybackGrant):
    storage = file.storage
    try:
        handle = storage.open(file.name, "rb")
    except FileNotFoundError as error:
        raise Http404("The recording's file is missing.") from error
    try:
        size = storage.size(file.name)
        modified = storage.get_modified_time(file.name).timestamp()
    except (FileNotFoundError, NotImplementedError):
        handle.close()
        raise
    etag = f'"{size:x}-{int(modified * 1000):x}"'
    headers = {
        "Accept-Ranges": "bytes",
        "Cache-Control": f"private, max-age={grant.seconds_left}",
        "Content-Disposition": "inline",
        "ETag": etag,
        "Last-Modified": http_date(modified),
    }
    content_type = playback.content_type_of(file.name, answer.content_type)

    wanted = None
    if "Range" in request.headers and _if_range_holds(request, etag, modified):
        try:
            wanted = playback.byte_range(request.headers["Range"], size)
        except playback.RangeNotSatisfiable as error:
            handle.close()
            refusal = _refusal(416, f"{error} The file has {size} bytes.")
            refusal["Content-Range"] = f"bytes */{size}"
            refusal["Accept-Ranges"] = "bytes"
            return refusal
    first, last = wanted if wanted is not None else (0, size - 1)
    length = max(0, last - first + 1)

    response: HttpResponse | StreamingHttpResponse
    if request.method == "HEAD":
        handle.close()
        response = HttpResponse(status=206 if wanted else 200, content_type=content_type)
    else:
        response = StreamingHttpResponse(
            _FileRange(handle, first, length),
            status=206 if wanted else 200,
            content_type=content_type,
        )
    for name, value in headers.items():
        response[name] = value
    response["Content-Length"] = str(length)
    if wanted is not None:
        response["Content-Range"] = f"bytes {first}-{last}/{size}"
    return response


def _if_range_holds(request, etag: str, modified: float) -> bool:
    """Whether a Range request's ``If-Range`` (when sent) still names this file: else the
    browser's cached part is of another version and it gets the whole file."""
    condition = request.headers.get("If-Range", "").strip()
    if not condition:
        return True
    if condition.startswith(('"', "W/")):
        return condition == etag
    since = parse_http_date_safe(condition)
    return since is not None and int(modified) <= since


def _refusal(status: int, text: str) -> HttpResponse:
    response = HttpResponse(text, status=status, content_type="text/plain; charset=utf-8")
    response["Cache-Control"] = "no-store, private"
    return response
