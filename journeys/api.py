"""Partner API: journeys (create, read, update, delete, activate, pause) and their runs (read).

Writes go through the same services as the builder: the journey lifecycle in
``journeys.services`` and the edits in ``journeys.editing`` (a new version when the current one
has runs)."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import Count, Prefetch, Q
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import exceptions, generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from . import editing, services
from .forms import CriteriaNames
from .models import Journey, JourneyRun, JourneyStep, RunStatus, StepRun
from .serializers import (
    CriteriaSerializer,
    JourneyActivationErrorSerializer,
    JourneyRunSerializer,
    JourneySerializer,
)

NAME_TAKEN = OpenApiResponse(description="Another journey of your organization has this name.")


class Conflict(exceptions.APIException):
    """The request is well formed but the journey's state does not allow it."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "The journey's current state does not allow this."
    default_code = "conflict"


def _organization(request):
    return request._request.organization


def _acting_user(request):
    """The person behind a browser-session call; API keys act for no particular user."""
    if getattr(request._request, "api_key", None) is not None:
        return None
    return request.user if request.user.is_authenticated else None


def _journeys(request):
    organization = _organization(request)
    steps = JourneyStep.objects.filter(organization=organization).order_by("position", "id")
    return (
        Journey.objects.filter(organization=organization)
        .select_related("current_version")
        .prefetch_related(Prefetch("current_version__steps", queryset=steps, to_attr="api_steps"))
        .annotate(runs_in_progress=Count("runs", filter=Q(runs__status=RunStatus.ACTIVE)))
    )


def _journey_or_404(request, pk) -> Journey:
    journey = _journeys(request).filter(pk=pk).first()
    if journey is None:
        raise exceptions.NotFound("No such journey in your organization.")
    return journey


def _flat_errors(errors, prefix: str = "") -> dict[str, list[str]]:
    """Nested serializer errors as one level, ``{"steps[2].config": [...]}`` (positions count
    from 1, like the builder's steps), so every error response has the documented shape."""
    flat: dict[str, list[str]] = {}
    if isinstance(errors, dict):
        items = errors.items()
    elif isinstance(errors, list) and any(isinstance(e, (dict, list)) for e in errors):
        items = enumerate(errors)
    else:
        return {prefix or "detail": [str(e) for e in errors]}
    for key, value in items:
        if isinstance(key, int) or (isinstance(key, str) and key.isdigit()):
            name = f"{prefix}[{int(key) + 1}]"
        else:
            name = f"{prefix}.{key}" if prefix else str(key)
        if value in ({}, []):
            continue
        flat.update(_flat_errors(value, name))
    return flat


def _validated(serializer) -> dict:
    if not serializer.is_valid():
        raise exceptions.ValidationError(_flat_errors(serializer.errors))
    return serializer.validated_data


@transaction.atomic
def _apply(*, request, data: dict, journey: Journey | None = None) -> Journey:
    """Create or change a journey from validated API data, all or nothing."""
    organization, user = _organization(request), _acting_user(request)
    if journey is None:
        journey = services.journey_create(organization=organization, name=data["name"], user=user)
    elif "name" in data:
        editing.journey_update(journey=journey, name=data["name"])
    if "description" in data:
        editing.journey_update(journey=journey, description=data["description"])
    if {"trigger", "criteria", "exit_rules"} & set(data):
        journey.refresh_from_db()
        version = journey.current_version
        trigger = data.get("trigger") or {}
        criteria = data.get("criteria") or {}
        editing.journey_trigger_update(
            journey=journey,
            user=user,
            trigger=trigger.get("kind", version.trigger),
            stale_days=trigger.get("stale_days", version.stale_days),
            exit_rules=data.get("exit_rules", version.exit_rules),
            **{
                name: criteria.get(name, getattr(version, name))
                for name in CriteriaSerializer().fields
            },
        )
    if "steps" in data:
        editing.journey_steps_replace(
            journey=journey,
            user=user,
            steps=[
                {
                    "kind": step["kind"],
                    "message_template": step.get("message_template_id"),
                    "config": step.get("config", {}),
                }
                for step in data["steps"]
            ],
        )
    return journey


