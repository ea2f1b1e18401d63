"""The outsider walk over the video interview URLs (the review pages under `/interviews/`, the
Library's templates, the recorder under `/v/`, the API, the settings) with an interview that has
answers and a review: anonymous visitors, another organization's owner and API key, and a
hiring manager on no hiring team are refused everywhere, see none of it, and change nothing.
(The whole-site walk in tests/test_outsider_walk.py covers these URLs too; this is the quick
check of this area.)"""

from __future__ import annotations

import pytest

from accounts import services
from accounts.models import Role
from recruitflow.tenancy import tenant_scope
from tests.factories import add_member
from tests.interviews.review_helpers import add_review, make_interview, make_template
from tests.journeys.conftest import build_ats
from tests.outsider_walk import start_candidate_rows_at, walk


@pytest.mark.django_db
def test_walking_the_review_pages_leaks_and_changes_nothing(alice, bob, mallory):
    organization = alice.organization
    start_candidate_rows_at()
    ats = build_ats(organization)
    candidate = ats.candidate(first_name="Victor", last_name="Victim")
    application = ats.apply(candidate)
    interview = make_interview(
        organization,
        template=make_template(organization, "Acme sales screen", reviewers=[bob.user]),
        candidate=candidate,
        job=application.job,
    )
    add_review(organization, interview, bob.user, [4, 5, 3], notes="Acme, strong closer")
    with tenant_scope(mallory.organization):
        _, outsider_key = services.api_key_create(
            actor=mallory.membership, name="Mallory", scope="write"
        )
    hiring_manager = add_member(
        organization=organization, email="hank@acme.test", role=Role.HIRING_MANAGER
    ).user

    report = walk(
        victim=organization,
        outsider_user=mallory.user,
        outsider_api_key=outsider_key,
        extra_markers=("Victim", "Acme, strong closer"),
        hiring_manager=hiring_manager,
        hidden_markers=("Victim", "Acme, strong closer", "sam@example.com"),
        # This area and the rest of video interviews (the Library, the recorder, the API).
        only_routes=(
            "interviews/",
            "library/interviews/",
            "v/",
            "api/v1/video",
            "settings/video",
        ),
    )

    assert not report.problems, "\n".join(map(str, report.problems))
    walked = "\n".join(sorted(report.walked_patterns))
    for route in ("interviews/(?P<pk>", "interviews/shared/(?P<signed>", "/answers/(?P<index>"):
        assert route in walked
    for url in (f"/interviews/{interview.pk}/", f"/interviews/{interview.pk}/share/"):
        assert url in report.hiring_manager_object_urls
