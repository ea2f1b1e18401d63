"""A member's channels per kind: their saved choices over the defaults."""

from __future__ import annotations

from dataclasses import dataclass

from notifications.models import DEFAULT_CHANNELS, Kind, Preference


@dataclass(frozen=True)
class Channels:
    in_app: bool
    email: bool
    digest: bool

    @property
    def any(self) -> bool:
        return self.in_app or self.email or self.digest


def default_channels(kind: str) -> Channels:
    return Channels(*DEFAULT_CHANNELS[kind])


def channels_for(*, organization, user_ids) -> dict[tuple[int, str], Channels]:
    """Every (member, kind) → their channels, for these members."""
    saved = {
        (p.user_id, p.kind): Channels(p.in_app, p.email, p.digest)
        for p in Preference.objects.filter(organization=organization, user_id__in=list(user_ids))
    }
    return {
        (user_id, kind): saved.get((user_id, kind), default_channels(kind))
        for user_id in user_ids
        for kind in Kind.values
    }
