"""Tenant isolation by construction.

Every tenant-owned model inherits `TenantModel`: it carries an `organization` foreign key and its
default manager (`objects`) refuses to run a query unless an organization scope is active. Inside
`tenant_scope(org)` every query through `objects` is filtered to that organization, so a view that
forgets to filter still cannot see another tenant's rows. Code that legitimately crosses tenants
(the Django admin, webhook routing, beat fan-out) says so with `scopes_disabled()`.

Inside an organization a person may see less than the whole organization: a hiring manager sees
only the candidates of the jobs whose hiring team includes them. `tenant_scope(org,
visible_candidates=ids)` carries that as a query of candidate ids, and while it is active every
manager of a candidate's rows (the candidate, and every tenant model that points to one, found
from the foreign keys: applications, timeline, conversations, messages, runs, bookings...) also
filters to those candidates. The related-object manager (`unscoped`) applies it too, so a read
made on the person's behalf cannot reach another candidate's rows by any manager; a hidden
candidate's URL is a 404, as for another tenant.

The scope is set:
- for a browser request, by `TenantMiddleware` (`recruitflow.tenant_middleware`) from the
  signed-in user's active membership (and the candidates their role lets them see);
- for an API request, by `TenantMiddleware` from the organization API key;
- for a Celery task, by `recruitflow.tasks.OrganizationTask` from the task's organization id.
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from django.apps import apps
from django.db import models

if TYPE_CHECKING:
    from accounts.models import Organization

_current_org: contextvars.ContextVar[Organization | None] = contextvars.ContextVar(
    "recruitflow_current_org", default=None
)
_disabled: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "recruitflow_scopes_disabled", default=False
)
# None: every candidate of the organization. Otherwise a query of the candidate ids the person
# acting may see (`candidates.selectors.visible_candidate_ids`).
_visible_candidates: contextvars.ContextVar[models.QuerySet | None] = contextvars.ContextVar(
    "recruitflow_visible_candidates", default=None
)

# The model whose rows a person's role can narrow; every tenant model that points to it is
# narrowed with it.
CANDIDATE_MODEL = "candidates.Candidate"


class ScopeError(RuntimeError):
    """A tenant-owned table was queried with no organization scope active."""


@contextmanager
def tenant_scope(
    organization: Organization, *, visible_candidates: models.QuerySet | None = None
) -> Iterator[Organization]:
    """Run the block with every tenant query limited to `organization`, and, when
    `visible_candidates` (a query of candidate ids) is given, every query of a candidate's rows
    limited to those candidates.

    Without it the block acts for the organization as a whole, whoever is signed in: a task, a
    webhook, a page opened by a candidate's link (`TenantMiddleware` is what narrows a request
    to the person's candidates)."""
    token = _current_org.set(organization)
    disabled_token = _disabled.set(False)
    visible_token = _visible_candidates.set(visible_candidates)
    try:
        yield organization
    finally:
        _visible_candidates.reset(visible_token)
        _disabled.reset(disabled_token)
        _current_org.reset(token)


@contextmanager
def scopes_disabled() -> Iterator[None]:
    """Explicitly allow cross-tenant queries (admin, webhook routing, scheduled fan-out)."""
    token = _disabled.set(True)
    visible_token = _visible_candidates.set(None)
    try:
        yield
    finally:
        _visible_candidates.reset(visible_token)
        _disabled.reset(token)


def current_organization() -> Organization | None:
    return _current_org.get()


def scopes_are_disabled() -> bool:
    """Whether the code running crosses organizations (`scopes_disabled()`)."""
    return _disabled.get()


def candidates_restricted() -> bool:
    """Whether the person acting sees only some of the organization's candidates."""
    return _visible_candidates.get() is not None and not _disabled.get()


@functools.cache
def candidate_lookup(model: type[models.Model]) -> str | None:
    """The lookup from `model` to the candidate its row is about ("pk" for the candidate,
    "candidate", "message__candidate", ...), or None when its rows are about no one candidate.

    A direct foreign key to the candidate wins; otherwise a required foreign key to a row that
    has one (a nullable link, such as an opt-out entry's message, does not make a row a
    candidate's)."""
    if model._meta.label == CANDIDATE_MODEL:
        return "pk"
    foreign_keys = [f for f in model._meta.concrete_fields if f.many_to_one and f.related_model]
    for field in foreign_keys:
        if field.related_model._meta.label == CANDIDATE_MODEL:
            return field.name
    for field in foreign_keys:
        target = field.related_model
        if field.null or target is model or not issubclass(target, TenantModel):
            continue
        lookup = candidate_lookup(target)
        if lookup is not None:
            return f"{field.name}__{lookup}"
    return None


def candidate_scoped_models() -> list[type[models.Model]]:
    """Every tenant model whose rows a person's candidate restriction narrows."""
    return [
        model
        for model in apps.get_models()
        if issubclass(model, TenantModel) and candidate_lookup(model) is not None
    ]


def visible_candidates_q(lookup: str) -> models.Q:
    """A filter keeping rows whose `lookup` is a candidate the person acting may see (empty when
    they see all). For aggregates that reach a candidate's rows through a join from a model that
    is not a candidate's (`Count("runs", filter=...)`), which no manager filters."""
    visible = _visible_candidates.get()
    if visible is None or _disabled.get():
        return models.Q()
    return models.Q(**{f"{lookup}__in": visible})


def _restrict_to_visible_candidates(qs: models.QuerySet) -> models.QuerySet:
    visible = _visible_candidates.get()
    if visible is None or _disabled.get():
        return qs
    lookup = candidate_lookup(qs.model)
    if lookup is None:
        return qs
    return qs.filter(**{f"{lookup}__in": visible})


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
        return _restrict_to_visible_candidates(qs.filter(organization_id=org.pk))

    def none(self) -> TenantQuerySet:
        # An empty queryset reveals nothing, so it needs no scope (schema generation uses it).
        return super().get_queryset().none()


class UnscopedManager(models.Manager):
    """Not limited to an organization (the caller filters by one, or follows a relation from a
    row it already holds), but still limited to the candidates the person acting may see."""

    def get_queryset(self) -> models.QuerySet:
        return _restrict_to_visible_candidates(super().get_queryset())


class TenantModel(models.Model):
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="+", editable=False
    )

    objects = TenantManager()
    # Related-object access (`row.job`) and Django internals use this manager; the row in hand
    # was already obtained through a scoped query.
    unscoped = UnscopedManager()  # noqa: DJ012

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
