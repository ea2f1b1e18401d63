# ruff: noqa: F811 (pytest fixtures imported from tests.interviews.core_helpers)
"""Library → Video interview templates: the empty list, creating one in the editor (questions
added, reordered and removed; messages; reviewers), what the editor refuses and says, copy,
delete refused while a journey or an open interview uses it, and the Library's message
templates saying a video template uses them."""

from __future__ import annotations

import html
import re

import pytest
from django.urls import reverse

from accounts.models import Role
from interviews import services, template_services
from interviews.models import InterviewSource, VideoQuestion, VideoTemplate, VideoTemplateReviewer
from journeys import editing
from journeys.models import StepKind
from library.models import MessageTemplate
from recruitflow.tenancy import tenant_scope
from tests.factories import add_member
from tests.interviews.core_helpers import (  # noqa: F401 (fixtures)
    candidate,
    delivery_queued,
    make_candidate,
    monday_morning,
    org,
    save_template,
    video_messages,
    video_template,
)

pytestmark = pytest.mark.django_db


def text(response) -> str:
    """The page as a person reads it: tags dropped, entities decoded, spaces collapsed."""
    body = re.sub(r"<script.*?</script>", " ", response.content.decode(), flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def editor_post(messages, **overrides) -> dict:
    data = {
        "name": "Sales screen",
        "intro": "Three short questions.",
        "expiry_days": "5",
        "reminder_after_hours": "24",
        "q0_text": "Tell us about yourself.",
        "q0_think_seconds": "30",
        "q0_answer_seconds": "90",
        "q0_retakes": "1",
        "q0_order": "2",
        "q1_text": "Why this role?",
        "q1_think_seconds": "0",
        "q1_answer_seconds": "60",
        "q1_retakes": "0",
        "q1_order": "1",
        "q2_text": "",
        "q2_think_seconds": "30",
        "q2_answer_seconds": "120",
        "q2_retakes": "1",
        "q2_order": "3",
        "invitation_email": str(messages["invitation_email"].pk),
        "invitation_sms": str(messages["invitation_sms"].pk),
        "reminder_sms": str(messages["reminder_sms"].pk),
        "completion_email": str(messages["completion_email"].pk),
    }
    data.update(overrides)
    return data


def test_the_list_starts_empty_and_says_what_to_do(alice, client_for, org):
    page = text(client_for(alice).get(reverse("interviews_library:list")))
    assert "No video interview templates yet" in page
    assert "Video Interview Invitation" in page and "{{ interview_link }}" in page
    assert "New video interview template" in page


def test_the_library_index_links_to_video_interview_templates(alice, client_for, video_template):
    page = client_for(alice).get(reverse("library")).content.decode()
    assert reverse("interviews_library:list") in page
    assert "1</strong> video interview template" in page


def test_recruiter_creates_a_template_with_questions_in_the_order_chosen(
    alice, bob, client_for, org, video_messages
):
    data = editor_post(video_messages, **{f"reviewer_{bob.user.pk}": "on"})
    response = client_for(alice).post(reverse("interviews_library:create"), data)
    with tenant_scope(org):
        template = VideoTemplate.objects.get(organization=org, name="Sales screen")
        questions = list(VideoQuestion.objects.filter(template=template))
        reviewers = list(VideoTemplateReviewer.objects.filter(template=template))
    assert response.status_code == 302
    assert response["Location"] == reverse("interviews_library:edit", args=[template.pk])
    # The empty third row added nothing; the order inputs put "Why this role?" first.
    assert [q.text for q in questions] == ["Why this role?", "Tell us about yourself."]
    assert [(q.think_seconds, q.answer_seconds, q.retakes) for q in questions] == [
        (0, 60, 0),
        (30, 90, 1),
    ]
    assert [r.user_id for r in reviewers] == [bob.user.pk]
    assert (template.expiry_days, template.reminder_after_hours) == (5, 24)
    assert template.invitation_sms_id == video_messages["invitation_sms"].pk
    assert template.reminder_email_id is None

    page = text(client_for(alice).get(reverse("interviews_library:edit", args=[template.pk])))
    assert "Ready" in page and "Why this role?" in page


def test_editing_removes_a_question_and_adds_one(alice, client_for, org, video_template):
    client = client_for(alice)
    url = reverse("interviews_library:edit", args=[video_template.pk])
    data = editor_post(
        {k: getattr(video_template, k) for k in ("invitation_email", "invitation_sms")}
        | {
            "reminder_sms": video_template.reminder_sms,
            "completion_email": video_template.completion_email,
        },
        q0_remove="on",
        q2_text="What would you change in your first month?",
    )
    assert client.post(url, data).status_code == 302
    with tenant_scope(org):
        texts = list(
            VideoQuestion.objects.filter(template=video_template).values_list("text", flat=True)
        )
    assert texts == ["Why this role?", "What would you change in your first month?"]


def test_the_editor_refuses_a_template_without_questions_or_invitation(
    alice, client_for, org, video_messages
):
    data = editor_post(
        video_messages, q0_text="", q1_text="", invitation_email="", invitation_sms=""
    )
    response = client_for(alice).post(reverse("interviews_library:create"), data)
    page = text(response)
    assert response.status_code == 200
    assert "Not saved yet" in page
    assert "Add at least one question" in page
    assert "Choose the Video Interview Invitation e-mail or text message" in page
    with tenant_scope(org):
        assert not VideoTemplate.objects.filter(organization=org).exists()


def test_the_editor_refuses_numbers_out_of_range_naming_the_question(
    alice, client_for, org, video_messages
):
    data = editor_post(
        video_messages, q1_answer_seconds="5", expiry_days="7", reminder_after_hours="200"
    )
    page = text(client_for(alice).post(reverse("interviews_library:create"), data))
    assert "Question 1: the answer time limit must be from 15 to 900 seconds (it is 5)." in page
    assert "A reminder after 200 hours would come after the link expires" in page


def test_a_message_using_the_scheduling_link_is_refused(alice, client_for, org, video_messages):
    with tenant_scope(org):
        wrong = MessageTemplate.objects.create(
            organization=org,
            name="Pick a time",
            channel="sms",
            text_body="Pick a time: {{ scheduling_link }}",
        )
    data = editor_post(video_messages, invitation_sms=str(wrong.pk))
    page = text(client_for(alice).post(reverse("interviews_library:create"), data))
    assert "“Pick a time” uses {{ scheduling_link }}, which only a scheduling message" in page


def test_a_viewer_reads_a_template_but_cannot_change_it(alice, client_for, org, video_template):
    viewer = add_member(organization=org, email="vic@acme.test", role=Role.VIEWER)
    client = client_for(viewer)
    url = reverse("interviews_library:edit", args=[video_template.pk])
    page = text(client.get(url))
    assert "your role can't change it" in page and "Tell us about yourself." in page
    assert client.post(url, {"name": "Hijacked"}).status_code == 403
    assert client.get(reverse("interviews_library:create")).status_code == 403


def test_copy_keeps_questions_reviewers_and_messages(alice, client_for, org, video_template):
    response = client_for(alice).post(reverse("interviews_library:copy", args=[video_template.pk]))
    with tenant_scope(org):
        copy = VideoTemplate.objects.get(organization=org, name="Copy of Sales screen")
        values = template_services.template_values(copy)
        original = template_services.template_values(video_template)
    assert response["Location"] == reverse("interviews_library:edit", args=[copy.pk])
    assert values["questions"] == original["questions"] and len(values["questions"]) == 3
    assert values["reviewer_ids"] == original["reviewer_ids"] != []
    assert values["messages"] == original["messages"]


def test_delete_is_refused_while_a_journey_uses_the_template(
    alice, client_for, org, video_template
):
    with tenant_scope(org):
        journey = editing.journey_start(
            organization=org, name="Sales screening", trigger="entered_stage"
        )
        editing.journey_step_add(
            journey=journey,
            kind=StepKind.SEND_VIDEO_INTERVIEW,
            config={"template_id": video_template.pk},
        )
    client = client_for(alice)
    response = client.post(
        reverse("interviews_library:delete", args=[video_template.pk]), follow=True
    )
    page = text(response)
    assert "can't be deleted: it is used by 1 journey step (in Sales screening)" in page
    assert "Remove it from those journey steps first." in page
    with tenant_scope(org):
        assert VideoTemplate.objects.filter(pk=video_template.pk).exists()


def test_delete_is_refused_while_an_interview_is_open(org, video_template, candidate):
    with tenant_scope(org):
        services.interview_send(
            organization=org,
            template=video_template,
            candidate=candidate,
            source=InterviewSource.RECRUITER,
        )
        with pytest.raises(template_services.TemplateInUse) as refused:
            template_services.template_delete(template=video_template)
    assert "1 video interview (1 still open for the candidate)" in str(refused.value)
    assert "copy it and change the copy" in str(refused.value)


def test_an_unused_template_is_deleted(alice, client_for, org, video_template):
    response = client_for(alice).post(
        reverse("interviews_library:delete", args=[video_template.pk]), follow=True
    )
    assert "Video interview template “Sales screen” deleted." in text(response)
    with tenant_scope(org):
        assert not VideoTemplate.objects.filter(organization=org).exists()


def test_a_message_template_a_video_template_uses_is_not_deleted_and_says_by_what(
    alice, client_for, org, video_template
):
    invitation = video_template.invitation_email
    response = client_for(alice).post(
        reverse("library:template_delete", args=[invitation.pk]), follow=True
    )
    assert "1 video interview template (Sales screen)" in text(response)
    with tenant_scope(org):
        assert MessageTemplate.objects.filter(pk=invitation.pk).exists()


def test_another_organizations_template_is_not_found(mallory, client_for, video_template):
    client = client_for(mallory)
    assert (
        client.get(reverse("interviews_library:edit", args=[video_template.pk])).status_code == 404
    )
    assert (
        client.post(reverse("interviews_library:delete", args=[video_template.pk])).status_code
        == 404
    )


def test_the_inbox_refuses_a_template_whose_interview_link_it_cannot_fill(
    alice, client_for, org, video_messages, candidate
):
    """Sent by hand to one candidate, {{ interview_link }} would be a blank where the link
    should be: the composer's render says why instead."""
    invitation = video_messages["invitation_sms"]
    url = reverse("library:template_render", args=[invitation.pk])
    response = client_for(alice).get(f"{url}?candidate={candidate.pk}")
    assert response.status_code == 400
    assert response.json()["error"] == (
        "“Video Interview Invitation (text)” uses {{ interview_link }}, which only a Send video "
        "interview step or a scheduling message fills, so it can't be sent by hand. Send it "
        "from a video interview template's messages (Library → Video interview templates), or "
        "choose another template."
    )
    # The Library's own preview (no candidate) still shows a sample link.
    sample = client_for(alice).get(url).json()
    assert "https://example.com/interview/sample" in sample["text"]
