"""Partner API shapes of journeys (trigger, criteria, exit rules and steps of the current
version) and of their runs."""

from __future__ import annotations

from django.core.validators import RegexValidator
from drf_spectacular.utils import extend_schema_field
from rest_framework import exceptions, serializers

from candidates.models import ApplicationStatus, Department, Job, Office
from library.models import MessageTemplate
from recruitflow.api import StrictCharField

from .editing import MAX_STALE_DAYS, MAX_STEPS, MAX_WAIT_DAYS, builder_step_kinds
from .forms import CriteriaNames, describe_trigger
from .models import (
    ConditionCheck,
    ExitRule,
    Journey,
    JourneyRun,
    RunStatus,
    StepKind,
    StepRunStatus,
    TriggerKind,
)
from .wording import publish_changes

MAX_CRITERIA_VALUES = 500
NOT_BLANK = RegexValidator(r"\S", "Enter some text, not only spaces.")
MAX_ID = 2**63 - 1

# The schemas below say exactly what the validation in ``journeys.editing`` accepts, so partners
# (and generated clients) learn the rules from the OpenAPI document instead of from 400s.
_NO_SETTINGS = {"type": "object", "maxProperties": 0, "description": "No settings: `{}`."}
_WAIT_DURATION = {
    "type": "object",
    "description": "Wait a length of time (at least one minute in all).",
    "properties": {
        "mode": {"type": "string", "enum": ["duration"]},
        "days": {"type": "integer", "minimum": 0, "maximum": MAX_WAIT_DAYS},
        "hours": {"type": "integer", "minimum": 0, "maximum": 23},
        "minutes": {"type": "integer", "minimum": 0, "maximum": 59},
    },
    "additionalProperties": False,
    "anyOf": [
        {"required": [unit], "properties": {unit: {"minimum": 1}}}
        for unit in ("days", "hours", "minutes")
    ],
}
_WAIT_UNTIL = {
    "type": "object",
    "description": "Wait until the next of these weekdays (0 = Monday) at this time, in the "
    "candidate's time zone.",
    "properties": {
        "mode": {"type": "string", "enum": ["until"]},
        "weekdays": {
            "type": "array",
            "items": {"type": "integer", "minimum": 0, "maximum": 6},
            "minItems": 1,
        },
        "time": {"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$"},
    },
    "required": ["mode", "weekdays", "time"],
    "additionalProperties": False,
}
_CONDITION = {
    "type": "object",
    "description": "Continue only when `check` gives `expect` (default true); otherwise the "
    "candidate exits the journey.",
    "properties": {
        "check": {"type": "string", "enum": list(ConditionCheck.values)},
        "expect": {"type": "boolean"},
    },
    "required": ["check"],
    "additionalProperties": False,
}
_POSITION = {"type": "integer", "readOnly": True, "description": "1 = the first step."}


def _step_variant(kinds, *, config, config_required: bool, template=None) -> dict:
    properties = {
        "position": _POSITION,
        "kind": {
            # A pattern, not an enum: the schema's enum post-processing would merge the
            # variants' enums into one.
            "type": "string",
            "pattern": "^(" + "|".join(str(k) for k in kinds) + ")$",
            "description": " or ".join(f"`{k}`" for k in kinds),
        },
    }
    if template is not None:  # only send steps have a template
        properties["message_template_id"] = template
    properties["config"] = config
    return {
        "type": "object",
        "properties": properties,
        "required": ["kind", "config"] if config_required else ["kind"],
    }


