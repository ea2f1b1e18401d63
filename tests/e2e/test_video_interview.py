"""On-demand video interview in a real browser (Chromium with a fake camera and microphone):
a journey sends the video interview when a recruiter moves the candidate into "Onsite
Interview" on the sandbox Greenhouse screen; the candidate opens the link from the e-mail in
the sandbox outbox, agrees, checks the camera, tries the practice question, records three
answers (the first one twice), reloads the page in the middle of the third and records it
again, and sends the interview: every answer is there once, the last take of the first question
counts. A reviewer then plays the answers on the review page and rates them, and the sandbox
Greenhouse shows the review link in the candidate's "Video Interview" field. Where the browser
has no MediaRecorder, videos from the camera app go through the same upload."""

from __future__ import annotations

import re
import time
import urllib.parse
from datetime import time as clock

import pytest
import requests
from django.urls import reverse
from playwright.sync_api import expect

from candidates import services as candidate_services
from candidates.models import Candidate, Job, TimelineEvent
from integrations.greenhouse.models import GreenhouseConnection
from integrations.models import ConnectionStatus
from integrations.sandbox.server import SandboxServer
from integrations.sendgrid.models import SendGridSettings
from interviews.models import (
    Answer,
    AnswerStatus,
    InterviewStatus,
    VideoInterview,
    VideoQuestion,
    VideoTemplate,
)
from journeys import editing as journey_editing
from journeys import services as journey_services
from journeys import timeline_kinds as journeys_kinds
from journeys.models import StepKind, TriggerKind
from library import services as library_services
from messaging.models import MessagingPreferences
from recruitflow.tenancy import tenant_scope
from tests.factories import make_org_with_owner
from tests.interviews.recording_helpers import make_interview, make_video, use_temporary_recordings
from writeback import services as writeback_services
from writeback import tasks as writeback_tasks

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

HARVEST_KEY = ("sandbox-harvest-key", "")
CANDIDATE = ("Jordan", "Rivera", "jordan.rivera@example.com", "+12125550143")
QUESTIONS = [
    ("Tell us about a deal you are proud of.", 1),  # one retake allowed
    ("Why do you want to work in sales?", 0),
    ("How do you handle a customer who says no?", 0),
]
FAKE_MEDIA = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]


@pytest.fixture(scope="module")
def media_browser(browser_type, browser_type_launch_args):
    """Chromium with a fake camera and microphone, allowed without asking (this test only)."""
    args = {
        **browser_type_launch_args,
        "args": [*browser_type_launch_args.get("args", []), *FAKE_MEDIA],
    }
    browser = browser_type.launch(**args)
    yield browser
    browser.close()


@pytest.fixture
def page(media_browser):
    context = media_browser.new_context()
    tab = context.new_page()
    tab.set_default_timeout(20_000)
    yield tab
    context.close()


@pytest.fixture(scope="module")
def sandbox():
    with SandboxServer(port=0, n_candidates=5, greenhouse_rate_limit=None) as server:
        yield server


@pytest.fixture(autouse=True)
def celery_runs_in_process(celery_in_process, settings, tmp_path):
    """Celery work (the webhook, the journey step, the e-mail, each answer's processing) runs
    eagerly inside the web request that queues it (tests/e2e/conftest.py); recordings go to a
    folder of this test's own."""
    use_temporary_recordings(settings, tmp_path / "recordings")


def _control(sandbox, path: str) -> str:
    return f"{sandbox.url}/greenhouse/_sandbox/api/{path}"


def _wait_for(fetch, predicate, seconds: float = 20):
    deadline = time.monotonic() + seconds
    value = fetch()
    while not predicate(value) and time.monotonic() < deadline:
        time.sleep(0.2)
        value = fetch()
    return value


