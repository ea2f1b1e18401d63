"""Forms of the journey builder, the values its criteria are chosen from, and the sentence a
recruiter reads for a trigger ("Enters Onsite Interview · Sales Rep")."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time

from django import forms
from django.core.exceptions import ValidationError

from candidates.models import Application, ApplicationStatus, Candidate, Department, Job, Office
from candidates.selectors import candidate_filter_options
from library.models import MessageTemplate, TemplateChannel

from .editing import WEEKDAY_NAMES, builder_step_kinds, clean_step_config, plugin_kind
from .models import (
    ConditionCheck,
    ExitRule,
    Journey,
    JourneyStep,
    JourneyVersion,
    StepKind,
    TriggerKind,
)
from .simulation import MAX_DAYS as MAX_SIMULATION_DAYS

MAX_TAG_SCAN = 20000  # candidates read for the tag list; tags repeat, so a sample finds them

# ----------------------------------------------------------------------------------------------
# Values to choose from
# ----------------------------------------------------------------------------------------------


@dataclass
class CriteriaOptions:
    """Synced values the criteria are chosen from, as (value, label) pairs."""

    stage_names: list[tuple[str, str]] = field(default_factory=list)
    job_ids: list[tuple[int, str]] = field(default_factory=list)
    office_ids: list[tuple[int, str]] = field(default_factory=list)
    department_ids: list[tuple[int, str]] = field(default_factory=list)
    statuses: list[tuple[str, str]] = field(default_factory=list)
    tags: list[tuple[str, str]] = field(default_factory=list)
    sources: list[tuple[str, str]] = field(default_factory=list)


def criteria_options(*, organization) -> CriteriaOptions:
    """Stages by distinct name (the same stage of several jobs is one choice), jobs, offices,
    departments, statuses, and the tags and sources seen on synced candidates."""
    synced = candidate_filter_options(organization=organization, job_id=None)
    sources = (
        Application.objects.filter(organization=organization)
        .exclude(source_name="")
        .order_by("source_name")
        .values_list("source_name", flat=True)
        .distinct()
    )
    tags: set[str] = set()
    tag_lists = (
        Candidate.objects.filter(organization=organization)
        .exclude(tags=[])
        .values_list("tags", flat=True)[:MAX_TAG_SCAN]
    )
    for tag_list in tag_lists:
        if isinstance(tag_list, list):
            tags.update(str(tag) for tag in tag_list if tag)
    jobs = [
        (job.pk, job.name + (" (closed)" if job.status == "closed" else "")) for job in synced.jobs
    ]
    return CriteriaOptions(
        stage_names=[(name, name) for name in synced.stages],
        job_ids=jobs,
        office_ids=[(office.pk, office.name) for office in synced.offices],
        department_ids=[(department.pk, department.name) for department in synced.departments],
        statuses=list(ApplicationStatus.choices),
        tags=[(tag, tag) for tag in sorted(tags, key=str.casefold)],
        sources=[(source, source) for source in sources],
    )


# ----------------------------------------------------------------------------------------------
# Describing a trigger
# ----------------------------------------------------------------------------------------------


@dataclass
class CriteriaNames:
    """Names of the jobs, offices and departments that criteria refer to by id."""

    jobs: dict[int, str] = field(default_factory=dict)
    offices: dict[int, str] = field(default_factory=dict)
    departments: dict[int, str] = field(default_factory=dict)

    @classmethod
    def for_versions(cls, *, organization, versions) -> CriteriaNames:
        """One query per kind of name, however many versions."""
        job_ids, office_ids, department_ids = set(), set(), set()
        for version in versions:
            if version is None:
                continue
            job_ids.update(version.job_ids)
            office_ids.update(version.office_ids)
            department_ids.update(version.department_ids)

        def names(model, ids):
            if not ids:
                return {}
            rows = model.objects.filter(organization=organization, pk__in=ids)
            return dict(rows.values_list("pk", "name"))

        return cls(
            jobs=names(Job, job_ids),
            offices=names(Office, office_ids),
            departments=names(Department, department_ids),
        )


def _either(values: list[str]) -> str:
    if len(values) <= 2:
        return " or ".join(values)
    return ", ".join(values[:-1]) + " or " + values[-1]


def describe_trigger(version: JourneyVersion | None, names: CriteriaNames) -> str:
    """A trigger and its criteria in words, e.g. "Enters Onsite Interview · Sales Rep"."""
    if version is None:
        return "No trigger yet"
    stages = _either(list(version.stage_names))
    trigger = version.trigger
    if trigger == TriggerKind.ENTERED_STAGE:
        head = f"Enters {stages}" if stages else "Enters any stage"
    elif trigger == TriggerKind.APPLICATION_CREATED:
        head = "Applies" + (f" (starting in {stages})" if stages else "")
    elif trigger == TriggerKind.REJECTED:
        head = "Is rejected" + (f" at {stages}" if stages else "")
    elif trigger == TriggerKind.HIRED:
        head = "Is hired"
    elif trigger == TriggerKind.STALE_IN_STAGE:
        days = version.stale_days or 0
        where = stages or "any stage"
        head = f"Stays {days} day{'s' if days != 1 else ''} in {where}"
    else:
        head = str(trigger)
    parts = [head]

    def named(ids, lookup, missing):
        return _either([lookup.get(pk, f"{missing} #{pk}") for pk in ids])

    if version.job_ids:
        parts.append(named(version.job_ids, names.jobs, "job"))
    if version.office_ids:
        parts.append(named(version.office_ids, names.offices, "office"))
    if version.department_ids:
        parts.append(named(version.department_ids, names.departments, "department"))
    if version.statuses:
        labels = dict(ApplicationStatus.choices)
        parts.append("status " + _either([labels.get(s, s) for s in version.statuses]))
    if version.tags:
        parts.append("tagged " + _either(list(version.tags)))
    if version.sources:
        parts.append("from " + _either(list(version.sources)))
    return " · ".join(parts)


def describe_step(step: JourneyStep) -> str:
    """One line for a step, e.g. "Wait 2 days" or "Send text message “Onsite invite”"."""
    config = step.config or {}
    if step.kind in (StepKind.SEND_EMAIL, StepKind.SEND_SMS):
        template = step.message_template
        what = "Send e-mail" if step.kind == StepKind.SEND_EMAIL else "Send text message"
        return f"{what} “{template.name}”" if template else f"{what} (no template chosen)"
    if step.kind == StepKind.WAIT:
        if config.get("mode") == "until":
            days = [WEEKDAY_NAMES[d] for d in config.get("weekdays", []) if 0 <= d <= 6]
            if len(days) == 7:
                when = "any day"
            elif days == WEEKDAY_NAMES[:5]:
                when = "a weekday"
            else:
                when = _either(days)
            return f"Wait until {when} at {config.get('time', '')}, candidate's local time"
        amounts = []
        for unit in ("days", "hours", "minutes"):
            amount = config.get(unit) or 0
            if amount:
                amounts.append(f"{amount} {unit if amount != 1 else unit[:-1]}")
        return "Wait " + (" ".join(amounts) if amounts else "(no length set)")
    if step.kind == StepKind.CONDITION:
        check = ConditionCheck(config["check"]).label if config.get("check") else "?"
        if config.get("expect", True):
            return f"Continue only if: {check.lower()}"
        return f"Continue only if not: {check.lower()}"
    if step.kind == StepKind.EXIT:
        return "Exit the journey"
    plugin = plugin_kind(step.kind)
    if plugin is not None:
        return plugin.describe(config, step.organization)
    return step.get_kind_display()


# ----------------------------------------------------------------------------------------------
# Journey forms
# ----------------------------------------------------------------------------------------------


class JourneyCreateForm(forms.Form):
    """A journey starts with a name and what starts it; stages, jobs and the other criteria
    are chosen on the builder page."""

    name = forms.CharField(
        max_length=200,
        help_text="What recruiters will call it, e.g. “Onsite invitation · Sales Rep”.",
        widget=forms.TextInput(attrs={"autofocus": True}),
    )
    trigger = forms.ChoiceField(
        choices=TriggerKind.choices,
        initial=TriggerKind.ENTERED_STAGE,
        widget=forms.RadioSelect,
        label="Start when the candidate",
        help_text="You choose which stages and jobs next.",
    )
    stale_days = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=365,
        label="Days in the stage",
        help_text="For “stale in a stage”: how many days without moving.",
    )

    def clean(self):
        data = super().clean()
        if data.get("trigger") == TriggerKind.STALE_IN_STAGE and not data.get("stale_days"):
            self.add_error("stale_days", "Enter how many days in the stage make a candidate stale.")
        return data


def _with_selected(choices, selected, *, missing_label: str):
    """The choices with the chosen ones first (a long list need not be scrolled to see them),
    keeping values saved earlier selectable even when the ATS no longer has them."""
    chosen = {str(value) for value in selected}
    known = {str(value) for value, _ in choices}
    gone = [
        (value, f"{value if isinstance(value, str) else missing_label} (no longer in the ATS)")
        for value in selected
        if str(value) not in known
    ]
    first = [choice for choice in choices if str(choice[0]) in chosen]
    rest = [choice for choice in choices if str(choice[0]) not in chosen]
    return first + gone + rest


class TriggerForm(forms.Form):
    """Name, trigger and criteria of the version being edited (default: the current one)."""

    name = forms.CharField(max_length=200)
    trigger = forms.ChoiceField(
        choices=TriggerKind.choices, widget=forms.RadioSelect, label="Start when the candidate"
    )
    stale_days = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=365,
        label="Days in the stage",
        help_text="For “stale in a stage”: how many days without moving.",
    )
    stage_names = forms.MultipleChoiceField(
        required=False, widget=forms.CheckboxSelectMultiple, label="Stage"
    )
    job_ids = forms.TypedMultipleChoiceField(
        required=False, coerce=int, widget=forms.CheckboxSelectMultiple, label="Job"
    )
    office_ids = forms.TypedMultipleChoiceField(
        required=False, coerce=int, widget=forms.CheckboxSelectMultiple, label="Office"
    )
    department_ids = forms.TypedMultipleChoiceField(
        required=False, coerce=int, widget=forms.CheckboxSelectMultiple, label="Department"
    )
    statuses = forms.MultipleChoiceField(
        required=False, widget=forms.CheckboxSelectMultiple, label="Application status"
    )
    tags = forms.MultipleChoiceField(
        required=False, widget=forms.CheckboxSelectMultiple, label="Candidate tag"
    )
    sources = forms.MultipleChoiceField(
        required=False, widget=forms.CheckboxSelectMultiple, label="Source"
    )

    CRITERIA = [
        "stage_names",
        "job_ids",
        "office_ids",
        "department_ids",
        "statuses",
        "tags",
        "sources",
    ]
    PLURALS = {
        "stage_names": "stages",
        "job_ids": "jobs",
        "office_ids": "offices",
        "department_ids": "departments",
        "statuses": "statuses",
        "tags": "tags",
        "sources": "sources",
    }

    def __init__(
        self,
        *args,
        journey: Journey,
        options: CriteriaOptions,
        version: JourneyVersion | None = None,
        **kwargs,
    ):
        version = version or journey.current_version
        initial = {"name": journey.name, "trigger": TriggerKind.ENTERED_STAGE}
        if version is not None:
            initial.update(
                trigger=version.trigger,
                stale_days=version.stale_days,
                **{name: list(getattr(version, name)) for name in self.CRITERIA},
            )
        kwargs.setdefault("initial", initial)
        super().__init__(*args, **kwargs)
        for name in self.CRITERIA:
            selected = getattr(version, name, []) if version else []
            self.fields[name].choices = _with_selected(
                getattr(options, name), _dedupe(selected), missing_label=self.fields[name].label
            )
        self.fields["stale_days"].widget.attrs["min"] = 1

    def clean(self):
        data = super().clean()
        if data.get("trigger") == TriggerKind.STALE_IN_STAGE and not data.get("stale_days"):
            self.add_error("stale_days", "Enter how many days in the stage make a candidate stale.")
        return data

    def criteria_fields(self):
        """(bound field, plural) pairs for the template's pickers."""
        return [(self[name], self.PLURALS[name]) for name in self.CRITERIA]


