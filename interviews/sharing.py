"""The hiring manager's share link: a signed, expiring link to a read-only review page that a
person without an account can open (``/interviews/shared/<signed>/``).

The link carries ``{"o": organization, "i": interview, "x": expiry (Unix seconds)}`` signed with
the project's secret (``django.core.signing``, salt ``interviews.share``): nothing is stored but
the timeline entry that says who shared it and until when. A changed or cut link fails the
signature (:class:`ShareInvalid`); a genuine one past its expiry is :class:`ShareExpired`, and
each gets a page that says which. The expiry is chosen when the link is made (7 days unless
told otherwise, 1 to 30).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from candidates.models import TimelineEvent

from .models import VideoInterview
from .timeline_kinds import VIDEO_INTERVIEW_SHARED

SHARE_SALT = "interviews.share"
DEFAULT_SHARE_DAYS = 7
SHARE_DAY_CHOICES = (1, 3, 7, 14, 30)


class ShareInvalid(Exception):
    """The link was changed or cut short: it proves nothing."""


class ShareExpired(Exception):
    """The link is genuine but past the expiry chosen when it was made."""

    def __init__(self, expired_at: datetime):
        super().__init__(f"The link expired at {expired_at.isoformat()}.")
        self.expired_at = expired_at


@dataclass(frozen=True)
class Share:
    organization_id: int
    interview_id: int
    expires_at: datetime


@dataclass(frozen=True)
class CreatedShare:
    url: str
    expires_at: datetime


def share_sign(*, interview: VideoInterview, expires_at: datetime) -> str:
    payload = {
        "o": interview.organization_id,
        "i": interview.pk,
        "x": int(expires_at.timestamp()),
    }
    return signing.dumps(payload, salt=SHARE_SALT, compress=True)


def share_read(value: str, *, now: datetime | None = None) -> Share:
    """The share behind a signed link. Raises :class:`ShareInvalid` for a link not made by
    :func:`share_sign` and :class:`ShareExpired` for one past its expiry."""
    try:
        payload = signing.loads(value or "", salt=SHARE_SALT)
    except (signing.BadSignature, ValueError) as exc:
        raise ShareInvalid(str(exc)) from exc
    try:
        share = Share(
            organization_id=int(payload["o"]),
            interview_id=int(payload["i"]),
            expires_at=datetime.fromtimestamp(int(payload["x"]), tz=UTC),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ShareInvalid("The link does not name an interview.") from exc
    if share.expires_at <= (now or timezone.now()):
        raise ShareExpired(share.expires_at)
    return share


def share_url(signed: str) -> str:
    return settings.PUBLIC_BASE_URL.rstrip("/") + reverse("interviews:shared", args=[signed])


def share_create(*, interview: VideoInterview, days: int, created_by) -> CreatedShare:
    """Make a share link valid for ``days`` days and tell the candidate's timeline who shared
    the interview and until when."""
    if days not in SHARE_DAY_CHOICES:
        raise ValueError(
            f"A share link lasts {', '.join(map(str, SHARE_DAY_CHOICES))} days; {days} is not one."
        )
    now = timezone.now()
    expires_at = (now + timedelta(days=days)).replace(microsecond=0)
    signed = share_sign(interview=interview, expires_at=expires_at)
    who = created_by.get_full_name() or created_by.email
    with transaction.atomic():
        TimelineEvent.objects.create(
            organization_id=interview.organization_id,
            candidate_id=interview.candidate_id,
            application_id=interview.application_id,
            kind=VIDEO_INTERVIEW_SHARED,
            summary=(
                f"{who} shared the video interview ({interview.template.name}) by a link "
                f"that expires in {days} day{'s' if days != 1 else ''}"
            )[:500],
            data={
                "interview_id": interview.pk,
                "expires_at": expires_at.isoformat(),
                "shared_by": created_by.pk,
            },
            occurred_at=now,
        )
    return CreatedShare(url=share_url(signed), expires_at=expires_at)
