"""The demo organization's scheduling: the five scheduling messages in the Library (e-mail and
text, in the words recruiters know: Request to Schedule, Reminder to Schedule, Interview
Invitation, Day Before Interview Reminder, Cancellation Notification), the scheduling template
"Onsite interview · Sales Rep" that uses them, and a "Send scheduling request" step in the demo
journey after its first messages. Every function is safe to run again: what exists (by name, or
a scheduling step already in the journey) is left as the demo user made it."""

from __future__ import annotations

from collections.abc import Callable

from journeys import editing
from journeys.demo import DEMO_JOURNEY_NAME
from journeys.models import Journey, JourneyStep, StepKind
from library.models import MessageTemplate
from library.services import message_template_save
from recruitflow.tenancy import tenant_scope

from . import template_services
from .models import SchedulingTemplate

DEMO_SCHEDULING_TEMPLATE = "Onsite interview · Sales Rep"

_SIGN_OFF = '<p>See you soon,<br>\n{{ recruiter.name|default("The recruiting team") }}<br>\n{{ company.name }}</p>'
_DETAILS = (
    "<ul>\n"
    "<li><strong>When:</strong> {{ interview.when }}</li>\n"
    "{% if interview.location %}<li><strong>Where:</strong> {{ interview.location }}</li>{% endif %}\n"
    "{% if interview.video_link %}<li><strong>Video:</strong> "
    '<a href="{{ interview.video_link }}">{{ interview.video_link }}</a></li>{% endif %}\n'
    "{% if interview.interviewers %}<li><strong>With:</strong> {{ interview.interviewers }}</li>"
    "{% endif %}\n"
    "</ul>\n"
)

# (message kind, channel) → Library template. Names say which scheduling message they are.
DEMO_MESSAGES: dict[tuple[str, str], dict] = {
    ("request", "email"): {
        "name": "Request to Schedule",
        "subject": "Pick a time for your interview for {{ job.name }} at {{ company.name }}",
        "html_body": (
            '<p>Hi {{ candidate.first_name|default("there") }},</p>\n'
            "<p>Thanks for your time so far — we'd like to invite you to an interview for the "
            "{{ job.name }} role. Choose the time that suits you best; the times are shown in "
            "your own time zone.</p>\n"
            '<p><a href="{{ scheduling_link }}">Pick a time</a></p>\n' + _SIGN_OFF
        ),
    },
    ("request", "sms"): {
        "name": "Request to Schedule (text)",
        "text_body": (
            'Hi {{ candidate.first_name|default("there") }}, it\'s {{ company.name }}: please '
            "pick a time for your {{ job.name }} interview: {{ scheduling_link }} "
            "{{ opt_out_text }}"
        ),
    },
    ("reminder", "email"): {
        "name": "Reminder to Schedule",
        "subject": "Reminder: pick a time for your {{ job.name }} interview",
        "html_body": (
            '<p>Hi {{ candidate.first_name|default("there") }},</p>\n'
            "<p>A quick reminder: you haven't chosen a time for your interview for the "
            "{{ job.name }} role yet. It only takes a minute.</p>\n"
            '<p><a href="{{ scheduling_link }}">Pick a time</a></p>\n' + _SIGN_OFF
        ),
    },
    ("reminder", "sms"): {
        "name": "Reminder to Schedule (text)",
        "text_body": (
            'Hi {{ candidate.first_name|default("there") }}, a reminder from {{ company.name }}: '
            "pick a time for your {{ job.name }} interview here: {{ scheduling_link }} "
            "{{ opt_out_text }}"
        ),
    },
    ("invitation", "email"): {
        "name": "Interview Invitation",
        "subject": "Confirmed: {{ interview.title }} — {{ interview.when }}",
        "html_body": (
            '<p>Hi {{ candidate.first_name|default("there") }},</p>\n'
            "<p>Your interview is booked. The calendar invitation is attached.</p>\n"
            + _DETAILS
            + '<p>Can\'t make it? <a href="{{ interview.reschedule_link }}">Pick another '
            'time</a> or <a href="{{ interview.cancel_link }}">cancel the interview</a>.</p>\n'
            + _SIGN_OFF
        ),
    },
    ("invitation", "sms"): {
        "name": "Interview Invitation (text)",
        "text_body": (
            'Hi {{ candidate.first_name|default("there") }}, your {{ company.name }} interview: '
            "{{ interview.when }}. Change it: {{ interview.reschedule_link }} {{ opt_out_text }}"
        ),
    },
    ("day_before", "email"): {
        "name": "Day Before Interview Reminder",
        "subject": "Tomorrow: {{ interview.title }}",
        "html_body": (
            '<p>Hi {{ candidate.first_name|default("there") }},</p>\n'
            "<p>Looking forward to meeting you tomorrow.</p>\n"
            + _DETAILS
            + '<p>Plans changed? <a href="{{ interview.reschedule_link }}">Pick another '
            "time</a>.</p>\n" + _SIGN_OFF
        ),
    },
    ("day_before", "sms"): {
        "name": "Day Before Interview Reminder (text)",
        "text_body": (
            'Hi {{ candidate.first_name|default("there") }}, see you tomorrow: '
            "{{ interview.when }}. Change it: {{ interview.reschedule_link }} {{ opt_out_text }}"
        ),
    },
    ("cancellation", "email"): {
        "name": "Cancellation Notification",
        "subject": "Cancelled: {{ interview.title }} — {{ interview.when }}",
        "html_body": (
            '<p>Hi {{ candidate.first_name|default("there") }},</p>\n'
            "<p>Your interview on {{ interview.when }} is cancelled, and the calendar "
            "invitation is withdrawn.</p>\n"
            "<p>If you'd like to find another time, just reply to this e-mail.</p>\n" + _SIGN_OFF
        ),
    },
    ("cancellation", "sms"): {
        "name": "Cancellation Notification (text)",
        "text_body": (
            'Hi {{ candidate.first_name|default("there") }}, your {{ company.name }} interview '
            "on {{ interview.when }} is cancelled. Reply to find another time. {{ opt_out_text }}"
        ),
    },
}


