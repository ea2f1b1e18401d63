"""Partner API: journeys (create, read, update, delete, activate, pause) and their runs (read).

Writes go through the same services as the builder: the journey lifecycle in
``journeys.services`` and the edits in ``journeys.editing`` (a new version when the current one
has runs). Like the builder, changes to a live (published) journey go to its draft, shown as
``draft`` with what publishing changes; ``journeys.draft_api`` publishes or discards it. A
journey never live is edited in place; its activate action is the builder's first Publish."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import Count, Prefetch, Q
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import exceptions, generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from candidates.models import Application, Candidate
from recruitflow.api import Unprocessable

from . import api_examples as examples
from . import editing, services
from .enrollment import EnrollmentRefused, enroll
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
        version = services.edit_base(journey, draft=True) or journey.current_version
        trigger = data.get("trigger") or {}
        criteria = data.get("criteria") or {}
        editing.journey_trigger_update(
            journey=journey,
            user=user,
            draft=True,
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
            draft=True,
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


def _answer(name: str, value, *codes: str) -> OpenApiExample:
    return OpenApiExample(name, value=value, response_only=True, status_codes=list(codes))


@extend_schema_view(
    get=extend_schema(
        summary="List journeys",
        operation_id="journeys_list",
        description="Your organization's journeys, a page at a time, each as its current "
        "version defines it (trigger, criteria, exit rules, steps) with how many candidates "
        "are in it now. Any key may read them.",
        examples=[_answer("An active journey", examples.JOURNEY, "200")],
    ),
    post=extend_schema(
        summary="Create a journey",
        operation_id="journeys_create",
        description="Creates a journey, paused: activate it with "
        "`POST /journeys/{id}/activate/` once its steps are complete. Steps are given in "
        "order; a send step names a Library message template of its channel. Needs a "
        "read-and-write key; a name another journey has is 409, an invalid step or criteria "
        "400 naming the field (`steps[2].config`).",
        examples=[
            OpenApiExample(
                "Text, wait, then e-mail", value=examples.JOURNEY_REQUEST, request_only=True
            ),
            _answer("Created, paused", examples.NEW_JOURNEY, "201"),
            _answer("A retry with the same Idempotency-Key", examples.NEW_JOURNEY, "200"),
        ],
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
    get=extend_schema(
        summary="Get a journey",
        operation_id="journeys_retrieve",
        description="One journey as its current version defines it. Another organization's "
        "journey is 404.",
        examples=[_answer("An active journey", examples.JOURNEY, "200")],
    ),
    patch=extend_schema(
        summary="Change a journey",
        operation_id="journeys_partial_update",
        responses={200: JourneySerializer, 409: NAME_TAKEN},
        description="Send only what changes. `criteria` lists are replaced one by one (lists "
        "you leave out stay); `steps` replaces every step, in order. On a journey that has "
        "been live, changes to the trigger, criteria, exit rules or steps go to its draft, as "
        "in the builder: `draft` lists what publishing changes, and "
        "`POST /journeys/{id}/publish/` makes them live (running candidates keep their "
        "version). Name and description change at once. Needs a read-and-write key; a name "
        "another journey has is 409.",
        examples=[
            OpenApiExample(
                "Also exit on a reply",
                value={"exit_rules": ["left_stage", "rejected", "opted_out", "booked", "replied"]},
                request_only=True,
            ),
            _answer(
                "Saved in the draft",
                {
                    **examples.JOURNEY,
                    "draft": {
                        "version": 4,
                        "changes": ["New exit rule: stop when “candidate replied”."],
                    },
                },
                "200",
            ),
        ],
    ),
    delete=extend_schema(
        summary="Delete a journey that never ran",
        operation_id="journeys_destroy",
        description="Deletes a journey no candidate ever entered. A journey with runs keeps "
        "its history: pause it instead (409). Needs a read-and-write key.",
        responses={
            204: OpenApiResponse(description="Deleted."),
            409: OpenApiResponse(description="The journey has runs; `detail` says what to do."),
        },
    ),
)
class JourneyDetailView(generics.RetrieveUpdateDestroyAPIView):
    """One journey, as its live (current) version defines it, with its draft. Changes to the
    trigger, criteria, exit rules or steps of a live journey go to its draft (the builder's
    "Draft — not live"), until `POST /journeys/{id}/publish/` makes them live."""

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
        description="Candidates who match the trigger from now on start the journey (no "
        "body). For a journey never live this is the builder's first Publish, the same as "
        "`POST /journeys/{id}/publish/`; for a paused one it is Resume (a draft stays a draft). When it can't run, 409 lists every reason (for example a send step without a "
        "template). Activating an active journey changes nothing. Needs a read-and-write key.",
        examples=[_answer("Active", examples.JOURNEY, "200")],
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
        description="No new candidates start the journey; those in it wait at their next "
        "step until it is activated again (no body). Needs a read-and-write key.",
        examples=[_answer("Paused", examples.PAUSED, "200")],
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
        description="Every candidate who entered the journey, newest first, with each step's "
        "execution (due, held by quiet hours, done, failed) and the message it sent. Any key "
        "may read them; another organization's journey is 404.",
        examples=[_answer("A run at its wait", examples.RUN, "200")],
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


@extend_schema_view(
    get=extend_schema(
        summary="Get a run",
        operation_id="journey_runs_retrieve",
        description="One candidate's run of a journey: its status (active, completed, exited "
        "with the reason, failed, canceled) and each step's execution. Any key may read it; "
        "another organization's run is 404.",
        examples=[
            _answer("A run at its wait", examples.RUN, "200"),
            _answer(
                "Exited on a reply",
                {
                    **examples.RUN,
                    "status": "exited",
                    "reason": "the candidate replied",
                    "finished_at": "2026-03-03T09:12:00Z",
                },
                "200",
            ),
        ],
    )
)
class JourneyRunDetailView(generics.RetrieveAPIView):
    """One candidate's run of a journey, with each step's execution."""

    serializer_class = JourneyRunSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return JourneyRun.unscoped.none()
        return _runs(self.request)


# ----------------------------------------------------------------------------------------------
# Enrolment by hand
# ----------------------------------------------------------------------------------------------

MAX_ID = 2**63 - 1


class EnrollmentCreateSerializer(serializers.Serializer):
    candidate_id = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    application_id = serializers.IntegerField(
        min_value=1,
        max_value=MAX_ID,
        required=False,
        allow_null=True,
        help_text="The application the run is for; needed when the candidate has several.",
    )
    reason = serializers.CharField(
        min_length=1,
        max_length=300,
        help_text="Why, in words: shown on the candidate's timeline.",
    )


def _actor_words(request) -> str:
    key = getattr(request._request, "api_key", None)
    if key is not None:
        return f"API key “{key.name}”"
    user = request.user
    return (user.get_full_name() or user.email) if getattr(user, "pk", None) else "the API"


@extend_schema_view(
    post=extend_schema(
        summary="Put a candidate in a journey",
        operation_id="journeys_enrollments_create",
        description="Starts the journey now for the candidate's application (the one given, or "
        "their only live one), after the checks the journey engine makes: the journey is "
        "active; the stage change that brought the application where it is meets the "
        "journey's criteria; no exit rule already holds (rejected, hired, left the stage); the "
        "number has not opted out of texts when the journey texts or exits on opt-outs; the "
        "candidate is not in it already. A refusal is 422 with `code` naming the check "
        "(`paused`, `criteria`, `opted_out`, `rejected`, `hired`, `left_stage`, "
        "`already_enrolled`, `no_application`, `application_required`, `no_stage_change`) and "
        "the reason in `detail`. The reason you give goes on the candidate's timeline.",
        request=EnrollmentCreateSerializer,
        responses={
            201: JourneyRunSerializer,
            422: OpenApiResponse(description="The candidate can't enter the journey: why."),
        },
        examples=[
            OpenApiExample(
                "Add a candidate",
                value={
                    "candidate_id": 812,
                    "application_id": 1440,
                    "reason": "Asked by phone to get the onsite details again",
                },
                request_only=True,
            ),
            _answer(
                "Started",
                {
                    **examples.RUN,
                    "candidate": {"id": 812, "name": "Ada Byron"},
                    "application_id": 1440,
                    "step_runs": [examples.FIRST_STEP],
                },
                "201",
            ),
        ],
    )
)
class JourneyEnrollmentView(APIView):
    """Add one candidate to a journey by hand."""

    serializer_class = JourneyRunSerializer

    def post(self, request, pk: int):
        organization = _organization(request)
        journey = _journey_or_404(request, pk)
        data = _validated(EnrollmentCreateSerializer(data=request.data))
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
            enrollment = enroll(
                organization=organization,
                journey=journey,
                candidate=candidate,
                application=application,
                reason=data["reason"],
                actor=_actor_words(request),
            )
        except EnrollmentRefused as exc:
            raise Unprocessable(str(exc), problem="enrollment_refused", code=exc.code) from exc
        run = _runs(request).get(pk=enrollment.run.pk)
        return Response(JourneyRunSerializer(run).data, status=status.HTTP_201_CREATED)
