"""Reads of the write-back domain, always given the organization."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet

from recruitflow.tenancy import scopes_disabled
from writeback.models import ActivityWrite, WritebackPause, WritebackRules, WriteStatus

# The rules an organization follows when neither it nor an organization above it saved any.
DEFAULT_RULES = WritebackRules(enabled=False)


@dataclass(frozen=True)
class EffectiveRules:
    """The rules an organization follows and the organization they belong to (itself, or the
    nearest one up its tree that saved rules; None for the defaults)."""

    rules: WritebackRules
    owner_id: int | None

    def inherited_for(self, organization) -> bool:
        return self.owner_id is not None and self.owner_id != organization.pk


def rules_for(organization) -> EffectiveRules:
    """The organization's own rules, else the nearest ancestor's, else the defaults (off)."""
    with scopes_disabled():  # ancestors' rows: a deliberate walk up this organization's tree
        for node in organization.ancestors():
            row = WritebackRules.objects.filter(organization_id=node.pk).first()
            if row is not None:
                return EffectiveRules(rules=row, owner_id=node.pk)
    return EffectiveRules(rules=DEFAULT_RULES, owner_id=None)


def own_rules(organization) -> WritebackRules | None:
    return WritebackRules.objects.filter(organization=organization).first()


def is_paused(*, organization, candidate_id: int) -> bool:
    return WritebackPause.objects.filter(
        organization=organization, candidate_id=candidate_id
    ).exists()


def pause_of(*, organization, candidate_id: int) -> WritebackPause | None:
    """The candidate's pause (who made it, where, when), or None while they are recorded."""
    return (
        WritebackPause.objects.filter(organization=organization, candidate_id=candidate_id)
        .select_related("paused_by")
        .first()
    )


def paused_candidate_ids(*, organization, candidate_ids) -> set[int]:
    return set(
        WritebackPause.objects.filter(
            organization=organization, candidate_id__in=list(candidate_ids)
        ).values_list("candidate_id", flat=True)
    )


def writes_needing_attention(*, organization) -> QuerySet[ActivityWrite]:
    """Pending, in-flight and failed writes, newest first (Settings → ATS activity)."""
    return (
        ActivityWrite.objects.filter(
            organization=organization,
            status__in=[WriteStatus.PENDING, WriteStatus.WRITING, WriteStatus.FAILED],
        )
        .select_related("candidate")
        .defer("data")
        .order_by("-occurred_at", "-id")
    )


def recent_writes(*, organization, limit: int = 20) -> list[ActivityWrite]:
    return list(
        ActivityWrite.objects.filter(organization=organization, status=WriteStatus.WRITTEN)
        .select_related("candidate")
        .defer("data")
        .order_by("-written_at", "-id")[:limit]
    )


@dataclass(frozen=True)
class EventWriteState:
    """What the timeline shows next to an event: ``text`` ("Written to the ATS 5 Dec, 14:03",
    "Not written (paused)"…), ``tone`` (ok, muted, warn, bad) and the write's status."""

    status: str
    text: str
    tone: str
    when: datetime | None = None


_TONES: dict[str, str] = {
    WriteStatus.WRITTEN: "ok",
    WriteStatus.PENDING: "muted",
    WriteStatus.WRITING: "muted",
    WriteStatus.PAUSED: "muted",
    WriteStatus.RULE_OFF: "muted",
    WriteStatus.FAILED: "bad",
}


# How much a write's state needs a look, for an event with several writes.
_CONCERN: dict[str, int] = {
    WriteStatus.WRITTEN: 0,
    WriteStatus.RULE_OFF: 1,
    WriteStatus.PAUSED: 2,
    WriteStatus.PENDING: 3,
    WriteStatus.WRITING: 3,
    WriteStatus.FAILED: 4,
}


def event_write_states(*, organization, candidate_id: int) -> dict[int, EventWriteState]:
    """Per timeline event id of the candidate, how its ATS write went. A batch of texts
    records several events in one write; each of them shows that write's state."""
    states: dict[int, EventWriteState] = {}
    rows = (
        ActivityWrite.objects.filter(organization=organization, candidate_id=candidate_id)
        .exclude(kind="attachment")
        .only("status", "events", "reason", "written_at", "next_attempt_at", "provider")
        .order_by("id")
    )
    for row in rows:
        state = write_state(row)
        for event_id in row.events or []:
            # One event may make several writes (a video interview: a note and a field): the
            # one that most needs a look is shown.
            earlier = states.get(int(event_id))
            if earlier is None or _CONCERN[state.status] >= _CONCERN[earlier.status]:
                states[int(event_id)] = state
    return states


def write_state(row: ActivityWrite) -> EventWriteState:
    status = row.status
    if status == WriteStatus.WRITTEN:
        text = "Written to the ATS"
    elif status == WriteStatus.FAILED:
        text = f"Not written: {row.reason}" if row.reason else "Not written (failed)"
    elif status == WriteStatus.PAUSED:
        text = "Not written (paused)"
    elif status == WriteStatus.RULE_OFF:
        text = f"Not written ({row.reason or 'rule off'})"
    else:
        text = "Waiting to be written to the ATS"
        if row.reason:
            text += f" ({row.reason})"
    return EventWriteState(
        status=status, text=text, tone=_TONES.get(status, "muted"), when=row.written_at
    )