def _dedupe(values):
    seen, result = set(), []
    for value in values:
        key = str(value)
        if key not in seen:
            seen.add(key)
            result.append(value)
    return result


class ExitRulesForm(forms.Form):
    exit_rules = forms.MultipleChoiceField(
        required=False,
        choices=ExitRule.choices,
        widget=forms.CheckboxSelectMultiple,
        label="Stop the journey for a candidate who",
    )

    def __init__(self, *args, journey: Journey, version: JourneyVersion | None = None, **kwargs):
        version = version or journey.current_version
        kwargs.setdefault("initial", {"exit_rules": list(version.exit_rules) if version else []})
        super().__init__(*args, **kwargs)


class AddStepForm(forms.Form):
    """The kinds the builder offers: the built-in ones and those other apps plugged in."""

    kind = forms.ChoiceField(choices=())
    position = forms.IntegerField(required=False, min_value=1)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [(k, StepKind(k).label) for k in builder_step_kinds()]


# ----------------------------------------------------------------------------------------------
# Step configuration forms, one per kind
# ----------------------------------------------------------------------------------------------


class StepForm(forms.Form):
    """Base of the step forms: ``config()`` and ``template()`` give what the service saves."""

    def __init__(self, *args, step: JourneyStep, **kwargs):
        self.step = step
        super().__init__(*args, **kwargs)

    def config(self) -> dict:
        return {}

    def template(self) -> MessageTemplate | None:
        return None

    def _check_config(self, config: dict, *, organization=None) -> dict:
        try:
            return clean_step_config(self.step.kind, config, organization=organization)
        except ValidationError as exc:
            raise forms.ValidationError(exc.messages) from exc