STEP_SCHEMA = {
    "description": "One step. Send steps name a Library message template of their channel in "
    "`message_template_id` (null while not chosen; such a journey can't be activated; other "
    "steps have none); waits and conditions take `config`.",
    "oneOf": [
        _step_variant(
            [StepKind.SEND_EMAIL, StepKind.SEND_SMS],
            template={
                "type": "integer",
                "minimum": 1,
                "maximum": MAX_ID,
                "nullable": True,
                "description": "A message template of the step's channel.",
            },
            config=_NO_SETTINGS,
            config_required=False,
        ),
        _step_variant([StepKind.WAIT], config=_WAIT_DURATION, config_required=True),
        _step_variant([StepKind.WAIT], config=_WAIT_UNTIL, config_required=True),
        _step_variant([StepKind.CONDITION], config=_CONDITION, config_required=True),
        _step_variant([StepKind.EXIT], config=_NO_SETTINGS, config_required=False),
        # Steps other apps plug in (a scheduling request, a video interview) name their Library
        # template by id.
        _step_variant(
            [StepKind.SEND_SCHEDULING_REQUEST],
            config={
                "type": "object",
                "properties": {
                    "template_id": {
                        "type": "integer",
                        "minimum": 1,
                        "maximum": MAX_ID,
                        "nullable": True,
                        "description": "A scheduling template of the Library "
                        "(/api/v1/scheduling-templates/).",
                    }
                },
                "additionalProperties": False,
                "description": "Empty while no template is chosen (such a journey can't be "
                "activated), like a send step without its message template.",
            },
            config_required=False,
        ),
        _step_variant(
            [StepKind.SEND_VIDEO_INTERVIEW],
            config={
                "type": "object",
                "properties": {
                    "template_id": {
                        "type": "integer",
                        "minimum": 1,
                        "maximum": MAX_ID,
                        "nullable": True,
                        "description": "A video interview template of the Library "
                        "(/api/v1/video-templates/).",
                    }
                },
                "additionalProperties": False,
                "description": "Empty while no template is chosen (such a journey can't be "
                "activated), like a send step without its message template.",
            },
            config_required=False,
        ),
    ],
}
_OTHER_TRIGGERS = [t for t in TriggerKind.values if t != TriggerKind.STALE_IN_STAGE]
TRIGGER_SCHEMA = {
    "type": "object",
    "description": "What starts the journey. `stale_in_stage` needs `stale_days`.",
    "properties": {
        "kind": {"type": "string", "enum": list(TriggerKind.values)},
        "stale_days": {
            "type": "integer",
            "minimum": 1,
            "maximum": MAX_STALE_DAYS,
            "nullable": True,
            "description": "Days without a stage change (for `stale_in_stage`).",
        },
    },
    "required": ["kind"],
    # Patterns, not enums, for the same reason as in the step variants.
    "anyOf": [
        {"properties": {"kind": {"pattern": "^(" + "|".join(_OTHER_TRIGGERS) + ")$"}}},
        {
            "properties": {
                "kind": {"pattern": f"^{TriggerKind.STALE_IN_STAGE.value}$"},
                "stale_days": {"type": "integer"},
            },
            "required": ["stale_days"],
        },
    ],
}


@extend_schema_field(TRIGGER_SCHEMA, component_name="JourneyTrigger")
class TriggerSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(
        choices=TriggerKind.choices, help_text="What starts the journey for a candidate."
    )
    stale_days = serializers.IntegerField(
        min_value=1,
        max_value=MAX_STALE_DAYS,
        allow_null=True,
        required=False,
        help_text="Days without a stage change, for the `stale_in_stage` trigger.",
    )

    def validate(self, data):
        if data["kind"] == TriggerKind.STALE_IN_STAGE and not data.get("stale_days"):
            raise serializers.ValidationError(
                {"stale_days": ["Enter how many days in the stage make a candidate stale."]}
            )
        return data


def _names(help_text: str):
    return serializers.ListField(
        child=StrictCharField(max_length=255, allow_blank=False, validators=[NOT_BLANK]),
        max_length=MAX_CRITERIA_VALUES,
        required=False,
        help_text=help_text,
    )


def _ids(help_text: str):
    return serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        max_length=MAX_CRITERIA_VALUES,
        required=False,
        help_text=help_text,
    )


class CriteriaSerializer(serializers.Serializer):
    """Every list is optional; an empty list means "any"."""

    stage_names = _names("Stage names (case-insensitive; the same stage of several jobs).")
    job_ids = _ids("Job ids (see the candidates mirror).")
    office_ids = _ids("Office ids.")
    department_ids = _ids("Department ids.")
    statuses = serializers.ListField(
        child=serializers.ChoiceField(choices=ApplicationStatus.choices),
        max_length=len(ApplicationStatus.choices),
        required=False,
        help_text="Application statuses.",
    )
    tags = _names("Candidate tags.")
    sources = _names("Application sources.")

    def validate(self, data):
        for name, model, noun in (
            ("job_ids", Job, "job"),
            ("office_ids", Office, "office"),
            ("department_ids", Department, "department"),
        ):
            wanted = set(data.get(name) or ())
            if not wanted:
                continue
            found = set(model.objects.filter(pk__in=wanted).values_list("pk", flat=True))
            missing = sorted(wanted - found)
            if missing:
                raise exceptions.NotFound(
                    f"criteria.{name}: no {noun} {missing[0]} in your organization. Use the ids "
                    "of synced jobs, offices and departments."
                )
        return data


