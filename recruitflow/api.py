"""Shared pieces of the partner API: pagination, error format, schema post-processing."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, pagination
from rest_framework.views import exception_handler as drf_exception_handler

from recruitflow.tenancy import ScopeError


class Pagination(pagination.CursorPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    ordering = "-id"


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        )
    if isinstance(exc, ScopeError):
        exc = exceptions.NotFound()
    return drf_exception_handler(exc, context)


_ERROR_SCHEMA = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
_ERRORS = {
    "400": "The request was invalid; the body names each field that is wrong.",
    "401": "No API key, or the key is invalid or revoked.",
    "403": "The key or role may not do this (for example a read-only key on a write).",
    "404": "No such object in your organization.",
    "429": "Too many requests; retry after the number of seconds in Retry-After.",
}


def document_error_responses(result, generator, request, public):
    """Declare the error responses every endpoint can give, so the schema tells the truth."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = _ERROR_SCHEMA
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            for code, description in _ERRORS.items():
                operation["responses"].setdefault(
                    code,
                    {
                        "description": description,
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                        },
                    },
                )
    return result
