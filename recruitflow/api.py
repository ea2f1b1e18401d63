"""Shared pieces of the partner API: pagination, the error format (RFC 9457 problem details),
idempotency of POSTs, rate-limit headers, schema post-processing."""

from __future__ import annotations

import copy

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from django.http import Http404
from rest_framework import exceptions, pagination, serializers
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

from recruitflow.tenancy import ScopeError

PROBLEM_CONTENT_TYPE = "application/problem+json"
GUIDE_PATH = "/api/v1/guide/"
IDEMPOTENCY_HEADER = "Idempotency-Key"
IDEMPOTENCY_KEY_MAX = 255
IDEMPOTENCY_KEY_PATTERN = r"^[\x21-\x7e]{1,255}$"

# The stable problem types: `type` is <site>/api/v1/guide/#problem-<name>, where the Partner
# guide explains each one. Titles are fixed per type; `detail` says what happened this time.
PROBLEM_TITLES = {
    "validation": "The request has invalid fields",
    "invalid_json": "The body is not valid JSON",
    "authentication": "Authentication needed",
    "permission": "Not allowed",
    "not_found": "Not found",
    "method_not_allowed": "Method not allowed",
    "not_acceptable": "Not acceptable",
    "unsupported_media_type": "Unsupported media type",
    "payload_too_large": "The body is too large",
    "conflict": "The object's state does not allow this",
    "name_taken": "The name is taken",
    "idempotency_conflict": "Idempotency-Key reused with another request",
    "unprocessable": "The request can't be carried out",
    "message_refused": "The message was not sent",
    "enrollment_refused": "The candidate can't enter this journey",
    "scheduling_refused": "The scheduling request can't be made",
    "throttled": "Too many requests",
    "server_error": "Something went wrong on our side",
}
_TYPE_BY_STATUS = {
    400: "validation",
    401: "authentication",
    403: "permission",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "unprocessable",
    429: "throttled",
}


def problem_type(name: str, request=None) -> str:
    anchor = f"{GUIDE_PATH}#problem-{name}"
    return request.build_absolute_uri(anchor) if request is not None else anchor


def problem_name_for_status(code: int) -> str:
    return _TYPE_BY_STATUS.get(code, "server_error" if code >= 500 else "unprocessable")


def problem_body(
    *,
    status_code: int,
    name: str,
    detail: str,
    request=None,
    errors: dict | None = None,
    code: str | None = None,
    instance: bool = True,
) -> dict:
    """The RFC 9457 body: `type`, `title`, `status`, `detail`, plus `code` (the type's short
    name, or a more precise reason) and, for invalid fields, `errors`."""
    body: dict = {
        "type": problem_type(name, request),
        "title": PROBLEM_TITLES.get(name, name.replace("_", " ").capitalize()),
        "status": status_code,
        "detail": detail,
        "code": code or name,
    }
    if errors:
        body["errors"] = errors
    if request is not None and instance:
        body["instance"] = request.get_full_path()
    return body


class Unprocessable(exceptions.APIException):
    """Well formed, but refused (422). `problem` is the problem type; `code` a more precise
    reason within it (for example type `message_refused`, code `opted_out`)."""

    status_code = 422
    default_detail = "The request can't be carried out."
    default_code = "unprocessable"

    def __init__(self, detail: str, *, problem: str = "unprocessable", code: str | None = None):
        super().__init__(detail, code or problem)
        self.problem = problem
        self.reason = code


def _flat(errors, prefix: str = "") -> dict[str, list[str]]:
    """Nested serializer errors as one level: ``{"steps[2].config": [...]}`` (list positions
    count from 1)."""
    flat: dict[str, list[str]] = {}
    if isinstance(errors, dict):
        items = list(errors.items())
    elif isinstance(errors, list) and any(isinstance(e, (dict, list)) for e in errors):
        items = list(enumerate(errors))
    else:
        values = errors if isinstance(errors, list) else [errors]
        return {prefix or api_settings.NON_FIELD_ERRORS_KEY: [str(e) for e in values]}
    for key, value in items:
        if isinstance(key, int):
            name = f"{prefix}[{key + 1}]"
        else:
            name = f"{prefix}.{key}" if prefix else str(key)
        if value in ({}, []):
            continue
        flat.update(_flat(value, name))
    return flat


def _summary(errors: dict[str, list[str]]) -> str:
    if list(errors) == ["detail"] or list(errors) == [api_settings.NON_FIELD_ERRORS_KEY]:
        return " ".join(next(iter(errors.values())))
    fields = ", ".join(errors)
    if len(errors) == 1:
        (messages,) = errors.values()
        return f"{fields}: {' '.join(messages)}"
    return f"{len(errors)} fields are invalid: {fields}. See `errors` for each one."


