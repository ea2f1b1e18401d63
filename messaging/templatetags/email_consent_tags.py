"""What e-mail consent adds to the candidate page and the Inbox thread (both load this
library): ``{% email_lock_panel candidate %}`` shows the address's opt-out history and, for
people who can edit, the buttons to lock it or opt it back in (with the reason)."""

from __future__ import annotations

from django import template

from messaging.email_consent import (
    email_opt_out_entry_text,
    email_opt_out_history,
    email_opt_out_reason,
)
from messaging.models import OptOutAction

register = template.Library()


@register.inclusion_tag("messaging/_email_lock.html", takes_context=True)
def email_lock_panel(context, candidate, next_url: str = "", in_composer: bool = False) -> dict:
    """``next_url``: where the buttons come back to (default: this page). ``in_composer``:
    the Inbox composer already says why e-mail is locked, so the panel does not repeat it."""
    request = context.get("request")
    organization = getattr(request, "organization", None)
    address = (getattr(candidate, "primary_email", "") or "").strip()
    if organization is None or not address:
        return {"address": ""}
    history = email_opt_out_history(organization=organization, email=address)
    locked = bool(history) and history[0].action == OptOutAction.LOCK
    membership = getattr(request, "membership", None)
    return {
        "candidate": candidate,
        "address": address,
        "locked": locked,
        "reason": email_opt_out_reason(organization, address) if locked and not in_composer else "",
        "history": [(entry, email_opt_out_entry_text(entry)) for entry in history],
        "can_edit": bool(membership and membership.can_edit),
        "next": next_url or request.get_full_path(),
        "csrf_token": context.get("csrf_token"),
    }
