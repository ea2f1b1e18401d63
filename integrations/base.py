"""The ATS capability interface and the normalized records every ATS adapter returns.

The docstrings of :class:`ATSProvider` are the contract the sync and write-back code rely on.
No Django here: adapters are plain classes; the Django layer passes callbacks (``on_call``) and
credentials in and persists what comes out.
"""

from __future__ import annotations

import abc
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import ClassVar, Literal

from integrations.http import (
    AuthError,
    CallRecord,
    NotFound,
    PermissionDenied,
    ProviderError,
    RateLimited,
    TransientError,
    Unreachable,
    ValidationFailed,
)

__all__ = [
    "ATSProvider",
    "AuthError",
    "CallRecord",
    "ExtApplication",
    "ExtCandidate",
    "ExtDepartment",
    "ExtJob",
    "ExtOffice",
    "ExtStage",
    "ExtUser",
    "NotFound",
    "NotSupported",
    "PermissionCheck",
    "PermissionDenied",
    "ProviderError",
    "RateLimited",
    "TransientError",
    "Unreachable",
    "ValidationFailed",
    "parse_iso_datetime",
    "from_epoch_ms",
    "to_epoch_ms",
]

ApplicationStatus = Literal["active", "rejected", "hired", "converted", "archived"]


class NotSupported(ProviderError):
    """The ATS has no equivalent of this operation (e.g. e-mail notes on Lever)."""


# --------------------------------------------------------------------------------------------
# Normalized records (all datetimes timezone-aware UTC; all external ids are strings)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PermissionCheck:
    """One permission the integration needs.

    ``name`` is the label the ATS's own settings screen shows (so an admin can find and tick
    it), ``resource`` the group it sits under. ``ok`` is True (granted), False (missing) or None
    (could not be verified without writing). ``detail`` says why we need it or what went wrong.
    """

    name: str
    resource: str
    ok: bool | None
    detail: str = ""

    @property
    def label(self) -> str:
        return f"{self.resource} → {self.name}"


@dataclass(frozen=True)
class ExtDepartment:
    external_id: str
    name: str
    parent_external_id: str | None = None


@dataclass(frozen=True)
class ExtOffice:
    external_id: str
    name: str
    location: str | None = None


@dataclass(frozen=True)
class ExtUser:
    external_id: str
    name: str
    email: str | None = None


@dataclass(frozen=True)
class ExtStage:
    external_id: str
    job_external_id: str | None
    name: str
    position: int | None = None


@dataclass(frozen=True)
class ExtJob:
    external_id: str
    name: str
    status: str | None
    department_external_ids: list[str] = field(default_factory=list)
    office_external_ids: list[str] = field(default_factory=list)
    recruiter_external_ids: list[str] = field(default_factory=list)
    coordinator_external_ids: list[str] = field(default_factory=list)
    hiring_manager_external_ids: list[str] = field(default_factory=list)
    stages: list[ExtStage] = field(default_factory=list)


@dataclass(frozen=True)
class ExtCandidate:
    external_id: str
    first_name: str
    last_name: str
    emails: list[tuple[str, str | None]] = field(default_factory=list)
    phones: list[tuple[str, str | None]] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    updated_at: datetime | None = None
    merged_into: str | None = None


@dataclass(frozen=True)
class ExtApplication:
    external_id: str
    candidate_external_id: str | None
    job_external_id: str | None
    stage_external_id: str | None
    stage_name: str | None
    status: ApplicationStatus
    source_name: str | None = None
    applied_at: datetime | None = None
    last_activity_at: datetime | None = None
    prospect: bool = False


# --------------------------------------------------------------------------------------------
# The interface
# --------------------------------------------------------------------------------------------


