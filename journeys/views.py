"""Journeys pages: the list, the one-page builder (a vertical flow of cards: the trigger in one
sentence, the steps, the exit rules; each edited in place with htmx, every form also works as a
plain POST), activation and pausing. The draft, Publish and step order are in
``draft_views.py``, Simulate and the dry run in ``simulate_views.py``, the runs in
``run_views.py``.

Once a journey has been published, every edit here goes to its draft (``draft=True``); the live
version keeps running until Publish."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Max, Q
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import reswap, retarget

from candidates.views import render_in_org_time
from library import templating
from library.models import MessageTemplate, TemplateChannel
from recruitflow.decorators import editor_required, organization_required
from recruitflow.page_cache import member_page
from recruitflow.tenancy import visible_candidates_q

from . import editing, services
from .dry_run import application_words, trigger_sample
from .forms import (
    AddStepForm,
    CriteriaNames,
    ExitRulesForm,
    JourneyCreateForm,
    TriggerForm,
    criteria_options,
    describe_step,
    describe_trigger,
    step_form_class,
)
from .models import (
    Journey,
    JourneyRun,
    JourneyStep,
    JourneyVersion,
    RunStatus,
    StepKind,
)
from .wording import exit_sentence, trigger_sentence

# The icon (a symbol of static/img/icons.svg) of each step kind's card.
STEP_ICONS = {
    StepKind.SEND_EMAIL: "inbox",
    StepKind.SEND_SMS: "inbox",
    StepKind.WAIT: "calendar",
    StepKind.CONDITION: "check",
    StepKind.EXIT: "route",
    StepKind.SEND_SCHEDULING_REQUEST: "calendar",
    StepKind.SEND_VIDEO_INTERVIEW: "video",
}


# ----------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------


def journey_or_404(request, pk: int) -> Journey:
    journey = (
        Journey.objects.filter(organization=request.organization, pk=pk)
        .select_related("current_version", "draft_version")
        .first()
    )
    if journey is None:
        raise Http404("No such journey in your organization.")
    return journey


_journey = journey_or_404


def working_version(journey: Journey) -> JourneyVersion | None:
    """What the builder shows and edits: the draft when there is one, else the current version."""
    return journey.draft_version or journey.current_version


def _step(journey: Journey, step_id: int) -> JourneyStep:
    step = (
        JourneyStep.objects.filter(
            organization=journey.organization_id, pk=step_id, version__journey=journey
        )
        .select_related("message_template")
        .first()
    )
    if step is None:
        raise Http404("No such step in this journey.")
    return step


def _error_text(exc: ValidationError) -> str:
    return " ".join(exc.messages)


def _in_progress(journey: Journey) -> int:
    return JourneyRun.objects.filter(
        organization=journey.organization_id, journey=journey, status=RunStatus.ACTIVE
    ).count()


def _sample(journey: Journey, version: JourneyVersion) -> tuple[dict, str]:
    """The merge values the step previews use, and the note that says whose they are: a real
    candidate who matches the trigger, else the Library's sample values."""
    found = trigger_sample(version)
    application = found[1].application if found is not None else None
    if found is not None and application is not None:
        candidate = found[0]
        try:
            context = templating.merge_context(
                organization=journey.organization, candidate=candidate, application=application
            )
        except ValueError:
            context = None
        if context is not None:
            note = (
                f"Samples use {candidate.full_name}'s data ({application_words(application)}), "
                "a candidate who matches the trigger."
            )
            return context, note
    note = (
        "No candidate in your ATS matches the trigger right now, so the samples use example values."
    )
    return templating.sample_context(journey.organization), note


def _steps_of(journey: Journey) -> tuple[list[JourneyStep], str]:
    version = working_version(journey)
    if version is None:
        return [], ""
    steps = list(
        JourneyStep.objects.filter(organization=journey.organization_id, version=version)
        .select_related("message_template")
        .order_by("position", "id")
    )
    sample, note = None, ""
    for step in steps:
        step.summary = describe_step(step)
        step.icon = STEP_ICONS.get(step.kind, "route")
        step.preview = None
        if step.message_template is not None:
            if sample is None:
                sample, note = _sample(journey, version)
            try:
                step.preview = templating.render(step.message_template, sample)
            except templating.TemplateInvalid as exc:
                step.preview_error = str(exc)
    return steps, note


