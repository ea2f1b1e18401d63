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
    "Activity",
    "AuthError",
    "CallRecord",
    "ExtApplication",
    "ExtCandidate",
    "ExtDepartment",
    "ExtJob",
    "ExtOffice",
    "ExtStage",
    "ExtUser",
    "LinkFieldCheck",
    "NotFound",
    "NotSupported",
    "PermissionCheck",
    "PermissionDenied",
    "ProviderError",
    "RateLimited",
    "TransientError",
    "Unreachable",
    "VIDEO_INTERVIEW_FIELD",
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
    # False when the ATS says the candidate may not be e-mailed (Greenhouse ``can_email``).
    can_email: bool = True


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


@dataclass(frozen=True)
class LinkFieldCheck:
    """Whether the candidate field that holds a link RecruitFlow writes (the video interview's
    review link) is ready in the ATS.

    ``ok`` is True (found, and of a type that holds the text), False (missing, deleted, of the
    wrong type, or the credentials may not read it: ``detail`` says exactly what to do) or None
    (this connection cannot write such a field at all: ``detail`` says why and what is written
    instead). ``field_id``/``field_key`` identify the field when it was found.
    """

    name: str
    ok: bool | None
    detail: str
    field_id: str | None = None
    field_key: str | None = None


# The candidate custom field a completed video interview's review link is written to.
VIDEO_INTERVIEW_FIELD = "Video Interview"

NoteVisibility = Literal["admin_only", "private", "public"]


@dataclass(frozen=True)
class Activity:
    """One thing RecruitFlow did or saw, to be recorded on the candidate in the ATS.

    ``kind`` "email" is an e-mail that was sent or received (recorded as an e-mail where the ATS
    has e-mail records, else as a note); "note" is anything else (texts, replies, bookings,
    opt-outs, journey events). ``body`` already carries ``marker``, a text unique to this write:
    :meth:`ATSProvider.find_activity` looks for it after an ambiguous failure, because neither
    ATS has idempotency keys. ``acting_user_id`` is the ATS user the write is made as (None:
    the connection's). ``visibility`` is the ATS's note visibility.
    """

    kind: Literal["email", "note"]
    candidate_external_id: str
    subject: str
    body: str
    marker: str
    visibility: NoteVisibility = "private"
    acting_user_id: str | None = None
    application_external_id: str | None = None
    email_to: str = ""
    email_from: str = ""


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
    # Items per page of the vendor's listings (a sync's progress reads a shorter page as the
    # last one).
    page_size: ClassVar[int] = 100
    # False when the ATS's stages belong to the account, not to a job (one pipeline for all).
    stages_per_job: ClassVar[bool] = True

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

    # -- activity write-back ---------------------------------------------------------------

    def write_activity(self, activity: Activity) -> str | None:
        """Record ``activity`` on the candidate as ``activity.acting_user_id``; returns the new
        record's id when the ATS gives one. One POST, never resent after it may have reached
        the ATS (a 5xx or a timeout raise TransientError/Unreachable): the caller then asks
        :meth:`find_activity` before writing again."""
        raise NotSupported(f"{self.display_name} cannot record activity.")

    def find_activity(self, candidate_external_id: str, marker: str) -> str | None:
        """The id of the candidate's note or e-mail whose body contains ``marker`` (the proof
        that an earlier, ambiguous write landed), or None when there is none."""
        raise NotSupported(f"{self.display_name} cannot read activity back.")

    def attach_file(
        self,
        candidate_external_id: str,
        filename: str,
        content: bytes,
        content_type: str,
        *,
        acting_user_id: str | None = None,
    ) -> str | None:
        """Upload a file to the candidate as ``acting_user_id`` (the connection's when None);
        returns the file's id or URL. Same single-POST rule as :meth:`write_activity`."""
        raise NotSupported(f"{self.display_name} cannot take files.")

    def find_file(self, candidate_external_id: str, filename: str) -> str | None:
        """The id (or URL) of the candidate's file named ``filename``, or None."""
        raise NotSupported(f"{self.display_name} cannot list files.")

    def file_upload_refusal(self) -> str:
        """Why this connection cannot attach files to a candidate (in words for an admin), or
        "" when :meth:`attach_file` works. Asked before files are queued, so a connection that
        cannot take them is never sent one. Adapters whose support depends on the connection
        (an API version, a scope) override this."""
        if type(self).attach_file is ATSProvider.attach_file:
            return f"{self.display_name} cannot take files."
        return ""

    @property
    def can_attach_files(self) -> bool:
        """True when :meth:`attach_file` works for this connection."""
        return not self.file_upload_refusal()

    # -- a link in a candidate field -------------------------------------------------------

    def write_candidate_link_field(
        self,
        candidate_external_id: str,
        field_name: str,
        value: str,
        *,
        acting_user_id: str | None = None,
    ) -> str | None:
        """Put ``value`` (a text with a link) into the candidate's custom field named
        ``field_name``, as ``acting_user_id`` (the connection's when None); returns the field's
        id. The field is found by reading the ATS's candidate field definitions (by name, or by
        the key the ATS derives from it). Setting the same value again changes nothing, so a
        retry after an ambiguous failure simply writes again. A missing field, one of the wrong
        type, or credentials that may not read or edit it raise a permanent error whose message
        says how to fix it (:meth:`candidate_link_field_check` gives the same words)."""
        raise NotSupported(self.candidate_link_field_refusal() or "Not supported.")

    def candidate_link_field_check(self, field_name: str) -> LinkFieldCheck:
        """Read the ATS's candidate field definitions and say whether ``field_name`` is ready
        for :meth:`write_candidate_link_field` (see :class:`LinkFieldCheck`). Raises AuthError
        or Unreachable when nothing can be judged."""
        return LinkFieldCheck(name=field_name, ok=None, detail=self.candidate_link_field_refusal())

    def candidate_link_field_refusal(self) -> str:
        """Why this connection cannot write a candidate field (in words for an admin), or ""
        when :meth:`write_candidate_link_field` works. Asked before such writes are queued, so
        a connection that cannot take them is never sent one (the link still goes in a note)."""
        if type(self).write_candidate_link_field is ATSProvider.write_candidate_link_field:
            return (
                f"{self.display_name} has no candidate custom fields RecruitFlow can write, so "
                "the link is written in a note on the candidate instead."
            )
        return ""


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
