"""The candidate's recorder, at /v/<token>/: consent, the camera check, a practice question, each
question recorded and uploaded in chunks while it is recorded (static/js/recorder.js), the
finish page. The JSON endpoints under the same URL carry the chunked upload
(:mod:`interviews.uploads`) and the state a reloaded page continues from.

Everything here is public: the signed token in the URL (see ``public_urls``) is the candidate's
key, and Django's CSRF cookie + header guard every write (the page hands its token to the
script). The interview is found with ``scopes_disabled()`` by its token, then every other read
and write runs inside ``tenant_scope`` of its organization. A bare, tampered or unknown token
gets a plain 404 page that names nobody.
"""

from __future__ import annotations

import json
import re
import uuid
from functools import wraps

from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from messaging.email_layout import brand_colours
from recruitflow.decorators import public
from recruitflow.tenancy import scopes_disabled, tenant_scope

from . import services, uploads
from .models import Answer, AnswerStatus, InterviewPolicy, InterviewStatus, VideoInterview

DEFAULT_RETENTION_DAYS = 180
CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+|\*)$")
# A take whose final answer is in one of these is answered (processing finishes on its own).
ANSWERED = (AnswerStatus.UPLOADED, AnswerStatus.PROCESSING, AnswerStatus.READY)
RECORD_AGAIN = "We could not play this answer. Please record it again."
PRACTICE_QUESTION = {
    "text": "Practice: tell us in a sentence or two what you had for breakfast. This one is not "
    "sent to anyone.",
    "think_seconds": 5,
    "answer_seconds": 20,
}


# --------------------------------------------------------------------------------------------
# Finding the interview behind a token
# --------------------------------------------------------------------------------------------


def _not_found(request):
    return render(request, "interviews/public/not_found.html", status=404)


def _find(token: str) -> VideoInterview | None:
    if not token:
        return None
    with scopes_disabled():
        found = (
            VideoInterview.objects.select_related("organization", "template")
            .filter(token=token)
            .first()
        )
    if found is None or not found.organization.is_active:
        return None
    return found


def _for_interview(view=None, *, json: bool = True):
    """Resolve ``token`` to its interview and run the view in its organization; an unknown
    token is a 404 (JSON for the endpoints the script calls, a page for the recorder)."""

    def decorate(view):
        @wraps(view)
        def wrapper(request, token: str, **kwargs):
            interview = _find(token)
            if interview is None:
                if json:
                    return _problem("This link does not work. Check that it is complete.", 404)
                return _not_found(request)
            with tenant_scope(interview.organization):
                return view(request, interview, **kwargs)

        return wrapper

    return decorate(view) if view is not None else decorate


def brand_context(organization) -> dict:
    """The organization's name, colour and logo, as the candidate's pages show them."""
    brand, _ink = brand_colours(organization.brand_color)
    return {
        "company": organization,
        "brand_hex": brand.lstrip("#"),
        "logo_url": organization.logo.url if organization.logo else "",
    }


def _problem(message: str, status: int, **extra) -> JsonResponse:
    return JsonResponse({"error": message, **extra}, status=status)


def _closed_state(interview: VideoInterview) -> str | None:
    """Why the recorder no longer records, or None while it is open."""
    if interview.status in (InterviewStatus.COMPLETED, InterviewStatus.REVIEWED):
        return "completed"
    if interview.status == InterviewStatus.CANCELLED:
        return "cancelled"
    if interview.status == InterviewStatus.EXPIRED or interview.expires_at <= timezone.now():
        return "expired"
    return None


def _context(interview: VideoInterview, **extra) -> dict:
    organization = interview.organization
    policy = InterviewPolicy.objects.filter(organization=organization).first()
    return {
        **brand_context(organization),
        "interview": interview,
        "candidate_name": interview.candidate.first_name if interview.candidate_id else "",
        "retention_days": policy.retention_days if policy else DEFAULT_RETENTION_DAYS,
        "question_count": len(interview.questions),
        "expires_at": interview.expires_at,
        "time_zone": organization.time_zone or "UTC",
        **extra,
    }


# --------------------------------------------------------------------------------------------
# Pages
# --------------------------------------------------------------------------------------------


