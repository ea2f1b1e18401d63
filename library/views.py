"""The Library: its index, the message templates (list, editor with live preview, copy,
delete) and the JSON endpoints the Inbox composer uses to pick and render a template."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from csp.decorators import csp
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, F, Max, Q
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET, require_POST

from candidates.models import Application, Candidate
from candidates.views import organization_time
from recruitflow.decorators import editor_required, organization_required
from recruitflow.page_cache import member_page

from . import services, templating
from .forms import VISUAL_TAGS, MessageTemplateForm
from .models import MessageTemplate, TemplateChannel

CANDIDATE_CHOICES = 20

# ----------------------------------------------------------------------------------------------
# Reads
# ----------------------------------------------------------------------------------------------


def _templates(organization):
    return MessageTemplate.objects.filter(organization=organization)


MAX_ID = 2**63 - 1


def _as_id(raw) -> int | None:
    """A database id from user input, or None (a number too large for the column is none)."""
    raw = str(raw or "").strip()
    if not raw.isascii() or not raw.isdigit() or int(raw) > MAX_ID:
        return None
    return int(raw)


def _template_or_404(organization, pk: int) -> MessageTemplate:
    if _as_id(pk) is None:
        raise Http404("No such template in your organization.")
    template = _templates(organization).filter(pk=pk).first()
    if template is None:
        raise Http404("No such template in your organization.")
    return template


def _live_candidates(organization):
    return Candidate.objects.filter(
        organization=organization, deleted_at__isnull=True, merged_into__isnull=True
    )


def preview_candidates(*, organization, q: str = "") -> list[Candidate]:
    """Candidates to preview with: the most recently active first, matching ``q`` (name or
    e-mail) when given."""
    candidates = _live_candidates(organization)
    for word in q.split()[:5]:
        candidates = candidates.filter(
            Q(first_name__icontains=word)
            | Q(last_name__icontains=word)
            | Q(primary_email__icontains=word)
        )
    return list(
        candidates.annotate(
            last_active=Max(
                "applications__last_activity_at",
                filter=Q(applications__deleted_at__isnull=True),
            )
        )
        .order_by(F("last_active").desc(nulls_last=True), "-id")
        .only("id", "first_name", "last_name", "primary_email")[:CANDIDATE_CHOICES]
    )


def _preview_application(organization, candidate: Candidate) -> Application | None:
    return (
        Application.objects.filter(
            organization=organization, candidate=candidate, deleted_at__isnull=True
        )
        .select_related("job")
        .order_by(F("last_activity_at").desc(nulls_last=True), "-id")
        .first()
    )


# ----------------------------------------------------------------------------------------------
# Pages
# ----------------------------------------------------------------------------------------------


@organization_required
@member_page
def library_index(request):
    counts = dict(
        _templates(request.organization)
        .order_by()
        .values_list("channel")
        .annotate(n=Count("id"))
        .values_list("channel", "n")
    )
    return render(
        request,
        "library/index.html",
        {
            "email_count": counts.get(TemplateChannel.EMAIL, 0),
            "sms_count": counts.get(TemplateChannel.SMS, 0),
        },
    )


LIST_PREVIEW_LINES = 3
LIST_PREVIEW_CHARACTERS = 240


@dataclass(frozen=True)
class ListPreview:
    """A template as the list shows it: rendered with sample values, not as template code."""

    subject: str = ""
    lines: tuple[str, ...] = ()
    more: bool = False  # lines left out after the shown ones (a cut line ends with "…")
    problem: str = ""


def list_preview(template: MessageTemplate, context: dict) -> ListPreview:
    """The subject (e-mails) and the first lines of the rendered text with sample values; the
    first problem when the template can't render."""
    try:
        rendered = templating.render(template, context)
    except templating.TemplateInvalid as exc:
        first = exc.problems[0] if exc.problems else None
        problem = templating.describe(first, template.channel) if first else str(exc)
        return ListPreview(problem=problem)
    lines = [line.strip() for line in rendered.text.splitlines() if line.strip()]
    shown: list[str] = []
    room = LIST_PREVIEW_CHARACTERS
    for line in lines[:LIST_PREVIEW_LINES]:
        if len(line) > room:
            shown.append(line[: max(room - 1, 1)].rstrip() + "…")
            return ListPreview(subject=rendered.subject, lines=tuple(shown))
        shown.append(line)
        room -= len(line)
    return ListPreview(subject=rendered.subject, lines=tuple(shown), more=len(lines) > len(shown))


