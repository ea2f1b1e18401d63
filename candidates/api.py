"""Partner API of the ATS mirror: candidates (search and filters), their applications, the stage
changes (a feed for warehouses) and each candidate's timeline. Read-only: the ATS owns these
records; RecruitFlow keeps a mirror.

Every query runs in the organization of the API key (or the signed-in member, narrowed to the
candidates they may see); another organization's ids are 404.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import exceptions, generics, serializers

from .models import (
    Application,
    ApplicationStatus,
    Candidate,
    StageTransition,
    TimelineEvent,
    provider_choices,
)

# The ATS the schema examples show: the first stored provider identifier.
EXAMPLE_PROVIDER = provider_choices()[0][0]

MAX_ID = 2**63 - 1
# The stage-change feed shows a change once it is this old: a change written by a transaction
# that commits late (its observed time is taken before the commit) is never passed by a cursor.
FEED_SETTLE = timedelta(seconds=30)
MIN_PHONE_DIGITS = 6


# ----------------------------------------------------------------------------------------------
# Serializers
# ----------------------------------------------------------------------------------------------


class NamedRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


def _ref(obj) -> dict | None:
    return {"id": obj.pk, "name": obj.name} if obj is not None else None


class ApplicationSerializer(serializers.ModelSerializer):
    candidate_id = serializers.IntegerField(read_only=True)
    job = serializers.SerializerMethodField()
    stage = serializers.SerializerMethodField()
    status = serializers.ChoiceField(choices=ApplicationStatus.choices, read_only=True)
    updated_at = serializers.DateTimeField(source="synced_at", read_only=True)

    class Meta:
        model = Application
        fields = [
            "id",
            "candidate_id",
            "job",
            "stage",
            "stage_name",
            "status",
            "source_name",
            "prospect",
            "applied_at",
            "stage_entered_at",
            "last_activity_at",
            "provider",
            "external_id",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(NamedRefSerializer(allow_null=True))
    def get_job(self, application) -> dict | None:
        return _ref(application.job)

    @extend_schema_field(NamedRefSerializer(allow_null=True))
    def get_stage(self, application) -> dict | None:
        return _ref(application.stage)


class CandidateSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="full_name", read_only=True)
    emails = serializers.SerializerMethodField()
    phones = serializers.SerializerMethodField()
    tags = serializers.ListField(child=serializers.CharField(), read_only=True)
    applications = serializers.SerializerMethodField()
    updated_at = serializers.DateTimeField(source="synced_at", read_only=True)

    class Meta:
        model = Candidate
        fields = [
            "id",
            "first_name",
            "last_name",
            "name",
            "primary_email",
            "emails",
            "mobile_phone",
            "phones",
            "time_zone",
            "tags",
            "provider",
            "external_id",
            "remote_updated_at",
            "updated_at",
            "applications",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_emails(self, candidate) -> list[str]:
        return _values(candidate.emails)

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_phones(self, candidate) -> list[str]:
        return _values(candidate.phones)

    @extend_schema_field(ApplicationSerializer(many=True))
    def get_applications(self, candidate) -> list[dict]:
        return list(ApplicationSerializer(candidate.api_applications, many=True).data)


def _values(items) -> list[str]:
    """The addresses or numbers of an ATS contact list (``[{"value": ..., "type": ...}]``)."""
    values = []
    for item in items or []:
        value = item.get("value") if isinstance(item, dict) else item
        if isinstance(value, str) and value.strip():
            values.append(value.strip())
    return values


class StageTransitionSerializer(serializers.ModelSerializer):
    candidate_id = serializers.IntegerField(read_only=True)
    application_id = serializers.IntegerField(read_only=True)
    job = serializers.SerializerMethodField()

    class Meta:
        model = StageTransition
        fields = [
            "id",
            "candidate_id",
            "application_id",
            "job",
            "from_stage_name",
            "to_stage_name",
            "from_status",
            "to_status",
            "is_new_application",
            "observed_at",
            "source",
            "provider",
        ]
        read_only_fields = fields

    @extend_schema_field(NamedRefSerializer(allow_null=True))
    def get_job(self, transition) -> dict | None:
        return _ref(transition.job)


class TimelineEventSerializer(serializers.ModelSerializer):
    application_id = serializers.IntegerField(read_only=True, allow_null=True)

    class Meta:
        model = TimelineEvent
        fields = ["id", "kind", "summary", "detail", "data", "application_id", "occurred_at"]
        read_only_fields = fields


# ----------------------------------------------------------------------------------------------
# Query parameters
# ----------------------------------------------------------------------------------------------


class _Filters(serializers.Serializer):
    job = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False)
    stage = serializers.CharField(max_length=255, required=False)
    status = serializers.ChoiceField(choices=ApplicationStatus.values, required=False)
    updated_since = serializers.DateTimeField(required=False)


class CandidateFilters(_Filters):
    q = serializers.CharField(max_length=200, required=False, trim_whitespace=True)
    email = serializers.EmailField(required=False)
    phone = serializers.CharField(max_length=40, required=False)

    def validate_phone(self, value: str) -> str:
        digits = phone_digits(value)
        if len(digits) < MIN_PHONE_DIGITS or re.search(r"[^\d\s()+.\-/]", value):
            raise serializers.ValidationError(
                f"Use a phone number in any format, with at least {MIN_PHONE_DIGITS} digits "
                "(e.g. +44 7700 900123 or (415) 555-0100)."
            )
        return digits


class ApplicationFilters(_Filters):
    candidate = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False)


class TransitionFilters(serializers.Serializer):
    since = serializers.DateTimeField(required=False)
    candidate = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False)
    job = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False)


def phone_digits(value: str) -> str:
    """The digits that identify a number typed in any format: no international prefix (+, 00)
    and no national trunk 0, so "+44 7700 900123", "0044 7700 900123" and "07700 900123" all
    give digits that end the stored E.164 number."""
    return re.sub(r"\D", "", value).lstrip("0")


def _params(serializer_class, request) -> dict:
    params = serializer_class(data=request.query_params.dict())
    params.is_valid(raise_exception=True)
    return params.validated_data


def _live_applications(organization) -> QuerySet[Application]:
    return Application.objects.filter(organization=organization, deleted_at__isnull=True)


def _applications_filtered(organization, params: dict) -> QuerySet[Application]:
    applications = _live_applications(organization)
    if params.get("job"):
        applications = applications.filter(job_id=params["job"])
    if params.get("stage"):
        applications = applications.filter(stage_name__iexact=params["stage"])
    if params.get("status"):
        applications = applications.filter(status=params["status"])
    return applications


def _text_matches(q: str) -> Q:
    digits = phone_digits(q)
    if len(digits) >= MIN_PHONE_DIGITS and not re.search(r"[^\d\s()+.\-/]", q):
        return Q(mobile_phone__endswith=digits) | Q(phones__icontains=q)
    condition = Q()
    for word in q.split()[:5]:
        condition &= (
            Q(first_name__icontains=word)
            | Q(last_name__icontains=word)
            | Q(primary_email__icontains=word)
            | Q(emails__icontains=word)
        )
    return condition


def candidates_matching(organization, params: dict) -> QuerySet[Candidate]:
    candidates = Candidate.objects.filter(
        organization=organization, deleted_at__isnull=True, merged_into__isnull=True
    )
    if any(params.get(name) for name in ("job", "stage", "status")):
        candidates = candidates.filter(
            pk__in=_applications_filtered(organization, params).values("candidate_id")
        )
    if params.get("q"):
        candidates = candidates.filter(_text_matches(params["q"]))
    if params.get("email"):
        email = params["email"]
        candidates = candidates.filter(
            Q(primary_email__iexact=email) | Q(emails__icontains=f'"{email}"')
        )
    if params.get("phone"):
        candidates = candidates.filter(mobile_phone__endswith=params["phone"])
    if params.get("updated_since"):
        candidates = candidates.filter(synced_at__gte=params["updated_since"])
    applications = _live_applications(organization).select_related("job", "stage")
    return candidates.prefetch_related(
        Prefetch(
            "applications",
            queryset=applications.order_by("-last_activity_at", "-id"),
            to_attr="api_applications",
        )
    )


def _organization(request):
    return request._request.organization


def _schema_view(view) -> bool:
    return getattr(view, "swagger_fake_view", False)


# ----------------------------------------------------------------------------------------------
# Views
# ----------------------------------------------------------------------------------------------

_COMMON_FILTERS = [
    OpenApiParameter(
        "job",
        {"type": "integer", "minimum": 1, "maximum": MAX_ID},
        description="Only those with an application for this job (a RecruitFlow job id).",
    ),
    OpenApiParameter(
        "stage",
        {"type": "string", "maxLength": 255},
        description="Only those with an application in a stage of this name (any job; "
        "case-insensitive), e.g. `Onsite Interview`.",
    ),
    OpenApiParameter(
        "status",
        OpenApiTypes.STR,
        enum=ApplicationStatus.values,
        description="Only those with an application in this status.",
    ),
    OpenApiParameter(
        "updated_since",
        OpenApiTypes.DATETIME,
        description="Only those RecruitFlow changed at or after this moment (ISO 8601).",
    ),
]

_CANDIDATE_EXAMPLE: dict[str, Any] = {
    "id": 812,
    "first_name": "Jordan",
    "last_name": "Rivera",
    "name": "Jordan Rivera",
    "primary_email": "jordan.rivera@example.net",
    "emails": ["jordan.rivera@example.net"],
    "mobile_phone": "+447700900123",
    "phones": ["07700 900123"],
    "time_zone": "Europe/London",
    "tags": ["referral"],
    "provider": EXAMPLE_PROVIDER,
    "external_id": "58231",
    "remote_updated_at": "2026-03-02T09:14:00Z",
    "updated_at": "2026-03-02T09:14:03Z",
    "applications": [
        {
            "id": 1440,
            "candidate_id": 812,
            "job": {"id": 31, "name": "Sales Rep"},
            "stage": {"id": 95, "name": "Onsite Interview"},
            "stage_name": "Onsite Interview",
            "status": "active",
            "source_name": "LinkedIn",
            "prospect": False,
            "applied_at": "2026-02-20T16:00:00Z",
            "stage_entered_at": "2026-03-02T09:13:58Z",
            "last_activity_at": "2026-03-02T09:13:58Z",
            "provider": EXAMPLE_PROVIDER,
            "external_id": "77120",
            "updated_at": "2026-03-02T09:14:03Z",
        }
    ],
}


@extend_schema_view(
    get=extend_schema(
        summary="Search candidates",
        operation_id="candidates_list",
        description="Candidates of your organization, newest first. `q` searches names and "
        "e-mail addresses word by word, or — when it is a phone number — the mobile number in "
        "any format (`+44 7700 900123`, `07700 900123`, `(415) 555-0100`). Filters combine; "
        "the job, stage and status filters apply to one and the same application.",
        parameters=[
            OpenApiParameter(
                "q",
                {"type": "string", "maxLength": 200},
                description="Name, e-mail address or phone number (any format).",
            ),
            OpenApiParameter(
                "email",
                OpenApiTypes.EMAIL,
                description="Exactly this e-mail address (any of the candidate's).",
            ),
            OpenApiParameter(
                "phone",
                {"type": "string", "maxLength": 40},
                description="This mobile number, written in any format.",
            ),
            *_COMMON_FILTERS,
        ],
        examples=[OpenApiExample("A candidate", value=_CANDIDATE_EXAMPLE, response_only=True)],
    )
)
class CandidateListView(generics.ListAPIView):
    """Find candidates by name, e-mail or phone, and filter them by job, stage, status or when
    they last changed."""

    serializer_class = CandidateSerializer
    filter_backends: list = []

    def get_queryset(self):
        if _schema_view(self):
            return Candidate.unscoped.none()
        return candidates_matching(
            _organization(self.request), _params(CandidateFilters, self.request)
        )


@extend_schema_view(
    get=extend_schema(
        summary="Get a candidate",
        operation_id="candidates_retrieve",
        description="One candidate with their live applications (job, stage, status).",
        examples=[OpenApiExample("A candidate", value=_CANDIDATE_EXAMPLE, response_only=True)],
    )
)
class CandidateDetailView(generics.RetrieveAPIView):
    """One candidate and their applications."""

    serializer_class = CandidateSerializer
    filter_backends: list = []

    def get_queryset(self):
        if _schema_view(self):
            return Candidate.unscoped.none()
        return candidates_matching(_organization(self.request), {})

    def get_object(self):
        candidate = self.get_queryset().filter(pk=_id_or_404(self.kwargs["pk"])).first()
        if candidate is None:
            raise exceptions.NotFound("No such candidate in your organization.")
        return candidate


def _id_or_404(raw) -> int:
    value = int(raw)
    if not 0 < value <= MAX_ID:
        raise exceptions.NotFound("No such object in your organization.")
    return value


_APPLICATION_EXAMPLE = _CANDIDATE_EXAMPLE["applications"][0]


@extend_schema_view(
    get=extend_schema(
        summary="List applications",
        operation_id="applications_list",
        description="Applications (one candidate for one job), newest first, with their job, "
        "stage and status.",
        parameters=[
            OpenApiParameter(
                "candidate",
                {"type": "integer", "minimum": 1, "maximum": MAX_ID},
                description="Only this candidate's applications.",
            ),
            *_COMMON_FILTERS,
        ],
        examples=[OpenApiExample("An application", value=_APPLICATION_EXAMPLE, response_only=True)],
    )
)
class ApplicationListView(generics.ListAPIView):
    """Applications, filtered by candidate, job, stage, status or when they last changed."""

    serializer_class = ApplicationSerializer
    filter_backends: list = []

    def get_queryset(self):
        if _schema_view(self):
            return Application.unscoped.none()
        params = _params(ApplicationFilters, self.request)
        applications = _applications_filtered(_organization(self.request), params)
        if params.get("candidate"):
            applications = applications.filter(candidate_id=params["candidate"])
        if params.get("updated_since"):
            applications = applications.filter(synced_at__gte=params["updated_since"])
        return applications.select_related("job", "stage")


@extend_schema_view(
    get=extend_schema(
        summary="Get an application",
        operation_id="applications_retrieve",
        description="One application: the candidate, the job, the current stage and status.",
        examples=[OpenApiExample("An application", value=_APPLICATION_EXAMPLE, response_only=True)],
    )
)
class ApplicationDetailView(generics.RetrieveAPIView):
    """One application."""

    serializer_class = ApplicationSerializer
    filter_backends: list = []

    def get_queryset(self):
        if _schema_view(self):
            return Application.unscoped.none()
        return _live_applications(_organization(self.request)).select_related("job", "stage")

    def get_object(self):
        application = self.get_queryset().filter(pk=_id_or_404(self.kwargs["pk"])).first()
        if application is None:
            raise exceptions.NotFound("No such application in your organization.")
        return application


_TRANSITION_EXAMPLE = {
    "id": 99120,
    "candidate_id": 812,
    "application_id": 1440,
    "job": {"id": 31, "name": "Sales Rep"},
    "from_stage_name": "Recruiter Phone Screen",
    "to_stage_name": "Onsite Interview",
    "from_status": "active",
    "to_status": "active",
    "is_new_application": False,
    "observed_at": "2026-03-02T09:13:58Z",
    "source": "webhook",
    "provider": EXAMPLE_PROVIDER,
}


@extend_schema_view(
    get=extend_schema(
        summary="Stage changes (a feed)",
        operation_id="stage_transitions_list",
        description="Every stage change RecruitFlow observed, oldest first, for loading into a "
        "warehouse. Start with `since` (or from the beginning), follow `next` page by page; on "
        f"the last page `next` is still given: store it and call it later for the changes "
        f"since. A change appears once it is {FEED_SETTLE.seconds} seconds old, so a cursor "
        "never passes a change that was still being written.",
        parameters=[
            OpenApiParameter(
                "since",
                OpenApiTypes.DATETIME,
                description="Start with changes observed at or after this moment (ISO 8601).",
            ),
            OpenApiParameter(
                "candidate",
                {"type": "integer", "minimum": 1, "maximum": MAX_ID},
                description="Only this candidate's changes.",
            ),
            OpenApiParameter(
                "job",
                {"type": "integer", "minimum": 1, "maximum": MAX_ID},
                description="Only changes of applications for this job.",
            ),
        ],
        examples=[OpenApiExample("A stage change", value=_TRANSITION_EXAMPLE, response_only=True)],
    )
)
class StageTransitionListView(generics.ListAPIView):
    """Stage changes in the order RecruitFlow observed them, with a cursor that never ends."""

    serializer_class = StageTransitionSerializer
    filter_backends: list = []
    cursor_ordering = ("observed_at", "id")
    endless_cursor = True

    def get_queryset(self):
        if _schema_view(self):
            return StageTransition.unscoped.none()
        params = _params(TransitionFilters, self.request)
        transitions = StageTransition.objects.filter(
            organization=_organization(self.request),
            observed_at__lte=timezone.now() - FEED_SETTLE,
        )
        if params.get("since"):
            transitions = transitions.filter(observed_at__gte=params["since"])
        if params.get("candidate"):
            transitions = transitions.filter(candidate_id=params["candidate"])
        if params.get("job"):
            transitions = transitions.filter(job_id=params["job"])
        return transitions.select_related("job")


@extend_schema_view(
    get=extend_schema(
        summary="A candidate's timeline",
        operation_id="candidates_timeline_list",
        description="What happened to the candidate in RecruitFlow, newest first: journeys "
        "entered and left, messages sent, delivered, refused and received, opt-outs, "
        "scheduling links, bookings. `kind` says what it is and `data` carries its ids. Stage "
        "changes are in `GET /stage-transitions/?candidate={id}`.",
        examples=[
            OpenApiExample(
                "A journey entered",
                value={
                    "id": 5120,
                    "kind": "journey_entered",
                    "summary": "Entered journey “Onsite invitation”: moved to Onsite Interview",
                    "detail": "",
                    "data": {"journey_id": 7, "run_id": 301},
                    "application_id": 1440,
                    "occurred_at": "2026-03-02T09:14:01Z",
                },
                response_only=True,
            )
        ],
    )
)
class CandidateTimelineView(generics.ListAPIView):
    """The candidate's timeline events."""

    serializer_class = TimelineEventSerializer
    filter_backends: list = []
    cursor_ordering = ("-occurred_at", "-id")

    def get_queryset(self):
        if _schema_view(self):
            return TimelineEvent.unscoped.none()
        organization = _organization(self.request)
        candidate = (
            Candidate.objects.filter(organization=organization, deleted_at__isnull=True)
            .filter(pk=_id_or_404(self.kwargs["pk"]))
            .first()
        )
        if candidate is None:
            raise exceptions.NotFound("No such candidate in your organization.")
        return TimelineEvent.objects.filter(organization=organization, candidate=candidate)