@public
@never_cache
@require_safe
@_for_interview(json=False)
def recorder(request, interview: VideoInterview):
    """Consent first; then the recorder (the script walks the candidate through the questions);
    a closed interview gets a page that says why."""
    state = _closed_state(interview)
    if state is not None:
        return render(request, "interviews/public/closed.html", _context(interview, state=state))
    if interview.status == InterviewStatus.INVITED:
        return render(request, "interviews/public/consent.html", _context(interview))
    token = request.resolver_match.kwargs["token"]
    response = render(
        request,
        "interviews/public/recorder.html",
        _context(
            interview,
            urls={
                "status": reverse("interviews_public:status", args=[token]),
                "takes": reverse("interviews_public:take_start", args=[token]),
                "finish": reverse("interviews_public:finish", args=[token]),
                "page": reverse("interviews_public:recorder", args=[token]),
            },
            practice=PRACTICE_QUESTION,
        ),
    )
    # The script plays back the practice answer from memory (a blob: URL).
    response._csp_update = {"media-src": ["'self'", "blob:"]}  # type: ignore[attr-defined]
    return response


@public
@never_cache
@require_POST
@_for_interview(json=False)
def consent(request, interview: VideoInterview):
    """The consent form: the candidate agrees to be recorded and to the retention period."""
    state = _closed_state(interview)
    if state is not None:
        return render(
            request, "interviews/public/closed.html", _context(interview, state=state), status=409
        )
    if request.POST.get("agree") != "yes":
        return render(
            request,
            "interviews/public/consent.html",
            _context(interview, error="Tick the box to agree to the recording, then continue."),
            status=400,
        )
    try:
        services.interview_start(interview=interview)
    except services.InterviewClosed:
        interview.refresh_from_db()
        state = _closed_state(interview) or "expired"
        return render(
            request, "interviews/public/closed.html", _context(interview, state=state), status=409
        )
    return redirect(request.path.rsplit("consent/", 1)[0])


# --------------------------------------------------------------------------------------------
# JSON: the state, takes, chunks, finishing
# --------------------------------------------------------------------------------------------


def question_states(interview: VideoInterview) -> list[dict]:
    """Each question as the page needs it: its timings, takes left and where it stands."""
    takes: dict[int, list[Answer]] = {}
    for answer in Answer.objects.filter(interview=interview).order_by("question_index", "attempt"):
        takes.setdefault(answer.question_index, []).append(answer)
    states = []
    for index, question in enumerate(interview.questions):
        mine = takes.get(index, [])
        final = next((a for a in mine if a.is_final), None)
        counted = sum(1 for a in mine if a.status in uploads.COUNTED_STATUSES)
        allowed = uploads.takes_allowed(interview, index)
        latest = mine[-1] if mine else None
        if final is None:
            state = "todo"
        elif final.status == AnswerStatus.FAILED:
            state = "failed"
        elif final.status == AnswerStatus.READY:
            state = "ready"
        else:
            state = "processing"
        item = {
            "index": index,
            "text": question.get("text", ""),
            "think_seconds": int(question.get("think_seconds", 0) or 0),
            "answer_seconds": int(question.get("answer_seconds", 120) or 120),
            "takes_allowed": allowed,
            "takes_used": counted,
            "takes_left": max(allowed - counted, 0),
            "state": state,
            "attempt": final.attempt if final else None,
            "message": RECORD_AGAIN if state == "failed" else "",
            "unfinished": None,
        }
        if latest is not None and latest.status == AnswerStatus.RECORDING:
            item["unfinished"] = {
                "upload_id": str(latest.upload_id),
                "offset": latest.bytes_received,
                "attempt": latest.attempt,
            }
        states.append(item)
    return states


def _status_payload(interview: VideoInterview) -> dict:
    questions = question_states(interview)
    return {
        "status": interview.status,
        "questions": questions,
        "can_finish": bool(questions)
        and all(q["state"] in ("processing", "ready") for q in questions),
        "max_answer_bytes": uploads.MAX_ANSWER_BYTES,
        "max_chunk_bytes": uploads.MAX_CHUNK_BYTES,
    }


@public
@never_cache
@require_safe
@_for_interview
def status(request, interview: VideoInterview):
    """Where every question stands, so a reloaded page continues where it stopped."""
    return JsonResponse(_status_payload(interview))


def _json_body(request) -> dict:
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        return {}
    return body if isinstance(body, dict) else {}


def _upload_problem(exc: uploads.UploadError) -> JsonResponse:
    extra: dict[str, object] = {"code": exc.code}
    if exc.offset is not None:
        extra["offset"] = exc.offset
    return _problem(str(exc), exc.status, **extra)


def _take_urls(token: str, answer: Answer) -> dict:
    return {
        "chunks": reverse("interviews_public:take_chunk", args=[token, str(answer.upload_id)]),
        "finish": reverse("interviews_public:take_finish", args=[token, str(answer.upload_id)]),
    }


