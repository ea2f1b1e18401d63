"""The dry run: what each step of a journey's current version would do for one candidate now
(the message it would render, or why it would be skipped), sending nothing."""

from __future__ import annotations

from dataclasses import dataclass

from integrations.messaging import E164
from journeys.models import (
    JourneyStep,
    JourneyVersion,
)
from journeys.services import SEND_CHANNELS
from journeys.simulation import step_label
from library import templating
from messaging.selectors import is_locked

# --------------------------------------------------------------------------------------------
# Dry run
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DryRunStep:
    position: int
    kind: str
    label: str
    channel: str = ""  # "sms" | "email" for sends
    template_name: str = ""
    to_address: str = ""
    subject: str = ""
    text: str = ""
    html: str = ""
    segments: int = 0  # texts: SMS segments
    encoding: str = ""
    error: str = ""  # why it cannot render
    note: str = ""  # why it would be skipped for this candidate, or what a non-send step does

    @property
    def is_send(self) -> bool:
        return bool(self.channel)


def dry_run(*, version: JourneyVersion, candidate) -> list[DryRunStep]:
    """Every step of ``version`` for ``candidate``: each message rendered with their data
    (subject, text, HTML, or the error that stops it), and what would stop it reaching them."""
    organization = version.journey.organization
    steps = list(
        JourneyStep.objects.filter(version=version)
        .select_related("message_template")
        .order_by("position", "id")
    )
    context = None
    context_error = ""
    out = []
    for step in steps:
        label = step_label(step)
        channel = SEND_CHANNELS.get(step.kind)
        if channel is None:
            out.append(DryRunStep(step.position, step.kind, label))
            continue
        template = step.message_template
        if template is None:
            out.append(
                DryRunStep(
                    step.position,
                    step.kind,
                    label,
                    channel=channel,
                    error="No message template: choose one from the Library.",
                )
            )
            continue
        note = ""
        if channel == "sms":
            to_address = (candidate.mobile_phone or "").strip()
            if not to_address:
                note = "No mobile number: this text would be skipped."
            elif not E164.match(to_address):
                note = f"{to_address} is not a full international mobile number: skipped."
            elif is_locked(organization, to_address):
                note = f"{to_address} opted out of texts: this text would be skipped."
        else:
            to_address = (candidate.primary_email or "").strip()
            if not to_address:
                note = "No email address: this e-mail would be skipped."
        if context is None and not context_error:
            try:
                context = templating.merge_context(organization=organization, candidate=candidate)
            except ValueError as exc:
                context_error = str(exc)
        try:
            if context_error or context is None:
                raise ValueError(context_error)
            rendered = templating.render(template, context)
        except (templating.TemplateInvalid, ValueError) as exc:
            out.append(
                DryRunStep(
                    step.position,
                    step.kind,
                    label,
                    channel=channel,
                    template_name=template.name,
                    to_address=to_address,
                    error=str(exc),
                    note=note,
                )
            )
            continue
        count = rendered.sms if channel == "sms" else None
        out.append(
            DryRunStep(
                step.position,
                step.kind,
                label,
                channel=channel,
                template_name=template.name,
                to_address=to_address,
                subject=rendered.subject,
                text=rendered.text,
                html=rendered.html,
                segments=count.segments if count else 0,
                encoding=count.encoding if count else "",
                note=note,
            )
        )
    return out
