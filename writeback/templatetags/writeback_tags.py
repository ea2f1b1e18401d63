"""What ATS activity write-back adds to pages of the apps below it (they load this library in
their templates; no Python import goes downward-up):

* ``{% ats_write_states candidate as states %}`` then ``{% ats_write_state states entry %}`` on
  the candidate timeline: whether and when each event was written to the ATS, or why not;
* ``{% ats_activity_controls candidate "candidate_page" %}`` (or ``"inbox"``): the pause /
  resume button, for people who can edit.
"""

from __future__ import annotations

from django import template

from writeback import selectors
from writeback.models import PauseSource

register = template.Library()


def _organization(context):
    request = context.get("request")
    return getattr(request, "organization", None)


@register.simple_tag(takes_context=True)
def ats_write_states(context, candidate) -> dict:
    """Per timeline event id of ``candidate``, its ATS write state (empty without one)."""
    organization = _organization(context)
    if organization is None or candidate is None:
        return {}
    return selectors.event_write_states(organization=organization, candidate_id=candidate.pk)


@register.inclusion_tag("writeback/_write_state.html")
def ats_write_state(states, entry) -> dict:
    event_id = getattr(entry, "event_id", None)
    return {"state": states.get(event_id) if states and event_id else None}


@register.inclusion_tag("writeback/_controls.html", takes_context=True)
def ats_activity_controls(context, candidate, place: str = PauseSource.CANDIDATE_PAGE) -> dict:
    organization = _organization(context)
    request = context.get("request")
    membership = getattr(request, "membership", None)
    if organization is None or candidate is None:
        return {"show": False}
    rules = selectors.rules_for(organization).rules
    pause = selectors.pause_of(organization=organization, candidate_id=candidate.pk)
    return {
        "show": True,
        "candidate": candidate,
        "place": place,
        "recording": rules.enabled,
        "pause": pause,
        "paused": pause is not None,
        "paused_by_candidate": pause is not None and pause.source == PauseSource.CANDIDATE_LINK,
        "can_edit": bool(membership and membership.can_edit),
        "next": request.get_full_path() if request is not None else "",
        "csrf_token": context.get("csrf_token"),
    }
