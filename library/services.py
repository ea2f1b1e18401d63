"""Library writes (the editor and the partner API share them): save, copy and delete a message
template, and what uses a template (which blocks its deletion)."""

from __future__ import annotations

from django.core.exceptions import FieldError, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError, RestrictedError

from .models import MessageTemplate
from .templating import EMAIL, SMS, TemplateProblem, check_template, html_to_text
from .templating.validation import _normalize


class TemplateInUse(Exception):
    """The template is used (e.g. by a journey step) and cannot be deleted."""


def _errors_as_messages(errors: dict[str, list[TemplateProblem]]) -> dict[str, list[str]]:
    return {part: [str(p) for p in problems] for part, problems in errors.items()}


def name_taken(*, organization, name: str, exclude_pk: int | None) -> bool:
    return (
        MessageTemplate.objects.filter(organization=organization, name__iexact=name)
        .exclude(pk=exclude_pk)
        .exists()
    )


def message_template_save(
    *,
    organization,
    actor=None,
    template: MessageTemplate | None = None,
    name: str,
    channel: str,
    subject: str = "",
    html_body: str = "",
    text_body: str = "",
    text_body_edited: bool = False,
) -> MessageTemplate:
    """Create (``template=None``) or update a Library template. Raises Django's
    ``ValidationError`` with a message per field — each template problem with its line — and
    saves nothing when anything is wrong. An e-mail's plain-text part is derived from the HTML
    body unless ``text_body_edited``."""
    name = " ".join((name or "").split())
    subject, html_body, text_body = map(_normalize, (subject, html_body, text_body))
    subject = subject.strip()
    if channel == SMS:
        text_body_edited = False
    errors = _errors_as_messages(
        check_template(
            channel=channel,
            subject=subject,
            html_body=html_body,
            text_body=text_body,
            text_body_edited=text_body_edited,
        )
    )
    if template is not None and channel != template.channel:
        errors["channel"] = [
            "A template's channel can't change. Copy the wording into a new template instead."
        ]
    if not name:
        errors["name"] = ["Give the template a name."]
    elif len(name) > 200:
        errors["name"] = [f"Keep the name to 200 characters (it has {len(name)})."]
    elif name_taken(
        organization=organization, name=name, exclude_pk=template.pk if template else None
    ):
        errors["name"] = [f"Another template is already called “{name}”. Choose another name."]
    if errors:
        raise ValidationError(errors)

    if channel == EMAIL and not text_body_edited:
        text_body = html_to_text(html_body)
    template = template or MessageTemplate(
        organization=organization, channel=channel, created_by=actor
    )
    template.name = name
    template.subject = subject.strip() if channel == EMAIL else ""
    template.html_body = html_body if channel == EMAIL else ""
    template.text_body = text_body
    template.text_body_edited = text_body_edited
    try:
        with transaction.atomic():
            template.save()
    except IntegrityError as exc:  # the same name saved a moment ago by someone else
        raise ValidationError(
            {"name": [f"Another template is already called “{name}”. Choose another name."]}
        ) from exc
    return template


def message_template_copy(*, template: MessageTemplate, actor=None) -> MessageTemplate:
    """A copy named "Copy of …" (numbered when that name is taken)."""
    organization = template.organization
    base = f"Copy of {template.name}"[:190]
    name, n = base, 1
    while name_taken(organization=organization, name=name, exclude_pk=None):
        n += 1
        name = f"{base} ({n})"
    return message_template_save(
        organization=organization,
        actor=actor,
        name=name,
        channel=template.channel,
        subject=template.subject,
        html_body=template.html_body,
        text_body=template.text_body,
        text_body_edited=template.text_body_edited,
    )


def template_uses(template: MessageTemplate) -> list[str]:
    """What refers to this template ("2 journey steps (in Onsite invitations)", "1 scheduling
    template (Onsite interview)"), from every relation other models declare to it, so anything
    that sends it blocks its deletion. A row using the template twice counts once."""
    rows_by_model: dict = {}
    for relation in template._meta.related_objects:
        if not (relation.one_to_many or relation.one_to_one) or relation.related_model is None:
            continue
        model = relation.related_model
        manager = getattr(model, "unscoped", model._default_manager)
        ids = manager.filter(**{relation.field.name: template}).values_list("pk", flat=True)
        rows_by_model.setdefault(model, set()).update(ids)
    uses = []
    for model, ids in rows_by_model.items():
        if not ids:
            continue
        rows = getattr(model, "unscoped", model._default_manager).filter(pk__in=ids)
        count = len(ids)
        noun = model._meta.verbose_name if count == 1 else model._meta.verbose_name_plural
        try:  # journey steps: name the journeys
            names = sorted(set(rows.values_list("version__journey__name", flat=True)))
        except FieldError:
            try:  # named rows (scheduling templates): name them
                names = sorted(set(rows.values_list("name", flat=True)))
            except FieldError:
                names = []
        where = f" (in {', '.join(names)})" if names else ""
        if names and not hasattr(model, "version"):
            where = f" ({', '.join(names)})"
        uses.append(f"{count} {noun}{where}")
    return uses


def message_template_delete(*, template: MessageTemplate) -> None:
    """Delete a template nothing uses; raises :class:`TemplateInUse` saying what uses it."""
    uses = template_uses(template)
    if uses:
        raise TemplateInUse(
            f"“{template.name}” is used by {' and '.join(uses)}. Remove it from there first, "
            "or copy it and change the copy."
        )
    try:
        with transaction.atomic():
            template.delete()
    except (ProtectedError, RestrictedError) as exc:
        raise TemplateInUse(
            f"“{template.name}” is still used elsewhere and can't be deleted."
        ) from exc
