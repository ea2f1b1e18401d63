"""A member's interview calendar as an ``.ics`` subscription feed: ``/calendar/<token>.ics``.

Calendar apps fetch it without signing in, so the unguessable token is the credential: an
unknown (or reset) token is a plain 404 that says nothing about any organization.
"""

from __future__ import annotations

from django.http import Http404, HttpResponse
from django.views.decorators.http import require_GET

from accounts.models import Membership
from recruitflow.decorators import public
from recruitflow.tenancy import scopes_disabled, tenant_scope

from . import ics, selectors
from .models import MemberCalendar


@public
@require_GET
def calendar_feed(request, feed_token: str):
    # Cross-tenant on purpose: the token names the member and their organization.
    with scopes_disabled():
        calendar = (
            MemberCalendar.unscoped.select_related("organization", "user")
            .filter(feed_token=feed_token, organization__is_active=True, user__is_active=True)
            .first()
        )
    if calendar is None:
        raise Http404("Unknown calendar feed.")
    organization, user = calendar.organization, calendar.user
    with tenant_scope(organization):
        if not Membership.objects.filter(organization=organization, user=user).exists():
            raise Http404("Unknown calendar feed.")  # the member left the organization
        body = ics.feed_ics(
            organization=organization,
            user=user,
            bookings=selectors.feed_bookings(organization=organization, user=user),
            busy_blocks=selectors.feed_busy_blocks(organization=organization, user=user),
        )
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="interviews.ics"'
    response["Cache-Control"] = "private, max-age=300"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


# The token in the URL is the credential (calendar apps can't sign in): whoever holds it sees
# the feed. The outsider walk may use this mark to tell such links from leaks.
calendar_feed.recruitflow_secret_link = True
