"""Settings pages (organization, team, API keys), the organization switcher and invitations."""

from __future__ import annotations

import zoneinfo

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.html import format_html_join
from django.views.decorators.http import require_POST

from recruitflow.decorators import admin_required, organization_required, public
from recruitflow.page_cache import member_page

from . import selectors, services
from .forms import (
    ApiKeyForm,
    InvitationForm,
    OrganizationCreateForm,
    OrganizationProfileForm,
    RoleForm,
)
from .models import ROLE_HELP, ApiKey, Invitation, Membership, Role


def _form_error(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


@admin_required
def organization_profile(request):
    organization = request.organization
    form = OrganizationProfileForm(
        request.POST or None, request.FILES or None, instance=organization
    )
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Organization profile saved.")
        return redirect("settings:organization")
    return render(
        request,
        "accounts/settings_organization.html",
        {
            "form": form,
            "sub_accounts": selectors.organization_sub_accounts(organization=organization),
            "create_form": OrganizationCreateForm(initial={"time_zone": organization.time_zone}),
        },
    )


@admin_required
@require_POST
def sub_account_create(request):
    form = OrganizationCreateForm(request.POST)
    if form.is_valid():
        child = services.organization_create(
            name=form.cleaned_data["name"],
            owner=request.user,
            parent=request.organization,
            time_zone=form.cleaned_data["time_zone"],
        )
        messages.success(
            request, f"Sub-account {child.name} created. Switch to it from the top bar."
        )
    else:
        messages.error(request, "Give the sub-account a name.")
    return redirect("settings:organization")


def _organization_zone(organization) -> str:
    """The organization's zone name, UTC when it is missing or unknown."""
    try:
        return zoneinfo.ZoneInfo(organization.time_zone or "UTC").key
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return "UTC"


@admin_required
@member_page
def team(request):
    organization = request.organization
    form = InvitationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            invitation = services.invitation_create(
                actor=request.membership,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
            )
        except ValidationError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, f"Invitation sent to {invitation.email}.")
            return redirect("settings:team")
    zone = _organization_zone(organization)
    members = list(selectors.organization_members(organization=organization))
    # Each member's role menu: every role, theirs selected; built once per role rather than
    # rendered option by option for every member (a team of 26: 130 options).
    menus = {role: _role_options(selected=role) for role in {m.role for m in members}}
    for member in members:
        member.role_options = menus[member.role]
    context = {
        "form": form,
        "zone": zone,
        "members": members,
        "invitations": [
            i
            for i in selectors.organization_invitations(organization=organization)
            if i.revoked_at is None
        ],
        "role_help": [(Role(value).label, text) for value, text in ROLE_HELP.items()],
    }
    # Joined, last sign-in and the invitations' dates in the organization's zone (named).
    with timezone.override(zoneinfo.ZoneInfo(zone)):
        return render(request, "accounts/settings_team.html", context)


def _role_options(*, selected: str):
    """The ``<option>``s of a role menu, ``selected`` chosen."""
    return format_html_join(
        "",
        '<option value="{}"{}>{}</option>',
        ((value, " selected" if value == selected else "", label) for value, label in Role.choices),
    )


@admin_required
@require_POST
def member_change_role(request, membership_id: int):
    membership = get_object_or_404(Membership.objects.select_related("user"), pk=membership_id)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose one of the listed roles.")
        return redirect("settings:team")
    try:
        services.membership_change_role(
            actor=request.membership, membership=membership, role=form.cleaned_data["role"]
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request, f"{membership.user.email} is now {membership.get_role_display()}."
        )
    return redirect("settings:team")


@admin_required
@require_POST
def member_remove(request, membership_id: int):
    membership = get_object_or_404(Membership.objects.select_related("user"), pk=membership_id)
    try:
        services.membership_remove(actor=request.membership, membership=membership)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"{membership.user.email} was removed from the team.")
    return redirect("settings:team")


@admin_required
@require_POST
def invitation_revoke(request, invitation_id: int):
    invitation = get_object_or_404(Invitation, pk=invitation_id)
    services.invitation_revoke(actor=request.membership, invitation=invitation)
    messages.success(request, f"Invitation to {invitation.email} withdrawn.")
    return redirect("settings:team")


@admin_required
def api_keys(request):
    form = ApiKeyForm(request.POST or None)
    new_key = None
    if request.method == "POST" and form.is_valid():
        key, raw = services.api_key_create(
            actor=request.membership,
            name=form.cleaned_data["name"],
            scope=form.cleaned_data["scope"],
        )
        new_key = {"key": key, "raw": raw}
        form = ApiKeyForm()
    return render(
        request,
        "accounts/settings_api_keys.html",
        {
            "form": form,
            "new_key": new_key,
            "keys": selectors.organization_api_keys(organization=request.organization),
        },
    )


@admin_required
@require_POST
def api_key_revoke(request, key_id: int):
    key = get_object_or_404(ApiKey, pk=key_id)
    services.api_key_revoke(actor=request.membership, api_key=key)
    messages.success(request, f"API key {key.name} revoked. Calls with it now get 401.")
    return redirect("settings:api_keys")


@organization_required
def security(request):
    return render(request, "accounts/settings_security.html")


@organization_required
@require_POST
def organization_switch(request):
    try:
        organization_id = int(request.POST.get("organization", ""))
    except ValueError as exc:
        raise Http404 from exc
    memberships = selectors.memberships_of_user(user=request.user)
    if not any(m.organization_id == organization_id for m in memberships):
        raise Http404
    request.session["organization_id"] = organization_id
    return redirect("dashboard")


def organization_create(request):
    """A signed-in user with no organization (or wanting another) starts one here."""
    if not request.user.is_authenticated:
        from django.contrib.auth.views import redirect_to_login

        return redirect_to_login(request.get_full_path())
    form = OrganizationCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        organization = services.organization_create(
            name=form.cleaned_data["name"],
            owner=request.user,
            time_zone=form.cleaned_data["time_zone"],
        )
        request.session["organization_id"] = organization.pk
        messages.success(request, f"Welcome to {organization.name}.")
        return redirect("dashboard")
    return render(request, "accounts/organization_create.html", {"form": form})


@public
def invitation_accept(request, token: str):
    invitation = selectors.invitation_by_token(token=token)
    if invitation is None:
        raise Http404
    if not request.user.is_authenticated:
        # The holder of the link sees no organization details until signed in as the invitee.
        request.session["invitation_token"] = token
        return render(request, "accounts/invitation_anonymous.html", {"token": token})
    if request.method == "POST":
        try:
            membership = services.invitation_accept(invitation=invitation, user=request.user)
        except services.InvitationError as exc:
            return render(
                request, "accounts/invitation_error.html", {"message": str(exc)}, status=400
            )
        request.session["organization_id"] = membership.organization_id
        messages.success(request, f"You joined {membership.organization.name}.")
        return redirect("dashboard")
    if (request.user.email or "").lower() != invitation.email.lower():
        return render(
            request,
            "accounts/invitation_error.html",
            {
                "message": "This invitation was sent to a different email address. "
                "Sign out and sign in with the address the invitation was sent to."
            },
            status=403,
        )
    return render(request, "accounts/invitation_accept.html", {"invitation": invitation})
