"""Test data: organizations, people and keys, with the personas of the test suite."""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from accounts import services
from accounts.models import Membership, Organization, Role
from candidates.models import Application, StageTransition
from journeys import services as journey_services
from journeys.models import JourneyStep
from recruitflow.tenancy import tenant_scope


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.com")
    username = factory.SelfAttribute("email")
    first_name = "Pat"

    @factory.post_generation
    def password(obj, create, extracted, **kwargs):
        obj.set_password(extracted or "correct-horse-9")
        if create:
            obj.save(update_fields=["password"])


def make_org_with_owner(*, name: str, email: str, first_name: str = "Alice") -> tuple:
    user = UserFactory(email=email, first_name=first_name)
    organization = services.organization_create(name=name, owner=user)
    with tenant_scope(organization):
        membership = Membership.objects.get(user=user)
    return organization, user, membership


def add_member(*, organization: Organization, email: str, role: str = Role.RECRUITER):
    user = UserFactory(email=email)
    with tenant_scope(organization):
        return Membership.objects.create(organization=organization, user=user, role=role)


ONSITE_STAGE = "Onsite Interview"


def onsite_stage_change(organization: Organization, candidate) -> None:
    """The candidate's (only) application entered "Onsite Interview", as a poll saw it: what a
    journey triggered on that stage needs before someone adds the candidate by hand."""
    with tenant_scope(organization):
        application = Application.objects.get(candidate=candidate)
        StageTransition.objects.create(
            organization=organization,
            provider="greenhouse",
            application=application,
            candidate=candidate,
            job=application.job,
            to_stage=application.stage,
            to_stage_name=ONSITE_STAGE,
            to_status="active",
            observed_at=timezone.now(),
            source="poll",
        )


def live_onsite_journey(organization: Organization, *, name: str = "Onsite follow-up"):
    """A live journey that starts on "Onsite Interview" and waits two days."""
    with tenant_scope(organization):
        journey = journey_services.journey_create(organization=organization, name=name)
        version = journey.current_version
        version.trigger = "entered_stage"
        version.stage_names = [ONSITE_STAGE]
        version.save()
        JourneyStep.objects.create(
            organization=organization,
            version=version,
            position=1,
            kind="wait",
            config={"mode": "duration", "days": 2},
        )
        journey_services.journey_activate(journey=journey)
        journey.refresh_from_db()
    return journey