@public
@never_cache
@require_POST
@_for_interview
def take_start(request, interview: VideoInterview):
    """Start a take: ``{"question": <0-based index>, "content_type": "video/webm"}``."""
    body = _json_body(request)
    question = body.get("question")
    if not isinstance(question, int) or isinstance(question, bool):
        return _problem('Say which question this take answers: {"question": 0}.', 400)
    try:
        answer = uploads.take_start(
            interview=interview,
            question_index=question,
            content_type=str(body.get("content_type") or "video/webm"),
        )
    except uploads.UploadError as exc:
        return _upload_problem(exc)
    token = request.resolver_match.kwargs["token"]
    return JsonResponse(
        {
            "upload_id": str(answer.upload_id),
            "attempt": answer.attempt,
            "offset": 0,
            **_take_urls(token, answer),
        },
        status=201,
    )


def _upload_id(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def _find_take(interview: VideoInterview, upload_id: str) -> Answer | None:
    value = _upload_id(upload_id)
    if value is None:
        return None
    return Answer.objects.filter(interview=interview, upload_id=value).first()


def _chunk_offset(request) -> int | None:
    """The chunk's position from ``Content-Range: bytes a-b/total`` or ``?offset=``."""
    header = request.headers.get("Content-Range", "")
    if header:
        match = CONTENT_RANGE.match(header.strip())
        return int(match.group(1)) if match else None
    value = request.GET.get("offset", "")
    return int(value) if value.isdigit() else None


@public
@never_cache
@require_http_methods(["GET", "HEAD", "PUT", "POST"])
@_for_interview
def take_chunk(request, interview: VideoInterview, upload_id: str):
    """GET: how many bytes of the take we hold. PUT/POST: the bytes at an offset."""
    take_id = _upload_id(upload_id)
    if request.method in ("GET", "HEAD"):
        answer = _find_take(interview, upload_id)
        if answer is None:
            return _problem("This take is not known; start a new take.", 404)
        return JsonResponse({"offset": answer.bytes_received, "status": answer.status})
    if take_id is None:
        return _problem("This take is not known; start a new take.", 404)
    offset = _chunk_offset(request)
    if offset is None:
        return _problem(
            "Say where this chunk starts: ?offset=<bytes> or Content-Range: bytes a-b/total.",
            400,
        )
    length = int(request.headers.get("Content-Length") or 0)
    if length > uploads.MAX_CHUNK_BYTES:
        return _upload_problem(
            uploads.TooLarge(
                f"A chunk may be at most {uploads.size_words(uploads.MAX_CHUNK_BYTES)}; send "
                "smaller pieces."
            )
        )
    try:
        result = uploads.chunk_append(
            interview=interview, upload_id=take_id, offset=offset, data=request.body
        )
    except uploads.UploadError as exc:
        return _upload_problem(exc)
    return JsonResponse({"offset": result.offset, "appended": result.appended})


@public
@never_cache
@require_POST
@_for_interview
def take_finish(request, interview: VideoInterview, upload_id: str):
    """The take is complete: ``{"size": <total bytes>}``."""
    answer = _find_take(interview, upload_id)
    if answer is None:
        return _problem("This take is not known; start a new take.", 404)
    size = _json_body(request).get("size")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        return _problem('Send the take\'s total size: {"size": <bytes>}.', 400)
    try:
        answer = uploads.take_finish(answer=answer, size=size)
    except uploads.UploadError as exc:
        return _upload_problem(exc)
    return JsonResponse(
        {
            **_status_payload(interview),
            "take": {"status": answer.status, "attempt": answer.attempt, "error": answer.error},
        }
    )


@public
@never_cache
@require_POST
@_for_interview
def finish(request, interview: VideoInterview):
    """Send the interview: every question needs an answer that is processing or ready."""
    state = _closed_state(interview)
    if state == "completed":
        return JsonResponse({"redirect": request.path.rsplit("finish/", 1)[0]})
    if state is not None or interview.status != InterviewStatus.STARTED:
        return _problem("This interview is closed: it has expired or was cancelled.", 409)
    payload = _status_payload(interview)
    missing = [
        q["index"] + 1 for q in payload["questions"] if q["state"] not in ("processing", "ready")
    ]
    if missing:
        words = ", ".join(str(n) for n in missing)
        return _problem(
            f"Answer question{'s' if len(missing) > 1 else ''} {words} before you finish.",
            409,
            missing=missing,
        )
    try:
        services.interview_complete(interview=interview)
    except services.InterviewClosed as exc:
        return _problem(str(exc), 409)
    return JsonResponse({"redirect": request.path.rsplit("finish/", 1)[0]})