def _template_counts(organization) -> dict[str, int]:
    rows = (
        MessageTemplate.objects.filter(organization=organization)
        .order_by()
        .values("channel")
        .annotate(n=Count("id"))
    )
    counts = {row["channel"]: row["n"] for row in rows}
    return {channel: counts.get(channel, 0) for channel in TemplateChannel.values}


def _step_form(step: JourneyStep, data=None):
    return step_form_class(step.kind)(data, step=step, prefix=f"step-{step.pk}")


def _steps_context(request, journey: Journey, *, open_step: int | None = None, form=None) -> dict:
    """What the steps list (and the version header beside it) show."""
    steps, sample_note = _steps_of(journey)
    for step in steps:
        step.form = None
        if step.pk == open_step:
            step.form = form if form is not None else _step_form(step)
    return {
        "journey": journey,
        "version": working_version(journey),
        "draft": journey.draft_version,
        "steps": steps,
        "sample_note": sample_note,
        "can_edit": request.membership.can_edit,
        "add_form": AddStepForm(),
        "in_progress": _in_progress(journey),
        "template_counts": _template_counts(request.organization),
        "pause_explanation": services.PAUSE_EXPLANATION,
        "activate_explanation": services.ACTIVATE_EXPLANATION,
    }


def _builder(request, journey: Journey, **overrides):
    organization = request.organization
    version = working_version(journey)
    context = _steps_context(
        request,
        journey,
        open_step=overrides.pop("open_step", None),
        form=overrides.pop("step_form", None),
    )
    names = CriteriaNames.for_versions(organization=organization, versions=[version])
    runs_total = JourneyRun.objects.filter(organization=organization, journey=journey).count()
    trigger_form = overrides.pop("trigger_form", None)
    exit_form = overrides.pop("exit_form", None)
    context.update(
        {
            "trigger_form": trigger_form
            or TriggerForm(
                journey=journey,
                version=version,
                options=criteria_options(organization=organization),
            ),
            # A journey without steps is being set up: its trigger form starts open.
            "trigger_open": trigger_form is not None or not context["steps"],
            "exit_form": exit_form or ExitRulesForm(journey=journey, version=version),
            "exit_open": exit_form is not None,
            "summary": trigger_sentence(version, names),
            "list_summary": describe_trigger(version, names),
            "exit_summary": exit_sentence(version),
            "runs_total": runs_total,
        }
    )
    context.update(overrides)
    return render_in_org_time(request, "journeys/builder.html", context)


def _steps_response(request, journey: Journey, *, open_step=None, form=None, anchor=""):
    """The steps card for htmx (with the version header swapped out of band), or a redirect
    back to the builder for a plain form post."""
    journey.refresh_from_db()
    if not request.htmx:
        url = reverse("journeys:builder", args=[journey.pk])
        if open_step:
            url += f"?edit={open_step}"
        return redirect(url + (f"#{anchor}" if anchor else "#steps"))
    context = _steps_context(request, journey, open_step=open_step, form=form)
    return _render_steps(request, context)


def _render_steps(request, context: dict) -> HttpResponse:
    """The whole steps card, replacing whatever element the request targeted (a save inside
    one step can renumber the others, or start a draft with new step ids)."""
    response = render_in_org_time(request, "journeys/_journey_steps.html", {**context, "oob": True})
    return reswap(retarget(response, "#steps"), "outerHTML")


# ----------------------------------------------------------------------------------------------
# The list and a new journey
# ----------------------------------------------------------------------------------------------


@organization_required
@member_page
def journey_list(request):
    organization = request.organization
    # A hiring manager counts only the runs of the candidates they may see.
    visible_runs = visible_candidates_q("runs__candidate")
    journeys = list(
        Journey.objects.filter(organization=organization)
        .select_related("current_version")
        .annotate(
            in_progress=Count("runs", filter=Q(runs__status=RunStatus.ACTIVE) & visible_runs),
            completed=Count("runs", filter=Q(runs__status=RunStatus.COMPLETED) & visible_runs),
            last_fired=Max("runs__started_at", filter=visible_runs),
        )
        .order_by("name", "id")
    )
    names = CriteriaNames.for_versions(
        organization=organization, versions=[j.current_version for j in journeys]
    )
    for journey in journeys:
        journey.summary = describe_trigger(journey.current_version, names)
    context = {
        "journeys": journeys,
        "template_counts": _template_counts(organization),
        "can_edit": request.membership.can_edit,
    }
    return render_in_org_time(request, "journeys/list.html", context)


