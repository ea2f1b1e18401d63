"""Deterministic generator of a realistic hiring company.

``generate_company(seed)`` returns a :class:`Company` holding plain dicts.  Timestamps are stored
as float epoch seconds; the HTTP fakes render them as ISO-8601 (Greenhouse) or epoch
milliseconds (Lever).  The same company backs both fakes: a Greenhouse application is a Lever
opportunity, a Greenhouse job is a Lever posting, and Lever's global stages are the distinct
Greenhouse stage names.

Generation is O(n) and fast: 50,000 applications take well under a few seconds.
"""

from __future__ import annotations

from integrations.sandbox.atsdata.catalog import (
    COMPANIES,
    DAY,
    DEPARTMENTS,
    EMAIL_DOMAINS,
    FIRST_NAMES,
    INTERVIEW_NAMES,
    JOBS,
    LAST_NAMES,
    OFFICES,
    REJECTION_REASONS,
    SOURCES,
    STAGE_ORDER,
    STAGE_TEMPLATES,
    TAGS,
    TITLES,
)
from integrations.sandbox.atsdata.company import Company
from integrations.sandbox.atsdata.formats import iso, ms, parse_iso, stable_uuid
from integrations.sandbox.atsdata.generate import generate_company

__all__ = [
    "COMPANIES",
    "Company",
    "DAY",
    "DEPARTMENTS",
    "EMAIL_DOMAINS",
    "FIRST_NAMES",
    "INTERVIEW_NAMES",
    "JOBS",
    "LAST_NAMES",
    "OFFICES",
    "REJECTION_REASONS",
    "SOURCES",
    "STAGE_ORDER",
    "STAGE_TEMPLATES",
    "TAGS",
    "TITLES",
    "generate_company",
    "iso",
    "ms",
    "parse_iso",
    "stable_uuid",
]
