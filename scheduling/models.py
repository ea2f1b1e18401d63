"""Scheduling: Library scheduling templates, the built-in calendar, scheduling requests (one
signed link per candidate) and bookings.

A booking holds one :class:`BookedSlot` per required member; a partial unique index on
(member, start) among active holds is what makes two candidates racing for one slot end with
exactly one booking. A reschedule moves the same booking (same ICS UID, SEQUENCE + 1), so the
candidate's and the members' calendars update the event instead of adding a second one.
"""

from __future__ import annotations

import secrets
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from accounts.models import validate_time_zone
from recruitflow.tenancy import TenantModel


def new_link_token() -> str:
    """An unguessable URL token (192 bits)."""
    return secrets.token_urlsafe(24)


def new_ics_uid() -> str:
    return f"{uuid.uuid4()}@recruitflow"


def _default_windows() -> list[dict]:
    return [{"weekday": day, "start": "09:00", "end": "17:00"} for day in range(5)]


# The five messages of a scheduling template, in the order recruiters know them. Each is an
# e-mail and/or a text message from the Library (``<key>_email`` / ``<key>_sms`` fields).
MESSAGE_KINDS: tuple[tuple[str, str], ...] = (
    ("request", "Request to Schedule"),
    ("reminder", "Reminder to Schedule"),
    ("invitation", "Interview Invitation"),
    ("day_before", "Day Before Interview Reminder"),
    ("cancellation", "Cancellation Notification"),
)
MESSAGE_LABELS = dict(MESSAGE_KINDS)


class MeetingLink(models.TextChoices):
    """How a booking gets its video meeting link. Each falls back to the next one down when it
    can't give a link: a conference → the host's personal link → the template's fixed link."""

    NONE = "none", "None (in person)"
    CONFERENCE = "conference", "Create a video conference per booking"
    PERSONAL = "personal", "Use each interviewer's personal meeting link"
    FIXED = "fixed", "Same link for every booking"


def _message_field(label: str, channel: str, name: str):
    # A named reverse relation, so the Library can say a scheduling template uses the message
    # (library.services.template_uses reads every relation to MessageTemplate).
    return models.ForeignKey(
        "library.MessageTemplate",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name=f"scheduling_{name}_uses",
        verbose_name=f"{label} ({channel})",
    )


class SchedulingTemplate(TenantModel):
    """An interview event a candidate books themselves, and the messages around it."""

    name = models.CharField(max_length=200)
    event_title = models.CharField(
        max_length=200,
        help_text="The calendar event's title; merge fields such as {{ candidate.full_name }} "
        "and {{ job.name }} are filled in.",
    )
    description = models.TextField(
        blank=True, help_text="Shown to the candidate on the booking page and in the invitation."
    )
    duration_minutes = models.PositiveSmallIntegerField(default=45)
    location = models.CharField(max_length=300, blank=True)
    video_link = models.URLField(blank=True, max_length=500)
    meeting_link = models.CharField(
        "Meeting link",
        max_length=20,
        choices=MeetingLink.choices,
        # "fixed" with no link gives no link: rows made without choosing keep today's behaviour.
        default=MeetingLink.FIXED,
        help_text="Where the candidate joins: a conference created per booking in the "
        "interviewer's calendar, the interviewer's personal meeting link, or the same link "
        "(below) for every booking.",
    )
    # Guardrails: weekly windows in ``time_zone``: [{"weekday": 0, "start": "09:00",
    # "end": "17:00"}, ...] (0 = Monday).
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    windows = models.JSONField(default=_default_windows)
    minimum_notice_hours = models.PositiveSmallIntegerField(default=24)
    horizon_days = models.PositiveSmallIntegerField(default=14)
    buffer_before_minutes = models.PositiveSmallIntegerField(default=0)
    buffer_after_minutes = models.PositiveSmallIntegerField(default=0)
    slot_interval_minutes = models.PositiveSmallIntegerField(default=30)
    daily_limit = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Interviews per interviewer per day; empty: no limit."
    )
    reminder_delay_hours = models.PositiveSmallIntegerField(
        default=48, help_text="Send the Reminder to Schedule when still unbooked after this long."
    )
    request_email = _message_field("Request to Schedule", "e-mail", "request_email")
    request_sms = _message_field("Request to Schedule", "text", "request_sms")
    reminder_email = _message_field("Reminder to Schedule", "e-mail", "reminder_email")
    reminder_sms = _message_field("Reminder to Schedule", "text", "reminder_sms")
    invitation_email = _message_field("Interview Invitation", "e-mail", "invitation_email")
    invitation_sms = _message_field("Interview Invitation", "text", "invitation_sms")
    day_before_email = _message_field("Day Before Interview Reminder", "e-mail", "day_before_email")
    day_before_sms = _message_field("Day Before Interview Reminder", "text", "day_before_sms")
    cancellation_email = _message_field("Cancellation Notification", "e-mail", "cancellation_email")
    cancellation_sms = _message_field("Cancellation Notification", "text", "cancellation_sms")
    # The public link ("generic link for e-mail campaigns"): many candidates, one URL.
    public_token = models.CharField(max_length=64, unique=True, default=new_link_token)
    public_link_enabled = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name"], name="scheduling_template_name_once"
            )
        ]

    def __str__(self) -> str:
        return self.name

    def message_template(self, kind: str, channel: str):
        """The Library template of message ``kind`` for ``channel`` ("email"/"sms"), or None."""
        return getattr(self, f"{kind}_{channel}")


