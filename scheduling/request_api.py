"""Partner API: scheduling requests — a candidate's invitation to book an interview from a
scheduling template (make one, list them, read one). Making one goes through
:func:`scheduling.api.request_for_candidate`, like `POST /scheduling-templates/{id}/links/`."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import exceptions, generics, serializers, status
from rest_framework.response import Response

from . import services
from .api import _organization, _parse, _template_or_404, request_for_candidate
from .models import RequestStatus, SchedulingRequest
from .serializers import MAX_ID, SchedulingLinkCreate


class SchedulingRequestCreate(SchedulingLinkCreate):
    template_id = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, help_text="The scheduling template (Library)."
    )


class TemplateRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class SchedulingRequestSerializer(serializers.ModelSerializer):
    template = serializers.SerializerMethodField()
    candidate_id = serializers.IntegerField(read_only=True)
    application_id = serializers.IntegerField(read_only=True, allow_null=True)
    url = serializers.SerializerMethodField()
    status = serializers.ChoiceField(choices=RequestStatus.choices, read_only=True)

    class Meta:
        model = SchedulingRequest
        fields = [
            "id",
            "template",
            "candidate_id",
            "application_id",
            "url",
            "status",
            "source",
            "expires_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(TemplateRefSerializer)
    def get_template(self, scheduling_request) -> dict:
        template = scheduling_request.template
        return {"id": template.pk, "name": template.name}

    @extend_schema_field({"type": "string", "format": "uri"})
    def get_url(self, scheduling_request) -> str:
        return services.request_link(scheduling_request)


_EXAMPLE = {
    "id": 5501,
    "template": {"id": 12, "name": "Onsite interview · Sales Rep"},
    "candidate_id": 812,
    "application_id": 1440,
    "url": "https://recruitflow.example/s/r/7fQ2…/",
    "status": "pending",
    "source": "api",
    "expires_at": "2026-03-16T09:14:00Z",
    "created_at": "2026-03-02T09:14:00Z",
    "updated_at": "2026-03-02T09:14:00Z",
}


def _requests(request):
    return SchedulingRequest.objects.filter(organization=_organization(request)).select_related(
        "template"
    )


class _RequestFilters(serializers.Serializer):
    status = serializers.ChoiceField(choices=RequestStatus.values, required=False)
    candidate = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False)
    template = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False)


@extend_schema_view(
    get=extend_schema(
        summary="List scheduling requests",
        operation_id="scheduling_requests_list",
        description="Invitations to book, newest first, with their status (waiting for the "
        "candidate, booked, cancelled, expired) and the candidate's link.",
        parameters=[
            OpenApiParameter(
                "status", OpenApiTypes.STR, enum=RequestStatus.values, description="Only these."
            ),
            OpenApiParameter(
                "candidate",
                {"type": "integer", "minimum": 1, "maximum": MAX_ID},
                description="Only this candidate's requests.",
            ),
            OpenApiParameter(
                "template",
                {"type": "integer", "minimum": 1, "maximum": MAX_ID},
                description="Only requests of this scheduling template.",
            ),
        ],
        examples=[OpenApiExample("A request", value=_EXAMPLE, response_only=True)],
    ),
    post=extend_schema(
        summary="Make a scheduling request",
        operation_id="scheduling_requests_create",
        description="Invite a candidate to book an interview from a scheduling template. With "
        "`send` (the default) the template's Request to Schedule goes out now by e-mail "
        "and/or text; with `send: false` you get the link to send yourself. Send an "
        "`Idempotency-Key` so a retry never invites twice. A request that can't be made or "
        "sent (no interviewer, no address for the template's messages…) is 422 with the "
        "reason.",
        request=SchedulingRequestCreate,
        responses={
            201: SchedulingRequestSerializer,
            422: OpenApiResponse(description="The request can't be made or sent: why."),
        },
        examples=[
            OpenApiExample(
                "Invite a candidate",
                value={"template_id": 12, "candidate_id": 812, "application_id": 1440},
                request_only=True,
            ),
            OpenApiExample("Made and sent", value=_EXAMPLE, response_only=True, status_codes=[201]),
        ],
    ),
)
class SchedulingRequestListView(generics.ListCreateAPIView):
    """Scheduling requests: list them, or invite a candidate."""

    serializer_class = SchedulingRequestSerializer
    filter_backends: list = []

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return SchedulingRequest.unscoped.none()
        params = _RequestFilters(data=self.request.query_params.dict())
        params.is_valid(raise_exception=True)
        wanted = params.validated_data
        requests = _requests(self.request)
        if wanted.get("status"):
            requests = requests.filter(status=wanted["status"])
        if wanted.get("candidate"):
            requests = requests.filter(candidate_id=wanted["candidate"])
        if wanted.get("template"):
            requests = requests.filter(template_id=wanted["template"])
        return requests

    def create(self, request, *args, **kwargs):
        data = _parse(request, SchedulingRequestCreate)
        template = _template_or_404(request, data["template_id"])
        scheduling_request = request_for_candidate(request, template, data)
        fresh = _requests(request).get(pk=scheduling_request.pk)
        return Response(SchedulingRequestSerializer(fresh).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    get=extend_schema(
        summary="Get a scheduling request",
        operation_id="scheduling_requests_retrieve",
        description="One invitation to book: its status and the candidate's link.",
        examples=[OpenApiExample("A request", value=_EXAMPLE, response_only=True)],
    )
)
class SchedulingRequestDetailView(generics.RetrieveAPIView):
    """One scheduling request."""

    serializer_class = SchedulingRequestSerializer
    filter_backends: list = []

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return SchedulingRequest.unscoped.none()
        return _requests(self.request)

    def get_object(self):
        pk = self.kwargs["pk"]
        found = self.get_queryset().filter(pk=pk).first() if 0 < pk <= MAX_ID else None
        if found is None:
            raise exceptions.NotFound("No such scheduling request in your organization.")
        return found