@editor_required
def journey_new(request):
    form = JourneyCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            journey = editing.journey_start(
                organization=request.organization,
                name=form.cleaned_data["name"],
                trigger=form.cleaned_data["trigger"],
                stale_days=form.cleaned_data.get("stale_days"),
                user=request.user,
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(
                request,
                f"“{journey.name}” created. Choose its stages and jobs, then add the steps it "
                "takes.",
            )
            return redirect("journeys:builder", pk=journey.pk)
    return render(
        request,
        "journeys/builder_new.html",
        {"form": form, "template_counts": _template_counts(request.organization)},
    )


# ----------------------------------------------------------------------------------------------
# The builder
# ----------------------------------------------------------------------------------------------


@organization_required
@require_GET
@member_page
def journey_builder(request, pk: int):
    journey = _journey(request, pk)
    open_step = None
    if request.membership.can_edit and (request.GET.get("edit") or "").isdigit():
        open_step = int(request.GET["edit"])
    return _builder(request, journey, open_step=open_step)


@editor_required
@require_POST
def journey_trigger_save(request, pk: int):
    journey = _journey(request, pk)
    version = working_version(journey)
    form = TriggerForm(
        request.POST,
        journey=journey,
        version=version,
        options=criteria_options(organization=request.organization),
    )
    if form.is_valid():
        data = form.cleaned_data
        try:
            editing.journey_update(journey=journey, name=data["name"])
            editing.journey_trigger_update(
                journey=journey,
                user=request.user,
                trigger=data["trigger"],
                stale_days=data.get("stale_days"),
                exit_rules=version.exit_rules if version else [],
                draft=True,
                **{name: data[name] for name in TriggerForm.CRITERIA},
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _saved(journey, "Trigger and criteria saved"))
            return redirect(reverse("journeys:builder", args=[journey.pk]) + "#trigger")
    journey.refresh_from_db()
    return _builder(request, journey, trigger_form=form)


def _saved(journey: Journey, what: str) -> str:
    journey.refresh_from_db()
    if journey.draft_version_id:
        return f"{what} in the draft. The live version runs unchanged until you publish."
    return f"{what}."


def _add_errors(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for name, errors in exc.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc)


@editor_required
@require_POST
def journey_exit_rules_save(request, pk: int):
    journey = _journey(request, pk)
    version = working_version(journey)
    form = ExitRulesForm(request.POST, journey=journey, version=version)
    if form.is_valid() and version is not None:
        try:
            editing.journey_trigger_update(
                journey=journey,
                user=request.user,
                trigger=version.trigger,
                stale_days=version.stale_days,
                exit_rules=form.cleaned_data["exit_rules"],
                draft=True,
                **{name: getattr(version, name) for name in editing.CRITERIA_FIELDS},
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _saved(journey, "Exit rules saved"))
            return redirect(reverse("journeys:builder", args=[journey.pk]) + "#exit-rules")
    return _builder(request, journey, exit_form=form)


@editor_required
@require_POST
def journey_activate(request, pk: int):
    """Resume a paused journey (Pause's counterpart). A journey that was never live is
    published from the Publish page instead; posted here, it is published the same way."""
    journey = _journey(request, pk)
    verb = "resumed" if journey.is_published else "published"
    try:
        services.journey_activate(journey=journey, user=request.user)
    except ValidationError as exc:
        messages.error(request, f"“{journey.name}” can't be {verb} yet: {_error_text(exc)}")
    else:
        draft_note = (
            " Your draft is not live yet: publish it to apply its changes."
            if journey.draft_version_id
            else ""
        )
        messages.success(
            request,
            f"“{journey.name}” is {verb} and live: candidates who match its trigger from now on "
            "start it." + draft_note,
        )
    return _back(request, journey)


@editor_required
@require_POST
def journey_pause(request, pk: int):
    journey = _journey(request, pk)
    try:
        services.journey_pause(journey=journey, user=request.user)
    except ValidationError as exc:
        messages.error(request, f"“{journey.name}” can't be paused: {_error_text(exc)}")
    else:
        messages.success(
            request,
            f"“{journey.name}” is paused. {services.PAUSE_EXPLANATION}",
        )
    return _back(request, journey)


def _back(request, journey: Journey):
    if request.POST.get("back") == "list":
        return redirect("journeys:list")
    return redirect("journeys:builder", pk=journey.pk)


@editor_required
@require_POST
def journey_delete(request, pk: int):
    journey = _journey(request, pk)
    try:
        editing.journey_delete(journey=journey)
    except ValidationError as exc:
        messages.error(request, _error_text(exc))
        return redirect("journeys:builder", pk=journey.pk)
    messages.success(request, f"“{journey.name}” deleted.")
    return redirect("journeys:list")


# ----------------------------------------------------------------------------------------------
# Steps (htmx partials; plain posts redirect back to the builder)
# ----------------------------------------------------------------------------------------------


@editor_required
@require_POST
def step_add(request, pk: int):
    journey = _journey(request, pk)
    form = AddStepForm(request.POST)
    if not form.is_valid():
        return _steps_error(request, journey, "Choose which kind of step to add.")
    try:
        step = editing.journey_step_add(
            journey=journey,
            kind=form.cleaned_data["kind"],
            user=request.user,
            position=form.cleaned_data.get("position"),
            draft=True,
        )
    except ValidationError as exc:
        return _steps_error(request, journey, _error_text(exc))
    # Sends and waits have something to choose: open the new step's settings at once.
    open_step = step.pk if step.kind != StepKind.EXIT else None
    return _steps_response(request, journey, open_step=open_step, anchor=f"step-{step.pk}")


def _steps_error(request, journey: Journey, text: str):
    if request.htmx:
        context = _steps_context(request, journey)
        context["steps_error"] = text
        return _render_steps(request, context)
    messages.error(request, text)
    return redirect(reverse("journeys:builder", args=[journey.pk]) + "#steps")


@organization_required
@require_GET
def step_detail(request, pk: int, step_id: int):
    """One step as shown in the list (htmx: cancel an edit)."""
    journey = _journey(request, pk)
    step = _step(journey, step_id)
    if not request.htmx:
        return redirect(reverse("journeys:builder", args=[journey.pk]) + f"#step-{step.pk}")
    context = _steps_context(request, journey)
    item = next((s for s in context["steps"] if s.pk == step.pk), None)
    if item is None:  # a step of an earlier version: show the current list instead
        return _render_steps(request, context)
    context.update({"step": item, "count": len(context["steps"])})
    return render_in_org_time(request, "journeys/_step.html", context)


@editor_required
def step_edit(request, pk: int, step_id: int):
    """GET: the step's settings form. POST: save them."""
    journey = _journey(request, pk)
    step = _step(journey, step_id)
    if request.method == "GET":
        if not request.htmx:
            return redirect(
                reverse("journeys:builder", args=[journey.pk]) + f"?edit={step.pk}#step-{step.pk}"
            )
        context = _steps_context(request, journey, open_step=step.pk)
        item = next((s for s in context["steps"] if s.pk == step.pk), None)
        if item is None:
            return _render_steps(request, context)
        context.update({"step": item, "count": len(context["steps"])})
        return render_in_org_time(request, "journeys/_step.html", context)
    if request.method != "POST":
        return HttpResponse(status=405)
    form = _step_form(step, request.POST)
    if form.is_valid():
        try:
            saved = editing.journey_step_configure(
                journey=journey,
                step=step,
                user=request.user,
                message_template=form.template(),
                config=form.config(),
                draft=True,
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            return _steps_response(request, journey, anchor=f"step-{saved.pk}")
    if request.htmx:
        context = _steps_context(request, journey, open_step=step.pk, form=form)
        item = next((s for s in context["steps"] if s.pk == step.pk), None)
        if item is not None:
            context.update({"step": item, "count": len(context["steps"])})
            return render_in_org_time(request, "journeys/_step.html", context)
        return _render_steps(request, context)
    return _builder(request, journey, open_step=step.pk, step_form=form)


@editor_required
@require_POST
def step_move(request, pk: int, step_id: int):
    journey = _journey(request, pk)
    step = _step(journey, step_id)
    offset = -1 if request.POST.get("direction") == "up" else 1
    try:
        moved = editing.journey_step_move(
            journey=journey, step=step, offset=offset, user=request.user, draft=True
        )
    except ValidationError as exc:
        return _steps_error(request, journey, _error_text(exc))
    return _steps_response(request, journey, anchor=f"step-{moved.pk}")


@editor_required
@require_POST
def step_remove(request, pk: int, step_id: int):
    journey = _journey(request, pk)
    step = _step(journey, step_id)
    try:
        editing.journey_step_remove(journey=journey, step=step, user=request.user, draft=True)
    except ValidationError as exc:
        return _steps_error(request, journey, _error_text(exc))
    return _steps_response(request, journey)
