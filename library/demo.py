"""The demo organization's Library: a few message templates a recruiting team would start with,
in the words of the product's users (the example journey in ``journeys.demo`` sends two of
them)."""

from __future__ import annotations

from recruitflow.tenancy import tenant_scope

from .models import MessageTemplate
from .services import message_template_save

DEMO_TEMPLATES = [
    {
        "name": "Onsite interview invitation",
        "channel": "email",
        "subject": "Your onsite interview for {{ job.name }} at {{ company.name }}",
        "html_body": (
            '<p>Hi {{ candidate.first_name|default("there") }},</p>\n'
            "<p>Thank you for the conversations so far — the team enjoyed them. We'd like to "
            "invite you to an <strong>onsite interview</strong> for the {{ job.name }} role"
            "{% if office.name %} at our {{ office.name }} office{% endif %}.</p>\n"
            '<p>{{ recruiter.name|default("Our recruiting team") }} will be in touch shortly '
            "to find a time that works for you. If you have questions before then, just reply "
            "to this e-mail.</p>\n"
            '<p>See you soon,<br>\n{{ recruiter.name|default("The recruiting team") }}<br>\n'
            "{{ company.name }}</p>"
        ),
    },
    {
        "name": "Onsite interview invitation (text)",
        "channel": "sms",
        "text_body": (
            'Hi {{ candidate.first_name|default("there") }}, it\'s '
            '{{ recruiter.name|default("the recruiting team") }} at {{ company.name }}: we\'d '
            "love to invite you to an onsite interview for {{ job.name }}! Details by e-mail. "
            "{{ opt_out_text }}"
        ),
    },
    {
        "name": "Application received",
        "channel": "email",
        "subject": "We received your application for {{ job.name }}",
        "html_body": (
            '<p>Hi {{ candidate.first_name|default("there") }},</p>\n'
            "<p>Thanks for applying for the {{ job.name }} role at {{ company.name }}. "
            "We've received your application and our team is reviewing it now.</p>\n"
            "<p>We'll let you know about next steps as soon as we can — usually within a "
            "week.</p>\n"
            "<p>Best,<br>\nThe {{ company.name }} recruiting team</p>"
        ),
    },
    {
        "name": "Rejection — thank you",
        "channel": "email",
        "subject": "Your application for {{ job.name }} at {{ company.name }}",
        "html_body": (
            '<p>Hi {{ candidate.first_name|default("there") }},</p>\n'
            "<p>Thank you for your interest in the {{ job.name }} role and for the time you "
            "spent with us. After careful consideration, we've decided to move forward with "
            "other candidates.</p>\n"
            "<p>This was not an easy decision. We'd be glad to hear from you again for future "
            "openings at {{ company.name }}.</p>\n"
            "<p>With best wishes,<br>\n"
            '{{ recruiter.name|default("The recruiting team") }}</p>'
        ),
    },
]


def demo_message_templates(*, organization) -> int:
    """Add the demo templates the organization does not have yet (by name; a template the demo
    user edited is left alone). Returns how many were added."""
    added = 0
    with tenant_scope(organization):
        existing = set(
            MessageTemplate.objects.filter(organization=organization).values_list("name", flat=True)
        )
        for fields in DEMO_TEMPLATES:
            if fields["name"] in existing:
                continue
            message_template_save(organization=organization, **fields)
            added += 1
    return added
