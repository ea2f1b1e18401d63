""" "Use the sandbox" (`/setup/sandbox/`, POST, owners and admins): the organization's own
sandbox company, connected and synced, with texting and e-mail through the sandbox; back to
the dashboard saying what was set up, with a link to the company's screen."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from .decorators import admin_required
from .sandbox_org import SandboxRefused, organization_sandbox_use


@require_POST
@admin_required
def use_sandbox(request):
    try:
        setup = organization_sandbox_use(
            organization=request.organization, membership=request.membership
        )
    except SandboxRefused as exc:
        messages.error(request, str(exc))
        return redirect("dashboard")
    text = render_to_string("setup/_sandbox_done.html", {"setup": setup}).strip()
    # The template escapes every value; the message keeps its link to the company's screen.
    if setup.problems:
        messages.warning(request, mark_safe(text))  # noqa: S308
    else:
        messages.success(request, mark_safe(text))  # noqa: S308
    return redirect("dashboard")
