"""Playing recordings back: short-lived URLs, never public ones.

:func:`playback_url` is what pages put in a ``<video>`` (or a poster's ``<img>``):

- on an S3-compatible store, a presigned URL of the private object that expires after ``ttl``;
- on the filesystem, the URL of the streaming view (``interviews.media_views``) with a token
  signed by :class:`~django.core.signing.TimestampSigner` naming the organization, the answer,
  the field and the file. The view checks the signature and its age, that the signed-in person
  is a member of that organization who may see the candidate (a hiring manager only their jobs'
  candidates), and that the answer still has that file; then it streams it with HTTP range
  support, so a browser can seek.

The byte-range rules the view follows (RFC 9110 §14) are here too: :func:`byte_range`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import PurePosixPath

from django.core import signing
from django.urls import reverse

from .storage import is_filesystem

FIELDS = ("original", "rendition", "poster")
DEFAULT_TTL = 300
# The longest a presigned S3 URL may live (SigV4: 7 days); the signed token keeps the same bound.
MAX_TTL = 7 * 24 * 3600
_SALT = "interviews.playback"

CONTENT_TYPES = {
    ".mp4": "video/mp4",
    ".m4v": "video/mp4",
    ".webm": "video/webm",
    ".mov": "video/quicktime",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
}


def playback_url(answer, field: str = "rendition", *, ttl: int = DEFAULT_TTL) -> str:
    """A URL that plays ``answer``'s ``field`` file ("rendition", "original" or "poster") for
    ``ttl`` seconds: a presigned URL on S3, a signed URL of the streaming view (a path on this
    site) on the filesystem. Raises ``ValueError`` for an unknown field, a ``ttl`` out of range,
    or an answer without that file (not processed yet, or its recordings deleted)."""
    if field not in FIELDS:
        raise ValueError(f"Unknown recording field {field!r}; use one of {', '.join(FIELDS)}.")
    if not 1 <= ttl <= MAX_TTL:
        raise ValueError(f"A playback URL lives 1 to {MAX_TTL} seconds, not {ttl}.")
    file = getattr(answer, field)
    if not file.name:
        raise ValueError(
            f"{answer} of interview #{answer.interview_id} has no {field} file "
            "(not uploaded or processed yet, or its recordings were deleted)."
        )
    if not is_filesystem(file.storage):
        return file.storage.url(file.name, expire=ttl)
    token = _signer().sign_object(
        {"o": answer.organization_id, "a": answer.pk, "f": field, "n": file.name, "t": ttl},
        compress=True,
    )
    return reverse("interviews_media:stream", args=[token])


def content_type_of(name: str, fallback: str = "") -> str:
    """The Content-Type a browser needs to play or show the file ``name``."""
    known = CONTENT_TYPES.get(PurePosixPath(name).suffix.lower())
    if known:
        return known
    base = fallback.split(";")[0].strip().lower()
    if base.startswith(("video/", "audio/", "image/")):
        return base
    return "application/octet-stream"


# ----------------------------------------------------------------------------------------------
# The streaming view's token
# ----------------------------------------------------------------------------------------------


class PlaybackRefused(Exception):
    """The token is not one of ours (forged, altered, or cut)."""


class PlaybackExpired(PlaybackRefused):
    """The token was ours but is older than the time it was given."""


@dataclass(frozen=True)
class PlaybackGrant:
    organization_id: int
    answer_id: int
    field: str
    name: str
    expires_at: float  # Unix time

    @property
    def seconds_left(self) -> int:
        return max(0, int(self.expires_at - time.time()))


def _signer() -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=_SALT)


def grant_from_token(token: str) -> PlaybackGrant:
    """What a streaming token allows, once its signature and age are checked."""
    signer = _signer()
    try:
        payload = signer.unsign_object(token, max_age=MAX_TTL)
        ttl = payload["t"]
        grant_fields = (payload["o"], payload["a"], payload["f"], payload["n"])
        if not isinstance(ttl, int) or not all(grant_fields) or payload["f"] not in FIELDS:
            raise PlaybackRefused("The playback token does not name a recording.")
        # Again with the token's own lifetime, which only its signed payload tells.
        signer.unsign_object(token, max_age=ttl)
    except signing.SignatureExpired as error:
        raise PlaybackExpired("This playback link has expired.") from error
    except (signing.BadSignature, KeyError, TypeError, ValueError) as error:
        raise PlaybackRefused("The playback link is not valid.") from error
    signed_at = signing.b62_decode(token.rsplit(signer.sep, 2)[1])
    return PlaybackGrant(
        organization_id=payload["o"],
        answer_id=payload["a"],
        field=payload["f"],
        name=payload["n"],
        expires_at=signed_at + ttl,
    )


# ----------------------------------------------------------------------------------------------
# Byte ranges (RFC 9110 §14)
# ----------------------------------------------------------------------------------------------


class RangeNotSatisfiable(Exception):
    """A ``bytes`` range that is invalid or starts past the end of the file: answer 416."""


def byte_range(header: str, size: int) -> tuple[int, int] | None:
    """The ``(first, last)`` bytes (inclusive) that the Range header ``header`` asks of a file
    of ``size`` bytes, or None to send the whole file: no header, a unit other than bytes, or
    several ranges (a server may answer those with the whole file). Raises
    :class:`RangeNotSatisfiable` for an invalid or unsatisfiable bytes range."""
    unit, equals, specs_text = header.partition("=")
    if not equals or unit.strip().lower() != "bytes":
        return None
    specs = [spec.strip() for spec in specs_text.split(",") if spec.strip()]
    if len(specs) > 1:
        return None
    if not specs:
        raise RangeNotSatisfiable("The Range header names no bytes.")
    first_text, dash, last_text = (part.strip() for part in specs[0].partition("-"))
    if not dash or not (first_text or last_text):
        raise RangeNotSatisfiable(f"{specs[0]!r} is not a byte range.")
    if not all(text.isdigit() for text in (first_text, last_text) if text):
        raise RangeNotSatisfiable(f"{specs[0]!r} is not a byte range.")
    if not first_text:  # the last N bytes
        length = int(last_text)
        if length == 0 or size == 0:
            raise RangeNotSatisfiable("An empty suffix range, or an empty file.")
        return max(0, size - length), size - 1
    first = int(first_text)
    last = int(last_text) if last_text else size - 1
    if last < first or first >= size:
        raise RangeNotSatisfiable(f"Bytes {specs[0]} are not within the file's {size} bytes.")
    return first, min(last, size - 1)
