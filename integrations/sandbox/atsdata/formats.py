"""Timestamps and ids as the vendors write them: ISO-8601, epoch milliseconds, stable UUIDs."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime


def iso(ts: float | None) -> str | None:
    """Render epoch seconds as Greenhouse-style ISO-8601 with milliseconds and ``Z``."""
    if ts is None:
        return None
    dt = datetime.fromtimestamp(ts, UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def parse_iso(value: str) -> float:
    """Parse an ISO-8601 timestamp (``Z`` or offset, optional fraction) to epoch seconds."""
    v = value.strip()
    if v.endswith("Z") or v.endswith("z"):
        v = v[:-1] + "+00:00"
    dt = datetime.fromisoformat(v)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


def ms(ts: float | None) -> int | None:
    return None if ts is None else int(round(ts * 1000))


_NS = uuid.UUID("6f1c0d1e-2b7a-4c55-9a51-0c8f3e2d7b10")


def stable_uuid(kind: str, key: object) -> str:
    """A deterministic UUID string for a (kind, key) pair."""
    return str(uuid.uuid5(_NS, f"{kind}:{key}"))
