"""The one-time "this conversation is recorded in our ATS" notice to a candidate.

An organization may switch it on (``WritebackRules.candidate_notice``, inherited down the
account tree like the other rules). The notice goes when the candidate's first activity is about
to be written to the ATS: the first outbox row of theirs that is going to be written (not one
kept as paused or rule-off) calls :func:`notice_send_once`. So a candidate is told only when it
is true, also when the conversation is by text, and before a batch of texts or a transcript
lands.

It is sent once per candidate ever: one :class:`RecordingNotice` row per candidate, inserted in
the same transaction as the e-mail's outbox row, so two workers at once make one row and one
e-mail (the other's insert fails on the unique constraint and sends nothing). It goes through
messaging's send path like any e-mail to the candidate (the organization's branded layout, the
Inbox thread and the timeline), which refuses an address the ATS says not to e-mail
(``can_email``) or one on the e-mail opt-out ledger; the row then records why it was not sent,
and it is not tried again.

The e-mail carries a signed link (:func:`notice_url`: organization and candidate, salted, no
expiry, as a link in an old e-mail must keep working) to a public page
(:mod:`writeback.public_views`) whose button pauses write-back for the candidate.
"""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils.html import escape

from candidates.models import Candidate
from messaging import services as messaging
from messaging.models import Channel
from writeback.models import NoticeOutcome, RecordingNotice
from writeback.selectors import rules_for

NOTICE_SALT = "writeback.recording-notice"
NOTICE_SOURCE = "recording_notice"


# --------------------------------------------------------------------------------------------
# The signed link
# --------------------------------------------------------------------------------------------


def notice_token(*, organization, candidate_id: int) -> str:
    """A signed token naming the organization and the candidate (no expiry)."""
    return signing.dumps({"o": organization.pk, "c": int(candidate_id)}, salt=NOTICE_SALT)


def read_notice_token(token: str) -> tuple[int, int] | None:
    """``(organization id, candidate id)`` of a genuine token, else None (tampered, signed for
    something else, or not a token at all)."""
    try:
        data = signing.loads(token, salt=NOTICE_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict):
        return None
    organization_id, candidate_id = data.get("o"), data.get("c")
    if not isinstance(organization_id, int) or not isinstance(candidate_id, int):
        return None
    return organization_id, candidate_id


def notice_url(*, organization, candidate_id: int) -> str:
    token = notice_token(organization=organization, candidate_id=candidate_id)
    return settings.PUBLIC_BASE_URL.rstrip("/") + reverse("writeback:notice", args=[token])


# --------------------------------------------------------------------------------------------
# The e-mail
# --------------------------------------------------------------------------------------------


def stop_label(organization) -> str:
    """The words of the page's button (and of the e-mail's link to it)."""
    return f"Stop recording this conversation in {organization.name}'s ATS"


def notice_content(*, organization, candidate, url: str) -> tuple[str, str, str]:
    """``(subject, text, html)`` of the notice to ``candidate``."""
    name = organization.name
    greeting = f"Hi {candidate.first_name}," if candidate.first_name else "Hello,"
    subject = f"Your conversation with {name} is recorded in our applicant tracking system"
    paragraphs = [
        greeting,
        f"So that everyone on {name}'s hiring team works from the same information, the texts "
        "and e-mails you exchange with us, your replies and the interviews you book are "
        "recorded on your application in our applicant tracking system (ATS).",
        "If you would rather they were not recorded there, open the link below and press the "
        "button. Nothing else changes: you can keep replying to us as before.",
    ]
    text = "\n\n".join([*paragraphs, f"{stop_label(organization)}: {url}", f"{name} recruiting"])
    html = "".join(f"<p>{escape(p)}</p>" for p in paragraphs)
    html += f'<p><a href="{escape(url)}">{escape(stop_label(organization))}</a></p>'
    html += f"<p>{escape(name)} recruiting</p>"
    return subject, text, html


def notice_wanted(organization) -> bool:
    rules = rules_for(organization).rules
    return bool(rules.enabled and rules.candidate_notice)


def notice_send_once(*, organization, candidate_id: int) -> RecordingNotice | None:
    """Send the candidate's notice if the organization wants it and the candidate never had
    one; returns the new row (``outcome`` sent or not sent with the reason), or None when
    nothing was done. Safe to call from several workers at once: one of them sends."""
    if not notice_wanted(organization):
        return None
    if RecordingNotice.objects.filter(
        organization=organization, candidate_id=candidate_id
    ).exists():
        return None
    candidate = Candidate.objects.filter(pk=candidate_id, deleted_at__isnull=True).first()
    if candidate is None:
        return None
    url = notice_url(organization=organization, candidate_id=candidate.pk)
    subject, text, html = notice_content(organization=organization, candidate=candidate, url=url)
    try:
        with transaction.atomic():
            notice = RecordingNotice.objects.create(
                organization=organization, candidate=candidate, outcome=NoticeOutcome.SENT
            )
            try:
                message = messaging.message_send(
                    organization=organization,
                    candidate=candidate,
                    channel=Channel.EMAIL,
                    subject=subject,
                    body=text,
                    html=html,
                    source=NOTICE_SOURCE,
                    idempotency_key=f"recording-notice:{candidate.pk}",
                )
            except messaging.CannotSend as exc:
                notice.outcome, notice.reason = NoticeOutcome.NOT_SENT, str(exc)[:500]
            else:
                notice.message = message
            notice.save(update_fields=["outcome", "reason", "message"])
    except IntegrityError:  # another worker made the row (and sent the e-mail) first
        return None
    return notice


def notice_of(*, organization, candidate_id: int) -> RecordingNotice | None:
    return RecordingNotice.objects.filter(
        organization=organization, candidate_id=candidate_id
    ).first()