class SendStepForm(StepForm):
    message_template = forms.ModelChoiceField(
        queryset=MessageTemplate.objects.none(),
        empty_label="Choose a template…",
        label="Template",
        error_messages={"required": "Choose the template this step sends."},
    )

    def __init__(self, *args, step: JourneyStep, **kwargs):
        kwargs.setdefault("initial", {"message_template": step.message_template_id})
        super().__init__(*args, step=step, **kwargs)
        channel = TemplateChannel.EMAIL if step.kind == StepKind.SEND_EMAIL else TemplateChannel.SMS
        self.channel = channel
        self.fields["message_template"].queryset = MessageTemplate.objects.filter(
            organization_id=step.organization_id, channel=channel
        ).order_by("name", "id")
        self.fields["message_template"].label = (
            "E-mail template" if channel == TemplateChannel.EMAIL else "Text message template"
        )

    def template(self):
        return self.cleaned_data["message_template"]


WAIT_MODES = [("duration", "For a length of time"), ("until", "Until a weekday and time")]


class WaitStepForm(StepForm):
    mode = forms.ChoiceField(choices=WAIT_MODES, widget=forms.RadioSelect, label="Wait")
    days = forms.IntegerField(required=False, min_value=0, max_value=365, initial=0)
    hours = forms.IntegerField(required=False, min_value=0, max_value=23, initial=0)
    minutes = forms.IntegerField(required=False, min_value=0, max_value=59, initial=0)
    weekdays = forms.TypedMultipleChoiceField(
        required=False,
        coerce=int,
        choices=list(enumerate(WEEKDAY_NAMES)),
        widget=forms.CheckboxSelectMultiple,
        label="On",
    )
    time = forms.TimeField(
        required=False,
        label="At",
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        help_text="In the candidate's time zone.",
    )

    def __init__(self, *args, step: JourneyStep, **kwargs):
        config = step.config or {}
        initial = {
            "mode": config.get("mode", "duration"),
            "days": config.get("days", 0),
            "hours": config.get("hours", 0),
            "minutes": config.get("minutes", 0),
            "weekdays": config.get("weekdays", [0, 1, 2, 3, 4]),
            "time": config.get("time", "09:00"),
        }
        kwargs.setdefault("initial", initial)
        super().__init__(*args, step=step, **kwargs)

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        if data.get("mode") == "until":
            moment: time | None = data.get("time")
            config = {
                "mode": "until",
                "weekdays": data.get("weekdays") or [],
                "time": moment.strftime("%H:%M") if moment else "",
            }
        else:
            config = {
                "mode": "duration",
                "days": data.get("days") or 0,
                "hours": data.get("hours") or 0,
                "minutes": data.get("minutes") or 0,
            }
        self._config = self._check_config(config)
        return data

    def config(self):
        return self._config