def _connected_org(sandbox, base: str):
    """Rita's organization: the sandbox Greenhouse connected and synced, its webhook pointed at
    us, e-mails through the sandbox SendGrid. Returns the organization, the owner, the "Sales
    Rep" job (sandbox JSON) and the Greenhouse user write-back acts as."""
    org, owner, _membership = make_org_with_owner(
        name="Northwind Hiring", email="rita@northwind.test", first_name="Rita"
    )
    jobs = requests.get(_control(sandbox, "jobs"), timeout=10).json()
    sales_rep = next(job for job in jobs if job["name"] == "Sales Rep")
    first, last, email, phone = CANDIDATE
    created = requests.post(
        _control(sandbox, "candidates"),
        json={
            "first_name": first, "last_name": last, "job_id": sales_rep["id"],
            "email": email, "phone": phone,
            "stage_id": next(s["id"] for s in sales_rep["stages"]
                             if s["name"] == "Hiring Manager Screen"),
        },
        timeout=10,
    )  # fmt: skip
    assert created.status_code == 201, created.text
    acting = requests.get(
        f"{sandbox.url}/greenhouse/v1/users", auth=HARVEST_KEY, timeout=10
    ).json()[0]
    with tenant_scope(org):
        connection = GreenhouseConnection.objects.create(
            organization=org, base_url=f"{sandbox.url}/greenhouse", api_version="v1",
            api_key=HARVEST_KEY[0], status=ConnectionStatus.CONNECTED,
        )  # fmt: skip
        SendGridSettings.objects.create(
            organization=org, api_key="SG.sandbox-key", from_email="talent@northwind.test",
            from_name="Northwind Talent", base_url=f"{sandbox.url}/sendgrid",
            event_public_key=sandbox.sendgrid.public_key_b64,
        )  # fmt: skip
        MessagingPreferences.objects.create(
            organization=org, sms_window_start=clock.min, sms_window_end=clock.max
        )
        run = candidate_services.sync_request(organization=org, full=True)
        run.refresh_from_db()
        assert run.status == "succeeded", run.error
    hook = requests.post(
        _control(sandbox, "webhook"),
        json={
            "url": f"{base}/webhooks/greenhouse/{connection.endpoint_token}/",
            "secret": connection.webhook_secret,
            "enabled": True,
        },
        timeout=10,
    ).json()
    assert hook["enabled"], hook
    return org, owner, sales_rep, acting


def _video_journey(org, owner, sales_rep: dict) -> VideoTemplate:
    """A video interview template of three questions and an active journey that sends it when
    a candidate enters "Onsite Interview" on "Sales Rep"."""
    with tenant_scope(org):
        invitation = library_services.message_template_save(
            organization=org, name="Video interview invitation", channel="email",
            subject="Your video interview for {{ job.name }}",
            html_body="<p>Hi {{ candidate.first_name }},</p><p>Please record your answers: "
            '<a href="{{ interview_link }}">{{ interview_link }}</a></p>',
        )  # fmt: skip
        template = VideoTemplate.objects.create(
            organization=org, name="Sales screen", intro="Three short questions about sales.",
            invitation_email=invitation, created_by=owner,
        )  # fmt: skip
        for position, (text, retakes) in enumerate(QUESTIONS):
            VideoQuestion.objects.create(
                organization=org, template=template, position=position, text=text,
                think_seconds=2, answer_seconds=30, retakes=retakes,
            )  # fmt: skip
        journey = journey_services.journey_create(organization=org, name="Video screen")
        job = Job.objects.get(provider="greenhouse", external_id=str(sales_rep["id"]))
        journey_editing.journey_trigger_update(
            journey=journey, trigger=TriggerKind.ENTERED_STAGE,
            stage_names=["Onsite Interview"], job_ids=[job.pk],
        )  # fmt: skip
        journey_editing.journey_step_add(
            journey=journey, kind=StepKind.SEND_VIDEO_INTERVIEW, config={"template_id": template.pk}
        )
        journey = journey_services.journey_activate(journey=journey)
        assert journey.is_active
    return template


def _record(page, *, seconds: float = 2.5) -> None:
    """Record the question on screen: skip the thinking time, speak, stop."""
    page.get_by_role("button", name="Start recording now").click()
    expect(page.get_by_text("● Recording")).to_be_visible()
    expect(page.locator('[data-role="upload-state"]')).to_contain_text("Saved as you speak")
    page.wait_for_timeout(int(seconds * 1000))
    page.get_by_role("button", name="Stop recording").click()


def _camera_on(page, *, resume: bool) -> None:
    expect(page.get_by_role("heading", name="Check your camera and microphone")).to_be_visible()
    page.get_by_role("button", name="Turn on camera and microphone").click()
    label = "I can see myself: continue where I stopped" if resume else "I can see myself: continue"
    page.get_by_role("button", name=label, exact=True).click()