def _problem_name(exc) -> str:
    if isinstance(exc, Unprocessable):
        return exc.problem
    if isinstance(exc, exceptions.ParseError):
        return "invalid_json"
    if isinstance(exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed)):
        return "authentication"
    if isinstance(exc, exceptions.PermissionDenied):
        return "permission"
    if isinstance(exc, exceptions.NotFound):
        return "not_found"
    if isinstance(exc, exceptions.Throttled):
        return "throttled"
    if isinstance(exc, exceptions.ValidationError):
        return "validation"
    code = getattr(exc, "default_code", "")
    if code in PROBLEM_TITLES:
        return code
    return problem_name_for_status(exc.status_code)


def exception_handler(exc, context):
    """Every API error as `application/problem+json` (RFC 9457) with a stable `type`."""
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        )
    if isinstance(exc, (ScopeError, Http404)):
        exc = exceptions.NotFound(str(exc) if isinstance(exc, Http404) and exc.args else None)
    if isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    name = _problem_name(exc)
    detail = exc.detail
    errors: dict[str, list[str]] | None = None
    if isinstance(detail, (dict, list)):
        errors = _flat(detail)
        text = _summary(errors)
        general = list(errors) in (["detail"], [api_settings.NON_FIELD_ERRORS_KEY])
        if name != "validation" and general and len(next(iter(errors.values()))) == 1:
            errors = None  # one message about no field in particular: it is the detail
    else:
        text = str(detail)
    if name == "validation" and not errors:
        errors = {api_settings.NON_FIELD_ERRORS_KEY: [text]}
    request = context.get("request")
    response.data = problem_body(
        status_code=response.status_code,
        name=name,
        detail=text,
        request=request,
        errors=errors,
        code=getattr(exc, "reason", None),
    )
    response.content_type = PROBLEM_CONTENT_TYPE
    return response