class StepSerializer(serializers.Serializer):
    position = serializers.IntegerField(read_only=True)
    kind = serializers.ChoiceField(choices=[])
    message_template_id = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, allow_null=True, required=False
    )
    config = serializers.JSONField(required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The built-in kinds and those plugged in by other apps (known once apps are ready).
        self.fields["kind"].choices = [
            (kind, StepKind(kind).label if kind in StepKind.values else kind)
            for kind in builder_step_kinds()
        ]

    def to_representation(self, step):
        return {
            "position": step.position,
            "kind": step.kind,
            "message_template_id": step.message_template_id,
            "config": step.config or {},
        }

    def validate_message_template_id(self, value):
        if value is None:
            return None
        template = MessageTemplate.objects.filter(pk=value).first()
        if template is None:
            raise exceptions.NotFound(
                f"message_template_id: no message template {value} in your organization. List "
                "them at /api/v1/message-templates/ or create one in the Library."
            )
        return template


@extend_schema_field(STEP_SCHEMA, component_name="JourneyStep")
class StepField(serializers.Field):
    """One step of ``steps``, validated by :class:`StepSerializer` and documented by
    ``STEP_SCHEMA``."""

    def to_internal_value(self, data):
        step = StepSerializer(data=data, context=self.context)
        if not step.is_valid():
            raise serializers.ValidationError(step.errors)
        return step.validated_data

    def to_representation(self, step):
        return StepSerializer().to_representation(step)


class JourneyDraftSerializer(serializers.Serializer):
    """The unpublished edits of a live journey: what publishing them changes, in words."""

    version = serializers.IntegerField(help_text="The draft's version number.")
    changes = serializers.ListField(
        child=serializers.CharField(),
        help_text="What publishing the draft changes for candidates who enter from then on.",
    )


def draft_representation(journey: Journey, names: CriteriaNames | None = None) -> dict | None:
    """``{"version", "changes"}`` of a journey's draft (None without one)."""
    draft = journey.draft_version
    if draft is None:
        return None
    live = journey.current_version
    if names is None:
        names = CriteriaNames.for_versions(
            organization=journey.organization, versions=[v for v in (live, draft) if v]
        )
    return {
        "version": draft.number,
        "changes": [change.text for change in publish_changes(live, draft, names)],
    }


class JourneySerializer(serializers.Serializer):
    """A journey as its current version defines it. Writing trigger, criteria, exit rules or
    steps of a journey whose current version has runs starts a new version; running
    candidates keep the version they started with."""

    id = serializers.IntegerField(read_only=True)
    name = StrictCharField(max_length=200, validators=[NOT_BLANK])
    description = StrictCharField(required=False, allow_blank=True, max_length=5000)
    is_active = serializers.BooleanField(
        read_only=True, help_text="Change with the activate and pause endpoints."
    )
    version = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="The current version number."
    )
    trigger = TriggerSerializer(help_text="Required when creating a journey.")
    criteria = CriteriaSerializer(required=False)
    exit_rules = serializers.ListField(
        child=serializers.ChoiceField(choices=ExitRule.choices),
        max_length=len(ExitRule.choices),
        required=False,
        help_text="What ends a candidate's run at once, cancelling its pending steps.",
    )
    steps = serializers.ListField(
        child=StepField(),
        max_length=MAX_STEPS,
        required=False,
        help_text="Every step, in order. Writing it replaces all steps.",
    )
    trigger_summary = serializers.CharField(read_only=True)
    draft = JourneyDraftSerializer(
        read_only=True,
        allow_null=True,
        help_text="Changes to a live journey go to a draft (as in the builder): null without "
        "one. Publish it with `POST /journeys/{id}/publish/`, or discard it.",
    )
    runs_in_progress = serializers.IntegerField(read_only=True)
    activated_at = serializers.DateTimeField(read_only=True, allow_null=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)

    def validate_name(self, value: str) -> str:
        name = " ".join(value.split())
        taken = Journey.objects.filter(name__iexact=name)
        if self.instance is not None:
            taken = taken.exclude(pk=self.instance.pk)
        if taken.exists():
            raise NameTaken(f"Another journey is already called “{name}”. Choose another name.")
        return name

    def to_representation(self, journey):
        version = journey.current_version
        names = self.context.get("criteria_names")
        if names is None:
            names = CriteriaNames.for_versions(
                organization=journey.organization, versions=[version]
            )
        steps = getattr(version, "api_steps", None) if version else None
        if version is not None and steps is None:
            steps = list(version.steps.order_by("position", "id"))
        in_progress = getattr(journey, "runs_in_progress", None)
        if in_progress is None:
            in_progress = journey.runs.filter(status=RunStatus.ACTIVE).count()
        return {
            "id": journey.pk,
            "name": journey.name,
            "description": journey.description,
            "is_active": journey.is_active,
            "version": version.number if version else None,
            "trigger": {
                "kind": version.trigger if version else TriggerKind.ENTERED_STAGE.value,
                "stale_days": version.stale_days if version else None,
            },
            "criteria": {
                name: list(getattr(version, name)) if version else []
                for name in CriteriaSerializer().fields
            },
            "exit_rules": list(version.exit_rules) if version else [],
            "steps": [StepSerializer().to_representation(step) for step in steps or []],
            "trigger_summary": describe_trigger(version, names),
            "draft": draft_representation(journey) if journey.draft_version_id else None,
            "runs_in_progress": in_progress,
            "activated_at": serializers.DateTimeField().to_representation(journey.activated_at)
            if journey.activated_at
            else None,
            "created_at": serializers.DateTimeField().to_representation(journey.created_at),
            "updated_at": serializers.DateTimeField().to_representation(journey.updated_at),
        }


