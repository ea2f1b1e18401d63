"""The dry run renders with the application the journey's trigger is about (issue 17): a
candidate with two applications sees the one on the journey's job, and when none matches the
page says so and names the application it used."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from candidates.models import Application
from journeys.dry_run import MATCHES, MOST_RECENT, SAME_JOB, choose_application, dry_run
from recruitflow.tenancy import tenant_scope

pytestmark = pytest.mark.django_db

JOB_TEXT = "Hi {{ candidate.first_name }}, about {{ job.name }} at {{ stage.name }}."


def page_text(response) -> str:
    body = re.sub(r"<script.*?</script>", " ", response.content.decode(), flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def touched(ats, application: Application, *, minutes_ago: int) -> None:
    """Make ``application`` the candidate's most (or less) recently active one."""
    with tenant_scope(ats.organization):
        Application.objects.filter(pk=application.pk).update(
            last_activity_at=timezone.now() - timedelta(minutes=minutes_ago)
        )


@pytest.fixture
def job_text(ats):
    return ats.template("About the job (text)", "sms", text_body=JOB_TEXT)


@pytest.fixture
def sales_onsite(make_journey, job_text):
    """Triggered when a Sales Rep application enters Onsite Interview."""
    return make_journey(
        "Sales onsite", steps=[("send_sms", job_text)], jobs=["Sales Rep"], active=False
    )


def test_dry_run_uses_the_application_on_the_journeys_job_not_the_most_recent_one(
    ats, sales_onsite
):
    ada = ats.candidate(first_name="Ada")
    sales = ats.apply(ada, "Sales Rep", "Onsite Interview")
    engineering = ats.apply(ada, "Backend Engineer", "Phone Interview")
    touched(ats, sales, minutes_ago=60)  # the engineering one is the most recent
    touched(ats, engineering, minutes_ago=1)

    with tenant_scope(ats.organization):
        version = sales_onsite.current_version
        choice = choose_application(version=version, candidate=ada)
        (step,) = dry_run(version=version, candidate=ada)

    assert (choice.application, choice.how) == (sales, MATCHES)
    assert choice.message == (
        "Rendered with Ada's application for Sales Rep (at Onsite Interview): it matches this "
        "journey's trigger."
    )
    assert step.text == "Hi Ada, about Sales Rep at Onsite Interview."


def test_dry_run_prefers_the_journeys_job_when_no_application_is_at_the_trigger_stage(
    ats, sales_onsite
):
    ada = ats.candidate(first_name="Ada")
    sales = ats.apply(ada, "Sales Rep", "Phone Interview")
    engineering = ats.apply(ada, "Backend Engineer", "Onsite Interview")
    touched(ats, sales, minutes_ago=60)
    touched(ats, engineering, minutes_ago=1)

    with tenant_scope(ats.organization):
        version = sales_onsite.current_version
        choice = choose_application(version=version, candidate=ada)
        (step,) = dry_run(version=version, candidate=ada, application=choice.application)

    assert (choice.application, choice.how) == (sales, SAME_JOB)
    assert choice.message == (
        "None of Ada's 2 applications matches this journey's trigger (entered Onsite Interview "
        "on Sales Rep) now. Rendered with the application for Sales Rep (at Phone Interview), "
        "on a job this journey is for."
    )
    assert step.text == "Hi Ada, about Sales Rep at Phone Interview."


def test_dry_run_says_when_nothing_matches_and_falls_back_to_the_most_recent_application(
    ats, sales_onsite
):
    ada = ats.candidate(first_name="Ada")
    older = ats.apply(ada, "Account Executive", "Onsite Interview")
    recent = ats.apply(ada, "Backend Engineer", "Offer")
    touched(ats, older, minutes_ago=60)
    touched(ats, recent, minutes_ago=1)

    with tenant_scope(ats.organization):
        version = sales_onsite.current_version
        choice = choose_application(version=version, candidate=ada)
        (step,) = dry_run(version=version, candidate=ada)

    assert (choice.application, choice.how) == (recent, MOST_RECENT)
    assert choice.message == (
        "None of Ada's 2 applications matches this journey's trigger (entered Onsite Interview "
        "on Sales Rep). Rendered with the most recent application instead: Backend Engineer "
        "(at Offer)."
    )
    assert step.text == "Hi Ada, about Backend Engineer at Offer."


def test_a_rejection_journey_renders_with_the_rejected_application(ats, make_journey, job_text):
    journey = make_journey(
        "Rejection", trigger="rejected", stage_names=(), jobs=(), steps=[("send_sms", job_text)],
        active=False,
    )  # fmt: skip
    cy = ats.candidate(first_name="Cy")
    rejected = ats.apply(cy, "Account Executive", "Phone Interview")
    ats.move(rejected, status="rejected")
    active = ats.apply(cy, "Sales Rep", "Offer")
    touched(ats, rejected, minutes_ago=60)
    touched(ats, active, minutes_ago=1)

    with tenant_scope(ats.organization):
        choice = choose_application(version=journey.current_version, candidate=cy)

    assert (choice.application, choice.how) == (rejected, MATCHES)
    assert "Account Executive (at Phone Interview, rejected)" in choice.message


def test_a_candidate_with_no_application_is_told_the_job_fields_are_empty(ats, sales_onsite):
    dee = ats.candidate(first_name="Dee")

    with tenant_scope(ats.organization):
        choice = choose_application(version=sales_onsite.current_version, candidate=dee)
        (step,) = dry_run(version=sales_onsite.current_version, candidate=dee)

    assert choice.application is None
    assert choice.message == "Dee has no application, so job and stage merge fields are empty."
    assert step.error == "" and step.text.startswith("Hi Dee, about ")


def test_the_dry_run_page_names_the_application_it_used(alice, client_for, ats, sales_onsite):
    ada = ats.candidate(first_name="Ada")
    sales = ats.apply(ada, "Sales Rep", "Onsite Interview")
    engineering = ats.apply(ada, "Backend Engineer", "Phone Interview")
    touched(ats, sales, minutes_ago=60)
    touched(ats, engineering, minutes_ago=1)
    client = client_for(alice)
    url = reverse("journeys:dry_run", args=[sales_onsite.pk])

    page = page_text(client.get(f"{url}?candidate={ada.pk}"))

    assert "Rendered with Ada's application for Sales Rep (at Onsite Interview)" in page
    assert "Hi Ada, about Sales Rep at Onsite Interview." in page
    assert "Backend Engineer" not in page

    with tenant_scope(ats.organization):
        Application.objects.filter(pk=sales.pk).update(deleted_at=timezone.now())
    response = client.get(f"{url}?candidate={ada.pk}")
    assert 'class="small warn-text" id="dry-run-application"' in response.content.decode()
    page = page_text(response)
    assert (
        "Ada's only application doesn't match this journey's trigger (entered Onsite Interview "
        "on Sales Rep). Rendered with the most recent application instead: Backend Engineer "
        "(at Phone Interview)." in page
    )
    assert "Hi Ada, about Backend Engineer at Phone Interview." in page
