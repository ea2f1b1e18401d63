"""Writes to one candidate's own record: their time zone (kept on the timeline) and the
candidate behind a public scheduling link."""

from __future__ import annotations

import uuid

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from candidates import timeline
from candidates.models import (
    Candidate,
    Provider,
    TimelineEvent,
)


@transaction.atomic
def candidate_time_zone_set(*, organization, candidate, time_zone: str, actor=None) -> None:
    """Record the candidate's own time zone (empty clears it): it comes first when quiet hours
    and send times are worked out. Kept on the timeline."""
    name = (actor.get_full_name() or actor.email) if actor is not None else ""
    source = f"set by {name}" if time_zone and name else ("set explicitly" if time_zone else "")
    Candidate.objects.filter(organization=organization, pk=candidate.pk).update(
        time_zone=time_zone, time_zone_source=source
    )
    candidate.time_zone, candidate.time_zone_source = time_zone, source
    TimelineEvent.objects.create(
        organization=organization,
        candidate=candidate,
        kind=timeline.TIME_ZONE_SET if time_zone else timeline.TIME_ZONE_CLEARED,
        summary=f"Time zone set to {time_zone}" if time_zone else "Time zone cleared",
        detail=source,
        occurred_at=timezone.now(),
    )


@transaction.atomic
def candidate_find_or_create_public(
    *, organization, first_name: str, last_name: str, email: str, phone: str
) -> tuple[Candidate, bool]:
    """The candidate who filled in a public scheduling link: ``(candidate, created)``.

    A candidate of the organization (not deleted, not merged away) whose primary e-mail matches
    case-insensitively is returned unchanged: anyone can type an address into a public form, so
    what they typed never changes a candidate's record (the caller decides what to do with a
    match). Otherwise a RecruitFlow candidate is created. The phone is optional; when given it
    is stored in E.164, read in ``PHONENUMBER_DEFAULT_REGION`` unless it starts with a country
    code. Raises ``ValidationError`` keyed by field ("first_name", "email", "phone") saying
    what to fix; nothing is written then.
    """
    first_name, last_name = (first_name or "").strip(), (last_name or "").strip()
    email, phone = (email or "").strip(), (phone or "").strip()
    errors: dict[str, list[str]] = {}
    if not first_name:
        errors["first_name"] = ["Enter your first name."]
    try:
        validate_email(email)
    except ValidationError:
        errors["email"] = [
            f"“{email}” is not an e-mail address. Enter one like name@example.com."
            if email
            else "Enter your e-mail address."
        ]
    mobile = ""
    if phone:
        try:
            number = phonenumbers.parse(phone, settings.PHONENUMBER_DEFAULT_REGION)
        except phonenumbers.NumberParseException:
            number = None
        if number is None or not phonenumbers.is_valid_number(number):
            errors["phone"] = [
                f"“{phone}” is not a phone number we can read. Enter it with the country "
                "code, like +44 7700 900123, or leave it empty."
            ]
        else:
            mobile = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if errors:
        raise ValidationError(errors)

    candidate = (
        Candidate.objects.select_for_update()
        .filter(
            organization=organization,
            primary_email__iexact=email,
            deleted_at__isnull=True,
            merged_into__isnull=True,
        )
        .order_by("-synced_at", "-pk")
        .first()
    )
    if candidate is not None:
        return candidate, False
    candidate = Candidate.objects.create(
        organization=organization,
        provider=Provider.RECRUITFLOW,
        external_id=uuid.uuid4().hex,
        first_name=first_name,
        last_name=last_name,
        primary_email=email,
        emails=[{"value": email, "type": "personal"}],
        mobile_phone=mobile,
        phones=[{"value": mobile, "type": "mobile"}] if mobile else [],
    )
    return candidate, True
