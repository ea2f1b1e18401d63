"""Tenant isolation by construction.

Every tenant-owned model inherits `TenantModel`: it carries an `organization` foreign key and its
default manager (`objects`) refuses to run a query unless an organization scope is active. Inside
`tenant_scope(org)` every query through `objects` is filtered to that organization, so a view that
forgets to filter still cannot see another tenant's rows. Code that legitimately crosses tenants
(the Django admin, webhook routing, beat fan-out) says so with `scopes_disabled()`.

The scope is set:
- for a browser request, by `TenantMiddleware` from the signed-in user's active membership;
- for an API request, by `TenantMiddleware` from the organization API key;
- for a Celery task, by `recruitflow.tasks.OrganizationTask` from the task's organization id.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from django.db import models

if TYPE_CHECKING:
    from accounts.models import Organization

_current_org: contextvars.ContextVar[Organization | None] = contextvars.ContextVar(
    "recruitflow_current_org", default=None
)
_disabled: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "recruitflow_scopes_disabled", default=False
)


class ScopeError(RuntimeError):
    """A tenant-owned table was queried with no organization scope active."""


@contextmanager
def tenant_scope(organization: Organization) -> Iterator[Organization]:
    """Run the block with every tenant query limited to `organization`."""
    token = _current_org.set(organization)
    disabled_token = _disabled.set(False)
    try:
        yield organization
    finally:
        _disabled.reset(disabled_token)
        _current_org.reset(token)


@contextmanager
def scopes_disabled() -> Iterator[None]:
    """Explicitly allow cross-tenant queries (admin, webhook routing, scheduled fan-out)."""
    token = _disabled.set(True)
    try:
        yield
    finally:
        _disabled.reset(token)


def current_organization() -> Organization | None:
    return _current_org.get()


class TenantQuerySet(models.QuerySet):
    pass


class TenantManager(models.Manager.from_queryset(TenantQuerySet)):
    """Default manager of tenant rows: filtered to the active scope, or an error."""

    def get_queryset(self) -> TenantQuerySet:
        qs = super().get_queryset()
        if _disabled.get():
            return qs
        org = _current_org.get()
        if org is None:
            raise ScopeError(
                f"{self.model.__name__} was queried outside an organization scope. Wrap the code "
                "in tenant_scope(org) (or scopes_disabled() for deliberate cross-tenant work)."
            )
        return qs.filter(organization_id=org.pk)

    def none(self) -> TenantQuerySet:
        # An empty queryset reveals nothing, so it needs no scope (schema generation uses it).
        return super().get_queryset().none()


class TenantModel(models.Model):
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="+", editable=False
    )

    objects = TenantManager()
    # Related-object access (`row.job`) and Django internals use the plain manager; the row in
    # hand was already obtained through a scoped query.
    unscoped = models.Manager()  # noqa: DJ012

    class Meta:
        abstract = True
        base_manager_name = "unscoped"

    def save(self, *args, **kwargs):
        if self.organization_id is None:
            org = _current_org.get()
            if org is None:
                raise ScopeError(f"Saving a {type(self).__name__} needs an organization.")
            self.organization = org
        super().save(*args, **kwargs)


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
        from accounts import selectors as account_selectors

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
            membership = account_selectors.membership_for_session(
                user=request.user, organization_id=request.session.get("organization_id")
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
            with tenant_scope(request.organization):
                return self.get_response(request)
        return self.get_response(request)
