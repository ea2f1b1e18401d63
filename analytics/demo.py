"""Demo history: sixty days of a recruiting team's life in the demo organization, so the
Analytics page, the dashboard, the candidate timeline and Simulate show something on the first
run. Stage changes first; consistent with them, runs of the demo journey ("Onsite invitation ·
Sales Rep") for every move into "Onsite Interview", its texts and e-mails with delivery
outcomes, replies and a few opt-outs, scheduling requests, bookings (some rescheduled or
cancelled), and the recruiter's own messages. Written with bulk inserts (a second or two), then
rolled up. Runs once per organization: a second call finds its transitions and does nothing.

``demo_history_mirror`` gives a demo without the sandbox Greenhouse a small ATS mirror of its
own to write that history on; with the sandbox, the history is written on the synced mirror.
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
from .demo_rows import (
    FIRST,
    HISTORY_TAG,
    LAST,
    MIRROR_JOBS,
    STAGES,
    History,
    timestamps_kept,
    write_history,
)


def demo_history_mirror(*, organization, candidates: int = 120, seed: int = 8) -> int:
    """A small ATS mirror (two jobs with four stages, ``candidates`` candidates with an
    application each) for a demo that has no sandbox Greenhouse. Returns how many candidates
    it added (none when the organization already has jobs)."""
    if Job.objects.filter(organization=organization).exists():
        return 0
    rng = random.Random(seed)
    org = organization
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
        Stage.objects.bulk_create(
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
        jobs.append(job)
    people = Candidate.objects.bulk_create(
        Candidate(
            organization=org,
            provider="greenhouse",
            external_id=f"{HISTORY_TAG}-c{i}",
            first_name=FIRST[i % len(FIRST)],
            last_name=LAST[(i * 7 + 3) % len(LAST)],
            mobile_phone=f"+1212555{1000 + i:04d}",
            primary_email=f"candidate{i}@example.com",
            time_zone="America/New_York",
        )
        for i in range(candidates)
    )
    Application.objects.bulk_create(
        Application(
            organization=org,
            provider="greenhouse",
            external_id=f"{HISTORY_TAG}-a{i}",
            candidate=person,
            job=jobs[0] if rng.random() < 0.7 else jobs[1],
            stage_name=STAGES[0],
            applied_at=timezone.now() - timedelta(days=70),
        )
        for i, person in enumerate(people)
    )
    return len(people)


def demo_history(*, organization, days: int = 60, now=None, seed: int = 16):
    """Write the history (once) and roll it up; returns its counts, or None when it exists."""
    now = now or timezone.now()
    if StageTransition.objects.filter(
        organization=organization, provider_event_id__startswith=HISTORY_TAG
    ).exists():
        return None
    history = History(organization, now, random.Random(seed), days)
    with (
        transaction.atomic(),
        timestamps_kept(Message, Conversation, SchedulingRequest, Booking, OptOutEntry),
    ):
        write_history(history)
    services.rollup_organization(organization=organization, now=now)
    return history.counts
