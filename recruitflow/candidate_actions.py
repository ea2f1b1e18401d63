"""Acting on a candidate from their page: send a text or an e-mail (free text or a Library
template), send a scheduling request now, put them in a journey by hand.

The candidate page belongs to ``candidates``, which may not import the apps that do these
things (messaging, scheduling, journeys sit above it). So the actions live here, in the wiring
layer above every domain, as thin views over each app's own services — the same checks and the
same timeline entries as the Inbox composer, the scheduling API and the journeys API. The page
shows them through ``{% candidate_actions candidate %}`` (``templatetags/candidate_actions.py``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django import forms
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect
from django.urls import path
from django.views.decorators.http import require_POST

from candidates import selectors as candidate_selectors
from candidates.models import Application, Candidate
from candidates.views import organization_time
from journeys.enrollment import EnrollmentRefused, enroll
from journeys.models import Journey
from library import templating
from library.models import MessageTemplate, TemplateChannel
from messaging import inbox
from messaging import selectors as messaging_selectors
from messaging import services as messaging_services
from messaging.forms import ComposeForm
from messaging.models import Channel, MessageStatus
from recruitflow.decorators import editor_required
from scheduling import services as scheduling_services
from scheduling.models import RequestSource, RequestStatus, SchedulingRequest, SchedulingTemplate

MAX_ID = 2**63 - 1
REASON_MAX_CHARS = 300
RECENT_REQUESTS = 5
# What the Inbox and transcripts call a message a team member wrote outside the Inbox.
MESSAGE_SOURCE = "manual"
CHANNEL_LABEL = {Channel.SMS: "Text", Channel.EMAIL: "E-mail"}


def _as_id(raw) -> int | None:
    raw = str(raw or "").strip()
    if not raw.isascii() or not raw.isdigit() or not 0 < int(raw) <= MAX_ID:
        return None
    return int(raw)


def candidate_or_404(request, pk: int) -> Candidate:
    """The organization's live candidate (a hiring manager: one of their jobs'), else 404."""
    candidate = None
    if 0 < pk <= MAX_ID:
        candidate = candidate_selectors.candidate_detail(organization=request.organization, pk=pk)
    if candidate is None:
        raise Http404("No such candidate in your organization.")
    survivor = candidate.merged_into
    if survivor is not None and survivor.deleted_at is None:  # the page shows the survivor
        raise Http404("No such candidate in your organization.")
    return candidate


def _person(user) -> str:
    return (user.get_full_name() or "").strip() or user.email


# --------------------------------------------------------------------------------------------
# What the panels show
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MessagingState:
    unavailable: dict[str, str]
    quiet_hours: str
    zone: str


def messaging_state(*, organization, candidate) -> MessagingState:
    """Why each channel can't be used for ``candidate`` (empty when it can), as the Inbox's
    composer says it, and the quiet-hours hint for a text sent now."""
    phone = (candidate.mobile_phone or "").strip()
    lock = inbox.lock_state(organization=organization, phone=phone)
    setup = inbox.sms_setup(organization=organization)
    unavailable: dict[str, str] = {
        Channel.SMS: inbox.sms_availability(candidate=candidate, lock=lock, setup=setup),
        Channel.EMAIL: inbox.email_availability(candidate=candidate, organization=organization),
    }
    zone = messaging_selectors.candidate_time_zone(organization=organization, candidate=candidate)
    hint = (
        inbox.quiet_hours_hint(organization=organization, zone=zone)
        if not unavailable[Channel.SMS]
        else ""
    )
    return MessagingState(unavailable=unavailable, quiet_hours=hint, zone=zone.zone)


def panel_context(*, request, candidate) -> dict:
    organization = request.organization
    state = messaging_state(organization=organization, candidate=candidate)
    requests = list(
        SchedulingRequest.objects.filter(organization=organization, candidate=candidate)
        .select_related("template")
        .order_by("-created_at", "-id")[:RECENT_REQUESTS]
    )
    applications = list(
        Application.objects.filter(
            organization=organization, candidate=candidate, deleted_at__isnull=True
        )
        .select_related("job")
        .order_by("-last_activity_at", "-id")
    )
    usable = [value for value, _ in Channel.choices if not state.unavailable.get(value)]
    return {
        "candidate": candidate,
        "channels": [
            {
                "value": value,
                "label": label,
                "reason": state.unavailable.get(value, ""),
                "checked": bool(usable) and value == usable[0],
            }
            for value, label in Channel.choices
        ],
        "can_message": any(not reason for reason in state.unavailable.values()),
        "quiet_hours": state.quiet_hours,
        "message_templates": list(
            MessageTemplate.objects.filter(organization=organization)
            .order_by("channel", "name", "id")
            .values("id", "name", "channel")
        ),
        "send_key": uuid.uuid4().hex,
        "scheduling_templates": list(
            SchedulingTemplate.objects.filter(organization=organization)
            .order_by("name", "id")
            .values_list("pk", "name")
        ),
        "scheduling_requests": [
            {
                "request": r,
                "link": scheduling_services.request_link(r),
                "open": r.status == RequestStatus.PENDING,
            }
            for r in requests
        ],
        "journeys": list(
            Journey.objects.filter(organization=organization, is_active=True)
            .order_by("name", "id")
            .values_list("pk", "name")
        ),
        "applications": applications,
        "reason_max": REASON_MAX_CHARS,
    }


# --------------------------------------------------------------------------------------------
# Send a text or an e-mail
# --------------------------------------------------------------------------------------------


def _template_message(template: MessageTemplate, *, organization, candidate) -> dict:
    """Subject, text and HTML of a Library template for ``candidate``, or ValueError with why
    it can't be sent by hand (as the Library's render endpoint refuses it)."""
    parts = {"text_body": template.text_body}
    if template.channel == TemplateChannel.EMAIL:
        parts = {"subject": template.subject, "html_body": template.html_body}
        if template.text_body_edited:
            parts["text_body"] = template.text_body
    used = {
        field
        for name, source in parts.items()
        for field in templating.used_fields(source, channel=template.channel, part=name)
    }
    unfilled = templating.unfilled_fields(used)
    if unfilled:
        field = unfilled[0]
        raise ValueError(
            f"“{template.name}” uses {field.tag}, which only {field.filled_by} fills, so it "
            f"can't be sent by hand. Send it from {field.send_from}, or choose another template."
        )
    context = templating.merge_context(organization=organization, candidate=candidate)
    try:
        rendered = templating.render(template, context)
    except templating.TemplateInvalid as exc:
        raise ValueError(f"“{template.name}” can't be rendered: {exc}") from exc
    return {"subject": rendered.subject, "body": rendered.text, "html": rendered.html}


def _when(moment, zone: str) -> str:
    return moment.astimezone(ZoneInfo(zone)).strftime("%a %-d %b %H:%M")


@editor_required
@require_POST
def message_send(request, pk: int):
    organization = request.organization
    candidate = candidate_or_404(request, pk)
    back = redirect("candidates:detail", pk=candidate.pk)
    with organization_time(organization):  # the dates in refusals, in the organization's zone
        return _message_send(request, candidate, back)


def _message_send(request, candidate, back):
    organization = request.organization
    state = messaging_state(organization=organization, candidate=candidate)
    channel = (request.POST.get("channel") or "").strip()
    if channel not in Channel.values:
        messages.error(request, "Choose Text or E-mail before sending.")
        return back
    label = CHANNEL_LABEL[channel]
    if state.unavailable.get(channel):
        messages.error(request, f"{label} not sent: {state.unavailable[channel]}")
        return back
    data = {
        "channel": channel,
        "subject": request.POST.get("subject") or "",
        "body": request.POST.get("body") or "",
        "html": request.POST.get("html") or "",
        "send_key": request.POST.get("send_key") or "",
    }
    raw_template = (request.POST.get("template") or "").strip()
    if raw_template:
        template_id = _as_id(raw_template)
        template = (
            MessageTemplate.objects.filter(organization=organization, pk=template_id).first()
            if template_id
            else None
        )
        if template is None:
            messages.error(
                request, "That template is no longer in the Library. Choose another one."
            )
            return back
        if template.channel != channel:
            wanted = "an e-mail" if template.channel == TemplateChannel.EMAIL else "a text"
            messages.error(
                request,
                f"“{template.name}” is {wanted} template: switch the channel or choose "
                f"another template.",
            )
            return back
        if not data["body"].strip():
            try:
                data.update(
                    _template_message(template, organization=organization, candidate=candidate)
                )
            except ValueError as exc:
                messages.error(request, f"{label} not sent: {exc}")
                return back
    else:
        data["html"] = ""  # a message written by hand is what was typed
    form = ComposeForm(data, unavailable=state.unavailable)
    if not form.is_valid():
        problems = [str(e) for errors in form.errors.values() for e in errors]
        messages.error(request, f"{label} not sent: {' '.join(problems)}")
        return back
    cleaned = form.cleaned_data
    key = (cleaned.get("send_key") or "").strip()
    try:
        sent = messaging_services.message_send(
            organization=organization,
            candidate=candidate,
            channel=channel,
            body=cleaned["body"],
            subject=cleaned["subject"].strip(),
            html=cleaned["html"] if channel == Channel.EMAIL else "",
            source=MESSAGE_SOURCE,
            sent_by=request.user,
            idempotency_key=f"candidate:{key}" if key else "",
        )
    except messaging_services.CannotSend as exc:
        messages.error(request, f"{label} not sent: {exc.reason}")
        return back
    if sent.status == MessageStatus.HELD and sent.hold_until:
        messages.success(
            request,
            f"{label} to {candidate.full_name} held for quiet hours: it goes out "
            f"{_when(sent.hold_until, state.zone)} ({state.zone}).",
        )
    else:
        messages.success(request, f"{label} to {candidate.full_name} queued.")
    return back


# --------------------------------------------------------------------------------------------
# Send a scheduling request now
# --------------------------------------------------------------------------------------------


def _application(request, candidate) -> tuple[Application | None, str]:
    """The application chosen on the form (empty: none), or an error."""
    raw = (request.POST.get("application") or "").strip()
    if not raw:
        return None, ""
    application_id = _as_id(raw)
    application = (
        Application.objects.filter(
            organization=request.organization,
            candidate=candidate,
            pk=application_id,
            deleted_at__isnull=True,
        ).first()
        if application_id
        else None
    )
    if application is None:
        return None, "That application is no longer this candidate's. Choose another one."
    return application, ""


@editor_required
@require_POST
def scheduling_request(request, pk: int):
    organization = request.organization
    candidate = candidate_or_404(request, pk)
    back = redirect("candidates:detail", pk=candidate.pk)
    template_id = _as_id(request.POST.get("template"))
    template = (
        SchedulingTemplate.objects.filter(organization=organization, pk=template_id).first()
        if template_id
        else None
    )
    if template is None:
        messages.error(
            request, "Choose the scheduling template to send (Library → Scheduling templates)."
        )
        return back
    application, problem = _application(request, candidate)
    if problem:
        messages.error(request, problem)
        return back
    if application is None:
        application = (
            Application.objects.filter(
                organization=organization, candidate=candidate, deleted_at__isnull=True
            )
            .order_by("-last_activity_at", "-id")
            .first()
        )
    try:
        made = scheduling_services.request_create(
            organization=organization,
            template=template,
            candidate=candidate,
            application=application,
            source=RequestSource.RECRUITER,
            actor=request.user,
            send=True,
        )
    except scheduling_services.SchedulingError as exc:
        messages.error(request, f"Scheduling request not sent: {exc}")
        return back
    link = scheduling_services.request_link(made)
    messages.success(
        request,
        f"Request to Schedule “{template.name}” sent to {candidate.full_name}. Their link: {link}",
    )
    return back


# --------------------------------------------------------------------------------------------
# Put the candidate in a journey by hand
# --------------------------------------------------------------------------------------------


class EnrolForm(forms.Form):
    journey = forms.CharField(
        error_messages={"required": "Choose the journey to add them to."}, max_length=20
    )
    reason = forms.CharField(
        max_length=REASON_MAX_CHARS,
        error_messages={
            "required": "Say why you are adding them by hand (it goes on their timeline).",
            "max_length": f"Keep the reason under {REASON_MAX_CHARS} characters.",
        },
    )


@editor_required
@require_POST
def journey_enrol(request, pk: int):
    organization = request.organization
    candidate = candidate_or_404(request, pk)
    back = redirect("candidates:detail", pk=candidate.pk)
    form = EnrolForm(request.POST)
    if not form.is_valid():
        problems = [str(e) for errors in form.errors.values() for e in errors]
        messages.error(request, f"Not added to a journey: {' '.join(problems)}")
        return back
    journey_id = _as_id(form.cleaned_data["journey"])
    journey = (
        Journey.objects.filter(organization=organization, pk=journey_id).first()
        if journey_id
        else None
    )
    if journey is None:
        messages.error(request, "Not added to a journey: that journey no longer exists.")
        return back
    application, problem = _application(request, candidate)
    if problem:
        messages.error(request, f"Not added to a journey: {problem}")
        return back
    try:
        enroll(
            organization=organization,
            journey=journey,
            candidate=candidate,
            application=application,
            reason=form.cleaned_data["reason"].strip(),
            actor=_person(request.user),
        )
    except EnrollmentRefused as exc:
        message = str(exc)
        if exc.code == "application_required":
            message = (
                f"{candidate.full_name} has several applications: choose the one the journey "
                "runs for."
            )
        messages.error(request, f"Not added to “{journey.name}”: {message}")
        return back
    messages.success(request, f"{candidate.full_name} added to “{journey.name}”.")
    return back


app_name = "candidate_actions"
urlpatterns = [
    path("<int:pk>/message/", message_send, name="message"),
    path("<int:pk>/scheduling-request/", scheduling_request, name="scheduling_request"),
    path("<int:pk>/journey/", journey_enrol, name="journey"),
]