def test_a_journey_sends_the_interview_the_candidate_records_it_and_the_team_reviews_it(
    live_server, page, csp_violations, sandbox, settings, one_request_at_a_time
):
    base = live_server.url
    settings.PUBLIC_BASE_URL = base
    settings.SANDBOX_URL = sandbox.url
    settings.SANDBOX_SHORTCUTS = True
    settings.WRITEBACK_SETTLE_SECONDS = 0
    settings.MESSAGING_PROVIDER_MAX_ATTEMPTS = 1
    sandbox.greenhouse.reset()
    sandbox.sendgrid.reset()
    sandbox.sendgrid.configure_events(url=None)
    org, owner, sales_rep, acting = _connected_org(sandbox, base)
    first, last, email, _phone = CANDIDATE
    _video_journey(org, owner, sales_rep)
    with tenant_scope(org):
        writeback_services.rules_update(
            organization=org, acting_user_email=acting["primary_email_address"], enabled=True
        )

    # A recruiter moves Jordan into "Onsite Interview" on the sandbox Greenhouse screen.
    page.goto(f"{sandbox.url}/greenhouse/_sandbox/?q={urllib.parse.quote(email)}")
    row = page.locator("tr", has_text=f"{first} {last}").filter(has_text="Sales Rep")
    onsite = next(s for s in sales_rep["stages"] if s["name"] == "Onsite Interview")
    row.locator("select[name=stage_id]").select_option(str(onsite["id"]))
    row.get_by_role("button", name="Move").click()
    expect(page.locator("tr", has_text=f"{first} {last}")).to_contain_text("Onsite Interview")

    # The invitation is in the sandbox outbox; Jordan opens its link.
    mails = _wait_for(
        lambda: requests.get(f"{sandbox.url}/sendgrid/_sandbox/api/mails", timeout=5).json(),
        lambda found: any("video interview" in (m.get("subject") or "") for m in found),
    )
    invitation = next(m for m in mails if "video interview" in (m.get("subject") or ""))
    assert invitation["subject"] == "Your video interview for Sales Rep"
    page.goto(f"{sandbox.url}/sendgrid/_sandbox/")
    expect(page.get_by_role("link", name="Your video interview for Sales Rep")).to_be_visible()
    link = re.search(r'href="([^"]+/v/[^"]+)"', invitation["html"]).group(1)
    assert link.startswith(f"{base}/v/")
    page.goto(link)

    # Consent, with the retention period.
    expect(
        page.get_by_role(
            "heading", name=re.compile("welcome to your video interview", re.IGNORECASE)
        )
    ).to_be_visible()
    expect(page.locator("#interview-consent")).to_contain_text("kept for 180 days")
    page.get_by_label(re.compile("I agree to be recorded")).check()
    page.get_by_role("button", name="Agree and continue").click()

    # Camera check, then the practice question (played back, never uploaded).
    _camera_on(page, resume=False)
    expect(page.get_by_role("heading", name=re.compile("Practice:"))).to_be_visible()
    page.get_by_role("button", name="Start the practice question").click()
    expect(page.locator('[data-role="practice-clock"]')).to_contain_text(
        "Recording · time left", timeout=15_000
    )
    page.wait_for_timeout(1500)  # Jordan says a few words
    page.get_by_role("button", name="Stop", exact=True).click()
    expect(page.locator('[data-role="practice-clock"]')).to_have_text(
        "Here is your practice answer."
    )
    with tenant_scope(org):
        interview = VideoInterview.objects.get(candidate__primary_email=email)
        assert interview.status == InterviewStatus.STARTED
        assert not Answer.objects.filter(interview=interview).exists()
    page.locator('[data-step="practice"]').get_by_role("button", name="Start the interview").click()

    # Question 1, recorded twice: the second take counts.
    expect(page.get_by_text("Question 1 of 3")).to_be_visible()
    expect(page.get_by_role("heading", name=QUESTIONS[0][0])).to_be_visible()
    _record(page)
    expect(page.locator('[data-role="upload-state"]')).to_have_text("Answer 1 is saved (take 1).")
    page.get_by_role("button", name="Record again (1 take left; the last one counts)").click()
    _record(page)
    expect(page.locator('[data-role="upload-state"]')).to_have_text("Answer 1 is saved (take 2).")
    expect(page.get_by_role("button", name=re.compile("Record again"))).to_be_hidden()
    page.get_by_role("button", name="Next question").click()

    # Question 2.
    expect(page.get_by_text("Question 2 of 3")).to_be_visible()
    _record(page)
    expect(page.locator('[data-role="upload-state"]')).to_have_text("Answer 2 is saved (take 1).")
    page.get_by_role("button", name="Next question").click()

    # Question 3: the page is reloaded while it records. The interrupted take does not count:
    # the page continues at question 3 and asks for it again.
    expect(page.get_by_text("Question 3 of 3")).to_be_visible()
    page.get_by_role("button", name="Start recording now").click()
    expect(page.locator('[data-role="upload-state"]')).to_contain_text("Saved as you speak")
    page.on("dialog", lambda dialog: dialog.accept())  # "Leave site?" while uploading
    page.reload()
    _camera_on(page, resume=True)
    expect(page.get_by_text("Question 3 of 3")).to_be_visible()
    expect(page.locator('[data-role="question-problem"]')).to_contain_text("was interrupted")
    _record(page)
    expect(page.locator('[data-role="upload-state"]')).to_have_text("Answer 3 is saved (take 2).")
    page.get_by_role("button", name="Review and send").click()

    # The finish page lists the three answers; sending completes the interview.
    summary = page.locator('[data-role="summary"] li')
    expect(summary).to_have_count(3)
    for index in range(3):
        expect(summary.nth(index)).to_contain_text("Saved")
    page.get_by_role("button", name="Send my answers").click()
    # Sending finishes the interview in the request (Celery runs in process here), which on a
    # busy machine takes longer than a click's default wait.
    expect(page.get_by_role("heading", name="Thank you, Jordan!")).to_be_visible(timeout=30_000)

    with tenant_scope(org):
        interview.refresh_from_db()
        assert interview.status == InterviewStatus.COMPLETED
        finals = list(Answer.objects.filter(interview=interview, is_final=True))
        assert [(a.question_index, a.attempt) for a in finals] == [(0, 2), (1, 1), (2, 2)]
        assert all(a.status == AnswerStatus.READY for a in finals), [a.error for a in finals]
        assert all(a.duration_seconds and a.duration_seconds >= 1.5 for a in finals)
        assert all(a.bytes_received > 10_000 for a in finals)
        takes = Answer.objects.filter(interview=interview)
        assert takes.count() == 5  # two of question 1, one of 2, the interrupted one and 3
        interrupted = takes.get(question_index=2, attempt=1)
        assert interrupted.status == AnswerStatus.FAILED and not interrupted.is_final
        candidate = Candidate.objects.get(provider="greenhouse", first_name=first, last_name=last)
        completed = TimelineEvent.objects.get(
            candidate=candidate, kind=journeys_kinds.VIDEO_INTERVIEW_COMPLETED
        )
        assert completed.data["answers"] == 3
    review_url = completed.data["review_url"]
    assert review_url == f"{base}/interviews/{interview.pk}/"

    # Rita reviews: each answer plays (the MP4 rendition through its signed link) and is rated.
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=login]", "rita@northwind.test")
    page.fill("input[name=password]", "correct-horse-9")
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_role("heading", name="Welcome, Rita")).to_be_visible()
    page.goto(review_url)
    videos = page.locator("video[data-review-video]")
    expect(videos).to_have_count(3)
    for index in range(3):
        video = videos.nth(index)
        video.scroll_into_view_if_needed()
        video.evaluate("v => { v.muted = true; return v.play(); }")
        page.wait_for_function("v => v.currentTime > 0.5", arg=video.element_handle())
        duration = video.evaluate("v => v.duration")
        assert duration == pytest.approx(finals[index].duration_seconds, abs=0.5)
        video.evaluate("v => v.pause()")
    for number, rating in ((1, "4 · Good"), (2, "5 · Excellent"), (3, "3 · Acceptable")):
        page.get_by_role("group", name=f"Rating of answer {number}").get_by_label(rating).check()
    page.get_by_label("Overall recommendation").select_option(label="Yes")
    page.get_by_role("button", name="Submit my review").click()
    expect(page.get_by_text("Your review is saved.")).to_be_visible()
    with tenant_scope(org):
        interview.refresh_from_db()
        assert interview.status == InterviewStatus.REVIEWED

    # Write-back (on since the start) puts the review link into the "Video Interview" field.
    writeback_tasks.read_activity()
    writeback_tasks.write_due()
    page.goto(f"{sandbox.url}/greenhouse/_sandbox/?q={urllib.parse.quote(email)}")
    page.get_by_role("link", name=f"{first} {last}").click()
    field = page.locator("#custom-fields tr[data-custom-field=video_interview]")
    expect(field).to_contain_text("Video Interview")
    expect(field.locator("a[data-field-link]")).to_have_attribute("href", review_url)
    assert csp_violations == []


