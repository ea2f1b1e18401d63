"""Notifications' part of deleting a candidate's personal data (``candidates.erasure``; this
module registers itself when ``NotificationsConfig.ready`` imports it).

A bell item told about one of the candidate's timeline entries (a reply, a booking, a journey
step, a completed video interview) names them in its title and quotes the entry in its body (and
any other item quoting their name or an address is treated the same): it
stays in each member's list, read or not (so counts and the bell's badge stay), its title
becomes the marker and its body is emptied. One still waiting for its e-mail or the daily digest
is not sent: there is nothing left in it to tell. Nothing is marked read, so the bell's count
stays as it was.
"""

from __future__ import annotations

from django.db.models import Q

from candidates.erasure import ERASED, ErasurePart, quoting, register_eraser
from candidates.models import TimelineEvent

from .models import Notification


def notifications_erase(*, organization, candidate) -> ErasurePart:
    entries = TimelineEvent.objects.filter(organization=organization, candidate=candidate)
    keys = [f"timeline:{pk}" for pk in entries.values_list("pk", flat=True)]
    about = Q(source_key__in=keys) | quoting(candidate, "title", "body")
    told = Notification.objects.filter(organization=organization).filter(about)
    emptied = told.update(title=ERASED, body="", email_pending=False, digest_pending=False)
    return ErasurePart(counts={"notifications": emptied})


register_eraser("notifications", notifications_erase)