@organization_required
def template_list(request):
    organization = request.organization
    channel = request.GET.get("channel", "")
    channel = channel if channel in TemplateChannel.values else ""
    q = " ".join((request.GET.get("q") or "").split())[:200]
    templates = _templates(organization).select_related("created_by")
    total = templates.count()
    if channel:
        templates = templates.filter(channel=channel)
    for word in q.split()[:5]:
        templates = templates.filter(Q(name__icontains=word) | Q(subject__icontains=word))
    templates = list(templates.order_by("name", "id"))
    sample = templating.sample_context(organization) if templates else {}
    previews = [(template, list_preview(template, sample)) for template in templates]
    with organization_time(organization):
        return render(
            request,
            "library/templates.html",
            {
                "templates": templates,
                "previews": previews,
                "total": total,
                "channel": channel,
                "q": q,
                "channels": TemplateChannel.choices,
            },
        )


def _editor(
    request, *, form: MessageTemplateForm, template: MessageTemplate | None, status: int = 200
):
    """The editor page; 400 when it shows a refused save."""
    organization = request.organization
    candidates = preview_candidates(organization=organization)
    with organization_time(organization):
        return render(
            request,
            "library/template_edit.html",
            {
                "form": form,
                "template": template,
                "channel": form.channel,
                "channel_label": TemplateChannel(form.channel).label,
                "merge_groups": templating.merge_field_groups(),
                "candidates": candidates,
                "read_only": not request.membership.can_edit,
                "text_edited": form._edited() if form.channel == TemplateChannel.EMAIL else False,
                # Read by static/js/library_editor.js from data attributes.
                "visual_tags": json.dumps({tag: list(names) for tag, names in VISUAL_TAGS.items()}),
                "field_labels": json.dumps({f.path: f.label for f in templating.MERGE_FIELDS}),
            },
            status=status,
        )


def _save(request, form: MessageTemplateForm) -> MessageTemplate | None:
    if not form.is_valid():
        return None
    try:
        return form.save(actor=request.user)
    except ValidationError as exc:
        for field_name, errors in exc.message_dict.items():
            form.add_error(field_name if field_name in form.fields else None, errors)
        return None


@editor_required
def template_create(request):
    organization = request.organization
    channel = request.POST.get("channel") or request.GET.get("channel") or ""
    if channel not in TemplateChannel.values:
        return render(request, "library/template_new.html", {})
    form = MessageTemplateForm(
        request.POST if request.method == "POST" else None,
        channel=channel,
        organization=organization,
    )
    if request.method == "POST":
        template = _save(request, form)
        if template is not None:
            messages.success(request, f"Template “{template.name}” created.")
            return redirect("library:template_edit", pk=template.pk)
        messages.error(
            request, "Not saved yet: fix what is marked below. Nothing you typed is lost."
        )
        return _editor(request, form=form, template=None, status=400)
    return _editor(request, form=form, template=None)


@organization_required
def template_edit(request, pk: int):
    organization = request.organization
    template = _template_or_404(organization, pk)
    can_edit = request.membership.can_edit
    if request.method == "POST":
        if not can_edit:
            raise PermissionDenied("Your role can read templates but not change them.")
        form = MessageTemplateForm(
            request.POST, channel=template.channel, organization=organization, instance=template
        )
        saved = _save(request, form)
        if saved is not None:
            messages.success(request, f"Template “{saved.name}” saved.")
            return redirect("library:template_edit", pk=saved.pk)
        messages.error(
            request, "Not saved yet: fix what is marked below. Nothing you typed is lost."
        )
        return _editor(request, form=form, template=template, status=400)
    form = MessageTemplateForm(
        channel=template.channel,
        organization=organization,
        instance=template,
        read_only=not can_edit,
    )
    return _editor(request, form=form, template=template)


@editor_required
@require_POST
def template_copy(request, pk: int):
    template = _template_or_404(request.organization, pk)
    copy = services.message_template_copy(template=template, actor=request.user)
    messages.success(request, f"Copied “{template.name}” to “{copy.name}”. Edit the copy below.")
    return redirect("library:template_edit", pk=copy.pk)