class ConditionStepForm(StepForm):
    check = forms.ChoiceField(choices=ConditionCheck.choices, label="Check")
    expect = forms.TypedChoiceField(
        choices=[("yes", "Continue if so"), ("no", "Continue if not")],
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
        label="Then",
        help_text="Otherwise the candidate leaves the journey, and the run says why.",
    )

    def __init__(self, *args, step: JourneyStep, **kwargs):
        config = step.config or {}
        kwargs.setdefault(
            "initial",
            {
                "check": config.get("check", ConditionCheck.STILL_IN_STAGE),
                "expect": "yes" if config.get("expect", True) else "no",
            },
        )
        super().__init__(*args, step=step, **kwargs)

    def clean(self):
        data = super().clean()
        if not self.errors:
            self._config = self._check_config({"check": data["check"], "expect": data["expect"]})
        return data

    def config(self):
        return self._config


class PluginStepForm(StepForm):
    """A plugged-in step kind (e.g. "Send scheduling request"): one select of what its app
    offers (``PluginStepKind.options``), stored as ``{field: id}``."""

    choice = forms.TypedChoiceField(choices=(), coerce=int, empty_value=None)

    def __init__(self, *args, step: JourneyStep, **kwargs):
        self.plugin = plugin_kind(step.kind)
        config = step.config or {}
        kwargs.setdefault("initial", {"choice": config.get(self.plugin.field)})
        super().__init__(*args, step=step, **kwargs)
        self.organization = step.organization
        options = self.plugin.options(self.organization)
        self.has_options = bool(options)
        label = self.plugin.field_label
        field = self.fields["choice"]
        field.label = label
        field.choices = [("", f"Choose a {label.lower()}…"), *options]
        field.error_messages["required"] = f"Choose the {label.lower()} this step uses."
        field.error_messages["invalid_choice"] = (
            f"That {label.lower()} is no longer in the Library: choose another one."
        )

    @property
    def create_url(self) -> str:
        return self.plugin.create_url() if self.plugin.create_url else ""

    def clean(self):
        data = super().clean()
        if not self.errors:
            self._config = self._check_config(
                {self.plugin.field: data["choice"]}, organization=self.organization
            )
        return data

    def config(self):
        return self._config


def step_form_class(kind: str) -> type[StepForm]:
    if plugin_kind(kind) is not None:
        return PluginStepForm
    if kind in (StepKind.SEND_EMAIL, StepKind.SEND_SMS):
        return SendStepForm
    if kind == StepKind.WAIT:
        return WaitStepForm
    if kind == StepKind.CONDITION:
        return ConditionStepForm
    return StepForm


# ----------------------------------------------------------------------------------------------
# Simulation and dry run
# ----------------------------------------------------------------------------------------------


class SimulateForm(forms.Form):
    days = forms.IntegerField(
        min_value=1,
        max_value=MAX_SIMULATION_DAYS,
        initial=30,
        label="Days to look back",
        help_text=f"Real stage changes of the last 1–{MAX_SIMULATION_DAYS} days are replayed.",
    )