class SchedulingTemplateMember(TenantModel):
    """A hiring-team member of a template. Required members must all be free for a slot;
    optional ones are invited when free and never remove a slot."""

    template = models.ForeignKey(
        SchedulingTemplate, on_delete=models.CASCADE, related_name="members"
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    required = models.BooleanField(default=True)

    class Meta:
        ordering = ["-required", "id"]
        constraints = [
            models.UniqueConstraint(fields=["template", "user"], name="template_member_once")
        ]

    def __str__(self) -> str:
        return f"{self.user} ({'required' if self.required else 'optional'})"


# --------------------------------------------------------------------------------------------
# The built-in calendar
# --------------------------------------------------------------------------------------------


class MemberCalendar(TenantModel):
    """A team member's built-in calendar: working hours (used when no calendar service is
    connected) and the token of their ``.ics`` subscription feed."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    # Same shape as SchedulingTemplate.windows.
    working_hours = models.JSONField(default=_default_windows)
    feed_token = models.CharField(max_length=64, unique=True, default=new_link_token)
    # The member's own meeting room (used by templates set to "personal meeting link", and as
    # the fallback when a conference can't be created in their calendar).
    personal_meeting_link = models.URLField(
        blank=True,
        max_length=500,
        help_text="Your own video meeting room, e.g. https://meet.example.com/your-name.",
    )
    # Set when the calendar service said the member's conferencing profile was disconnected:
    # no conference is asked of their calendar until they say they reconnected it.
    conferencing_problem = models.CharField(max_length=300, blank=True)
    conferencing_problem_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "user"], name="member_calendar_once")
        ]

    def __str__(self) -> str:
        return f"Calendar of {self.user}"


class BusyBlock(TenantModel):
    """Busy time in the built-in calendar entered by the member (not interviews: those are
    BookedSlot rows)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    title = models.CharField(max_length=200, blank=True)
    start = models.DateTimeField()
    end = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["start", "id"]
        indexes = [models.Index(fields=["organization", "user", "start"], name="busy_org_user")]
        constraints = [
            models.CheckConstraint(condition=Q(end__gt=models.F("start")), name="busy_ends_later")
        ]

    def __str__(self) -> str:
        return f"{self.title or 'Busy'} {self.start:%Y-%m-%d %H:%M}"


# --------------------------------------------------------------------------------------------
# Requests and bookings
# --------------------------------------------------------------------------------------------


class RequestStatus(models.TextChoices):
    PENDING = "pending", "Waiting for the candidate"
    BOOKED = "booked", "Booked"
    CANCELLED = "cancelled", "Cancelled"
    EXPIRED = "expired", "Expired"


class RequestSource(models.TextChoices):
    JOURNEY = "journey", "Journey"
    RECRUITER = "recruiter", "Recruiter"
    PUBLIC_LINK = "public_link", "Public scheduling link"
    API = "api", "API"


class SchedulingRequest(TenantModel):
    """One candidate's invitation to book an interview from a template, reached by ``token``."""

    template = models.ForeignKey(
        SchedulingTemplate, on_delete=models.PROTECT, related_name="requests"
    )
    candidate = models.ForeignKey(
        "candidates.Candidate", on_delete=models.CASCADE, related_name="scheduling_requests"
    )
    application = models.ForeignKey(
        "candidates.Application", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    token = models.CharField(max_length=64, unique=True, default=new_link_token)
    status = models.CharField(
        max_length=20, choices=RequestStatus.choices, default=RequestStatus.PENDING
    )
    source = models.CharField(max_length=20, choices=RequestSource.choices)
    # The journey step run that sent it (one request per step run).
    step_run_id = models.BigIntegerField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    reminder_sent_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "step_run_id"],
                condition=Q(step_run_id__isnull=False),
                name="one_request_per_step_run",
            )
        ]
        indexes = [
            models.Index(fields=["organization", "status"], name="request_org_status"),
            # Requests by time per organization (analytics' today).
            models.Index(fields=["organization", "created_at"], name="request_org_created"),
            models.Index(fields=["organization", "expires_at"], name="request_org_expires"),
        ]

    def __str__(self) -> str:
        return f"Scheduling request #{self.pk} ({self.get_status_display()})"


