"""Partner API shapes of scheduling templates, scheduling links and bookings.

The request schemas say what :mod:`scheduling.template_services` accepts (ranges, HH:MM times,
time zones, at least one Request to Schedule and Interview Invitation message), so a request
that fits the schema fails only on what a schema can't say (a window that ends before it starts,
an unknown merge field in the title): 400 naming the field."""

from __future__ import annotations

from datetime import UTC

from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema_field
from rest_framework import exceptions, serializers

from accounts.models import TIME_ZONE_CHOICES, Membership
from library.models import MessageTemplate
from recruitflow.api import StrictCharField

from . import services
from .models import (
    MESSAGE_KINDS,
    Booking,
    BookingStatus,
    CancelledBy,
    MeetingLink,
    RequestStatus,
    SchedulingRequest,
    SchedulingTemplate,
)
from .template_services import (
    NUMBER_LIMITS,
    TEXT_LIMITS,
    public_link_url,
)
from .words import person_name

MAX_ID = 2**63 - 1
HH_MM = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
KINDS = [kind for kind, _ in MESSAGE_KINDS]
MAX_MEMBERS = 50
MAX_WINDOWS = 7 * 8


def _utc(**kw):
    return serializers.DateTimeField(default_timezone=UTC, **kw)


# --- Shared pieces -------------------------------------------------------------------------------


class WindowSerializer(serializers.Serializer):
    weekday = serializers.IntegerField(
        min_value=0, max_value=6, help_text="0 = Monday … 6 = Sunday."
    )
    start = serializers.RegexField(HH_MM, help_text="HH:MM in the template's time zone.")
    end = serializers.RegexField(HH_MM, help_text="HH:MM, later than `start`.")


class SchedulingPersonSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="The team member's user id (see /members/).")
    name = serializers.CharField()
    email = serializers.CharField()
    required = serializers.BooleanField(
        help_text="Required interviewers must all be free; optional ones never remove a time."
    )


@extend_schema_field(
    {
        "type": "object",
        "description": "Each of the five messages: a Library e-mail template id and/or a text "
        "message template id (null for none).",
        "properties": {
            kind: {
                "type": "object",
                "properties": {
                    "email": {"type": "integer", "nullable": True},
                    "sms": {"type": "integer", "nullable": True},
                },
                "required": ["email", "sms"],
            }
            for kind in KINDS
        },
        "required": KINDS,
    }
)
class MessagesField(serializers.Field):
    def to_representation(self, template: SchedulingTemplate) -> dict:
        return {
            kind: {
                "email": getattr(template, f"{kind}_email_id"),
                "sms": getattr(template, f"{kind}_sms_id"),
            }
            for kind in KINDS
        }


# --- Output --------------------------------------------------------------------------------------


class SchedulingTemplateSerializer(serializers.ModelSerializer):
    members = serializers.SerializerMethodField()
    messages = MessagesField(source="*", read_only=True)
    windows = WindowSerializer(many=True, read_only=True)
    public_link = serializers.SerializerMethodField()
    created_at = _utc(read_only=True)
    updated_at = _utc(read_only=True)

    class Meta:
        model = SchedulingTemplate
        fields = [
            "id",
            "name",
            "event_title",
            "description",
            "duration_minutes",
            "location",
            "video_link",
            "meeting_link",
            "time_zone",
            "windows",
            "minimum_notice_hours",
            "horizon_days",
            "buffer_before_minutes",
            "buffer_after_minutes",
            "slot_interval_minutes",
            "daily_limit",
            "reminder_delay_hours",
            "members",
            "messages",
            "public_link_enabled",
            "public_link",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(SchedulingPersonSerializer(many=True))
    def get_members(self, template) -> list[dict]:
        members = getattr(template, "api_members", None)
        if members is None:
            members = list(template.members.select_related("user").order_by("-required", "id"))
        return [
            {
                "id": m.user_id,
                "name": person_name(m.user),
                "email": m.user.email,
                "required": m.required,
            }
            for m in members
        ]

    @extend_schema_field(
        {
            "type": "string",
            "format": "uri",
            "nullable": True,
            "description": "The public scheduling link when `public_link_enabled`, else null.",
        }
    )
    def get_public_link(self, template) -> str | None:
        return public_link_url(template) if template.public_link_enabled else None


# --- Input ---------------------------------------------------------------------------------------


def _text(field: str, *, required: bool, blank: bool = False, help_text: str = ""):
    return StrictCharField(
        max_length=TEXT_LIMITS[field],
        required=required,
        allow_blank=blank,
        help_text=help_text,
    )


def _number(field: str, *, nullable: bool = False):
    label, lowest, highest, unit = NUMBER_LIMITS[field]
    return serializers.IntegerField(
        min_value=lowest,
        max_value=highest,
        required=False,
        allow_null=nullable,
        help_text=f"{label}, in {unit}" + (" (null: no limit)." if nullable else "."),
    )


def _member_ids(help_text: str):
    return serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        max_length=MAX_MEMBERS,
        required=False,
        help_text=help_text,
    )