def test_without_media_recorder_the_candidate_uploads_videos_from_the_camera_app(
    live_server, page, csp_violations, tmp_path, one_request_at_a_time
):
    """A browser without MediaRecorder (older Safari on a phone): each question offers the
    camera app through a file input, and the picked video goes through the same chunked upload
    and processing."""
    org, _owner, _membership = make_org_with_owner(
        name="Northwind Hiring", email="rita@northwind.test", first_name="Rita"
    )
    interview = make_interview(org)
    video = tmp_path / "from-the-camera.mp4"
    make_video(video, seconds=2.0, container="mp4")
    page.add_init_script("delete window.MediaRecorder;")
    page.goto(live_server.url + reverse("interviews_public:recorder", args=[interview.token]))

    expect(
        page.get_by_role("heading", name="Record your answers with your camera app")
    ).to_be_visible()
    page.get_by_role("button", name="Go to the first question").click()
    for number in (1, 2):
        expect(page.get_by_text(f"Question {number} of 2")).to_be_visible()
        file_input = page.get_by_label("Record or choose a video")
        assert file_input.get_attribute("accept") == "video/*"
        assert file_input.get_attribute("capture") == "user"
        file_input.set_input_files(str(video))
        page.get_by_role("button", name="Upload this video").click()
        expect(page.locator('[data-role="upload-state"]')).to_have_text(
            f"Answer {number} is saved (take 1)."
        )
        page.get_by_role(
            "button", name="Next question" if number == 1 else "Review and send"
        ).click()
    page.get_by_role("button", name="Send my answers").click()
    # Sending finishes the interview in the request (Celery runs in process here), which on a
    # busy machine takes longer than a click's default wait.
    expect(page.get_by_role("heading", name="Thank you, Jordan!")).to_be_visible(timeout=30_000)
    with tenant_scope(org):
        finals = list(Answer.objects.filter(interview=interview, is_final=True))
        assert [a.content_type for a in finals] == ["video/mp4", "video/mp4"]
        assert all(a.status == AnswerStatus.READY for a in finals), [a.error for a in finals]
        assert all(a.bytes_received == video.stat().st_size for a in finals)
    assert csp_violations == []


