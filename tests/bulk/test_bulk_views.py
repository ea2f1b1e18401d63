# ruff: noqa: F811 (pytest fixtures imported from tests.interviews.core_helpers)
"""Bulk actions in the pages: the list offers tick boxes and "select all matching" to the roles
that may act; the preview lists who gets it and who is skipped; confirm starts the run once and
its page shows progress and a summary with links; viewers and hiring managers can't start one;
another organization's action is a 404."""

from __future__ import annotations

import html

import pytest
from django.urls import reverse

from accounts.models import Role
from bulk.models import BulkAction
from library.models import MessageTemplate
from messaging import services as messaging_services
from messaging.models import Message, OptOutSource
from recruitflow.celery import app
from recruitflow.tenancy import tenant_scope
from tests.factories import add_member
from tests.interviews.core_helpers import (  # noqa: F401 (fixtures)
    delivery_queued,
    make_candidate,
    monday_morning,
    org,
    outbox,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def texting(org, settings):
    settings.SANDBOX_SHORTCUTS = True
    org.is_demo = True
    org.save(update_fields=["is_demo"])


@pytest.fixture
def eager(settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True


@pytest.fixture
def hello(org):
    with tenant_scope(org):
        return MessageTemplate.objects.create(
            organization=org,
            name="Quick hello",
            channel="sms",
            text_body="Hi {{ candidate.first_name }}!",
        )


@pytest.fixture
def people(make_candidate, org):
    made = [
        make_candidate(first_name="Ana", mobile="+447700900001"),
        make_candidate(first_name="Ben", mobile="+447700900002"),
        make_candidate(first_name="Cleo", mobile="+447700900003"),
    ]
    with tenant_scope(org):
        messaging_services.opt_out_lock(
            organization=org, phone="+447700900003", source=OptOutSource.KEYWORD
        )
    return made


def page_of(response) -> str:
    return html.unescape(response.content.decode())


def test_the_list_offers_bulk_actions_to_a_recruiter(alice, client_for, people, hello):
    page = page_of(client_for(alice).get(reverse("candidates:list")))
    assert 'id="bulk-form"' in page
    assert "Select all 3 candidates matching this filter" in page
    assert f'name="candidate" value="{people[0].pk}" form="bulk-form"' in page
    assert '<option value="' + str(hello.pk) + '">Quick hello (text)</option>' in page


@pytest.mark.parametrize("role", [Role.VIEWER, Role.HIRING_MANAGER])
def test_viewers_and_hiring_managers_cannot_start_one(role, org, client_for, people, hello):
    member = add_member(organization=org, email=f"{role}@acme.test", role=role)
    client = client_for(member)
    assert 'id="bulk-form"' not in page_of(client.get(reverse("candidates:list")))
    for name in ("bulk:preview", "bulk:confirm"):
        response = client.post(
            reverse(name), {"kind": "send", "template": hello.pk, "all": "1", "token": "x"}
        )
        assert response.status_code == 403
    with tenant_scope(org):
        assert not BulkAction.objects.exists() and not Message.objects.exists()


def test_preview_then_confirm_then_progress_and_summary(
    alice, client_for, org, people, hello, eager, django_capture_on_commit_callbacks
):
    client = client_for(alice)
    form = {"kind": "send", "template": hello.pk, "all": "1", "q": "Rivera"}
    preview = page_of(client.post(reverse("bulk:preview"), form))
    assert "Send “Quick hello”" in preview
    assert "2 will get it" in preview
    assert "Opted out of texts" in preview and "Cleo Rivera" in preview
    assert 'name="q" value="Rivera"' in preview  # the filter is kept for the confirm
    token = preview.split('name="token" value="')[1].split('"')[0]

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("bulk:confirm"), {**form, "token": token})
    with tenant_scope(org):
        action = BulkAction.objects.get()
        assert Message.objects.count() == 2
    assert response.url == reverse("bulk:detail", args=[action.pk])
    # A double click posts the same token: no second action, nothing sent twice.
    again = client.post(reverse("bulk:confirm"), {**form, "token": token})
    assert again.url == response.url
    with tenant_scope(org):
        assert BulkAction.objects.count() == 1 and Message.objects.count() == 2

    progress = client.get(reverse("bulk:progress", args=[action.pk])).json()
    assert progress == {
        "status": "done",
        "total": 3,
        "processed": 3,
        "done": 2,
        "skipped": 1,
        "failed": 0,
        "finished": True,
    }
    page = page_of(client.get(response.url))
    assert 'id="bulk-summary"' in page
    assert "Queued" in page and "Opted out of texts" in page
    assert reverse("candidates:detail", args=[people[0].pk]) in page
    assert "?q=Rivera" in page  # back to the same filtered list


def test_a_missing_choice_goes_back_to_the_list_saying_what_to_do(alice, client_for, people):
    client = client_for(alice)
    response = client.post(
        reverse("bulk:preview"), {"kind": "send", "all": "1", "stage": "Onsite"}, follow=True
    )
    assert response.redirect_chain[-1][0] == reverse("candidates:list") + "?stage=Onsite"
    assert "Bulk action not started: Choose the Library template to send." in page_of(response)
    nothing = client.post(
        reverse("bulk:preview"), {"kind": "enrol", "journey": "1", "reason": "x"}, follow=True
    )
    assert "Choose the journey to add them to." in page_of(nothing)


def test_another_organizations_action_is_a_404(alice, client_for, mallory, people, hello):
    with tenant_scope(alice.organization):
        action = BulkAction.objects.create(
            organization=alice.organization,
            token="t",
            kind="send",
            template=hello,
            target_name="Quick hello",
            total=3,
        )
    client = client_for(mallory)
    assert client.get(reverse("bulk:detail", args=[action.pk])).status_code == 404
    assert client.get(reverse("bulk:progress", args=[action.pk])).status_code == 404
    assert "Quick hello" not in page_of(client.get(reverse("bulk:list")))


def test_past_actions_are_listed_with_their_outcomes_and_their_texts_say_bulk(
    alice, client_for, org, people, hello, eager, django_capture_on_commit_callbacks
):
    client = client_for(alice)
    empty = page_of(client.get(reverse("bulk:list")))
    assert "No bulk actions yet" in empty and "tick candidates" in empty
    assert reverse("bulk:list") in page_of(client.get(reverse("candidates:list")))

    form = {"kind": "send", "template": hello.pk, "all": "1", "token": "history"}
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("bulk:confirm"), form)
    with tenant_scope(org):
        action = BulkAction.objects.get()
        assert set(Message.objects.values_list("source", flat=True)) == {"bulk"}

    listing = page_of(client.get(reverse("bulk:list")))
    assert "Send “Quick hello”" in listing
    assert reverse("bulk:detail", args=[action.pk]) in listing
    assert "2 sent" in listing and "1 skipped" in listing and "failed" not in listing
    assert "Alice" in listing  # who started it
