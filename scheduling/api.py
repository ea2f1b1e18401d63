"""Partner API: scheduling templates (list, create, read, change, delete), scheduling links for a
candidate, and bookings (read).

Writes go through the same services as the Library's editor (:mod:`scheduling.template_services`)
and the journeys' scheduling step (:func:`scheduling.services.request_create`). Ids of another
organization's objects — in the path or in the body — are 404. A name that is taken, or a
template still in use on delete, is 409. A scheduling link that can't be made or sent (no
interviewers, the candidate has no address for the template's messages …) is 422 with the reason.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Prefetch
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import exceptions, generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from candidates.models import Application, Candidate
from recruitflow.api import Unprocessable

from . import services, template_services
from .models import (
    BookedSlot,
    Booking,
    BookingStatus,
    RequestSource,
    SchedulingTemplate,
    SchedulingTemplateMember,
)
from .serializers import (
    MAX_ID,
    BookingSerializer,
    SchedulingErrorSerializer,
    SchedulingLinkCreate,
    SchedulingLinkSerializer,
    SchedulingTemplateCreate,
    SchedulingTemplateSerializer,
    SchedulingTemplateUpdate,
)


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the scheduling template as it is."
    default_code = "conflict"


_CONFLICT = OpenApiResponse(
    response=inline_serializer(
        "SchedulingTemplateConflict",
        fields={"detail": serializers.CharField(required=False)},
    ),
    description="The name is taken, or (on delete) scheduling requests or journey steps use "
    "the template; the body says which.",
)


def _organization(request):
    return request._request.organization


def _acting_user(request):
    """The person behind a browser-session call; API keys act for no particular user."""
    if getattr(request._request, "api_key", None) is not None:
        return None
    return request.user if request.user.is_authenticated else None


def _id_or_404(value, noun: str) -> int:
    if not isinstance(value, int) or not 0 < value <= MAX_ID:
        raise exceptions.NotFound(f"No such {noun} in your organization.")
    return value


# --- Scheduling templates ------------------------------------------------------------------------


def _templates(request):
    organization = _organization(request)
    members = SchedulingTemplateMember.objects.filter(organization=organization).select_related(
        "user"
    )
    return SchedulingTemplate.objects.filter(organization=organization).prefetch_related(
        Prefetch("members", queryset=members.order_by("-required", "id"), to_attr="api_members")
    )


def _template_or_404(request, pk) -> SchedulingTemplate:
    template = _templates(request).filter(pk=_id_or_404(pk, "scheduling template")).first()
    if template is None:
        raise exceptions.NotFound("No such scheduling template in your organization.")
    return template


def _api_errors(errors: dict[str, list[str]]) -> dict[str, list[str]]:
    """The service's field names as the API's: ``request_email`` → ``messages.request.email``,
    ``request`` → ``messages.request``."""
    kinds = {kind for kind, _ in template_services.MESSAGE_KINDS}
    out: dict[str, list[str]] = {}
    for key, messages in errors.items():
        if key in template_services.MESSAGE_FIELDS:
            kind, channel = key.rsplit("_", 1)
            key = f"messages.{kind}.{channel}"
        elif key in kinds:
            key = f"messages.{key}"
        out.setdefault(key, []).extend(messages)
    return out


def _save(*, request, data: dict, template: SchedulingTemplate | None = None):
    organization = _organization(request)
    values = (
        template_services.template_values(template)
        if template is not None
        else template_services.default_values(organization)
    )
    for key, value in data.items():
        if key == "messages":
            values["messages"] = {**values["messages"], **value}
        elif key == "windows":
            values["windows"] = [dict(w) for w in value]
        else:
            values[key] = value
    if data.get("video_link") and "meeting_link" not in data and values["meeting_link"] == "none":
        # A client that only knows video_link means "use this link".
        values["meeting_link"] = "fixed"
    if "required_member_ids" in data and "optional_member_ids" not in data:
        # Someone moved to required is no longer optional.
        values["optional_member_ids"] = [
            i for i in values["optional_member_ids"] if i not in data["required_member_ids"]
        ]
    name = " ".join(str(values["name"]).split())
    if name and (
        SchedulingTemplate.objects.filter(organization=organization, name__iexact=name)
        .exclude(pk=template.pk if template else None)
        .exists()
    ):
        raise Conflict({"name": [f"Another scheduling template is already called “{name}”."]})
    try:
        saved = template_services.template_save(
            organization=organization,
            values=values,
            template=template,
            actor=_acting_user(request) if template is None else None,
        )
    except DjangoValidationError as exc:
        raise exceptions.ValidationError(_api_errors(exc.message_dict)) from exc
    return _template_or_404(request, saved.pk)


def _flat_errors(errors, prefix: str = "") -> dict[str, list[str]]:
    """Nested serializer errors as one level, ``{"messages.request.email": [...]}`` and
    ``{"windows[2].start": [...]}`` (windows count from 1), the documented error shape."""
    flat: dict[str, list[str]] = {}
    if isinstance(errors, dict):
        items = errors.items()
    elif isinstance(errors, list) and any(isinstance(e, (dict, list)) for e in errors):
        items = enumerate(errors)
    else:
        return {prefix or "detail": [str(e) for e in errors]}
    for key, value in items:
        if isinstance(key, int):
            name = f"{prefix}[{key + 1}]"
        else:
            name = f"{prefix}.{key}" if prefix else str(key)
        if value in ({}, []):
            continue
        flat.update(_flat_errors(value, name))
    return flat


def _parse(request, serializer_class) -> dict:
    parser = serializer_class(data=request.data, context={"organization": _organization(request)})
    if not parser.is_valid():
        raise exceptions.ValidationError(_flat_errors(parser.errors))
    return parser.validated_data


_PRIYA = {"id": 41, "name": "Priya Raman", "email": "priya@northwind.example", "required": True}
_MARCO = {"id": 44, "name": "Marco Lind", "email": "marco@northwind.example", "required": False}
_WINDOWS = [{"weekday": day, "start": "09:00", "end": "17:00"} for day in range(5)]
_MESSAGES_REQUEST = {
    "request": {"email": 58, "sms": 59},
    "invitation": {"email": 60, "sms": None},
    "reminder": {"sms": 61},
}
_TEMPLATE_REQUEST = {
    "name": "Onsite interview",
    "event_title": "Onsite: {{ candidate.full_name }}",
    "duration_minutes": 60,
    "location": "Northwind, Torstraße 1, Berlin",
    "time_zone": "Europe/Berlin",
    "windows": _WINDOWS,
    "minimum_notice_hours": 24,
    "horizon_days": 14,
    "required_member_ids": [41],
    "optional_member_ids": [44],
    "messages": _MESSAGES_REQUEST,
}
_SCHEDULING_TEMPLATE = {
    "id": 23,
    "name": "Onsite interview",
    "event_title": "Onsite: {{ candidate.full_name }}",
    "description": "",
    "duration_minutes": 60,
    "location": "Northwind, Torstraße 1, Berlin",
    "video_link": "",
    "meeting_link": "none",
    "time_zone": "Europe/Berlin",
    "windows": _WINDOWS,
    "minimum_notice_hours": 24,
    "horizon_days": 14,
    "buffer_before_minutes": 0,
    "buffer_after_minutes": 15,
    "slot_interval_minutes": 30,
    "daily_limit": None,
    "reminder_delay_hours": 24,
    "members": [_PRIYA, _MARCO],
    "messages": {
        "request": {"email": 58, "sms": 59},
        "reminder": {"email": None, "sms": 61},
        "invitation": {"email": 60, "sms": None},
        "day_before": {"email": None, "sms": None},
        "cancellation": {"email": None, "sms": None},
    },
    "public_link_enabled": False,
    "public_link": None,
    "created_at": "2026-02-10T15:30:00Z",
    "updated_at": "2026-02-10T15:30:00Z",
}
_CHANGED = {**_SCHEDULING_TEMPLATE, "duration_minutes": 45, "updated_at": "2026-03-01T10:00:00Z"}
_LINK = {
    "id": 3302,
    "url": "https://recruitflow.example/s/r/7fQ2kV9xLmR4tP8w/",
    "status": "pending",
    "expires_at": "2026-03-16T14:05:00Z",
}
_BOOKING = {
    "id": 871,
    "request_id": 3302,
    "template": {"id": 23, "name": "Onsite interview"},
    "candidate": {"id": 2207, "name": "Sam Okafor", "email": "sam.okafor@example.com"},
    "title": "Onsite: Sam Okafor",
    "start": "2026-03-05T13:00:00Z",
    "end": "2026-03-05T14:00:00Z",
    "status": "confirmed",
    "location": "Northwind, Torstraße 1, Berlin",
    "video_link": "",
    "meeting_link_source": "none",
    "conference_status": "",
    "candidate_time_zone": "Europe/London",
    "attendees": [_PRIYA],
    "sequence": 0,
    "reschedule_count": 0,
    "cancelled_at": None,
    "cancelled_by": "",
    "cancel_reason": "",
    "created_at": "2026-03-02T16:40:00Z",
    "updated_at": "2026-03-02T16:40:00Z",
}
_CANCELLED = {**_BOOKING, "status": "cancelled", "sequence": 1,
              "cancelled_at": "2026-03-04T08:10:00Z", "cancelled_by": "candidate",
              "cancel_reason": "I accepted another offer.",
              "updated_at": "2026-03-04T08:10:00Z"}  # fmt: skip


def _answer(name: str, value, *codes: str) -> OpenApiExample:
    return OpenApiExample(name, value=value, response_only=True, status_codes=list(codes))


@extend_schema_view(
    get=extend_schema(
        summary="List scheduling templates",
        operation_id="scheduling_templates_list",
        description="Your organization's scheduling templates, a page at a time: the "
        "interview, who interviews (required and optional), the availability guardrails "
        "(weekly windows, notice, horizon, buffers, daily limit) and the Library templates of "
        "its five messages. Any key may read them.",
        examples=[_answer("An onsite interview", _SCHEDULING_TEMPLATE, "200")],
    ),
    post=extend_schema(
        summary="Create a scheduling template",
        operation_id="scheduling_templates_create",
        request=SchedulingTemplateCreate,
        responses={201: SchedulingTemplateSerializer, 409: _CONFLICT},
        description="Interviewers are team members' user ids (`/members/`); messages are "
        "Library message template ids (`/message-templates/`). Unknown ids are 404. A window "
        "that ends before it starts, or an unknown merge field in `event_title`, is 400 naming "
        "the field. Needs a read-and-write key; a name another template has is 409.",
        examples=[
            OpenApiExample("An onsite interview", value=_TEMPLATE_REQUEST, request_only=True),
            _answer("Created", _SCHEDULING_TEMPLATE, "201"),
            _answer("A retry with the same Idempotency-Key", _SCHEDULING_TEMPLATE, "200"),
        ],
    ),
)
class SchedulingTemplateListView(generics.ListCreateAPIView):
    """Your organization's scheduling templates: interviews candidates book themselves, with
    their interviewers, availability guardrails and the five messages."""

    serializer_class = SchedulingTemplateSerializer
    filter_backends: list = []

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no organization
            return SchedulingTemplate.unscoped.none()
        return _templates(self.request)

    def create(self, request, *args, **kwargs):
        data = _parse(request, SchedulingTemplateCreate)
        template = _save(request=request, data=data)
        return Response(SchedulingTemplateSerializer(template).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    get=extend_schema(
        summary="Get a scheduling template",
        operation_id="scheduling_templates_retrieve",
        description="One scheduling template. Any key may read it; another organization's "
        "template is 404.",
        examples=[_answer("An onsite interview", _SCHEDULING_TEMPLATE, "200")],
    ),
    patch=extend_schema(
        summary="Change a scheduling template",
        operation_id="scheduling_templates_partial_update",
        request=SchedulingTemplateUpdate,
        responses={200: SchedulingTemplateSerializer, 409: _CONFLICT},
        description="Send only what changes, with the checks of creating one (unknown "
        "member or message template ids 404, a window ending before it starts 400). "
        "Interviews already booked keep their times. Needs a read-and-write key; a name "
        "another template has is 409.",
        examples=[
            OpenApiExample("Shorter", value={"duration_minutes": 45}, request_only=True),
            _answer("Changed", _CHANGED, "200"),
        ],
    ),
    delete=extend_schema(
        summary="Delete a scheduling template nothing uses",
        operation_id="scheduling_templates_destroy",
        description="Deletes a template nothing uses; one that journey steps or scheduling "
        "requests use is 409 saying what uses it and what to do instead. Needs a read-and-write key.",
        responses={204: OpenApiResponse(description="Deleted."), 409: _CONFLICT},
    ),
)
class SchedulingTemplateDetailView(generics.RetrieveUpdateDestroyAPIView):
    """One scheduling template."""

    serializer_class = SchedulingTemplateSerializer
    filter_backends: list = []
    http_method_names = ["get", "patch", "delete", "head", "options"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return SchedulingTemplate.unscoped.none()
        return _templates(self.request)

    def get_object(self):
        return _template_or_404(self.request, self.kwargs["pk"])

    def update(self, request, *args, **kwargs):
        template = self.get_object()
        data = _parse(request, SchedulingTemplateUpdate)
        return Response(
            SchedulingTemplateSerializer(_save(request=request, data=data, template=template)).data
        )

    def destroy(self, request, *args, **kwargs):
        template = self.get_object()
        try:
            template_services.template_delete(template=template)
        except template_services.TemplateInUse as exc:
            raise Conflict(str(exc)) from exc
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    post=extend_schema(
        summary="Make a scheduling link for a candidate",
        operation_id="scheduling_templates_links_create",
        description="The candidate's own link to book an interview from this template. With "
        "`send` (the default) the template's Request to Schedule goes out now by e-mail and/or "
        "text; with `send: false` you get the link to deliver yourself. Another "
        "organization's template, candidate or application is 404; a link that can't be made "
        "or sent is 422 with the reason. Needs a read-and-write key.",
        examples=[
            OpenApiExample(
                "Make and send",
                value={"candidate_id": 2207, "application_id": 1440, "send": True},
                request_only=True,
            ),
            _answer("Made", _LINK, "201"),
            _answer("A retry with the same Idempotency-Key", _LINK, "200"),
        ],
        request=SchedulingLinkCreate,
        responses={
            201: SchedulingLinkSerializer,
            422: OpenApiResponse(
                SchedulingErrorSerializer,
                "The link can't be made or sent: `detail` says why (e.g. no required "
                "interviewer, or the candidate has no address for the template's messages).",
            ),
        },
    )
)
class SchedulingLinkCreateView(APIView):
    """The candidate's own link to book an interview from this template. With `send` (the
    default) the template's Request to Schedule goes out now by e-mail and/or text."""

    serializer_class = SchedulingLinkSerializer

    def post(self, request, pk: int):
        template = _template_or_404(request, pk)
        scheduling_request = request_for_candidate(
            request, template, _parse(request, SchedulingLinkCreate)
        )
        return Response(
            SchedulingLinkSerializer(scheduling_request).data, status=status.HTTP_201_CREATED
        )