@editor_required
@require_POST
def template_delete(request, pk: int):
    template = _template_or_404(request.organization, pk)
    try:
        services.message_template_delete(template=template)
    except services.TemplateInUse as exc:
        messages.error(request, str(exc))
        return redirect("library:template_edit", pk=template.pk)
    messages.success(request, f"Template “{template.name}” deleted.")
    return redirect("library:templates")


# ----------------------------------------------------------------------------------------------
# Live preview (htmx)
# ----------------------------------------------------------------------------------------------


def _uses_links(channel: str, parts: dict[str, str], edited: bool) -> bool:
    """Whether the text uses a link that exists only once a message is sent."""
    names = ["text_body"] if channel == TemplateChannel.SMS else ["subject", "html_body"]
    if channel == TemplateChannel.EMAIL and edited:
        names.append("text_body")
    used = {
        path
        for name in names
        for path in templating.used_fields(parts[name], channel=channel, part=name)
    }
    return bool(used & set(templating.sample_links()))


@dataclass
class Preview:
    channel: str
    parts: dict[str, str]
    edited: bool
    rendered: templating.Rendered | None = None
    problems: list[str] = field(default_factory=list)
    candidate: Candidate | None = None
    application: Application | None = None
    note: str = ""


def _preview(request) -> Preview | None:
    """The editor's current (unsaved) text rendered for the chosen candidate, or with sample
    data; None when the channel is missing."""
    organization = request.organization
    channel = request.POST.get("channel", "")
    if channel not in TemplateChannel.values:
        return None
    preview = Preview(
        channel=channel,
        parts={
            "subject": request.POST.get("subject", ""),
            "html_body": request.POST.get("html_body", ""),
            "text_body": request.POST.get("text_body", ""),
        },
        edited=channel == TemplateChannel.EMAIL
        and request.POST.get("text_body_edited") in ("on", "true", "1"),
    )
    raw_candidate = (request.POST.get("candidate") or "").strip()
    if raw_candidate:
        candidate_id = _as_id(raw_candidate)
        if candidate_id is not None:
            preview.candidate = _live_candidates(organization).filter(pk=candidate_id).first()
        if preview.candidate is None:
            preview.note = "That candidate is no longer in your organization; showing sample data."
    if preview.candidate is not None:
        preview.application = _preview_application(organization, preview.candidate)
        context = templating.merge_context(
            organization=organization,
            candidate=preview.candidate,
            application=preview.application,
            extra=templating.sample_links(),
        )
    else:
        context = templating.sample_context(organization)
    email = channel == TemplateChannel.EMAIL
    try:
        preview.rendered = templating.render_parts(
            channel=channel,
            subject=preview.parts["subject"] if email else "",
            html_body=preview.parts["html_body"] if email else "",
            text_body=preview.parts["text_body"],
            text_body_edited=preview.edited,
            context=context,
        )
    except templating.TemplateInvalid as exc:
        preview.problems = [templating.describe(p, channel) for p in exc.problems]
    return preview


def _sent_fields(template) -> set[str]:
    """The merge fields a saved template uses in the parts it sends."""
    parts = {"text_body": template.text_body}
    if template.channel == TemplateChannel.EMAIL:
        parts = {"subject": template.subject, "html_body": template.html_body}
        if template.text_body_edited:
            parts["text_body"] = template.text_body
    return {
        path
        for name, source in parts.items()
        for path in templating.used_fields(source, channel=template.channel, part=name)
    }


@organization_required
@require_POST
def template_preview(request):
    """The preview panel (htmx): subject, plain text or text message, segments, problems; 400
    (the panel listing the problems) when the text can't render."""
    preview = _preview(request)
    if preview is None:
        return render(
            request,
            "library/_preview.html",
            {"problems": ["Choose e-mail or text message."]},
            status=400,
        )
    rendered = preview.rendered
    derived = ""
    if preview.channel == TemplateChannel.EMAIL and not preview.edited:
        derived = templating.html_to_text(preview.parts["html_body"].replace("\r\n", "\n"))
    return render(
        request,
        "library/_preview.html",
        {
            "preview": preview,
            "channel": preview.channel,
            "rendered": rendered,
            "problems": preview.problems,
            "candidate": preview.candidate,
            "application": preview.application,
            "note": preview.note,
            "derived": derived,
            "edited": preview.edited,
            "empty_fields": [
                templating.FIELDS_BY_PATH[path]
                for path in (rendered.empty_fields if rendered else ())
            ],
            "example_links": preview.candidate is not None
            and _uses_links(preview.channel, preview.parts, preview.edited),
        },
        status=400 if preview.problems else 200,
    )


