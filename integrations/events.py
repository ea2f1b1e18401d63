"""Vendor-neutral events of an ATS webhook: what the domain applies, whichever vendor sent it.

Each ATS vendor's ``integrations.<vendor>.webhooks.parse_stored`` turns a stored delivery into a
list of these (empty when there is nothing to apply: a ping, a test delivery, an event we do
not track). Every event carries the vendor's id of the delivery (``event_id``, the one stored
once per organization) and, when the vendor says, when it happened (``occurred_at``).

The messaging vendors' records (``DeliveryUpdate``, ``InboundSMS``, ``OptOutChange``) are in
:mod:`integrations.messaging`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from integrations.base import ExtApplication, ExtCandidate, ExtDepartment, ExtJob, ExtOffice


@dataclass(frozen=True)
class AtsEvent:
    event_id: str
    occurred_at: datetime | None = None


@dataclass(frozen=True)
class ApplicationChanged(AtsEvent):
    """An application as the (signed) delivery describes it: moved, created, hired, rejected…

    ``job`` (with its ``offices`` and ``departments``) is the application's job as the payload
    describes it; ``job_offices_known``/``job_departments_known`` say whether the payload listed
    them at all (a list left out must not empty the job's)."""

    application: ExtApplication | None = None
    candidate: ExtCandidate | None = None
    new_application: bool = False
    job: ExtJob | None = None
    job_name: str = ""
    offices: list[ExtOffice] = field(default_factory=list)
    departments: list[ExtDepartment] = field(default_factory=list)
    job_offices_known: bool = False
    job_departments_known: bool = False


@dataclass(frozen=True)
class ApplicationToRead(AtsEvent):
    """Something happened to an application, but the vendor does not sign the data: read the
    application and its candidate from the ATS. ``reported_stage_id`` is the stage the delivery
    says it moved to at ``occurred_at`` (recorded at that time, so moves delivered out of order
    each keep their transition)."""

    application_id: str = ""
    reported_stage_id: str | None = None
    new_application: bool = False


@dataclass(frozen=True)
class CandidatesMerged(AtsEvent):
    """``loser`` was merged into the candidate ``winner_id``."""

    loser: ExtCandidate | None = None
    winner_id: str = ""


@dataclass(frozen=True)
class CandidateChanged(AtsEvent):
    candidate: ExtCandidate | None = None


@dataclass(frozen=True)
class CandidateDeleted(AtsEvent):
    candidate_id: str = ""


@dataclass(frozen=True)
class ApplicationDeleted(AtsEvent):
    application_id: str = ""
