"""Demo history: sixty days of a recruiting team's life in the demo organization, so the
Analytics page, the dashboard, the candidate timeline and Simulate show something on the first
run. Stage changes first (``demo_stages``: each application's path to where it is now, in office
hours of the organization's zone); consistent with them, the runs of the demo journey
("Onsite invitation · Sales Rep") that Simulate replays from those changes (``demo_journey``):
its texts and e-mails with delivery outcomes, replies and a few opt-outs, scheduling requests,
bookings (some rescheduled or cancelled); the recruiters' own messages; the timeline entries of
all of it. Written with bulk inserts, never through the services (nothing is queued or sent),
then rolled up. Deterministic (a seeded random). Runs once per organization: a second call finds
its transitions and does nothing.

``demo_history_mirror`` gives a demo without the sandbox Greenhouse a small ATS mirror of its
own to write that history on; with the sandbox, the history is written on the synced mirror,
once the first sync has brought it and the example journey exists.
"""

from __future__ import annotations

import random
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from candidates.models import (
    Application,
    Candidate,
    Department,
    Job,
    Office,
    Stage,
    StageTransition,
)
from messaging.models import Conversation, Message, OptOutEntry
from scheduling.models import Booking, SchedulingRequest

from . import services
from .demo_journey import journey_runs
from .demo_rows import (
    FIRST,
    HISTORY_TAG,
    LAST,
    MIRROR_JOBS,
    STAGES,
    History,
    Rows,
    recruiter_message,
    timestamps_kept,
)
from .demo_stages import mirror_stage, stage_changes


def demo_history_mirror(*, organization, candidates: int = 120, seed: int = 8) -> int:
    """A small ATS mirror (two jobs with four stages, ``candidates`` candidates with an
    application each, spread over the stages, a few rejected or hired) for a demo that has no
    sandbox Greenhouse. Returns how many candidates it added (none when the organization
    already has jobs)."""
    if Job.objects.filter(organization=organization).exists():
        return 0
    rng = random.Random(seed)
    org = organization
    now = timezone.now()
    jobs = []
    for n, (name, office_name, department_name) in enumerate(MIRROR_JOBS, start=1):
        office = Office.objects.create(
            organization=org,
            provider="greenhouse",
            external_id=f"{HISTORY_TAG}-o{n}",
            name=office_name,
        )
        department = Department.objects.create(
            organization=org,
            provider="greenhouse",
            external_id=f"{HISTORY_TAG}-d{n}",
            name=department_name,
        )
        job = Job.objects.create(
            organization=org,
            provider="greenhouse",
            external_id=f"{HISTORY_TAG}-j{n}",
            name=name,
            status="open",
        )
        job.offices.add(office)
        job.departments.add(department)
        stages = Stage.objects.bulk_create(
            Stage(
                organization=org,
                provider="greenhouse",
                job=job,
                name=stage,
                position=i,
                external_id=f"{HISTORY_TAG}-s{n}-{i}",
            )
            for i, stage in enumerate(STAGES)
        )
        jobs.append((job, stages))
    people = Candidate.objects.bulk_create(
        Candidate(
            organization=org,
            provider="greenhouse",
            external_id=f"{HISTORY_TAG}-c{i}",
            first_name=FIRST[i % len(FIRST)],
            last_name=LAST[(i * 7 + 3) % len(LAST)],
            # Most near the New York office, some in the UK (quiet hours hold their evening
            # texts to the next morning).
            mobile_phone=f"+1212555{1000 + i:04d}" if i % 10 < 7 else f"+447700900{i:03d}",
            primary_email=f"candidate{i}@example.com",
            time_zone="America/New_York" if i % 10 < 7 else "Europe/London",
        )
        for i in range(candidates)
    )
    applications = []
    for i, person in enumerate(people):
        job, stages = jobs[0] if rng.random() < 0.7 else jobs[1]
        final, status = mirror_stage(rng, STAGES)
        applications.append(
            Application(
                organization=org,
                provider="greenhouse",
                external_id=f"{HISTORY_TAG}-a{i}",
                candidate=person,
                job=job,
                stage=stages[final],
                stage_name=stages[final].name,
                status=status,
                # Further along, applied longer ago.
                applied_at=now - timedelta(days=rng.uniform(2 + 9 * final, 45 + 15 * final)),
            )
        )
    Application.objects.bulk_create(applications)
    return len(people)


def demo_history_written(*, organization) -> bool:
    return StageTransition.objects.filter(
        organization=organization, provider_event_id__startswith=HISTORY_TAG
    ).exists()


def demo_history(*, organization, days: int = 60, now=None, seed: int = 16):
    """Write the history (once) and roll it up; returns its counts, or None when it exists or
    cannot be written yet (no example journey, or no synced applications)."""
    now = now or timezone.now()
    if demo_history_written(organization=organization):
        return None
    history = History(organization, now, random.Random(seed), days)
    if (
        history.journey is None
        or not Application.objects.filter(organization=organization).exists()
    ):
        return None
    with (
        transaction.atomic(),
        timestamps_kept(Message, Conversation, SchedulingRequest, Booking, OptOutEntry),
    ):
        write_history(history)
    services.rollup_organization(organization=organization, now=now)
    return history.counts


def write_history(h: History) -> None:
    applications = list(
        Application.objects.filter(organization=h.org, deleted_at__isnull=True, job__isnull=False)
        .select_related("candidate", "job")
        .order_by("id")[:400]
    )
    paths: dict[int, list[Stage]] = {}
    for stage in Stage.objects.filter(organization=h.org, job__isnull=False).order_by(
        "job_id", "position", "id"
    ):
        paths.setdefault(stage.job_id, []).append(stage)
    transitions = stage_changes(
        organization=h.org,
        applications=applications,
        paths=paths,
        now=h.now,
        days=h.days,
        rng=h.rng,
        zone=h.zone,
        tag=HISTORY_TAG,
    )
    StageTransition.objects.bulk_create(transitions, batch_size=500)
    h.counts.transitions = len(transitions)
    _mirror_dates(h, transitions)
    conversations = {c.candidate_id: c for c in Conversation.objects.filter(organization=h.org)}
    missing = {t.candidate_id for t in transitions} - conversations.keys()
    for conversation in Conversation.objects.bulk_create(
        Conversation(organization=h.org, candidate_id=pk, created_at=h.now - timedelta(days=h.days))
        for pk in missing
    ):
        conversations[conversation.candidate_id] = conversation
    rows = Rows()
    started = journey_runs(h, rows, transitions, conversations)
    if h.user is not None:
        for transition in transitions:
            if transition.pk not in started and h.rng.random() < 0.35:
                recruiter_message(h, rows, transition, conversations[transition.candidate_id])
    rows.save(h)
    Conversation.objects.bulk_update(
        [c for c in conversations.values() if c.last_message_at], ["last_message_at"]
    )


def _mirror_dates(h: History, transitions) -> None:
    """The demo's own mirror: when each application entered its stage and last moved (the
    synced mirror keeps what the ATS says)."""
    by_application: dict[int, list[StageTransition]] = {}
    for t in transitions:
        by_application.setdefault(t.application_id, []).append(t)
    changed = []
    for moves in by_application.values():
        application = moves[-1].application
        if not application.external_id.startswith(HISTORY_TAG):
            continue
        entered = [x for x in moves if x.from_stage_id != x.to_stage_id]
        application.stage_entered_at = entered[-1].observed_at if entered else None
        application.last_activity_at = moves[-1].observed_at
        changed.append(application)
    Application.objects.bulk_update(changed, ["stage_entered_at", "last_activity_at"])