def demo_scheduling_messages(*, organization) -> dict[tuple[str, str], MessageTemplate]:
    """The ten scheduling messages in the Library (those missing by name are added); returns
    them by (kind, channel)."""
    found: dict[tuple[str, str], MessageTemplate] = {}
    with tenant_scope(organization):
        existing = {
            t.name: t
            for t in MessageTemplate.objects.filter(
                organization=organization, name__in=[m["name"] for m in DEMO_MESSAGES.values()]
            )
        }
        for (kind, channel), fields in DEMO_MESSAGES.items():
            template = existing.get(fields["name"])
            if template is None:
                template = message_template_save(
                    organization=organization, channel=channel, **fields
                )
            found[(kind, channel)] = template
    return found


def demo_scheduling_template(*, organization) -> SchedulingTemplate:
    """The scheduling template "Onsite interview · Sales Rep": the demo team as required
    members (their built-in calendars), Mon–Fri 09:00–17:00 in the organization's time zone,
    45 minutes, its public link on, and the five messages as e-mail and text. Made once through
    the Library's own save (so it passes the editor's checks); an existing one (by name) is
    returned as it is."""
    messages = demo_scheduling_messages(organization=organization)
    with tenant_scope(organization):
        template = SchedulingTemplate.objects.filter(
            organization=organization, name=DEMO_SCHEDULING_TEMPLATE
        ).first()
        if template is not None:
            return template
        values = {
            **template_services.default_values(organization),
            "name": DEMO_SCHEDULING_TEMPLATE,
            "event_title": "Onsite interview: {{ candidate.full_name }} · {{ job.name }}",
            "description": (
                "Meet the sales team at our office: a conversation about your experience, a "
                "short role-play of a discovery call, and time for your questions."
            ),
            "duration_minutes": 45,
            "location": f"{organization.name}, 200 Park Avenue South, New York, NY 10003",
            "windows": [{"weekday": day, "start": "09:00", "end": "17:00"} for day in range(5)],
            "public_link_enabled": True,
            "required_member_ids": [
                user.pk for user in template_services.team_members(organization)
            ],
            "messages": {
                f"{kind}_{channel}": message.pk for (kind, channel), message in messages.items()
            },
        }
        return template_services.template_save(organization=organization, values=values)


def demo_scheduling_step(*, organization, log: Callable[[str], None] = print) -> JourneyStep | None:
    """Add "Send scheduling request: Onsite interview · Sales Rep" to the demo journey right
    after its first messages (the text and the e-mail). Nothing happens when the journey is not
    there yet (it comes with the first sync) or already has a scheduling step."""
    template = demo_scheduling_template(organization=organization)
    with tenant_scope(organization):
        journey = Journey.objects.filter(organization=organization, name=DEMO_JOURNEY_NAME).first()
        if journey is None or journey.current_version_id is None:
            return None
        steps = list(
            JourneyStep.objects.filter(
                organization=organization, version_id=journey.current_version_id
            ).order_by("position", "id")
        )
        if any(step.kind == StepKind.SEND_SCHEDULING_REQUEST for step in steps):
            return None
        first_messages = 0
        for step in steps:
            if step.kind not in (StepKind.SEND_SMS, StepKind.SEND_EMAIL):
                break
            first_messages += 1
        step = editing.journey_step_add(
            journey=journey,
            kind=StepKind.SEND_SCHEDULING_REQUEST,
            config={"template_id": template.pk},
            position=first_messages + 1,
        )
    log(f"Step “Send scheduling request: {template.name}” added to “{DEMO_JOURNEY_NAME}”.")
    return step
