"""Request guards that apply to every URL, so no view can forget them."""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from django.http import HttpResponse, JsonResponse

from recruitflow.api import PROBLEM_CONTENT_TYPE, problem_body

NUL_MESSAGE = (
    "The address contains a NUL character (%00), which no page or API field accepts. "
    "Remove it from the link or the search box and try again."
)


class RejectNulBytesMiddleware:
    """Answer 400 when the path or query string carries a NUL byte.

    Postgres refuses NUL inside text values, so without this a search box or filter fed
    ``%00`` becomes a 500 deep inside a query. Checking here covers every view at once.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        query = request.META.get("QUERY_STRING", "")
        if "\x00" in request.path or b"\x00" in unquote_to_bytes(query.replace("+", " ")):
            if request.path.startswith("/api/"):
                body = problem_body(
                    status_code=400, name="validation", detail=NUL_MESSAGE, request=request
                )
                return JsonResponse(body, status=400, content_type=PROBLEM_CONTENT_TYPE)
            return HttpResponse(NUL_MESSAGE, status=400, content_type="text/plain; charset=utf-8")
        return self.get_response(request)


class PrivatePagesNoStoreMiddleware:
    """Signed-in pages and API answers are never kept by a browser or proxy cache.

    They carry candidates' personal data and, on some pages, a secret shown once (a new API
    key, MFA recovery codes); the browser's back button or a shared proxy must not bring them
    back. Views that set their own ``Cache-Control`` keep it.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.has_header("Cache-Control"):
            return response
        user = getattr(request, "user", None)
        if request.path.startswith("/api/") or (user is not None and user.is_authenticated):
            response["Cache-Control"] = "no-store, private"
        return response