class ATSProvider(abc.ABC):
    """An applicant tracking system connection for one organization.

    Reads return iterators so a sync can stream and commit in batches; they page through the
    vendor's API lazily, so stopping early costs no extra calls. Every method raises
    :class:`ProviderError` subclasses: ``permanent`` ones (AuthError, PermissionDenied,
    NotFound, ValidationFailed, NotSupported) need a person; the others (RateLimited,
    TransientError, Unreachable) may be retried later.
    """

    identifier: ClassVar[str]
    display_name: ClassVar[str]

    # -- connection ------------------------------------------------------------------------

    @abc.abstractmethod
    def check_permissions(self) -> list[PermissionCheck]:
        """Probe every permission the integration needs; one entry per permission.

        Raises AuthError when the credentials themselves are wrong and Unreachable when the
        host cannot be reached (then no permission can be judged). Missing permissions are
        reported as ``ok=False`` entries rather than raised, so the admin sees all of them.
        """

    # -- reads -----------------------------------------------------------------------------

    @abc.abstractmethod
    def iter_departments(self) -> Iterator[ExtDepartment]:
        """All departments (or the ATS's closest equivalent)."""

    @abc.abstractmethod
    def iter_offices(self) -> Iterator[ExtOffice]:
        """All offices/locations."""

    @abc.abstractmethod
    def iter_users(self) -> Iterator[ExtUser]:
        """All ATS users (recruiters, coordinators, hiring managers)."""

    @abc.abstractmethod
    def iter_jobs(self) -> Iterator[ExtJob]:
        """All jobs, each with its stages (ordered) and hiring team ids."""

    @abc.abstractmethod
    def iter_stages(self) -> Iterator[ExtStage]:
        """All stages. ``job_external_id`` is None when the ATS's stages are global (Lever)."""

    @abc.abstractmethod
    def iter_candidates(self, updated_after: datetime | None = None) -> Iterator[ExtCandidate]:
        """Candidates, optionally only those updated at or after ``updated_after`` (aware)."""

    @abc.abstractmethod
    def iter_applications(self, updated_after: datetime | None = None) -> Iterator[ExtApplication]:
        """Applications, optionally only those with activity at or after ``updated_after``."""

    @abc.abstractmethod
    def get_application(self, external_id: str) -> ExtApplication:
        """One application; NotFound if it does not exist (or is not ready yet)."""

    @abc.abstractmethod
    def get_candidate(self, external_id: str) -> ExtCandidate:
        """One candidate; NotFound if it does not exist."""

    def get_application_and_candidate(
        self, external_id: str
    ) -> tuple[ExtCandidate, ExtApplication]:
        """One application and its candidate (for webhooks whose vendor signs no data);
        NotFound if either does not exist. Vendors that read both at once override this."""
        application = self.get_application(external_id)
        return self.get_candidate(application.candidate_external_id or ""), application

    # -- writes ----------------------------------------------------------------------------

    @abc.abstractmethod
    def add_note(
        self, candidate_external_id: str, body: str, *, visibility: str = "private"
    ) -> str | None:
        """Add a note to the candidate's activity; returns the new note's id when known.

        ``visibility`` is "private", "admin_only" or "public"; ATSs without that notion map
        "public" to a visible note and anything else to a secret one where supported.
        """

    def add_email_note(
        self,
        candidate_external_id: str,
        *,
        to: str,
        from_: str,
        subject: str,
        body: str,
        cc: list[str] | None = None,
    ) -> str | None:
        """Record an e-mail that was sent to the candidate on their activity feed.

        Only some ATSs have this (Greenhouse); others raise NotSupported.
        """
        raise NotSupported(f"{self.display_name} has no e-mail activity; use a note instead.")

    @abc.abstractmethod
    def set_candidate_custom_field(
        self, candidate_external_id: str, field_key: str, value: object
    ) -> None:
        """Set one custom field on the candidate (``field_key`` = the field's immutable key)."""

    @abc.abstractmethod
    def add_attachment(
        self, candidate_external_id: str, filename: str, content: bytes, content_type: str
    ) -> str | None:
        """Attach a file to the candidate; returns the file id or URL when the ATS gives one."""


# --------------------------------------------------------------------------------------------
# Time helpers shared by adapters
# --------------------------------------------------------------------------------------------


def parse_iso_datetime(value: str | None) -> datetime | None:
    """ISO-8601 (``2016-02-03T16:38:46.985Z``) to an aware UTC datetime; None passes through."""
    if not value:
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def from_epoch_ms(value: int | float | None) -> datetime | None:
    """Milliseconds since the epoch (Lever) to an aware UTC datetime."""
    if value is None:
        return None
    return datetime.fromtimestamp(value / 1000, tz=UTC)


def to_epoch_ms(value: datetime) -> int:
    """An aware datetime to milliseconds since the epoch; naive datetimes are refused."""
    if value.tzinfo is None:
        raise ValueError("Use a timezone-aware datetime.")
    return int(value.timestamp() * 1000)


def to_iso_z(value: datetime) -> str:
    """An aware datetime as ``YYYY-MM-DDTHH:MM:SS.mmmZ`` in UTC."""
    if value.tzinfo is None:
        raise ValueError("Use a timezone-aware datetime.")
    utc = value.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
