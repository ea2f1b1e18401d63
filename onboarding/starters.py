"""The starter gallery's journeys, as data: what each does in words, the stage it starts in (by
role, matched to the organization's own stage names in ``gallery``), its steps, and the Library
templates (message and scheduling) it needs. ``gallery.starter_copy`` turns one into rows
through the journeys', library's and scheduling's own services."""

from __future__ import annotations

from dataclasses import dataclass, field

from journeys.models import ExitRule, StepKind, TriggerKind

# Stage roles: the names teams give the same stage, best first. A synced stage matches a role
# when its name is one of these (case, spaces and hyphens aside), else when it contains one
# ("Recruiter Phone Screen" contains "Phone Screen").
STAGE_SYNONYMS: dict[str, tuple[str, ...]] = {
    "review": (
        "Application Review",
        "Resume Review",
        "CV Review",
        "Applied",
        "New Applicant",
        "Application",
        "Screening",
    ),
    "phone_screen": (
        "Phone Screen",
        "Phone Interview",
        "Recruiter Screen",
        "Phone Screening",
        "Screening Call",
        "Intro Call",
        "Initial Call",
    ),
    "onsite": (
        "Onsite Interview",
        "Onsite",
        "Face to Face",
        "Face to Face Interview",
        "In Person Interview",
        "Final Interview",
        "Final Round",
        "Panel Interview",
    ),
    "offer": ("Offer", "Offer Extended", "Make Offer", "Offer Stage"),
}
STAGE_ROLE_WORDS = {
    "review": "application review",
    "phone_screen": "phone screen",
    "onsite": "onsite interview",
    "offer": "offer",
}


@dataclass(frozen=True)
class Message:
    """A Library message template a starter copies (``name`` is made unique on copy)."""

    name: str
    channel: str  # "email" or "sms"
    subject: str = ""
    html_body: str = ""
    text_body: str = ""


@dataclass(frozen=True)
class Scheduling:
    """A Library scheduling template a starter copies; ``messages`` maps the scheduling message
    fields (``request_email`` …) to keys of the starter's ``messages``."""

    name: str
    event_title: str
    description: str
    duration_minutes: int
    location: str
    messages: dict[str, str]


@dataclass(frozen=True)
class Step:
    kind: str
    message: str = ""  # a key of the starter's messages (send e-mail / text)
    config: dict = field(default_factory=dict)
    scheduling: bool = False  # send the starter's scheduling template


@dataclass(frozen=True)
class Starter:
    slug: str
    name: str
    summary: str  # what it does, in words
    trigger: str
    stage_role: str | None
    steps: tuple[Step, ...]
    messages: dict[str, Message]
    exit_rules: tuple[str, ...]
    stale_days: int | None = None
    scheduling: Scheduling | None = None


_HI = '<p>Hi {{ candidate.first_name|default("there") }},</p>\n'
_SIGNED = (
    '<p>Best,<br>\n{{ recruiter.name|default("The recruiting team") }}<br>\n{{ company.name }}</p>'
)
_TEXT_HI = 'Hi {{ candidate.first_name|default("there") }}, '
_DETAILS = (
    "<ul>\n<li><strong>When:</strong> {{ interview.when }}</li>\n"
    "{% if interview.location %}<li><strong>Where:</strong> {{ interview.location }}</li>"
    "{% endif %}\n"
    "{% if interview.interviewers %}<li><strong>With:</strong> {{ interview.interviewers }}"
    "</li>{% endif %}\n</ul>\n"
)
_WEEKDAY_MORNING = {"mode": "until", "weekdays": [0, 1, 2, 3, 4], "time": "10:00"}
_DEFAULT_EXITS = (ExitRule.LEFT_STAGE, ExitRule.REJECTED, ExitRule.HIRED, ExitRule.OPTED_OUT)