class Pagination(pagination.CursorPagination):
    """Opaque cursors (`next`/`previous` are links). A view may set `cursor_ordering`; the
    default is newest first by id, so rows inserted while a client pages are neither repeated
    nor skipped."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    ordering = "-id"

    def get_ordering(self, request, queryset, view):
        ordering = getattr(view, "cursor_ordering", None)
        if ordering:
            return (ordering,) if isinstance(ordering, str) else tuple(ordering)
        return super().get_ordering(request, queryset, view)

    def paginate_queryset(self, queryset, request, view=None):
        self.endless = bool(getattr(view, "endless_cursor", False))
        return super().paginate_queryset(queryset, request, view)

    def get_next_link(self):
        """On a feed (a view with `endless_cursor`), the last page still links to what comes
        after it, so a client can store the link and call it later for the new rows."""
        link = super().get_next_link()
        if link is not None or not self.endless:
            return link
        if not self.page:
            return self.encode_cursor(self.cursor or pagination.Cursor(0, False, None))
        if self.cursor is not None and self.cursor.reverse:
            return None
        position = self._get_position_from_instance(self.page[-1], self.ordering)
        return self.encode_cursor(pagination.Cursor(offset=0, reverse=False, position=position))

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        try:
            size = int(raw)
        except ValueError:
            size = 0
        if not 1 <= size <= self.max_page_size:
            raise exceptions.ValidationError(
                {"page_size": [f"Use a whole number from 1 to {self.max_page_size}."]}
            )
        return size

    def decode_cursor(self, request):
        try:
            return super().decode_cursor(request)
        except exceptions.NotFound as exc:
            raise exceptions.ValidationError(
                {"cursor": ["This cursor is not valid. Use the `next` or `previous` link as is."]}
            ) from exc

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"].update({"minimum": 1, "maximum": self.max_page_size})
        return parameters


class NamedListPagination(Pagination):
    """The same cursors over a short list held in memory (items with a unique ``name``, such as
    the webhook event types), in name order, so such a list pages like every other."""

    def paginate_queryset(self, queryset, request, view=None):
        items = sorted(queryset, key=lambda item: item.name)
        self.request = request
        self.base_url = request.build_absolute_uri()
        size = self.get_page_size(request)
        cursor = self.decode_cursor(request)
        names = [item.name for item in items]
        if cursor is None or not isinstance(cursor.position, str):  # none, or not one of ours
            start, end = 0, min(size, len(items))
        elif cursor.reverse:
            end = sum(1 for name in names if name < cursor.position)
            start = max(0, end - size)
        else:
            start = sum(1 for name in names if name <= cursor.position)
            end = min(start + size, len(items))
        self.page = items[start:end]
        self._more_before, self._more_after = start > 0, end < len(items)
        return self.page

    def get_next_link(self):
        if not self.page or not self._more_after:
            return None
        return self.encode_cursor(pagination.Cursor(0, False, self.page[-1].name))

    def get_previous_link(self):
        if not self.page or not self._more_before:
            return None
        return self.encode_cursor(pagination.Cursor(0, True, self.page[0].name))


class StrictCharField(serializers.CharField):
    """A text field that refuses numbers and booleans instead of quietly turning them into text."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class ModelSerializer(serializers.ModelSerializer):
    """Base of the API's model serializers: strict about types."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.CharField: StrictCharField,
        models.TextField: StrictCharField,
    }


# ----------------------------------------------------------------------------------------------
# Schema post-processing: what every operation shares, declared once.
# ----------------------------------------------------------------------------------------------

_PROBLEM_SCHEMA = {
    "type": "object",
    "description": "An error, as RFC 9457 problem details. `type` is stable per kind of error "
    "(it ends in `#problem-<code>`; the Partner guide explains each).",
    "properties": {
        "type": {"type": "string", "format": "uri"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {
            "type": "object",
            "description": "Each invalid field with what is wrong with it (nested fields as "
            "`steps[2].config`).",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        },
    },
    "required": ["type", "title", "status", "detail", "code"],
    "example": {
        "type": "https://recruitflow.example/api/v1/guide/#problem-validation",
        "title": PROBLEM_TITLES["validation"],
        "status": 400,
        "detail": "email: Enter a valid email address.",
        "code": "validation",
        "instance": "/api/v1/candidates/?email=x",
        "errors": {"email": ["Enter a valid email address."]},
    },
}
_ERRORS = {
    "400": "The request was invalid; `errors` names each field that is wrong.",
    "401": "No API key, or the key is invalid or revoked.",
    "403": "The key or role may not do this (for example a read-only key on a write).",
    "404": "No such object in your organization.",
    "429": "Too many requests; retry after the number of seconds in Retry-After.",
}
_RATE_LIMIT_HEADERS = {
    "RateLimit-Limit": "Requests allowed per window (one budget per API key).",
    "RateLimit-Remaining": "Requests left in the current window.",
    "RateLimit-Reset": "Seconds until a request is freed from the window.",
}
_IDEMPOTENCY_PARAMETER = {
    "in": "header",
    "name": IDEMPOTENCY_HEADER,
    "required": False,
    "schema": {"type": "string", "pattern": IDEMPOTENCY_KEY_PATTERN},
    "description": "A unique key (a UUID is ideal) that makes this POST safe to retry: the "
    "same key with the same body answers 200 with the first result and "
    "`Idempotent-Replayed: true`; with another body, 422.",
}


def _problem_content(description: str) -> dict:
    return {
        "description": description,
        "content": {PROBLEM_CONTENT_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


def document_error_responses(result, generator, request, public):
    """Declare what every endpoint shares, so the schema tells the truth: error responses as
    problem details, rate-limit headers, and on POSTs the Idempotency-Key and its answers."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas["Problem"] = _PROBLEM_SCHEMA
    info = result.setdefault("info", {})
    info["description"] = (
        f"{info.get('description', '')}\n\nStart with the [Partner guide]({GUIDE_PATH}): "
        "authentication, idempotency (`Idempotency-Key`), pagination, errors (problem "
        "details), rate limits, webhooks and verifying their signatures."
    ).strip()
    result["externalDocs"] = {"description": "Partner guide", "url": GUIDE_PATH}
    headers = {
        name: {"description": text, "schema": {"type": "integer", "minimum": 0}}
        for name, text in _RATE_LIMIT_HEADERS.items()
    }
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            for code, description in _ERRORS.items():
                responses.setdefault(code, {"description": description})
            if method == "post":
                _document_idempotency(operation)
            for code, response in list(responses.items()):
                if int(code) >= 400:
                    responses[code] = _problem_content(response.get("description", ""))
                response.setdefault("headers", {})
                responses[code].setdefault("headers", {}).update(headers)
    return result


def _document_idempotency(operation: dict) -> None:
    parameters = operation.setdefault("parameters", [])
    if not any(p.get("in") == "header" and p.get("name") == IDEMPOTENCY_HEADER for p in parameters):
        parameters.append(dict(_IDEMPOTENCY_PARAMETER))
    responses = operation["responses"]
    created = responses.get("201")
    if "200" not in responses and created is not None:
        replay = copy.deepcopy(created)
        replay["description"] = "A retry with the same Idempotency-Key: the first result."
        responses["200"] = replay
    conflict = "The Idempotency-Key was already used with a different request."
    existing = responses.get("422")
    description = f"{existing['description']} Or: {conflict}" if existing else conflict
    responses["422"] = {"description": description}