# The e-mail preview document gets its own policy: e-mail HTML relies on inline styles and
# remote images, which the app's policy (inherited by srcdoc frames) forbids. It is shown in an
# iframe with an empty sandbox attribute, and the policy sandboxes it too, so nothing in it can
# run scripts, submit forms or reach the app.
EMAIL_PREVIEW_POLICY = {
    "default-src": ["'none'"],
    "style-src": ["'unsafe-inline'"],
    "img-src": ["https:", "data:"],
    "font-src": ["https:", "data:"],
    "base-uri": ["'none'"],
    "form-action": ["'none'"],
    "frame-ancestors": ["'self'"],
    "sandbox": [""],
}


@organization_required
@require_POST
@xframe_options_sameorigin
@csp(EMAIL_PREVIEW_POLICY)
def template_preview_document(request):
    """The rendered e-mail as a document for the preview's sandboxed iframe."""
    preview = _preview(request)
    html = ""
    if preview is not None and preview.channel == TemplateChannel.EMAIL and preview.rendered:
        html = preview.rendered.html
    return render(
        request,
        "library/_email_document.html",
        {"html": html, "problems": preview.problems if preview else []},
        status=400 if preview is None or preview.problems else 200,
    )


@organization_required
@require_GET
def template_candidates(request):
    """The preview's candidate choices (``<option>``s) for a search."""
    q = " ".join((request.GET.get("q") or "").split())[:200]
    return render(
        request,
        "library/_candidate_options.html",
        {"candidates": preview_candidates(organization=request.organization, q=q), "q": q},
    )


# ----------------------------------------------------------------------------------------------
# JSON for the Inbox composer
# ----------------------------------------------------------------------------------------------


@organization_required
@require_GET
def template_options(request):
    """``[{"id": 1, "name": "..."}]``: the organization's templates of a channel."""
    channel = request.GET.get("channel", "")
    templates = _templates(request.organization)
    if channel:
        if channel not in TemplateChannel.values:
            return JsonResponse(
                {"error": "Use channel=email or channel=sms (or leave it out for both)."},
                status=400,
            )
        templates = templates.filter(channel=channel)
    return JsonResponse(
        [
            {"id": t["id"], "name": t["name"]}
            for t in templates.order_by("name", "id").values("id", "name")
        ],
        safe=False,
    )


@organization_required
@require_GET
def template_render(request, pk: int):
    """``{"subject", "text", "html", "error"}`` of one template for a candidate of the
    organization (sample data without ``candidate``). 404 (with ``error``) for ids of other
    organizations; 400 (with ``error``) when the template can't render."""
    organization = request.organization

    def not_found(error: str) -> JsonResponse:
        return JsonResponse({"subject": "", "text": "", "html": "", "error": error}, status=404)

    template = _templates(organization).filter(pk=_as_id(pk)).first() if _as_id(pk) else None
    if template is None:
        return not_found("That template is no longer in the Library. Choose another one.")
    raw_candidate = (request.GET.get("candidate") or "").strip()
    if raw_candidate:
        candidate_id = _as_id(raw_candidate)
        candidate = (
            _live_candidates(organization).filter(pk=candidate_id).first()
            if candidate_id is not None
            else None
        )
        if candidate is None:
            return not_found("That candidate is no longer in your organization.")
        # A message written by hand to one candidate has no interview or scheduling link to
        # fill in: refuse the template rather than send a blank where the link should be.
        unfilled = templating.unfilled_fields(_sent_fields(template))
        if unfilled:
            field = unfilled[0]
            return JsonResponse(
                {
                    "subject": "",
                    "text": "",
                    "html": "",
                    "error": f"“{template.name}” uses {field.tag}, which only "
                    f"{field.filled_by} fills, so it can't be sent by hand. Send it from "
                    f"{field.send_from}, or choose another template.",
                },
                status=400,
            )
        context = templating.merge_context(organization=organization, candidate=candidate)
    else:
        context = templating.sample_context(organization)
    try:
        rendered = templating.render(template, context)
    except templating.TemplateInvalid as exc:
        return JsonResponse({"subject": "", "text": "", "html": "", "error": str(exc)}, status=400)
    return JsonResponse(
        {"subject": rendered.subject, "text": rendered.text, "html": rendered.html, "error": None}
    )