STARTERS: tuple[Starter, ...] = (
    Starter(
        slug="onsite-invitation",
        name="Onsite interview invitation",
        summary=(
            "When a candidate enters your onsite interview stage, texts them the good news and "
            "follows with an e-mail; your recruiter then agrees the time."
        ),
        trigger=TriggerKind.ENTERED_STAGE,
        stage_role="onsite",
        steps=(
            Step(StepKind.SEND_SMS, message="text"),
            Step(StepKind.SEND_EMAIL, message="email"),
        ),
        messages={
            "text": Message(
                name="Onsite invitation (text)",
                channel="sms",
                text_body=(
                    _TEXT_HI + "it's {{ company.name }}: we'd love to invite you to an onsite "
                    "interview for {{ job.name }}! Details follow by e-mail. {{ opt_out_text }}"
                ),
            ),
            "email": Message(
                name="Onsite invitation",
                channel="email",
                subject="Your onsite interview for {{ job.name }} at {{ company.name }}",
                html_body=(
                    _HI + "<p>Thank you for the conversations so far. We'd like to invite you "
                    "to an <strong>onsite interview</strong> for the {{ job.name }} role"
                    "{% if office.name %} at our {{ office.name }} office{% endif %}.</p>\n"
                    '<p>{{ recruiter.name|default("Our recruiting team") }} will be in touch '
                    "shortly to find a time. Questions before then? Just reply to this "
                    "e-mail.</p>\n" + _SIGNED
                ),
            ),
        },
        exit_rules=_DEFAULT_EXITS,
    ),
    Starter(
        slug="phone-screen-scheduling",
        name="Phone-screen scheduling",
        summary=(
            "When a candidate enters your phone screen stage, sends a link to pick a 30-minute "
            "call in your free times (you are the interviewer), reminds them if they have not "
            "picked one, confirms the booking and reminds them the day before."
        ),
        trigger=TriggerKind.ENTERED_STAGE,
        stage_role="phone_screen",
        steps=(Step(StepKind.SEND_SCHEDULING_REQUEST, scheduling=True),),
        messages={
            "request_email": Message(
                name="Phone screen: pick a time",
                channel="email",
                subject="Pick a time for a call about {{ job.name }} at {{ company.name }}",
                html_body=(
                    _HI + "<p>Thanks for applying for the {{ job.name }} role. We'd like to "
                    "get to know you in a short phone call. Choose the time that suits you "
                    "best; times are shown in your own time zone.</p>\n"
                    '<p><a href="{{ scheduling_link }}">Pick a time</a></p>\n' + _SIGNED
                ),
            ),
            "request_text": Message(
                name="Phone screen: pick a time (text)",
                channel="sms",
                text_body=(
                    _TEXT_HI + "it's {{ company.name }}: pick a time for a short call about "
                    "{{ job.name }}: {{ scheduling_link }} {{ opt_out_text }}"
                ),
            ),
            "reminder_text": Message(
                name="Phone screen: reminder to pick a time (text)",
                channel="sms",
                text_body=(
                    _TEXT_HI + "a reminder from {{ company.name }}: pick a time for your call "
                    "about {{ job.name }}: {{ scheduling_link }} {{ opt_out_text }}"
                ),
            ),
            "invitation_email": Message(
                name="Phone screen: confirmed",
                channel="email",
                subject="Confirmed: {{ interview.title }} — {{ interview.when }}",
                html_body=(
                    _HI
                    + "<p>Your call is booked; the calendar invitation is attached.</p>\n"
                    + _DETAILS
                    + '<p>Can\'t make it? <a href="{{ interview.reschedule_link }}">Pick '
                    'another time</a> or <a href="{{ interview.cancel_link }}">cancel</a>.'
                    "</p>\n" + _SIGNED
                ),
            ),
            "day_before_text": Message(
                name="Phone screen: see you tomorrow (text)",
                channel="sms",
                text_body=(
                    _TEXT_HI + "talk tomorrow: {{ interview.when }}. Change it: "
                    "{{ interview.reschedule_link }} {{ opt_out_text }}"
                ),
            ),
            "cancellation_email": Message(
                name="Phone screen: cancelled",
                channel="email",
                subject="Cancelled: {{ interview.title }} — {{ interview.when }}",
                html_body=(
                    _HI + "<p>Your call on {{ interview.when }} is cancelled and the calendar "
                    "invitation withdrawn. Reply to this e-mail to find another time.</p>\n"
                    + _SIGNED
                ),
            ),
        },
        scheduling=Scheduling(
            name="Phone screen",
            event_title="Phone screen: {{ candidate.full_name }} · {{ job.name }}",
            description="A 30-minute call: your experience, the role, and your questions.",
            duration_minutes=30,
            location="By phone: we call the number you gave us.",
            messages={
                "request_email": "request_email",
                "request_sms": "request_text",
                "reminder_sms": "reminder_text",
                "invitation_email": "invitation_email",
                "day_before_sms": "day_before_text",
                "cancellation_email": "cancellation_email",
            },
        ),
        exit_rules=_DEFAULT_EXITS,
    ),
    Starter(
        slug="rejection-with-care",
        name="Rejection with care",
        summary=(
            "When a candidate is rejected, waits until the next weekday at 10:00 in their time "
            "zone (never a late-night or instant no), then sends a warm, personal e-mail."
        ),
        trigger=TriggerKind.REJECTED,
        stage_role=None,
        steps=(
            Step(StepKind.WAIT, config=_WEEKDAY_MORNING),
            Step(StepKind.SEND_EMAIL, message="email"),
        ),
        messages={
            "email": Message(
                name="Rejection with care",
                channel="email",
                subject="Your application for {{ job.name }} at {{ company.name }}",
                html_body=(
                    _HI + "<p>Thank you for your interest in the {{ job.name }} role and for "
                    "the time you gave us. After careful thought, we've decided to move forward "
                    "with other candidates.</p>\n"
                    "<p>This was not an easy decision, and it says nothing about your worth. "
                    "We'd be glad to hear from you again for future openings at "
                    "{{ company.name }}.</p>\n"
                    "<p>With best wishes,<br>\n"
                    '{{ recruiter.name|default("The recruiting team") }}</p>'
                ),
            ),
        },
        exit_rules=(ExitRule.HIRED,),
    ),
    Starter(
        slug="offer-congratulations",
        name="Offer congratulations",
        summary=(
            "When a candidate enters your offer stage, sends a congratulations e-mail and a "
            "short text saying their recruiter will call with the details."
        ),
        trigger=TriggerKind.ENTERED_STAGE,
        stage_role="offer",
        steps=(
            Step(StepKind.SEND_EMAIL, message="email"),
            Step(StepKind.SEND_SMS, message="text"),
        ),
        messages={
            "email": Message(
                name="Offer congratulations",
                channel="email",
                subject="Congratulations from {{ company.name }}!",
                html_body=(
                    _HI + "<p>Congratulations! The whole team was impressed, and we're "
                    "delighted to offer you the {{ job.name }} role at {{ company.name }}.</p>\n"
                    '<p>{{ recruiter.name|default("Your recruiter") }} will call you shortly '
                    "to walk you through the offer and answer your questions.</p>\n" + _SIGNED
                ),
            ),
            "text": Message(
                name="Offer congratulations (text)",
                channel="sms",
                text_body=(
                    _TEXT_HI + "congratulations from {{ company.name }}! Check your e-mail: "
                    "we'll call you soon about your {{ job.name }} offer. {{ opt_out_text }}"
                ),
            ),
        },
        exit_rules=(ExitRule.REJECTED, ExitRule.OPTED_OUT),
    ),
    Starter(
        slug="stale-candidate-nudge",
        name="Stale-candidate nudge",
        summary=(
            "When a candidate has waited 7 days in application review, sends an e-mail saying "
            "they are not forgotten, so no one is left wondering."
        ),
        trigger=TriggerKind.STALE_IN_STAGE,
        stage_role="review",
        stale_days=7,
        steps=(Step(StepKind.SEND_EMAIL, message="email"),),
        messages={
            "email": Message(
                name="Still reviewing your application",
                channel="email",
                subject="Your application for {{ job.name }}: still in review",
                html_body=(
                    _HI + "<p>A quick note to say we haven't forgotten you: your application "
                    "for {{ job.name }} is still being reviewed, and we'll be in touch as soon "
                    "as we have news.</p>\n<p>Thank you for your patience.</p>\n" + _SIGNED
                ),
            ),
        },
        exit_rules=_DEFAULT_EXITS,
    ),
)
STARTERS_BY_SLUG = {starter.slug: starter for starter in STARTERS}
