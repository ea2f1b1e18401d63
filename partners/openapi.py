"""The partner webhooks in the OpenAPI schema: one webhook object per registered event type, with
the headers, the payload's schema and its example, under the top-level ``webhooks`` of OpenAPI
3.1 (``OAS_VERSION``; 3.0 has no place for them). Schemas written by hand in OpenAPI 3.0 style
(``nullable: true``, here and in serializers' ``extend_schema_field``) are turned into 3.1's
``type: [..., "null"]`` by :func:`nullable_as_type_lists`, so validators see them as nullable."""

from __future__ import annotations

from typing import Any

from partners import event_types

SIGNATURE_HEADERS = [
    {
        "name": "webhook-id",
        "in": "header",
        "required": True,
        "description": "The event's id: the same on every retry and replay (deduplicate on it).",
        "schema": {"type": "string", "example": "evt_5f0c2c1f6d3b4a8e9e1f7a2b3c4d5e6f"},
    },
    {
        "name": "webhook-timestamp",
        "in": "header",
        "required": True,
        "description": "Seconds since the epoch when this attempt was signed; refuse old ones.",
        "schema": {"type": "string", "example": "1772460311"},
    },
    {
        "name": "webhook-signature",
        "in": "header",
        "required": True,
        "description": "Space-separated `v1,<base64 HMAC-SHA256>` of `id.timestamp.body` with "
        "the subscription's secret (two during the 24 hours after a rotation). Verify with any "
        "Standard Webhooks library.",
        "schema": {"type": "string"},
    },
]


def schema_of(value: Any) -> dict:
    """A JSON schema inferred from an example value (objects list their properties)."""
    if isinstance(value, bool):
        return {"type": "boolean"}
    if isinstance(value, int):
        return {"type": "integer"}
    if isinstance(value, float):
        return {"type": "number"}
    if isinstance(value, str):
        return {"type": "string"}
    if isinstance(value, list):
        return {"type": "array", "items": schema_of(value[0]) if value else {}}
    if isinstance(value, dict):
        return {
            "type": "object",
            "properties": {k: {**schema_of(v), "nullable": True} for k, v in value.items()},
        }
    return {"nullable": True}


def payload_schema(event_type: event_types.EventType) -> dict:
    return {
        "type": "object",
        "required": ["type", "timestamp", "data"],
        "properties": {
            "type": {"type": "string", "enum": [event_type.name]},
            "timestamp": {"type": "string", "format": "date-time"},
            "data": schema_of(event_type.example),
        },
    }


def webhook_operation(event_type: event_types.EventType) -> dict:
    return {
        "operationId": f"webhook_{event_type.name.replace('.', '_')}",
        "summary": event_type.name,
        "description": (
            f"{event_type.description} Sent as a signed POST to each subscription that chose "
            f"`{event_type.name}` (Settings → Webhooks or `/api/v1/webhook-subscriptions/`). "
            "Answer 2xx within 10 seconds; anything else is retried with backoff for 3 days."
        ),
        "tags": ["Webhooks"],
        "parameters": SIGNATURE_HEADERS,
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": payload_schema(event_type),
                    "example": {
                        "type": event_type.name,
                        "timestamp": "2026-03-02T14:05:12Z",
                        "data": event_type.example,
                    },
                }
            },
        },
        "responses": {
            "2XX": {"description": "Received: the delivery counts as delivered."},
            "default": {"description": "Anything else (or no answer in 10 s): retried later."},
        },
    }


def add_webhooks(result, generator, request, public):
    """Post-processing hook: the schema's ``webhooks``, one per registered event type (read at
    generation time, so types later domains register are included)."""
    result["webhooks"] = {t.name: {"post": webhook_operation(t)} for t in event_types.all_types()}
    tags = result.setdefault("tags", [])
    if not any(tag.get("name") == "Webhooks" for tag in tags):
        tags.append(
            {
                "name": "Webhooks",
                "description": "Signed outbound webhooks (Standard Webhooks): subscriptions, "
                "their deliveries, and the payload of each event type under `webhooks`.",
            }
        )
    return result


def _without_nullable(schema: dict) -> dict:
    """One schema object in 3.1 form: ``nullable: true`` becomes ``null`` among its types (and
    its enum); ``nullable: false`` is dropped."""
    if not schema.pop("nullable", False):
        return schema
    kind = schema.get("type")
    if kind is None:
        for combined in ("oneOf", "anyOf"):
            if combined in schema:
                schema[combined].append({"type": "null"})
                return schema
        if "$ref" in schema or "allOf" in schema:
            return {"oneOf": [schema, {"type": "null"}]}
        return schema  # no type: null is already allowed
    types = [kind] if isinstance(kind, str) else list(kind)
    if "null" not in types:
        schema["type"] = [*types, "null"]
    if "enum" in schema and None not in schema["enum"]:
        schema["enum"] = [*schema["enum"], None]
    return schema


_VALUES = ("example", "examples", "default", "enum")  # data, not schemas: left as they are


def _convert(value: Any, *, names: bool = False) -> Any:
    """``names``: the keys are names (of properties, components, paths), not keywords."""
    if isinstance(value, list):
        return [_convert(v) for v in value]
    if not isinstance(value, dict):
        return value
    converted = {
        k: v if k in _VALUES and not names else _convert(v, names=k == "properties" and not names)
        for k, v in value.items()
    }
    return _without_nullable(converted) if "nullable" in converted and not names else converted


def nullable_as_type_lists(result, generator, request, public):
    """Post-processing hook (the last one): no OpenAPI 3.0 ``nullable`` left in a 3.1 schema."""
    if not str(result.get("openapi", "")).startswith("3.0"):
        for section in ("components", "paths", "webhooks"):
            if section in result:
                result[section] = {k: _convert(v, names=True) for k, v in result[section].items()}
    return result
