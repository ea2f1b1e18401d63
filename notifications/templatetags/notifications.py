"""``{% notification_bell %}``: the top bar's bell with the member's unread count."""

from django import template

from notifications import selectors
from notifications.views import poll_seconds

register = template.Library()


@register.inclusion_tag("notifications/_bell.html", takes_context=True)
def notification_bell(context) -> dict:
    request = context.get("request")
    organization = getattr(request, "organization", None)
    if organization is None or getattr(request, "membership", None) is None:
        return {"notifications_hidden": True}
    return {
        "notifications_unread": selectors.unread_count(
            organization=organization, user=request.user
        ),
        "notifications_poll_seconds": poll_seconds(),
    }
