"""The SMS transcript PDF: what a recruiter reading it in the ATS (or downloading it from the
Inbox) sees — brand, candidate, numbers, and every text with its time in the organization's
named zone, its delivery status and who sent it."""

import io

import pypdf
import pytest
from django.urls import reverse

from recruitflow.tenancy import tenant_scope
from tests.writeback.transcript_data import (
    CANDIDATE_MOBILE,
    DECEMBER_1_2PM_UTC,
    JOURNEY_NAME,
    OUR_NUMBER,
    brand,
    make_thread,
)
from writeback.transcripts import _NoFetching, transcript_render


def pdf_text(pdf: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    # Cells wrap where the page needs; compare words, not line breaks.
    return " ".join(" ".join(page.extract_text().split()) for page in reader.pages)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def thread(alice, bob):
    brand(alice.organization)
    return make_thread(alice.organization, member=bob.user, start=DECEMBER_1_2PM_UTC)


def render(org, thread):
    with tenant_scope(org):
        return transcript_render(organization=org, conversation=thread.conversation)


def test_transcript_lists_every_text_with_time_in_the_named_zone_status_and_sender(
    alice, bob, thread
):
    transcript = render(alice.organization, thread)
    assert transcript.pdf.startswith(b"%PDF-")
    assert transcript.message_count == 4
    assert transcript.last_message_id == thread.messages[-1].pk
    assert transcript.filename.startswith("sms-transcript-sam-okafor-")
    text = pdf_text(transcript.pdf)

    assert "SMS transcript with Sam Okafor" in text
    assert "All times are in America/New_York (Acme Talent's time zone)" in text
    assert CANDIDATE_MOBILE in text and OUR_NUMBER in text
    bob_name = bob.user.get_full_name() or bob.user.email
    expected = [
        # (time in New York, sender, body, status) — 14:00:05 UTC is 09:00:05 EST
        ("1 Dec 2026, 09:00:05 EST", JOURNEY_NAME, "Hi Sam, you are invited onsite.", "Delivered"),
        ("1 Dec 2026, 10:00:05 EST", "Sam Okafor", "Yes, Thursday works for me.", "Received"),
        ("1 Dec 2026, 11:00:05 EST", bob_name, "Great, see you then.", "Not delivered"),
        ("1 Dec 2026, 12:00:05 EST", "Scheduling", "Your interview is booked.", "Sent"),
    ]
    table = text[text.index("Time (America/New_York) From Message Status") :]
    positions = []
    for when, sender, body, status in expected:
        row_at = table.index(when)
        positions.append(row_at)
        row = table[row_at : row_at + 200]
        assert sender in row, (sender, row)
        assert body in row, (body, row)
        assert status in row, (status, row)
    assert positions == sorted(positions)
    assert "Journey" in text and "Candidate" in text and "Team member" in text
    assert "Automatic (scheduling)" in text
    assert "Error 30003: Unreachable destination handset." in text


def test_transcript_carries_the_organization_logo_and_name(alice, thread):
    transcript = render(alice.organization, thread)
    reader = pypdf.PdfReader(io.BytesIO(transcript.pdf))
    assert len(reader.pages[0].images) == 1
    assert reader.metadata.title == "SMS transcript · Sam Okafor · Acme Talent"
    assert reader.metadata.author == "Acme Talent"


def test_transcript_uses_the_organization_zone_when_it_changes(alice, thread):
    org = alice.organization
    org.time_zone = "Europe/Berlin"
    org.save()
    text = pdf_text(render(org, thread).pdf)
    assert "All times are in Europe/Berlin" in text
    assert "1 Dec 2026, 15:00:05 CET" in text


def test_transcript_says_so_when_no_texts_were_exchanged(alice, thread):
    with tenant_scope(alice.organization):
        thread.conversation.messages.all().delete()
    transcript = render(alice.organization, thread)
    assert transcript.message_count == 0 and transcript.last_message_id is None
    assert "No texts have been exchanged with Sam Okafor yet." in pdf_text(transcript.pdf)


def test_transcript_fetches_nothing_from_outside(alice, thread):
    """Candidate text that looks like markup stays text; no address is ever fetched."""
    with tenant_scope(alice.organization):
        message = thread.messages[1]
        message.body = '<img src="http://169.254.169.254/latest/meta-data/"> hello'
        message.save(update_fields=["body"])
    pdf = render(alice.organization, thread).pdf
    text = pdf_text(pdf).replace(" ", "")
    assert '<imgsrc="http://169.254.169.254/latest/meta-data/">hello' in text
    assert len(pypdf.PdfReader(io.BytesIO(pdf)).pages[0].images) == 1  # the logo only


def test_transcript_refuses_any_address_but_embedded_data():
    fetcher = _NoFetching()
    with pytest.raises(ValueError, match="disallowed protocol"):
        fetcher.fetch("http://169.254.169.254/latest/meta-data/")
    with pytest.raises(ValueError, match="disallowed protocol"):
        fetcher.fetch("file:///etc/passwd")


def test_inbox_thread_offers_the_transcript_and_members_download_it(alice, bob, client_for, thread):
    client = client_for(bob)
    page = client.get(reverse("messaging:thread", args=[thread.conversation.pk]))
    url = reverse("writeback:transcript-download", args=[thread.conversation.pk])
    assert "Download transcript (PDF)" in page.content.decode()
    assert url in page.content.decode()

    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert 'attachment; filename="sms-transcript-sam-okafor-' in response["Content-Disposition"]
    assert "Great, see you then." in pdf_text(response.content)


def test_transcript_download_is_a_404_for_another_organization(mallory, client_for, thread):
    url = reverse("writeback:transcript-download", args=[thread.conversation.pk])
    response = client_for(mallory).get(url)
    assert response.status_code == 404
    assert not response.content.startswith(b"%PDF")


def test_transcript_download_asks_an_anonymous_visitor_to_sign_in(client, thread):
    url = reverse("writeback:transcript-download", args=[thread.conversation.pk])
    response = client.get(url)
    assert response.status_code == 302 and "/accounts/login/" in response.url