_PAIR_WITH_ONE = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "email": {"type": "integer", "minimum": 1, "maximum": MAX_ID, "nullable": True},
        "sms": {"type": "integer", "minimum": 1, "maximum": MAX_ID, "nullable": True},
    },
    "anyOf": [
        {"required": ["email"], "properties": {"email": {"type": "integer"}}},
        {"required": ["sms"], "properties": {"sms": {"type": "integer"}}},
    ],
}
_PAIR = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "email": {"type": "integer", "minimum": 1, "maximum": MAX_ID, "nullable": True},
        "sms": {"type": "integer", "minimum": 1, "maximum": MAX_ID, "nullable": True},
    },
}


def _messages_schema(*, create: bool) -> dict:
    return {
        "type": "object",
        "description": "Library message template ids by message and channel, e.g. "
        '`{"request": {"email": 12, "sms": 14}}`; null for none. Request to Schedule and '
        "Interview Invitation need an e-mail or a text message."
        + ("" if create else " Messages and channels you leave out keep their template."),
        "properties": {
            kind: (_PAIR_WITH_ONE if kind in ("request", "invitation") else _PAIR) for kind in KINDS
        },
        "additionalProperties": False,
        **({"required": ["request", "invitation"]} if create else {}),
    }


class _PairInput(serializers.Serializer):
    email = serializers.IntegerField(min_value=1, max_value=MAX_ID, allow_null=True, required=False)
    sms = serializers.IntegerField(min_value=1, max_value=MAX_ID, allow_null=True, required=False)


class _MessagesInput(serializers.Field):
    """``{"request": {"email": 12, "sms": null}, …}`` → ``{"request_email": <template>, …}``
    (only what was sent); unknown ids are 404, like any object of another organization."""

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise serializers.ValidationError("Send an object with the messages by name.")
        unknown = set(data) - set(KINDS)
        if unknown:
            raise serializers.ValidationError(
                f"Unknown message {sorted(unknown)[0]!r}: use {', '.join(KINDS)}."
            )
        chosen: dict = {}
        errors: dict = {}
        for kind, pair in data.items():
            if isinstance(pair, dict) and set(pair) - {"email", "sms"}:
                errors[kind] = [f"Use only “email” and “sms” in messages.{kind}."]
                continue
            parser = _PairInput(data=pair)
            if not parser.is_valid():
                errors[kind] = parser.errors
                continue
            for channel, value in parser.validated_data.items():
                chosen[f"{kind}_{channel}"] = value
        if errors:
            raise serializers.ValidationError(errors)
        wanted = {v for v in chosen.values() if v is not None}
        found = dict(
            MessageTemplate.objects.filter(
                organization=self.context["organization"], pk__in=wanted
            ).values_list("pk", "channel")
        )
        for name, value in chosen.items():
            if value is not None and value not in found:
                kind, channel = name.rsplit("_", 1)
                raise exceptions.NotFound(
                    f"messages.{kind}.{channel}: no message template {value} in your "
                    "organization. List them at /api/v1/message-templates/."
                )
        return chosen

    def to_representation(self, value):
        return value