@pytest.mark.parametrize(
    ("error", "message"),
    [
        ("NotAllowedError", "You did not allow this page to use your camera and microphone."),
        ("NotFoundError", "We could not find a camera and a microphone on this device."),
    ],
)
def test_a_refused_or_missing_camera_is_explained(
    live_server, page, csp_violations, one_request_at_a_time, error, message
):
    org, _owner, _membership = make_org_with_owner(
        name="Northwind Hiring", email="rita@northwind.test", first_name="Rita"
    )
    interview = make_interview(org)
    page.add_init_script(
        "navigator.mediaDevices.getUserMedia = () => "
        f"Promise.reject(new DOMException('refused', '{error}'));"
    )
    page.goto(live_server.url + reverse("interviews_public:recorder", args=[interview.token]))
    page.get_by_role("button", name="Turn on camera and microphone").click()
    alert = page.locator('[data-role="device-error"]')
    expect(alert).to_be_visible()
    expect(alert).to_contain_text(message)
    expect(alert).to_contain_text("then press the button again")
    expect(page.get_by_role("button", name=re.compile("I can see myself"))).to_be_hidden()
    assert csp_violations == []


def test_a_practice_answer_that_recorded_nothing_says_so_and_can_be_tried_again(
    live_server, page, csp_violations, one_request_at_a_time
):
    """A camera that gives no frames before the candidate stops (a busy phone, a quick click):
    the practice says nothing was recorded and offers another try, instead of a player that
    cannot load an empty recording (the browser would log a failed load)."""
    org, _owner, _membership = make_org_with_owner(
        name="Northwind Hiring", email="rita@northwind.test", first_name="Rita"
    )
    interview = make_interview(org)
    # MediaRecorder hands over empty pieces only, as when it is stopped before the first frame.
    page.add_init_script(
        """
        (() => {
          const Real = window.MediaRecorder;
          class Empty extends Real {
            set ondataavailable(handler) {
              super.ondataavailable = () => handler({ data: new Blob([]) });
            }
          }
          window.MediaRecorder = Empty;
        })();
        """
    )
    page.goto(live_server.url + reverse("interviews_public:recorder", args=[interview.token]))
    _camera_on(page, resume=False)  # the interview's consent is given already
    page.get_by_role("button", name="Start the practice question").click()
    clock_line = page.locator('[data-role="practice-clock"]')
    expect(clock_line).to_contain_text("Recording · time left", timeout=15_000)
    page.get_by_role("button", name="Stop", exact=True).click()
    expect(clock_line).to_contain_text("Nothing was recorded. Check that your camera is on")
    assert page.locator('[data-role="practice-video"]').get_attribute("src") is None
    page.get_by_role("button", name="Practise again").click()
    expect(clock_line).to_contain_text("Recording starts in")
    assert csp_violations == []
