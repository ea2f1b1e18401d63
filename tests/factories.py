"""Test data: organizations, people and keys, with the personas of the test suite."""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model

from accounts import services
from accounts.models import Membership, Organization, Role
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
