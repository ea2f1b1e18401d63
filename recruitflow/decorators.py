"""View guards. Every view of the app is one of: `public` (anyone), `organization_required`
(a member of the active organization) or `admin_required` (an owner or admin). The outsider walk
test relies on this to know what anonymous visitors may see."""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect


def public(view):
    view.recruitflow_public = True
    return view


def organization_required(view):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if request.organization is None or request.membership is None:
            return redirect("organization_create")
        return view(request, *args, **kwargs)

    return wrapper


def editor_required(view):
    @organization_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.membership.can_edit:
            raise PermissionDenied("Your role can view this page but not change it.")
        return view(request, *args, **kwargs)

    return wrapper


def admin_required(view):
    @organization_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.membership.is_admin:
            raise PermissionDenied("Only owners and admins can open organization settings.")
        return view(request, *args, **kwargs)

    return wrapper
