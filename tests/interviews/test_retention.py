"""Recordings are deleted after the organization's retention period: the files leave storage
(original, rendition, poster and leftover chunks), a tombstone stays on the candidate's
timeline once, and running the sweep again changes nothing. Before the period nothing goes."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.utils import timezone

from candidates.models import TimelineEvent
from interviews import retention, retention_tasks
from interviews.models import Answer, InterviewPolicy, InterviewStatus, VideoInterview
from interviews.storage import recordings_storage
from interviews.timeline_kinds import VIDEO_RECORDINGS_DELETED
from recruitflow.tenancy import tenant_scope
from tests.interviews.recordings import recorded_answer
from tests.journeys.conftest import build_ats


@pytest.fixture(autouse=True)
def recordings_folder(settings, tmp_path):
    """Recordings in a folder of this test (the default storage backend: the filesystem)."""
    settings.STORAGES = {
        **settings.STORAGES,
        "recordings": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "recordings"), "base_url": None},
        },
    }
    return tmp_path / "recordings"


@pytest.fixture
def ats(alice):
    return build_ats(alice.organization)


def _files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def _completed_days_ago(answer: Answer, days: int) -> VideoInterview:
    interview = answer.interview
    with tenant_scope(interview.organization):
        VideoInterview.objects.filter(pk=interview.pk).update(
            completed_at=timezone.now() - timedelta(days=days)
        )
        interview.refresh_from_db()
    return interview


def _with_a_leftover_chunk(answer: Answer) -> str:
    """A chunk object of an interrupted upload, under the take's folder (as on an object store)."""
    folder = answer.original.name.rsplit("/", 1)[0]
    return recordings_storage().save(f"{folder}/chunks/000000000000000", ContentFile(b"chunk"))


def _tombstones(organization):
    with tenant_scope(organization):
        return list(TimelineEvent.objects.filter(kind=VIDEO_RECORDINGS_DELETED))


@pytest.mark.django_db
def test_recordings_past_the_default_180_days_leave_storage_with_one_tombstone(
    alice, ats, recordings_folder
):
    answer = recorded_answer(ats)
    _with_a_leftover_chunk(answer)
    interview = _completed_days_ago(answer, 181)
    assert len(_files(recordings_folder)) == 4  # original, rendition, poster, a chunk

    with tenant_scope(alice.organization):
        done = retention.recordings_expire(organization=alice.organization)

    assert done == 1
    assert _files(recordings_folder) == []
    # The interview's emptied folders go too.
    assert not (recordings_folder / f"interviews/{alice.organization.pk}/{interview.pk}").exists()
    with tenant_scope(alice.organization):
        interview.refresh_from_db()
        answer.refresh_from_db()
    assert interview.recordings_deleted_at is not None
    assert (answer.original.name, answer.rendition.name, answer.poster.name) == ("", "", "")
    assert answer.duration_seconds == 12.5  # what the review page shows of it stays
    (tombstone,) = _tombstones(alice.organization)
    assert tombstone.candidate_id == interview.candidate_id
    assert tombstone.summary == (
        "Recordings of the video interview 'Screening questions' were deleted after 180 days "
        "(the organization's retention)"
    )
    assert tombstone.data == {"interview_id": interview.pk, "files": 4, "retention_days": 180}


@pytest.mark.django_db
def test_recordings_still_inside_the_period_are_kept(alice, ats, recordings_folder):
    answer = recorded_answer(ats)
    _completed_days_ago(answer, 179)

    with tenant_scope(alice.organization):
        done = retention.recordings_expire(organization=alice.organization)

    assert done == 0
    assert len(_files(recordings_folder)) == 3
    assert _tombstones(alice.organization) == []


@pytest.mark.django_db
def test_running_the_sweep_again_deletes_nothing_more_and_writes_no_second_tombstone(
    alice, ats, recordings_folder, monkeypatch
):
    # The beat task queues one task per organization; a worker runs it (here: right away).
    task = retention_tasks.retention_apply
    monkeypatch.setattr(task, "delay", lambda organization_id: task(organization_id))
    answer = recorded_answer(ats)
    _completed_days_ago(answer, 200)

    assert retention_tasks.retention_sweep() == 1
    first = _tombstones(alice.organization)
    assert retention_tasks.retention_sweep() == 0  # nothing left that may be due
    with tenant_scope(alice.organization):
        assert retention.recordings_expire(organization=alice.organization) == 0

    assert _files(recordings_folder) == []
    assert len(first) == 1
    assert _tombstones(alice.organization) == first


@pytest.mark.django_db
def test_the_organizations_own_retention_applies_and_other_organizations_keep_theirs(
    alice, mallory, ats, recordings_folder
):
    with tenant_scope(alice.organization):
        retention.policy_save(organization=alice.organization, retention_days=30)
    ours = recorded_answer(ats, first_name="Rita")
    _completed_days_ago(ours, 31)
    theirs = recorded_answer(build_ats(mallory.organization), first_name="Tess")
    _completed_days_ago(theirs, 31)  # Mallory keeps the default 180 days

    for organization in (alice.organization, mallory.organization):
        with tenant_scope(organization):
            retention.recordings_expire(organization=organization)

    left = _files(recordings_folder)
    assert len(left) == 3
    assert all(name.startswith(f"interviews/{mallory.organization.pk}/") for name in left)
    (tombstone,) = _tombstones(alice.organization)
    assert "after 30 days" in tombstone.summary
    assert _tombstones(mallory.organization) == []


@pytest.mark.django_db
def test_an_expired_interview_counts_from_the_end_of_its_link(alice, ats, recordings_folder):
    answer = recorded_answer(ats)
    interview = answer.interview
    with tenant_scope(alice.organization):
        VideoInterview.objects.filter(pk=interview.pk).update(
            status=InterviewStatus.EXPIRED,
            completed_at=None,
            expires_at=timezone.now() - timedelta(days=181),
        )
        assert retention.recordings_expire(organization=alice.organization) == 1

    assert _files(recordings_folder) == []
    assert len(_tombstones(alice.organization)) == 1


@pytest.mark.django_db
def test_an_interview_still_open_keeps_its_recordings_whatever_its_age(
    alice, ats, recordings_folder
):
    answer = recorded_answer(ats)
    with tenant_scope(alice.organization):
        VideoInterview.objects.filter(pk=answer.interview_id).update(
            status=InterviewStatus.STARTED,
            completed_at=None,
            expires_at=timezone.now() - timedelta(days=400),
        )
        assert retention.recordings_expire(organization=alice.organization) == 0
    assert len(_files(recordings_folder)) == 3


@pytest.mark.django_db
def test_a_retention_outside_the_allowed_range_is_refused(alice):
    with tenant_scope(alice.organization), pytest.raises(ValidationError):
        retention.policy_save(organization=alice.organization, retention_days=0)
    with tenant_scope(alice.organization):
        assert not InterviewPolicy.objects.exists()
        assert retention.retention_days_for(alice.organization) == 180
