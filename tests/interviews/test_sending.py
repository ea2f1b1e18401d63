# ruff: noqa: F811 (pytest fixtures imported from tests.interviews.core_helpers)
"""Sending a video interview: the invitation by e-mail and text with the candidate's own
recording link, the questions kept as sent, the reminder once when not started, expiry, the
candidate starting and finishing (the completion message, the timeline entry the exit rule
and the ATS write-back read), the one-off send from the candidate page, and the demo's
template."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from urllib.parse import urlparse

import pytest
from django.urls import resolve, reverse
from django.utils import timezone

from accounts.models import Role
from interviews import links, reminders, services, tasks, template_services
from interviews import timeline_kinds as interview_kinds
from interviews.demo import DEMO_VIDEO_TEMPLATE, demo_video_template
from interviews.models import InterviewSource, InterviewStatus, VideoInterview
from journeys import timeline_kinds as journeys_kinds
from recruitflow.tenancy import tenant_scope
from tests.factories import add_member
from tests.interviews.core_helpers import (  # noqa: F401 (fixtures)
    candidate,
    delivery_queued,
    make_candidate,
    monday_morning,
    org,
    outbox,
    timeline,
    video_messages,
    video_template,
)

pytestmark = pytest.mark.django_db


def send(org, template, candidate, **kw) -> VideoInterview:
    with tenant_scope(org):
        return services.interview_send(
            organization=org,
            template=template,
            candidate=candidate,
            source=kw.pop("source", InterviewSource.RECRUITER),
            **kw,
        )


def test_the_invitation_goes_out_by_email_and_text_with_a_working_link(
    org, video_template, candidate, outbox, client
):
    interview = send(org, video_template, candidate)
    messages = outbox(candidate)
    link = links.recorder_url(interview)

    assert [m.channel for m in messages] == ["email", "sms"]
    assert messages[0].subject == "Your video interview for Sales Rep"
    assert f'href="{link}"' in messages[0].html
    assert messages[1].body == f"Hi Jordan, record your video interview: {link}"
    assert [m.status for m in messages] == ["queued", "queued"]
    # The link is the candidate's own: it opens the recorder of this interview.
    path = urlparse(link).path
    match = resolve(path)
    assert (match.namespace, match.url_name) == ("interviews_public", "recorder")
    assert interview.token in match.kwargs.values()
    assert client.get(path).status_code == 200

    assert interview.status == InterviewStatus.INVITED
    assert interview.job.name == "Sales Rep" and interview.application_id is not None
    assert interview.expires_at - interview.invited_at == timedelta(days=7)
    [entry] = timeline(org, candidate, interview_kinds.VIDEO_INTERVIEW_SENT)
    assert entry.summary == "Video interview “Sales screen” sent by e-mail and text message"
    assert f"Interview link: {link}" in entry.detail


def test_the_interview_keeps_the_questions_it_was_sent_with(org, video_template, candidate):
    interview = send(org, video_template, candidate)
    with tenant_scope(org):
        values = template_services.template_values(video_template)
        values["questions"] = [{"text": "A completely different question"}]
        template_services.template_save(organization=org, values=values, template=video_template)
        interview.refresh_from_db()
    assert [q["text"] for q in interview.questions] == [
        "Tell us about yourself.",
        "Why this role?",
        "A deal you won.",
    ]
    assert interview.questions[2] == {
        "text": "A deal you won.",
        "think_seconds": 45,
        "answer_seconds": 120,
        "retakes": 2,
    }
    assert interview.intro == "Hi! Three short questions, about five minutes."


def test_a_candidate_the_invitation_cannot_reach_is_refused_with_the_reason(
    org, video_template, make_candidate
):
    nobody = make_candidate(email="", mobile="")
    with pytest.raises(services.InterviewError) as refused:
        send(org, video_template, nobody)
    assert str(refused.value) == (
        "The Video Interview Invitation can't reach Jordan Rivera: it is an e-mail and they "
        "have no e-mail address; it is a text message and they have no mobile number. Add "
        "their contact details in the ATS, or give the template an invitation on another "
        "channel."
    )
    with tenant_scope(org):
        assert not VideoInterview.objects.filter(candidate=nobody).exists()


def test_the_reminder_goes_once_to_a_candidate_who_has_not_started(
    org, video_template, candidate, make_candidate, outbox
):
    waiting = send(org, video_template, candidate)
    started_one = make_candidate(first_name="Sam", email="sam@example.com", mobile="")
    started = send(org, video_template, started_one)
    with tenant_scope(org):
        services.interview_start(interview=started)

    early = waiting.invited_at + timedelta(hours=47)
    due = waiting.invited_at + timedelta(hours=48, minutes=1)
    with tenant_scope(org):
        assert reminders.reminders_send_due(organization=org, now=early) == 0
        assert reminders.reminders_send_due(organization=org, now=due) == 1
        assert reminders.reminders_send_due(organization=org, now=due + timedelta(hours=1)) == 0
        waiting.refresh_from_db()

    reminder_texts = [m for m in outbox(candidate) if "Reminder" in (m.subject or m.body)]
    assert [m.channel for m in reminder_texts] == ["email", "sms"]
    assert links.recorder_url(waiting) in reminder_texts[1].body
    assert waiting.reminder_sent_at == due
    assert [m.subject for m in outbox(started_one)] == ["Your video interview for Sales Rep"]
    [entry] = timeline(org, candidate, interview_kinds.VIDEO_INTERVIEW_REMINDER_SENT)
    assert entry.summary == (
        "Video Interview Reminder “Sales screen” sent by e-mail and text message"
    )


def test_an_interview_expires_at_its_time_and_its_link_then_refuses(org, video_template, candidate):
    interview = send(org, video_template, candidate)
    later = interview.expires_at + timedelta(minutes=1)
    with tenant_scope(org):
        reminders.reminders_send_due(
            organization=org, now=interview.expires_at - timedelta(minutes=1)
        )
        interview.refresh_from_db()
        assert interview.status == InterviewStatus.INVITED
        reminders.reminders_send_due(organization=org, now=later)
        interview.refresh_from_db()
        with pytest.raises(services.InterviewClosed) as closed:
            services.interview_start(interview=interview)
    assert interview.status == InterviewStatus.EXPIRED
    assert (
        str(closed.value) == "This video interview has expired. Ask the recruiter for a new link."
    )
    [entry] = timeline(org, candidate, interview_kinds.VIDEO_INTERVIEW_EXPIRED)
    assert entry.summary == "Video interview “Sales screen” expired without being started"


def test_the_beat_sweep_queues_one_task_per_organization_with_open_interviews(
    org, video_template, candidate, monkeypatch
):
    send(org, video_template, candidate)
    queued = []
    monkeypatch.setattr(tasks.send_reminders_for_organization, "delay", queued.append)
    assert tasks.send_reminders() == 1
    assert queued == [org.pk]


def test_starting_and_finishing_are_told_once_with_the_review_link(
    org, video_template, candidate, outbox
):
    interview = send(org, video_template, candidate)
    with tenant_scope(org):
        services.interview_start(interview=interview)
        services.interview_start(interview=interview)
        services.interview_complete(interview=interview)
        services.interview_complete(interview=interview)
        interview.refresh_from_db()
    assert interview.status == InterviewStatus.COMPLETED
    assert interview.consent_at and interview.started_at and interview.completed_at
    assert len(timeline(org, candidate, interview_kinds.VIDEO_INTERVIEW_STARTED)) == 1
    [done] = timeline(org, candidate, journeys_kinds.VIDEO_INTERVIEW_COMPLETED)
    assert done.data == {
        "interview_id": interview.pk,
        "template": "Sales screen",
        "review_url": links.review_url(interview),
        "answers": 0,
    }
    assert links.review_url(interview).endswith(reverse("interviews:review", args=[interview.pk]))
    thanks = [m for m in outbox(candidate) if m.subject == "Thanks, Jordan" or "received" in m.body]
    assert [m.channel for m in thanks] == ["email", "sms"]


def test_a_cancelled_interview_cannot_be_started(org, video_template, candidate):
    interview = send(org, video_template, candidate)
    with tenant_scope(org):
        assert services.interview_cancel(interview=interview) is True
        assert services.interview_cancel(interview=interview) is False
        with pytest.raises(services.InterviewClosed) as closed:
            services.interview_start(interview=interview)
    assert str(closed.value) == "This video interview was withdrawn by the team."


# --- The candidate page --------------------------------------------------------------------------


def test_a_recruiter_sends_one_from_the_candidate_page(
    alice, client_for, org, video_template, candidate, outbox
):
    client = client_for(alice)
    page = client.get(reverse("candidates:detail", args=[candidate.pk])).content.decode()
    assert "No video interview sent yet." in page
    assert f'<option value="{video_template.pk}">Sales screen</option>' in page

    response = client.post(
        reverse("interviews:send", args=[candidate.pk]),
        {"template": video_template.pk},
        follow=True,
    )
    page = response.content.decode()
    with tenant_scope(org):
        interview = VideoInterview.objects.get(candidate=candidate)
    assert response.redirect_chain[-1][0] == reverse("candidates:detail", args=[candidate.pk])
    assert (
        "Video interview “Sales screen” sent to Jordan Rivera. The link works for 7 days." in page
    )
    assert re.search(rf'data-interview="{interview.pk}".*?Invited', page, flags=re.S)
    assert interview.source == InterviewSource.RECRUITER and interview.created_by == alice.user
    assert len(outbox(candidate)) == 2


def test_the_candidate_page_says_why_an_interview_was_not_sent(
    alice, client_for, org, video_template, make_candidate
):
    nobody = make_candidate(email="", mobile="")
    response = client_for(alice).post(
        reverse("interviews:send", args=[nobody.pk]), {"template": video_template.pk}, follow=True
    )
    assert "Video interview not sent: The Video Interview Invitation can't reach" in (
        html.unescape(response.content.decode())
    )
    missing = client_for(alice).post(reverse("interviews:send", args=[nobody.pk]), {}, follow=True)
    assert "Choose the video interview template to send" in missing.content.decode()


def test_a_viewer_cannot_send_and_another_organization_cannot_see(
    org, client_for, video_template, candidate, mallory
):
    viewer = add_member(organization=org, email="vic@acme.test", role=Role.VIEWER)
    url = reverse("interviews:send", args=[candidate.pk])
    assert client_for(viewer).post(url, {"template": video_template.pk}).status_code == 403
    assert client_for(mallory).post(url, {"template": video_template.pk}).status_code == 404
    with tenant_scope(org):
        assert not VideoInterview.objects.filter(candidate=candidate).exists()


# --- The demo ------------------------------------------------------------------------------------


def test_the_demo_has_a_ready_video_interview_template_with_three_questions(org):
    template = demo_video_template(organization=org)
    again = demo_video_template(organization=org)
    with tenant_scope(org):
        values = template_services.template_values(template)
        assert services.template_problems(template) == []
    assert again.pk == template.pk and template.name == DEMO_VIDEO_TEMPLATE
    assert len(values["questions"]) == 3
    assert {k for k, v in values["messages"].items() if v} == {
        "invitation_email",
        "invitation_sms",
        "reminder_email",
        "reminder_sms",
        "completion_email",
    }
    assert "Acme Talent" in values["questions"][0]["text"]


def test_finishing_without_the_consent_step_still_records_when_it_started(
    org, video_template, candidate
):
    interview = send(org, video_template, candidate)
    with tenant_scope(org):
        services.interview_complete(interview=interview)
    assert interview.status == InterviewStatus.COMPLETED
    assert interview.started_at == interview.completed_at == timezone.now()