@extend_schema_field(_messages_schema(create=True))
class MessagesCreateField(_MessagesInput):
    pass


@extend_schema_field(_messages_schema(create=False))
class MessagesUpdateField(_MessagesInput):
    pass


def _check_members(organization, values: list[int]) -> list[int]:
    if not values:
        return values
    team = set(
        Membership.objects.filter(organization=organization, user_id__in=values).values_list(
            "user_id", flat=True
        )
    )
    for user_id in values:
        if user_id not in team:
            raise exceptions.NotFound(
                f"No team member with user id {user_id} in your organization. List them at "
                "/api/v1/members/."
            )
    return values


class SchedulingTemplateUpdate(serializers.Serializer):
    """Fields to change; those left out keep their value. Members lists replace the current
    ones; ``messages`` changes only the messages and channels it names."""

    name = _text("name", required=False, help_text="Unique in your organization.")
    event_title = _text(
        "event_title",
        required=False,
        help_text="The calendar event's title; merge fields such as `{{ job.name }}` are "
        "filled in.",
    )
    description = _text("description", required=False, blank=True)
    duration_minutes = _number("duration_minutes")
    location = _text("location", required=False, blank=True)
    video_link = serializers.URLField(
        max_length=TEXT_LIMITS["video_link"],
        required=False,
        allow_blank=True,
        help_text="The link every booking uses when `meeting_link` is `fixed`, and the last "
        "fallback of `conference` and `personal`.",
    )
    meeting_link = serializers.ChoiceField(
        choices=MeetingLink.choices,
        required=False,
        error_messages={
            "invalid_choice": '"{input}" is not a meeting link option: use none, conference, '
            "personal or fixed."
        },
        help_text="Where the candidate joins: `none` (in person), `conference` (a video "
        "conference created per booking in the first required interviewer's connected "
        "calendar), `personal` (the interviewer's personal meeting link from My calendar) or "
        "`fixed` (`video_link`). `conference` and `personal` fall back to the next option when "
        "they can't give a link. Left out when creating: `fixed` with a `video_link`, else "
        "`none`.",
    )
    time_zone = serializers.ChoiceField(
        choices=TIME_ZONE_CHOICES,
        required=False,
        help_text="The zone of the weekly windows (an IANA name).",
    )
    windows = WindowSerializer(
        many=True,
        required=False,
        max_length=MAX_WINDOWS,
        help_text="Weekly availability windows; a day without one has no interviews.",
    )
    minimum_notice_hours = _number("minimum_notice_hours")
    horizon_days = _number("horizon_days")
    buffer_before_minutes = _number("buffer_before_minutes")
    buffer_after_minutes = _number("buffer_after_minutes")
    slot_interval_minutes = _number("slot_interval_minutes")
    daily_limit = _number("daily_limit", nullable=True)
    reminder_delay_hours = _number("reminder_delay_hours")
    public_link_enabled = serializers.BooleanField(required=False)
    required_member_ids = _member_ids("User ids of the interviewers who must attend.")
    optional_member_ids = _member_ids("User ids of interviewers invited when free.")
    messages = MessagesUpdateField(required=False)

    def validate_required_member_ids(self, value):
        return _check_members(self.context["organization"], value)

    def validate_optional_member_ids(self, value):
        return _check_members(self.context["organization"], value)