class NameTaken(exceptions.APIException):
    status_code = 409
    default_detail = "Another journey already has this name. Choose another name."
    default_code = "name_taken"


class JourneyActivationErrorSerializer(serializers.Serializer):
    detail = serializers.ListField(
        child=serializers.CharField(), help_text="Everything that stops the journey from running."
    )


class RunCandidateSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class StepRunSerializer(serializers.Serializer):
    position = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=StepKind.choices)
    status = serializers.ChoiceField(choices=StepRunStatus.choices)
    due_at = serializers.DateTimeField()
    held_until = serializers.DateTimeField(allow_null=True)
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    message_id = serializers.IntegerField(allow_null=True)
    reason = serializers.CharField()

    def to_representation(self, step_run):
        dt = serializers.DateTimeField()
        return {
            "position": step_run.position,
            "kind": step_run.step.kind,
            "status": step_run.status,
            "due_at": dt.to_representation(step_run.due_at),
            "held_until": dt.to_representation(step_run.held_until)
            if getattr(step_run, "held_until", None)
            else None,
            "started_at": dt.to_representation(step_run.started_at)
            if step_run.started_at
            else None,
            "finished_at": dt.to_representation(step_run.finished_at)
            if step_run.finished_at
            else None,
            "message_id": step_run.message_id,
            "reason": step_run.reason,
        }


class JourneyRunSerializer(serializers.ModelSerializer):
    journey_id = serializers.IntegerField(read_only=True)
    version = serializers.IntegerField(source="version.number", read_only=True)
    candidate = serializers.SerializerMethodField()
    application_id = serializers.IntegerField(read_only=True, allow_null=True)
    transition_id = serializers.IntegerField(read_only=True)
    step_runs = serializers.SerializerMethodField()

    class Meta:
        model = JourneyRun
        fields = [
            "id",
            "journey_id",
            "version",
            "candidate",
            "application_id",
            "transition_id",
            "status",
            "reason",
            "started_at",
            "finished_at",
            "step_runs",
        ]
        read_only_fields = fields

    @extend_schema_field(RunCandidateSerializer)
    def get_candidate(self, run) -> dict:
        return {"id": run.candidate_id, "name": run.candidate.full_name}

    @extend_schema_field(StepRunSerializer(many=True))
    def get_step_runs(self, run) -> list:
        step_runs = getattr(run, "api_step_runs", None)
        if step_runs is None:
            step_runs = list(run.step_runs.select_related("step").order_by("position", "id"))
        return [StepRunSerializer().to_representation(s) for s in step_runs]