class ConferenceStatus(models.TextChoices):
    NONE = "", "No conference"
    PENDING = "pending", "Being created"
    READY = "ready", "Created"
    FALLBACK = "fallback", "Not created: another link used"


class BookingStatus(models.TextChoices):
    CONFIRMED = "confirmed", "Confirmed"
    CANCELLED = "cancelled", "Cancelled"


class CancelledBy(models.TextChoices):
    CANDIDATE = "candidate", "The candidate"
    RECRUITER = "recruiter", "A team member"
    INTERVIEWER = "interviewer", "An interviewer deleted the calendar event"
    # Cancelled by the erasure of the candidate's personal data (scheduling.erasure).
    ERASURE = "erasure", "The candidate's data was erased"


class Booking(TenantModel):
    """The interview a candidate booked. Rescheduling moves it (``sequence`` + 1)."""

    request = models.OneToOneField(
        SchedulingRequest, on_delete=models.CASCADE, related_name="booking"
    )
    template = models.ForeignKey(
        SchedulingTemplate, on_delete=models.PROTECT, related_name="bookings"
    )
    candidate = models.ForeignKey(
        "candidates.Candidate", on_delete=models.CASCADE, related_name="bookings"
    )
    start = models.DateTimeField(db_index=True)
    end = models.DateTimeField()
    status = models.CharField(
        max_length=20, choices=BookingStatus.choices, default=BookingStatus.CONFIRMED
    )
    title = models.CharField(max_length=300)
    location = models.CharField(max_length=300, blank=True)
    # The meeting link everyone is given (invitation, .ics, confirmation page, calendar event):
    # the conference's join URL, a personal link or the template's fixed link.
    video_link = models.URLField(blank=True, max_length=500)
    meeting_link_source = models.CharField(
        max_length=20, choices=MeetingLink.choices, default=MeetingLink.NONE
    )
    # The conference created in the host's calendar (one per booking, kept on reschedule).
    conference_status = models.CharField(
        max_length=20, choices=ConferenceStatus.choices, default=ConferenceStatus.NONE, blank=True
    )
    conference_url = models.URLField(blank=True, max_length=500)
    conference_provider = models.CharField(max_length=100, blank=True)
    conference_host = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    conference_requested_at = models.DateTimeField(null=True, blank=True)
    candidate_time_zone = models.CharField(
        max_length=64, default="UTC", validators=[validate_time_zone]
    )
    ics_uid = models.CharField(max_length=100, unique=True, default=new_ics_uid)
    sequence = models.PositiveIntegerField(default=0)
    # Members invited (required ones and optional ones free at booking time): user ids.
    attendee_ids = models.JSONField(default=list)
    reschedule_count = models.PositiveSmallIntegerField(default=0)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.CharField(max_length=20, choices=CancelledBy.choices, blank=True)
    # Who, by name: the team member who cancelled, or the interviewer whose calendar the event
    # was deleted from (empty for the candidate, and once that person's account is deleted).
    cancelled_by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    cancel_reason = models.TextField(blank=True)
    day_before_sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["start", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end__gt=models.F("start")), name="booking_ends_later"
            )
        ]
        indexes = [
            # Bookings by time per organization (analytics' today).
            models.Index(fields=["organization", "created_at"], name="booking_org_created"),
            models.Index(fields=["organization", "cancelled_at"], name="booking_org_cancelled"),
        ]

    def __str__(self) -> str:
        return f"{self.title} {self.start:%Y-%m-%d %H:%M} UTC ({self.get_status_display()})"

    @property
    def event_id(self) -> str:
        """Our id of the event in members' calendars (the calendar service's event_id)."""
        return f"rf-booking-{self.pk}"


class BookedSlot(TenantModel):
    """A member's hold on a time for a booking. Among active holds a member has at most one
    per start time (a partial unique index): the database settles a race for a slot."""

    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="holds")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    start = models.DateTimeField()
    end = models.DateTimeField()
    required = models.BooleanField(default=True)
    active = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "start"],
                condition=Q(active=True),
                name="member_slot_once",
            )
        ]
        indexes = [
            models.Index(fields=["organization", "user", "start"], name="hold_org_user_start"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.start:%Y-%m-%d %H:%M}"