def request_for_candidate(request, template: SchedulingTemplate, data: dict):
    """Make (and with ``send``, send) a scheduling request of ``template`` for the candidate
    in ``data``: another organization's candidate or application is 404, a request that can't
    be made or sent is 422 with the reason."""
    organization = _organization(request)
    candidate = Candidate.objects.filter(
        organization=organization, pk=data["candidate_id"], deleted_at__isnull=True
    ).first()
    if candidate is None:
        raise exceptions.NotFound(
            f"No candidate with id {data['candidate_id']} in your organization."
        )
    application = None
    if data.get("application_id"):
        application = Application.objects.filter(
            organization=organization,
            pk=data["application_id"],
            candidate=candidate,
            deleted_at__isnull=True,
        ).first()
        if application is None:
            raise exceptions.NotFound(
                f"The candidate has no application with id {data['application_id']}."
            )
    try:
        scheduling_request = services.request_create(
            organization=organization,
            template=template,
            candidate=candidate,
            application=application,
            source=RequestSource.API,
            actor=_acting_user(request),
            send=data["send"],
        )
    except services.SchedulingError as exc:
        raise Unprocessable(str(exc), problem="scheduling_refused") from exc
    return scheduling_request


# --- Bookings ------------------------------------------------------------------------------------


def _bookings(request):
    organization = _organization(request)
    holds = BookedSlot.objects.filter(organization=organization).order_by("id")
    return (
        Booking.objects.filter(organization=organization)
        .select_related("candidate", "template")
        .prefetch_related(Prefetch("holds", queryset=holds, to_attr="api_holds"))
    )


