"""The public link: a candidate who opens a template's public link types who they are, proves
it, and gets a request of their own (``public_link_submit`` then ``public_link_confirm``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from candidates.models import Candidate, TimelineEvent
from candidates.services import candidate_find_or_create_public
from messaging.services import CannotSend
from scheduling import timeline_kinds as scheduling_kinds
from scheduling.rules import SchedulingError, _timeline, company_name
from scheduling.services import check_usable, request_create

from . import links, notify, public_limits
from .models import (
    Booking,
    BookingStatus,
    RequestSource,
    RequestStatus,
    SchedulingRequest,
    SchedulingTemplate,
)

# ----------------------------------------------------------------------------------------------
# The public link
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PublicLinkResult:
    """What a submission of the public link led to: a new candidate's ``request`` (open its
    picker), or, for an address that is already a candidate's, nothing yet — a confirmation
    e-mail went to that address (``request`` is None)."""

    request: SchedulingRequest | None


def _typed_words(*, first_name: str, last_name: str, email: str, phone: str) -> str:
    name = f"{first_name} {last_name}".strip()
    return "\n".join(
        line
        for line in (
            f"Name typed: {name}",
            f"E-mail typed: {email}",
            f"Phone typed: {phone}" if phone else "",
        )
        if line
    )


def public_link_submit(
    *,
    organization,
    template: SchedulingTemplate,
    first_name: str,
    last_name: str,
    email: str,
    phone: str,
    zone: str = "",
    title: str,
) -> PublicLinkResult:
    """Someone filled in ``template``'s public link.

    A new e-mail address becomes a RecruitFlow candidate with a scheduling request (the visitor
    goes on to its picker). An address that is already a candidate's changes nothing on that
    candidate and ties nothing to them: anyone can type anyone's address. Instead that address
    gets a signed link that expires (:func:`notify.public_link_confirmation`); opening it runs
    :func:`public_link_confirm`. The candidate's timeline shows the attempt with what was typed,
    so the team sees a possible duplicate or impostor. ``title`` is the interview as the page
    names it. Raises ``ValidationError`` (per field) for bad input and :class:`SchedulingError`
    when the template cannot take bookings.
    """
    with transaction.atomic():
        candidate, created = candidate_find_or_create_public(
            organization=organization,
            first_name=first_name,
            last_name=last_name,
            email=email,
            phone=phone,
        )
        if created:
            request = request_create(
                organization=organization,
                template=template,
                candidate=candidate,
                source=RequestSource.PUBLIC_LINK,
                send=False,
            )
            return PublicLinkResult(request=request)
        check_usable(
            organization=organization,
            template=template,
            candidate=candidate,
            application=None,
            send=False,
        )
    hours = settings.SCHEDULING_PUBLIC_LINK_CONFIRM_HOURS
    proof = links.confirmation_sign(template_id=template.pk, candidate_id=candidate.pk, zone=zone)
    link = settings.PUBLIC_BASE_URL + reverse(
        "booking:public_confirm", args=[template.public_token, proof]
    )
    typed = _typed_words(first_name=first_name, last_name=last_name, email=email, phone=phone)
    if not public_limits.confirmation_allowed(candidate_id=candidate.pk):
        outcome = (
            f"No confirmation e-mail sent: {public_limits.CONFIRMATIONS_PER_HOUR} went to this "
            "address in the last hour already."
        )
    else:
        try:
            notify.public_link_confirmation(
                organization=organization, candidate=candidate, title=title, link=link, hours=hours
            )
        except CannotSend as exc:
            outcome = f"No confirmation e-mail sent: {exc.reason}."
        else:
            outcome = (
                f"A confirmation e-mail went to {candidate.primary_email}; the booking is tied "
                f"to this candidate only if its link is opened within {hours} hours."
            )
    TimelineEvent.objects.create(
        organization=organization,
        candidate=candidate,
        kind=scheduling_kinds.PUBLIC_LINK_MATCH,
        summary=(
            f"Someone used the public link of “{template.name}” with this candidate's e-mail "
            "address"
        )[:500],
        detail=f"{outcome}\nNothing on the candidate was changed.\n{typed}",
        data={"template_id": template.pk, "typed_phone": phone, "typed_name": first_name},
        occurred_at=timezone.now(),
    )
    return PublicLinkResult(request=None)


def _open_public_request(*, organization, template, candidate, now) -> SchedulingRequest | None:
    """The candidate's public-link request for ``template`` that is still usable: pending and
    not expired, or booked for a time still to come."""
    requests = SchedulingRequest.objects.filter(
        organization=organization,
        template=template,
        candidate=candidate,
        source=RequestSource.PUBLIC_LINK,
    ).order_by("-created_at", "-pk")
    for request in requests[:5]:
        if request.status == RequestStatus.PENDING and request.expires_at > now:
            return request
        if request.status == RequestStatus.BOOKED:
            booking = Booking.objects.filter(organization=organization, request=request).first()
            if booking and booking.status == BookingStatus.CONFIRMED and booking.start > now:
                return request
    return None


def public_link_confirm(
    *, organization, template: SchedulingTemplate, candidate_id: int, now: datetime | None = None
) -> SchedulingRequest:
    """The candidate opened the confirmation link of a public-link submission: their scheduling
    request for ``template`` (the open one if they already have it, so opening the link twice
    makes one request). Raises :class:`SchedulingError` when the candidate is gone or the
    template cannot take bookings."""
    now = now or timezone.now()
    candidate = Candidate.objects.filter(
        organization=organization, pk=candidate_id, deleted_at__isnull=True
    ).first()
    if candidate is not None and candidate.merged_into_id:
        candidate = Candidate.objects.filter(
            organization=organization, pk=candidate.merged_into_id, deleted_at__isnull=True
        ).first()
    if candidate is None:
        raise SchedulingError(
            f"We couldn't find your details with {company_name(organization)} any more."
        )
    with transaction.atomic():
        existing = _open_public_request(
            organization=organization, template=template, candidate=candidate, now=now
        )
        if existing is not None:
            return existing
        request = request_create(
            organization=organization,
            template=template,
            candidate=candidate,
            source=RequestSource.PUBLIC_LINK,
            send=False,
            now=now,
        )
        _timeline(
            organization=organization,
            request=request,
            kind=scheduling_kinds.PUBLIC_LINK_CONFIRMED,
            summary=f"Confirmed their e-mail address on the public link of “{template.name}”",
            occurred_at=now,
        )
    return request
