"""Turning an ATS's records into mirror rows: phone numbers read in the candidate's likely
region, blank-safe e-mail, the Candidate row."""

from __future__ import annotations

from collections.abc import Iterable

import phonenumbers
from django.conf import settings

from candidates.models import (
    Candidate,
)
from integrations.base import (
    ExtCandidate,
)

DEFAULT_PHONE_REGION = settings.PHONENUMBER_DEFAULT_REGION
# --------------------------------------------------------------------------------------------
# Small mapping helpers
# --------------------------------------------------------------------------------------------


# ATS users often type numbers in national form ("07700 900123"). After the candidate's own hints
# and the default region, these regions are tried in turn; a national number is rarely valid in
# another country's numbering plan, so the first valid reading is taken.
FALLBACK_PHONE_REGIONS = ("GB", "CA", "AU", "IE", "DE", "FR", "ES", "IT", "NL", "IN")


def region_hints_from_emails(emails: Iterable[str]) -> list[str]:
    """Country regions suggested by email domains (anna@example.co.uk → GB)."""
    hints = []
    for email in emails:
        tld = email.rsplit(".", 1)[-1].upper() if "." in email else ""
        region = "GB" if tld == "UK" else tld
        if region in phonenumbers.SUPPORTED_REGIONS:
            hints.append(region)
    return hints


def normalize_mobile_phone(
    phones: Iterable[tuple[str, str | None]], *, region_hints: Iterable[str] = ()
) -> str:
    """The mobile number (else the first one) in E.164, or "" when it cannot be read."""
    phones = list(phones)
    if not phones:
        return ""
    mobile = next((value for value, kind in phones if (kind or "").lower() == "mobile"), None)
    raw = mobile if mobile is not None else phones[0][0]
    regions = [*region_hints, DEFAULT_PHONE_REGION]
    if raw.lstrip().startswith("0"):
        # A national trunk prefix: written the way people outside North America write numbers.
        regions += FALLBACK_PHONE_REGIONS
    for region in dict.fromkeys(regions):
        try:
            number = phonenumbers.parse(raw, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return ""


def email_or_blank(value: str) -> str:
    value = (value or "").strip()
    return value if "@" in value and len(value) <= 254 else ""


def candidate_row(organization, provider: str, ext: ExtCandidate) -> Candidate:
    return Candidate(
        organization=organization,
        provider=provider,
        external_id=ext.external_id,
        first_name=(ext.first_name or "")[:255],
        last_name=(ext.last_name or "")[:255],
        emails=[{"value": v, "type": t} for v, t in ext.emails],
        phones=[{"value": v, "type": t} for v, t in ext.phones],
        primary_email=email_or_blank(ext.emails[0][0]) if ext.emails else "",
        mobile_phone=normalize_mobile_phone(
            ext.phones, region_hints=region_hints_from_emails(v for v, _ in ext.emails)
        ),
        tags=list(ext.tags),
        can_email=ext.can_email,
        remote_updated_at=ext.updated_at,
        deleted_at=None,
    )