@extend_schema_view(
    get=extend_schema(summary="List journeys", operation_id="journeys_list"),
    post=extend_schema(
        summary="Create a journey",
        operation_id="journeys_create",
        responses={201: JourneySerializer, 409: NAME_TAKEN},
    ),
)
class JourneyListView(generics.ListCreateAPIView):
    """Your organization's journeys, each as its current version defines it. A new journey is
    paused; activate it with `POST /journeys/{id}/activate/`."""

    serializer_class = JourneySerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no organization
            return Journey.unscoped.none()
        return _journeys(self.request)

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        names = CriteriaNames.for_versions(
            organization=_organization(request), versions=[j.current_version for j in page]
        )
        serializer = self.get_serializer(
            page, many=True, context={**self.get_serializer_context(), "criteria_names": names}
        )
        return self.get_paginated_response(serializer.data)

    def create(self, request, *args, **kwargs):
        data = _validated(self.get_serializer(data=request.data))
        journey = _apply(request=request, data=data)
        fresh = _journey_or_404(request, journey.pk)
        return Response(self.get_serializer(fresh).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    get=extend_schema(summary="Get a journey", operation_id="journeys_retrieve"),
    patch=extend_schema(
        summary="Change a journey",
        operation_id="journeys_partial_update",
        responses={200: JourneySerializer, 409: NAME_TAKEN},
        description="Send only what changes. `criteria` lists are replaced one by one (lists "
        "you leave out stay); `steps` replaces every step, in order.",
    ),
    delete=extend_schema(
        summary="Delete a journey that never ran",
        operation_id="journeys_destroy",
        description="A journey with runs keeps its history: pause it instead (409).",
        responses={
            204: OpenApiResponse(description="Deleted."),
            409: OpenApiResponse(description="The journey has runs; `detail` says what to do."),
        },
    ),
)
class JourneyDetailView(generics.RetrieveUpdateDestroyAPIView):
    """One journey. Changing the trigger, criteria, exit rules or steps of a journey whose
    current version has runs starts a new version: running candidates keep theirs."""

    serializer_class = JourneySerializer
    http_method_names = ["get", "patch", "delete", "head", "options"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Journey.unscoped.none()
        return _journeys(self.request)

    def get_object(self):
        return _journey_or_404(self.request, self.kwargs["pk"])

    def update(self, request, *args, **kwargs):
        journey = self.get_object()
        data = _validated(self.get_serializer(journey, data=request.data, partial=True))
        _apply(request=request, data=data, journey=journey)
        return Response(self.get_serializer(_journey_or_404(request, journey.pk)).data)

    def perform_destroy(self, instance):
        try:
            editing.journey_delete(journey=instance)
        except DjangoValidationError as exc:
            raise Conflict(" ".join(exc.messages)) from exc


class _JourneyAction(APIView):
    serializer_class = JourneySerializer

    def act(self, request, journey: Journey) -> None:
        raise NotImplementedError

    def post(self, request, pk: int):
        journey = _journey_or_404(request, pk)
        self.act(request, journey)
        return Response(JourneySerializer(_journey_or_404(request, pk)).data)


@extend_schema_view(
    post=extend_schema(
        summary="Activate a journey",
        operation_id="journeys_activate",
        request=None,
        responses={200: JourneySerializer, 409: JourneyActivationErrorSerializer},
    )
)
class JourneyActivateView(_JourneyAction):
    """Candidates who match the trigger from now on start the journey. When it can't run, 409
    lists every reason (for example a send step without a template)."""

    def act(self, request, journey):
        try:
            services.journey_activate(journey=journey, user=_acting_user(request))
        except DjangoValidationError as exc:
            raise Conflict({"detail": exc.messages}) from exc


@extend_schema_view(
    post=extend_schema(
        summary="Pause a journey",
        operation_id="journeys_pause",
        request=None,
        responses={200: JourneySerializer},
    )
)
class JourneyPauseView(_JourneyAction):
    """No new candidates start the journey; those in it wait at their next step until it is
    activated again."""

    def act(self, request, journey):
        services.journey_pause(journey=journey, user=_acting_user(request))


def _runs(request):
    organization = _organization(request)
    step_runs = (
        StepRun.objects.filter(organization=organization)
        .select_related("step")
        .order_by("position", "id")
    )
    return (
        JourneyRun.objects.filter(organization=organization)
        .select_related("candidate", "version")
        .prefetch_related(Prefetch("step_runs", queryset=step_runs, to_attr="api_step_runs"))
    )


@extend_schema_view(
    get=extend_schema(
        summary="List a journey's runs",
        operation_id="journeys_runs_list",
        parameters=[
            OpenApiParameter(
                "status",
                str,
                enum=RunStatus.values,
                required=False,
                description="Only runs with this status.",
            )
        ],
    )
)
class JourneyRunListView(generics.ListAPIView):
    """Every candidate who entered the journey, newest first, with their step runs."""

    serializer_class = JourneyRunSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return JourneyRun.unscoped.none()
        journey = _journey_or_404(self.request, self.kwargs["pk"])
        runs = _runs(self.request).filter(journey=journey)
        wanted = self.request.query_params.get("status")
        if wanted is not None:
            if wanted not in RunStatus.values:
                raise exceptions.ValidationError(
                    {"status": [f"Use one of: {', '.join(RunStatus.values)}."]}
                )
            runs = runs.filter(status=wanted)
        return runs


@extend_schema_view(get=extend_schema(summary="Get a run", operation_id="journey_runs_retrieve"))
class JourneyRunDetailView(generics.RetrieveAPIView):
    """One candidate's run of a journey, with each step's execution."""

    serializer_class = JourneyRunSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return JourneyRun.unscoped.none()
        return _runs(self.request)
