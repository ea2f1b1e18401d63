"""Tenant scoping is enforced by the managers, for requests and for Celery tasks."""

import pytest
from celery import shared_task

from accounts.models import Membership
from recruitflow.tasks import OrganizationTask
from recruitflow.tenancy import ScopeError, scopes_disabled, tenant_scope


@pytest.mark.django_db
def test_query_fails_loudly_when_no_organization_scope_is_active(alice):
    with pytest.raises(ScopeError, match="outside an organization scope"):
        list(Membership.objects.all())


@pytest.mark.django_db
def test_queries_only_see_the_active_organization_when_scoped(alice, bob, mallory):
    with tenant_scope(mallory.organization):
        emails = set(Membership.objects.values_list("user__email", flat=True))
    assert emails == {"mallory@evil.test"}
    with tenant_scope(alice.organization):
        assert Membership.objects.filter(pk=mallory.membership.pk).first() is None
    with scopes_disabled():
        assert Membership.objects.count() == 3


@shared_task(base=OrganizationTask, name="tests.member_emails")
def member_emails(organization):
    return sorted(Membership.objects.values_list("user__email", flat=True))


@pytest.mark.django_db
def test_task_runs_inside_its_organizations_scope(alice, bob, mallory):
    assert member_emails(alice.organization.pk) == ["alice@acme.test", "bob@acme.test"]
    assert member_emails(mallory.organization.pk) == ["mallory@evil.test"]


@pytest.mark.django_db
def test_task_does_nothing_when_its_organization_was_deactivated(alice):
    alice.organization.is_active = False
    alice.organization.save()
    assert member_emails(alice.organization.pk) is None


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_real_worker_runs_the_task_under_the_organizations_scope(alice, bob, mallory):
    from celery.contrib.testing.worker import start_worker

    from recruitflow.celery import app

    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        result = member_emails.delay(mallory.organization.pk)
        assert result.get(timeout=30) == ["mallory@evil.test"]


@pytest.mark.django_db
def test_a_persons_candidate_restriction_narrows_every_manager_of_a_candidates_rows(alice):
    from candidates.models import Application, Candidate
    from messaging.models import Conversation
    from tests.journeys.conftest import build_ats

    organization = alice.organization
    ats = build_ats(organization)
    seen, hidden = ats.candidate(first_name="Seen"), ats.candidate(first_name="Hidden")
    for candidate in (seen, hidden):
        ats.apply(candidate)
        with tenant_scope(organization):
            Conversation.objects.create(organization=organization, candidate=candidate)
    visible = Candidate.unscoped.filter(pk=seen.pk).values("pk")

    with tenant_scope(organization, visible_candidates=visible):
        assert list(Candidate.objects.values_list("first_name", flat=True)) == ["Seen"]
        assert list(Candidate.unscoped.values_list("first_name", flat=True)) == ["Seen"]
        assert {a.candidate_id for a in Application.objects.all()} == {seen.pk}
        assert [c.candidate_id for c in Conversation.unscoped.all()] == [seen.pk]
        assert Conversation.objects.filter(candidate=hidden).first() is None
        # Work the code does for the organization itself is not narrowed.
        with tenant_scope(organization):
            assert Candidate.objects.count() == 2
        with scopes_disabled():
            assert Conversation.objects.filter(organization=organization).count() == 2
    with tenant_scope(organization):
        assert Candidate.objects.count() == 2


def test_every_model_about_a_candidate_is_narrowed_by_a_candidate_restriction():
    from recruitflow.tenancy import candidate_lookup, candidate_scoped_models

    labels = {model._meta.label for model in candidate_scoped_models()}
    assert {
        "candidates.Candidate",
        "candidates.Application",
        "candidates.StageTransition",
        "candidates.TimelineEvent",
        "messaging.Conversation",
        "messaging.Message",
        "messaging.MessageEvent",
        "journeys.JourneyRun",
        "journeys.StepRun",
        "scheduling.SchedulingRequest",
        "scheduling.Booking",
        "scheduling.BookedSlot",
    } <= labels
    # Rows about no one candidate stay the organization's.
    from candidates.models import Job
    from messaging.models import OptOutEntry

    assert candidate_lookup(Job) is None and candidate_lookup(OptOutEntry) is None
