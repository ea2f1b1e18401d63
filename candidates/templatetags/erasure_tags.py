"""What the candidate page's erasure panel (``templates/candidates/_erase.html``) shows."""

from django import template

from candidates.erasure import confirmation_text, describe_counts, who_asked
from candidates.models import CandidateErasure

register = template.Library()


@register.simple_tag
def erase_confirmation(candidate) -> str:
    """What an admin types to confirm the deletion of ``candidate``'s personal data."""
    return confirmation_text(candidate)


@register.simple_tag
def last_erasure(candidate) -> CandidateErasure | None:
    """The latest deletion of the candidate's personal data, with who asked."""
    return (
        CandidateErasure.objects.filter(
            organization_id=candidate.organization_id, candidate=candidate
        )
        .select_related("requested_by", "api_key")
        .first()
    )


@register.filter
def erasure_requester(record: CandidateErasure) -> str:
    """Who asked for ``record``'s erasure, in words."""
    return who_asked(record)


@register.filter
def erasure_counts(record: CandidateErasure) -> str:
    """What ``record``'s erasure emptied, in words ("2 messages, 1 ATS write stopped")."""
    return describe_counts(record.counts)
