"""What a provider call can fail with: :class:`ProviderError` and its subclasses, each saying
whether retrying can help (``permanent``), and :class:`UnsafeURL`.

No Django imports here: the module must import without settings."""

from __future__ import annotations

from typing import Any

RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------


class ProviderError(Exception):
    """A provider call failed.

    ``permanent`` tells the caller what to do: permanent errors (bad credentials, missing
    permission, validation) need a human, so flag the connection and show ``message``;
    non-permanent ones (rate limits, outages) may be retried later.
    """

    default_permanent: bool = True

    def __init__(
        self,
        message: str,
        *,
        permanent: bool | None = None,
        status: int | None = None,
        code: str | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = self.default_permanent if permanent is None else permanent
        self.status = status
        self.code = code
        self.body = body

    def __str__(self) -> str:
        return self.message


class AuthError(ProviderError):
    """The credentials were rejected (401)."""


class PermissionDenied(ProviderError):
    """The credentials are valid but lack access (403). ``vendor_message`` is the vendor's text."""

    def __init__(self, message: str, *, vendor_message: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.vendor_message = vendor_message


class NotFound(ProviderError):
    """The record or route does not exist (404)."""


class ValidationFailed(ProviderError):
    """The vendor rejected the payload (400/422). ``field_errors`` is ``[(field, message)]``."""

    def __init__(
        self, message: str, *, field_errors: list[tuple[str | None, str]] | None = None, **kwargs
    ) -> None:
        super().__init__(message, **kwargs)
        self.field_errors = field_errors or []


class TransientError(ProviderError):
    """The vendor kept failing (5xx) after all retries; try again later."""

    default_permanent = False


class RateLimited(TransientError):
    """Still rate limited after all retries. ``retry_after`` is seconds to wait, if known."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class Unreachable(TransientError):
    """The host could not be reached (DNS, refused connection, timeouts) after all retries.

    ``never_sent`` is True when the request provably never reached the server (the connection
    was refused or never made), so even a send may go again; False when it may have arrived
    (a read timeout, a dropped connection) or when the host is a custom address, whose
    failures are all told alike."""

    def __init__(self, message: str, *, never_sent: bool = False, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.never_sent = never_sent


class UnsafeURL(ValueError):
    """A user-supplied URL points somewhere we must not call (see :func:`assert_public_url`)."""
