"""The kinds of candidate timeline events: one registry, owned by candidates (the owner of the
timeline), filled by the apps that write events.

Every app that writes :class:`candidates.models.TimelineEvent` rows declares its kinds in a
``timeline_kinds.py`` module at its root (``messaging/timeline_kinds.py`` …) with
:func:`register`, and writes and matches events through those constants, never through string
literals. candidates never imports the higher apps: their modules are found by Django's
autodiscovery the first time the registry is read (:func:`all_kinds`, :func:`get`), as the admin
finds ``admin.py`` modules. ``TimelineEvent.kind`` keeps the plain key string.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class TimelineKind:
    key: str  # stored in TimelineEvent.kind
    label: str  # what a recruiter reads next to the entry
    icon: str  # a symbol id of static/img/icons.svg
    written_by: tuple[str, ...]  # the apps whose code writes it (through the constant)


_KINDS: dict[str, TimelineKind] = {}
_discovered = False
_discover_lock = threading.Lock()


def register(key: str, *, label: str, icon: str, written_by: str | tuple[str, ...]) -> str:
    """Declare a timeline kind; returns ``key`` for the declaring module's constant. A kind is
    declared by the lowest app that needs its constant (the writer, or the reader below it).
    Declaring a key twice with different attributes is a programming error."""
    apps = (written_by,) if isinstance(written_by, str) else tuple(written_by)
    kind = TimelineKind(key=key, label=label, icon=icon, written_by=apps)
    existing = _KINDS.get(key)
    if existing is not None and existing != kind:
        raise ValueError(f"Timeline kind {key!r} is already registered as {existing!r}.")
    _KINDS[key] = kind
    return key


def _discover() -> None:
    global _discovered
    if _discovered:
        return
    with _discover_lock:
        if not _discovered:
            from django.utils.module_loading import autodiscover_modules

            autodiscover_modules("timeline_kinds")
            _discovered = True


def all_kinds() -> dict[str, TimelineKind]:
    """Every registered kind by key (after importing every app's ``timeline_kinds``)."""
    _discover()
    return dict(_KINDS)


# Shown for a row whose kind is not (or no longer) registered: the summary still says what happened.
UNKNOWN = TimelineKind(key="", label="Event", icon="check", written_by=())


def get(key: str) -> TimelineKind:
    """The registered kind for ``key``, or :data:`UNKNOWN`."""
    _discover()
    return _KINDS.get(key, UNKNOWN)


# ----------------------------------------------------------------------------------------------
# The kinds candidates itself writes
# ----------------------------------------------------------------------------------------------

# Not a TimelineEvent row: stage and status changes come from StageTransition, and the timeline
# shows them with this kind.
TRANSITION = register("transition", label="Stage change", icon="users", written_by="candidates")
TIME_ZONE_SET = register(
    "time_zone_set", label="Time zone set", icon="settings", written_by="candidates"
)
TIME_ZONE_CLEARED = register(
    "time_zone_cleared", label="Time zone cleared", icon="settings", written_by="candidates"
)
# An admin deleted the candidate's personal data (candidates.erasure); says who and the counts.
PERSONAL_DATA_ERASED = register(
    "personal_data_erased", label="Personal data deleted", icon="key", written_by="candidates"
)


# ----------------------------------------------------------------------------------------------
# Groups: the events that belong to one thing (a journey run) read as one entry that expands
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Group:
    key: str  # e.g. "run:12"; entries with the same key are shown together
    title: str  # what the collapsed entry says, e.g. "Journey “Onsite invitation”"
    icon: str = "route"


# A grouper is handed the organization and ``{event id: event data}`` and answers
# ``{event id: Group}`` for the events it recognises. Higher apps register theirs in their
# ``timeline_kinds`` module (journeys: a run's events and the messages its steps sent).
Grouper = Callable[[Any, dict[int, dict]], dict[int, Group]]
_GROUPERS: list[Grouper] = []


def register_grouper(grouper: Grouper) -> Grouper:
    if grouper not in _GROUPERS:
        _GROUPERS.append(grouper)
    return grouper


@dataclass
class GroupedEntry:
    """Several timeline entries under one (newest first): the collapsed line shows the newest."""

    group: Group
    entries: list = field(default_factory=list)

    @property
    def at(self):
        return self.entries[0].at

    @property
    def latest(self):
        return self.entries[0]

    @property
    def tone(self) -> str:
        return self.entries[0].tone

    @property
    def kind(self) -> str:
        return "group"


def group_entries(organization, entries: list, event_data: dict[int, dict]) -> list:
    """``entries`` (newest first) with the events a grouper claims gathered under one
    :class:`GroupedEntry`, placed where the group's newest event is. A group of one event stays
    a plain entry."""
    _discover()
    groups: dict[int, Group] = {}
    for grouper in _GROUPERS:
        for event_id, claimed in grouper(organization, event_data).items():
            groups.setdefault(event_id, claimed)
    by_key: dict[str, GroupedEntry] = {}
    out: list = []
    for entry in entries:
        group = groups.get(entry.event_id) if entry.event_id is not None else None
        if group is None:
            out.append(entry)
            continue
        grouped = by_key.get(group.key)
        if grouped is None:
            grouped = by_key[group.key] = GroupedEntry(group)
            out.append(grouped)
        grouped.entries.append(entry)
    return [
        item.entries[0] if isinstance(item, GroupedEntry) and len(item.entries) == 1 else item
        for item in out
    ]
