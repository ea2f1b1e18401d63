"""The starter gallery: each card says what it does, the stage it will use in this
organization and its messages; one click copies the journey (paused) and its Library templates,
renamed rather than overwriting the organization's own, on the organization's stage names."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from candidates.models import Job, Stage
from journeys.models import Journey, JourneyStep, StepKind, TriggerKind
from journeys.services import journey_activate
from library.models import MessageTemplate
from library.services import message_template_save
from library.templating import render, sample_context, sample_links
from onboarding import gallery
from onboarding.starters import STARTERS, STARTERS_BY_SLUG
from recruitflow.tenancy import tenant_scope
from scheduling.models import SchedulingTemplate
from tests.factories import add_member

pytestmark = pytest.mark.django_db


def _stages(org, *names):
    with tenant_scope(org):
        job = Job.objects.create(
            organization=org, provider="greenhouse", external_id="j1", name="Sales Rep"
        )
        for n, name in enumerate(names):
            Stage.objects.create(
                organization=org,
                provider="greenhouse",
                external_id=f"s{n}",
                job=job,
                name=name,
                position=n,
            )


@pytest.mark.parametrize(
    ("role", "stages", "expected"),
    [
        ("onsite", ["Phone Screen", "Onsite Interview", "Offer"], "Onsite Interview"),
        ("onsite", ["Phone Screen", "Face to Face", "Offer"], "Face to Face"),
        ("onsite", ["On-site Interview"], "On-site Interview"),
        ("onsite", ["face-to-face interview"], "face-to-face interview"),
        ("phone_screen", ["Application Review", "Phone Interview"], "Phone Interview"),
        ("phone_screen", ["Recruiter Screen", "Offer"], "Recruiter Screen"),
        ("phone_screen", ["Recruiter Phone Screen", "Onsite Interview"], "Recruiter Phone Screen"),
        # An exact synonym wins over a name that only contains one.
        ("phone_screen", ["Recruiter Phone Screen", "phone screen"], "phone screen"),
        ("offer", ["Onsite Interview", "Offer"], "Offer"),
        ("review", ["Applied", "Phone Screen"], "Applied"),
        ("onsite", ["Application Review", "Phone Screen", "Offer"], None),
        ("phone_screen", [], None),
    ],
)
def test_stages_are_matched_by_name_with_synonyms(role, stages, expected):
    assert gallery.match_stage(role, stages) == expected


def test_the_gallery_shows_each_starter_with_its_stage_here_and_its_messages(alice, client_for):
    _stages(alice.organization, "Application Review", "Phone Interview", "Face to Face", "Offer")
    page = client_for(alice).get(reverse("onboarding:starters")).content.decode()
    for starter in STARTERS:
        assert starter.name in page
        assert starter.summary in page
    assert "Uses your stage “Phone Interview”." in page
    assert "Uses your stage “Face to Face”." in page
    assert "Uses your stage “Application Review” (7 days without a move)." in page
    assert "Starts when a candidate is rejected, in any stage." in page
    # The messages rendered with sample values: the company is the organization's own.
    assert "Congratulations from Acme Talent!" in page
    assert "{{" not in page


def test_a_starter_whose_stage_is_missing_says_so_on_its_card(alice, client_for):
    _stages(alice.organization, "Application Review", "Offer")
    page = client_for(alice).get(reverse("onboarding:starters")).content.decode()
    assert "No phone screen stage found among your synced stages" in page
    assert "No onsite interview stage found" in page


def test_copying_phone_screen_scheduling_lands_in_the_builder_with_its_steps(alice, client_for):
    _stages(alice.organization, "Application Review", "Recruiter Phone Screen", "Onsite")
    client = client_for(alice)
    response = client.post(
        reverse("onboarding:starter_copy", args=["phone-screen-scheduling"]), follow=True
    )
    with tenant_scope(alice.organization):
        journey = Journey.objects.get(name="Phone-screen scheduling")
        version = journey.current_version
        steps = list(JourneyStep.objects.filter(version=version).order_by("position"))
        scheduling = SchedulingTemplate.objects.get(name="Phone screen")
        request_email = scheduling.request_email
    assert response.redirect_chain[-1][0] == reverse("journeys:builder", args=[journey.pk])
    page = response.content.decode()
    assert "copied as a paused journey" in page
    assert "It starts on your stage “Recruiter Phone Screen”." in page
    assert journey.is_active is False
    assert version.trigger == TriggerKind.ENTERED_STAGE
    assert version.stage_names == ["Recruiter Phone Screen"]
    assert [s.kind for s in steps] == [StepKind.SEND_SCHEDULING_REQUEST]
    assert steps[0].config == {"template_id": scheduling.pk}
    assert request_email.name == "Phone screen: pick a time"
    # Alice, who copied it, is the interviewer.
    with tenant_scope(alice.organization):
        assert list(scheduling.members.values_list("user_id", "required")) == [
            (alice.user.pk, True)
        ]


def test_copying_twice_and_over_the_organizations_own_templates_makes_names_unique(alice):
    org = alice.organization
    with tenant_scope(org):
        own = message_template_save(
            organization=org, name="Offer congratulations", channel="sms", text_body="Our own!"
        )
        first = gallery.starter_copy(
            organization=org, starter=STARTERS_BY_SLUG["offer-congratulations"], user=alice.user
        )
        second = gallery.starter_copy(
            organization=org, starter=STARTERS_BY_SLUG["offer-congratulations"], user=alice.user
        )
        own.refresh_from_db()
        names = sorted(MessageTemplate.objects.values_list("name", flat=True))
    assert own.text_body == "Our own!"  # never overwritten
    assert first.templates == ["Offer congratulations (2)", "Offer congratulations (text)"]
    assert second.templates == ["Offer congratulations (3)", "Offer congratulations (text) (2)"]
    assert names == [
        "Offer congratulations",
        "Offer congratulations (2)",
        "Offer congratulations (3)",
        "Offer congratulations (text)",
        "Offer congratulations (text) (2)",
    ]
    assert first.journey.name == "Offer congratulations"
    assert second.journey.name == "Offer congratulations (2)"


def test_a_copy_with_no_matching_stage_is_made_and_says_which_trigger_needs_a_stage(
    alice, client_for
):
    response = client_for(alice).post(
        reverse("onboarding:starter_copy", args=["onsite-invitation"]), follow=True
    )
    page = response.content.decode()
    assert "No onsite interview stage matched your synced stages" in page
    assert "“Candidate entered a stage” needs a stage" in page
    with tenant_scope(alice.organization):
        journey = Journey.objects.get(name="Onsite interview invitation")
        assert journey.current_version.stage_names == []
        assert "choose its stage in the trigger before making it live" in journey.description
        kinds = list(
            JourneyStep.objects.filter(version=journey.current_version)
            .order_by("position")
            .values_list("kind", flat=True)
        )
    assert kinds == [StepKind.SEND_SMS, StepKind.SEND_EMAIL]


@pytest.mark.parametrize("starter", STARTERS, ids=lambda s: s.slug)
def test_every_starter_copies_and_its_templates_render(alice, starter):
    org = alice.organization
    _stages(org, "Application Review", "Phone Screen", "Onsite Interview", "Offer")
    with tenant_scope(org):
        copied = gallery.starter_copy(organization=org, starter=starter, user=alice.user)
        version = copied.journey.current_version
        assert version.trigger == starter.trigger
        assert version.stale_days == starter.stale_days
        assert list(version.exit_rules) == list(starter.exit_rules)
        steps = list(JourneyStep.objects.filter(version=version).order_by("position"))
        assert [s.kind for s in steps] == [s.kind for s in starter.steps]
        context = sample_context(org, extra=sample_links())
        for template in MessageTemplate.objects.filter(name__in=copied.templates):
            rendered = render(template, context)
            assert "Acme Talent" in (rendered.subject + rendered.text) or template.channel == "sms"
            assert rendered.text.strip()
    assert copied.journey.is_active is False
    if starter.stage_role:
        assert copied.stage is not None


def test_viewers_see_the_gallery_but_cannot_copy(alice, client):
    viewer = add_member(organization=alice.organization, email="vic@acme.test", role="viewer")
    client.force_login(viewer.user)
    page = client.get(reverse("onboarding:starters")).content.decode()
    assert "a recruiter or admin copies templates" in page
    response = client.post(reverse("onboarding:starter_copy", args=["rejection-with-care"]))
    assert response.status_code == 403
    with tenant_scope(alice.organization):
        assert not Journey.objects.exists()


def test_an_unknown_starter_is_a_404_and_a_get_copies_nothing(alice, client_for):
    client = client_for(alice)
    assert client.post(reverse("onboarding:starter_copy", args=["nope"])).status_code == 404
    assert (
        client.get(reverse("onboarding:starter_copy", args=["rejection-with-care"])).status_code
        == 405
    )
    with tenant_scope(alice.organization):
        assert not Journey.objects.exists()


def test_the_journeys_page_links_the_gallery(alice, client_for):
    page = client_for(alice).get(reverse("journeys:list")).content.decode()
    assert reverse("onboarding:starters") in page


def test_the_gallery_and_the_copy_keep_to_the_organization(alice, mallory, client, client_for):
    _stages(alice.organization, "Acme Secret Screen Phone Screen")
    # Anonymous visitors are sent to sign in and copy nothing.
    assert client.get(reverse("onboarding:starters")).status_code == 302
    response = client.post(reverse("onboarding:starter_copy", args=["phone-screen-scheduling"]))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    # Another organization sees its own (no) stages and copies into its own organization.
    outsider = client_for(mallory)
    assert "Acme Secret" not in outsider.get(reverse("onboarding:starters")).content.decode()
    outsider.post(reverse("onboarding:starter_copy", args=["phone-screen-scheduling"]))
    with tenant_scope(alice.organization):
        assert not Journey.objects.exists()
        assert not MessageTemplate.objects.exists()
    with tenant_scope(mallory.organization):
        journey = Journey.objects.get()
        assert journey.current_version.stage_names == []


def test_a_copy_whose_stage_matched_nothing_is_not_published_until_a_stage_is_chosen(
    alice, client_for
):
    """Copied with no stage it would start in every stage; publishing (and the API's
    activation) refuses it, naming the stage the starter expects and how to fix it."""
    _stages(alice.organization, "Application Review", "Offer")
    client = client_for(alice)
    client.post(reverse("onboarding:starter_copy", args=["onsite-invitation"]))
    with tenant_scope(alice.organization):
        journey = Journey.objects.get(name="Onsite interview invitation")
    expected = (
        "Choose the stage this journey starts on: the starter expects “onsite interview” and "
        "no stage of yours matched."
    )
    publish = reverse("journeys:publish", args=[journey.pk])
    assert expected in client.get(publish).content.decode()
    page = client.post(publish, follow=True).content.decode()
    assert "be published yet" in page and expected in page
    with tenant_scope(alice.organization):
        with pytest.raises(ValidationError, match="the starter expects “onsite interview”"):
            journey_activate(journey=journey)
        journey.refresh_from_db()
        assert not journey.is_active
    # Choosing the stage in the trigger is the fix.
    client.post(
        reverse("journeys:trigger", args=[journey.pk]),
        {"name": journey.name, "trigger": TriggerKind.ENTERED_STAGE, "stage_names": ["Offer"]},
    )
    page = client.post(publish, follow=True).content.decode()
    assert "Published: “Onsite interview invitation” is live." in page
    with tenant_scope(alice.organization):
        journey.refresh_from_db()
        assert journey.is_active
        assert journey.current_version.stage_names == ["Offer"]