def _people(bookings) -> dict:
    from django.contrib.auth import get_user_model

    ids = {user_id for booking in bookings for user_id in booking.attendee_ids or []}
    return {u.pk: u for u in get_user_model().objects.filter(pk__in=ids)}


@extend_schema_view(
    get=extend_schema(
        summary="List bookings",
        operation_id="bookings_list",
        description="Interviews candidates booked, newest first, a page at a time: when "
        "(UTC, with the candidate's zone), with whom, from which template, and for a "
        "cancelled one who cancelled and why. Filter by status, candidate or template (a "
        "malformed value is 400). Any key may read them.",
        examples=[
            _answer("Confirmed", _BOOKING, "200"),
            _answer("Cancelled by the candidate", _CANCELLED, "200"),
        ],
        parameters=[
            OpenApiParameter(
                "status",
                OpenApiTypes.STR,
                enum=BookingStatus.values,
                description="Only confirmed or only cancelled interviews.",
            ),
            OpenApiParameter(
                "candidate",
                {"type": "integer", "minimum": 1, "maximum": MAX_ID},
                description="Only this candidate's interviews.",
            ),
            OpenApiParameter(
                "template",
                {"type": "integer", "minimum": 1, "maximum": MAX_ID},
                description="Only interviews booked from this scheduling template.",
            ),
        ],
    )
)
class BookingListView(generics.ListAPIView):
    """Interviews candidates booked, newest first: when (UTC), with whom, from which template."""

    serializer_class = BookingSerializer
    filter_backends: list = []

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Booking.unscoped.none()
        bookings = _bookings(self.request)
        params = self.request.query_params
        wanted = params.get("status")
        if wanted is not None:
            if wanted not in BookingStatus.values:
                raise exceptions.ValidationError(
                    {"status": [f"Use one of: {', '.join(BookingStatus.values)}."]}
                )
            bookings = bookings.filter(status=wanted)
        for name, column in (("candidate", "candidate_id"), ("template", "template_id")):
            raw = params.get(name)
            if raw is None:
                continue
            if not raw.isascii() or not raw.isdigit() or not 0 < int(raw) <= MAX_ID:
                raise exceptions.ValidationError(
                    {name: [f"Use a {name} id: a whole number from 1 to {MAX_ID}."]}
                )
            bookings = bookings.filter(**{column: int(raw)})
        return bookings

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        serializer = BookingSerializer(page, many=True, context={"people": _people(page)})
        return self.get_paginated_response(serializer.data)


@extend_schema_view(
    get=extend_schema(
        summary="Get a booking",
        operation_id="bookings_retrieve",
        description="One booked interview. `sequence` is the calendar invitation's revision "
        "(it goes up when the interview is moved or cancelled); `reschedule_count` counts the "
        "moves. Any key may read it; another organization's booking is 404.",
        examples=[_answer("Confirmed", _BOOKING, "200")],
    )
)
class BookingDetailView(generics.RetrieveAPIView):
    """One booked interview."""

    serializer_class = BookingSerializer
    filter_backends: list = []

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Booking.unscoped.none()
        return _bookings(self.request)

    def get_object(self):
        pk = _id_or_404(self.kwargs["pk"], "booking")
        booking = self.get_queryset().filter(pk=pk).first()
        if booking is None:
            raise exceptions.NotFound("No such booking in your organization.")
        return booking