class SchedulingTemplateCreate(SchedulingTemplateUpdate):
    """A new template. Left out: Mon–Fri 09:00–17:00 in your organization's time zone, 45
    minutes, 24 hours' notice, 14 days ahead, a start every 30 minutes."""

    name = _text("name", required=True, help_text="Unique in your organization.")
    event_title = _text(
        "event_title",
        required=True,
        help_text="The calendar event's title; merge fields such as `{{ job.name }}` are "
        "filled in.",
    )
    required_member_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        min_length=1,
        max_length=MAX_MEMBERS,
        help_text="User ids of the interviewers who must attend (at least one).",
    )
    messages = MessagesCreateField()


# --- Scheduling links ----------------------------------------------------------------------------


class SchedulingLinkCreate(serializers.Serializer):
    candidate_id = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    application_id = serializers.IntegerField(
        min_value=1,
        max_value=MAX_ID,
        required=False,
        allow_null=True,
        help_text="The application the interview is for (default: the candidate's most recent).",
    )
    send = serializers.BooleanField(
        default=True,
        help_text="Send the Request to Schedule now (false: only make the link, e.g. to send "
        "it yourself).",
    )


class SchedulingLinkSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    expires_at = _utc(read_only=True)
    status = serializers.ChoiceField(choices=RequestStatus.choices, read_only=True)

    class Meta:
        model = SchedulingRequest
        fields = ["id", "url", "status", "expires_at"]
        read_only_fields = fields

    @extend_schema_field({"type": "string", "format": "uri"})
    def get_url(self, request) -> str:
        return services.request_link(request)


class SchedulingErrorSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="What stops it, and what to do.")


# --- Bookings ------------------------------------------------------------------------------------


class BookingCandidateSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    email = serializers.CharField()


class BookingTemplateSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class BookingSerializer(serializers.ModelSerializer):
    start = _utc(read_only=True, help_text="ISO 8601, UTC.")
    end = _utc(read_only=True, help_text="ISO 8601, UTC.")
    status = serializers.ChoiceField(choices=BookingStatus.choices, read_only=True)
    cancelled_by = serializers.ChoiceField(
        choices=[("", "Not cancelled"), *CancelledBy.choices], read_only=True
    )
    cancelled_at = _utc(read_only=True, allow_null=True)
    created_at = _utc(read_only=True)
    updated_at = _utc(read_only=True)
    candidate = serializers.SerializerMethodField()
    template = serializers.SerializerMethodField()
    attendees = serializers.SerializerMethodField()
    request_id = serializers.IntegerField(read_only=True)

    class Meta:
        model = Booking
        fields = [
            "id",
            "request_id",
            "template",
            "candidate",
            "title",
            "start",
            "end",
            "status",
            "location",
            "video_link",
            "meeting_link_source",
            "conference_status",
            "candidate_time_zone",
            "attendees",
            "sequence",
            "reschedule_count",
            "cancelled_at",
            "cancelled_by",
            "cancel_reason",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(BookingCandidateSerializer)
    def get_candidate(self, booking) -> dict:
        candidate = booking.candidate
        name = f"{candidate.first_name or ''} {candidate.last_name or ''}".strip()
        return {"id": candidate.pk, "name": name, "email": candidate.primary_email or ""}

    @extend_schema_field(BookingTemplateSerializer)
    def get_template(self, booking) -> dict:
        return {"id": booking.template_id, "name": booking.template.name}

    @extend_schema_field(SchedulingPersonSerializer(many=True))
    def get_attendees(self, booking) -> list[dict]:
        people = self.context.get("people")
        if people is None:
            people = {
                u.pk: u for u in get_user_model().objects.filter(pk__in=booking.attendee_ids or [])
            }
        required = {h.user_id: h.required for h in _holds(booking)}
        attendees = []
        for user_id in booking.attendee_ids or []:
            user = people.get(user_id)
            if user is None:
                continue
            attendees.append(
                {
                    "id": user.pk,
                    "name": person_name(user),
                    "email": user.email,
                    "required": required.get(user.pk, True),
                }
            )
        return attendees


def _holds(booking) -> list:
    holds = getattr(booking, "api_holds", None)
    if holds is None:
        holds = list(booking.holds.all())
    return holds
