"""The unsubscribe link of journey e-mails (the replies' endpoint is
:mod:`messaging.email_webhooks`).

**Unsubscribe** (``/email/unsubscribe/<signed token>/``): GET shows what the link does and a
button (link scanners follow GETs, so a GET changes nothing); POST — the button, or a mail
app's one-click ``List-Unsubscribe=One-Click`` — locks e-mail for the address. Public,
CSRF-exempt (a mail app has no token; the signed URL is the proof), idempotent.
"""

from __future__ import annotations

from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from accounts.models import Organization
from messaging.email_consent import (
    ONE_CLICK_BODY,
    email_is_locked,
    email_opt_out_lock,
    read_unsubscribe_token,
)
from messaging.models import EmailOptOutSource
from recruitflow.decorators import public
from recruitflow.tenancy import scopes_disabled, tenant_scope

# --------------------------------------------------------------------------------------------
# Unsubscribe
# --------------------------------------------------------------------------------------------


def _unsubscribe_target(token: str):
    found = read_unsubscribe_token(token)
    if found is None:
        raise Http404("This unsubscribe link is not valid.")
    organization_id, email = found
    with scopes_disabled():
        organization = Organization.objects.filter(pk=organization_id, is_active=True).first()
    if organization is None:
        raise Http404("This unsubscribe link is not valid.")
    return organization, email


@csrf_exempt
@public
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token: str):
    """The unsubscribe link of a journey e-mail (see the module docstring)."""
    organization, email = _unsubscribe_target(token)
    with tenant_scope(organization):
        if request.method == "POST":
            one_click = request.POST.get("List-Unsubscribe") == ONE_CLICK_BODY.split("=", 1)[1]
            email_opt_out_lock(
                organization=organization,
                email=email,
                source=EmailOptOutSource.ONE_CLICK
                if one_click
                else EmailOptOutSource.UNSUBSCRIBE_LINK,
            )
            if one_click:
                return HttpResponse("Unsubscribed.", content_type="text/plain; charset=utf-8")
        locked = email_is_locked(organization, email)
    return render(
        request,
        "messaging/email/unsubscribe.html",
        {"organization": organization, "email": email, "locked": locked, "token": token},
    )
