"""The Greenhouse candidate custom field a link is written to (the video interview's review link
goes in "Video Interview", a Long text field): finding it among the candidate field definitions
(``GET /v1/custom_fields/candidate?include_inactive=true``) and the words that tell an admin
exactly how to create it, or which permission to tick, when it cannot be used.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from integrations.base import LinkFieldCheck
from integrations.greenhouse.client import is_missing_permission
from integrations.http import PermissionDenied

# The one value type the link is written to: Greenhouse's "Long text".
LINK_VALUE_TYPE = "long_text"
VALUE_TYPE_LABELS = {
    "short_text": "Short text",
    "long_text": "Long text",
    "yes_no": "Yes/No",
    "single_select": "Single select",
    "multi_select": "Multi select",
    "currency": "Currency",
    "currency_range": "Currency range",
    "number": "Number",
    "number_range": "Number range",
    "date": "Date",
    "url": "URL",
    "user": "User",
}
READ_PERMISSION = "Custom Fields → GET: Get custom fields"
WRITE_PERMISSION = "Candidates → PATCH: Edit Candidate"
PERMISSIONS_SCREEN = "Configure → Dev Center → API Credential Management → Manage permissions"

V3_LINK_FIELD_REFUSAL = (
    "Greenhouse Harvest v3's documentation does not confirm writing candidate custom fields, "
    "so over this v3 connection the link is written only in a note on the candidate. Connect "
    "with a Harvest v1 API key to fill the candidate field as well."
)


def how_to_create(field_name: str) -> str:
    return (
        f"In Greenhouse, go to Configure → Custom Options → Candidates, click Add field, name "
        f"it “{field_name}”, choose the type Long text and save. The Harvest API key also needs "
        f"“{READ_PERMISSION}” (to find the field) and “{WRITE_PERMISSION}” (to fill it), "
        f"ticked under {PERMISSIONS_SCREEN}."
    )


def name_key_for(field_name: str) -> str:
    """The immutable key Greenhouse derives from a field's name ("Video Interview" →
    ``video_interview``), so a field renamed after it was made is still found."""
    return re.sub(r"[^a-z0-9]+", "_", field_name.strip().lower()).strip("_")


def _pick(fields: Iterable[Mapping[str, Any]], field_name: str) -> Mapping[str, Any] | None:
    """The field named ``field_name`` (any case), else the one whose immutable key is the
    name's key; an active one before a deleted one."""
    wanted, key = field_name.strip().casefold(), name_key_for(field_name)
    matches = [
        f
        for f in fields
        if str(f.get("name") or "").strip().casefold() == wanted or f.get("name_key") == key
    ]
    matches.sort(key=lambda f: (f.get("active") is False, f.get("name_key") != key))
    return matches[0] if matches else None


def judge_link_field(fields: Iterable[Mapping[str, Any]], field_name: str) -> LinkFieldCheck:
    """Whether the candidate fields hold a usable ``field_name`` (see :class:`LinkFieldCheck`)."""
    found = _pick(
        (f for f in fields if f.get("field_type") in (None, "candidate")),
        field_name,
    )
    if found is None:
        return LinkFieldCheck(
            name=field_name,
            ok=False,
            detail=f"Greenhouse has no candidate custom field named “{field_name}”. "
            + how_to_create(field_name),
        )
    field_id = str(found.get("id")) if found.get("id") is not None else None
    field_key = found.get("name_key")
    if found.get("active") is False:
        return LinkFieldCheck(
            name=field_name,
            ok=False,
            detail=f"The candidate custom field “{found.get('name')}” was deleted in "
            "Greenhouse. " + how_to_create(field_name),
            field_id=field_id,
            field_key=field_key,
        )
    value_type = str(found.get("value_type") or "")
    if value_type != LINK_VALUE_TYPE:
        label = VALUE_TYPE_LABELS.get(value_type, value_type or "unknown")
        return LinkFieldCheck(
            name=field_name,
            ok=False,
            detail=f"The candidate custom field “{found.get('name')}” is a {label} field; the "
            "link needs Long text. In Greenhouse, go to Configure → Custom Options → "
            f"Candidates, delete “{found.get('name')}” and add it again with the type Long text.",
            field_id=field_id,
            field_key=field_key,
        )
    return LinkFieldCheck(
        name=field_name,
        ok=True,
        detail=f"Found “{found.get('name')}” (Long text, immutable field key {field_key}): the "
        f"link is written there, On-Behalf-Of the acting user (needs “{WRITE_PERMISSION}”).",
        field_id=field_id,
        field_key=field_key,
    )


def link_field_permission_denied(exc: PermissionDenied) -> PermissionDenied:
    """A 403 while reading the candidate fields, in words that name the permission."""
    if is_missing_permission(exc):
        message = (
            f"The Greenhouse API key may not read custom fields: tick “{READ_PERMISSION}” "
            f"under {PERMISSIONS_SCREEN}, then check again. Filling the field also needs "
            f"“{WRITE_PERMISSION}”."
        )
        code = "missing_permission"
    else:
        message = f"Greenhouse refused to list the candidate custom fields: {exc.message}"
        code = exc.code or "forbidden"
    return PermissionDenied(
        message, vendor_message=exc.vendor_message, status=exc.status, body=exc.body, code=code
    )
