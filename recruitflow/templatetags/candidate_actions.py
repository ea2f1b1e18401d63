"""``{% candidate_actions candidate %}``: the candidate page's "Act on this candidate" panel
(send a text or an e-mail, send a scheduling request, add to a journey). A template tag of the
wiring layer because the candidate page belongs to candidates, which can't import the apps that
do these things (see :mod:`recruitflow.candidate_actions`)."""

from __future__ import annotations

from django import template

from recruitflow.candidate_actions import panel_context

register = template.Library()


@register.inclusion_tag("candidates/_actions.html", takes_context=True)
def candidate_actions(context, candidate):
    request = context["request"]
    membership = context.get("membership") or getattr(request, "membership", None)
    if not (membership and membership.can_edit):
        return {"can_act": False}
    return {
        **panel_context(request=request, candidate=candidate),
        "can_act": True,
        "csrf_token": context.get("csrf_token"),
        "organization": request.organization,
    }
