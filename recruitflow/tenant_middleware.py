"""The tenant middleware: which organization a request acts for, and the scope its view runs in.

It sits above the apps (it reads accounts' memberships and API keys and candidates' visibility
rules), so it lives here rather than in ``recruitflow.tenancy``, which every app's models import.
"""

from __future__ import annotations

from accounts import selectors as account_selectors
from candidates import selectors as candidate_selectors
from recruitflow.tenancy import scopes_disabled, tenant_scope


class TenantMiddleware:
    """Resolve the organization of the request and run the view inside its scope.

    Browser sessions: the active organization is kept in the session and must be one of the
    user's memberships (anything else falls back to their first). API calls: an organization API
    key in `Authorization: Bearer rf_...` resolves the organization. The Django admin runs with
    scopes disabled for staff only.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.organization = None
        request.membership = None
        request.api_key = None
        request.api_key_error = None

        api_key_header = request.headers.get("Authorization", "")
        if api_key_header.startswith("Bearer "):
            key = account_selectors.api_key_resolve(raw_key=api_key_header[len("Bearer ") :])
            if key is None:
                request.api_key_error = "Invalid or revoked API key."
            else:
                request.api_key = key
                request.organization = key.organization
        elif request.user.is_authenticated:
            # Read once: the organization switcher in the top bar lists them too.
            request.memberships = account_selectors.memberships_of_user(user=request.user)
            membership = account_selectors.membership_for_session(
                user=request.user,
                organization_id=request.session.get("organization_id"),
                memberships=request.memberships,
            )
            if membership is not None:
                request.membership = membership
                request.organization = membership.organization
                if request.session.get("organization_id") != membership.organization_id:
                    # Written only when it changes: a session write costs a commit per request.
                    request.session["organization_id"] = membership.organization_id

        if request.path.startswith("/admin/") and request.user.is_staff:
            with scopes_disabled():
                return self.get_response(request)
        if request.organization is not None:
            visible = None
            if request.membership is not None:
                visible = candidate_selectors.visible_candidate_ids(
                    organization=request.organization, membership=request.membership
                )
            with tenant_scope(request.organization, visible_candidates=visible):
                return self.get_response(request)
        return self.get_response(request)
