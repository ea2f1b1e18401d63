"""Conferencing in the fake Cronofy, as docs.cronofy.com/developers/api/conferencing-services
describes it.

* An upsert may carry ``conferencing``: ``{"profile_id": "default"}`` (the account's default
  conferencing profile; here every person has one, "Sandbox Meet"), ``{"profile_id":
  "pro_…"}`` (one of the person's conferencing profiles) or ``{"profile_id": "explicit",
  "provider_description", "join_url"}`` (show an existing meeting). Without the key the
  event's conference is left as it is (a moved event keeps its conference).
* The upsert is still 202 with no body. A conference is created asynchronously: reads of the
  event show ``"conferencing": {"pending": true}`` until it exists (after ``conferencing_delay``
  seconds, default 0), then ``{"provider_description": "Sandbox Meet", "join_url":
  "https://meet.sandbox.example/<id>"}``.
* Conferencing is not generated for a past event: the event is written without it (the docs:
  "Conferencing services cannot be added to past events").
* A disconnected conferencing profile (control API) leaves new conferences pending — Cronofy
  keeps retrying — sends ``conferencing_profile_disconnected`` to the person's channels and
  shows ``profile_connected: false`` with a ``profile_relink_url`` in userinfo's
  ``conferencing_profiles``; reconnecting creates the waiting conferences on the next read.
* Invalid ``conferencing`` → 422 ``{"errors": {"conferencing.profile_id": [...]}}`` or
  ``conferencing.join_url``.
"""

from __future__ import annotations

import time

from integrations.sandbox.cronofy.contract import stable_id

PROVIDER = "Sandbox Meet"
JOIN_BASE = "https://meet.sandbox.example/"


class ConferencingMixin:
    """Conferencing profiles and event conferences (part of :class:`CronofyState`)."""

    # profiles ----------------------------------------------------------------------------
    def conferencing_profile(self, user: dict) -> dict:
        profile = user.get("conferencing_profile")
        if profile is None:
            profile = {
                "provider_name": "sandbox_meet",
                "profile_id": stable_id("pro_conf_", user["email"]),
                "profile_name": user["email"],
                "profile_connected": True,
            }
            user["conferencing_profile"] = profile
        return profile

    def conferencing_profiles_json(self, user: dict, base: str) -> list[dict]:
        profile = dict(self.conferencing_profile(user))
        if not profile["profile_connected"]:
            profile["profile_relink_url"] = (
                f"{base}/_sandbox/users/{user['email']}/conferencing/reconnect"
            )
        return [profile]

    def set_conferencing_connected(self, email: str, connected: bool) -> dict:
        """The person's conferencing profile loses (or regains) its credentials. A loss is
        pushed to their channels as ``conferencing_profile_disconnected``."""
        user = self.user(email)
        with self.lock:
            profile = self.conferencing_profile(user)
            was = profile["profile_connected"]
            profile["profile_connected"] = bool(connected)
            channels = [c for c in self.channels.values() if c["sub"] == user["sub"]]
        if was and not connected:
            for channel in channels:
                self._deliver(
                    channel, {"notification": {"type": "conferencing_profile_disconnected"}}
                )
        return dict(profile)

    # upserts -----------------------------------------------------------------------------
    def conferencing_problems(self, user: dict, value, problem) -> None:
        """Report what is wrong with an upsert's ``conferencing`` through ``problem``."""
        if not isinstance(value, dict):
            problem(
                "conferencing", "errors.invalid", "conferencing must be an object with profile_id"
            )
            return
        profile_id = value.get("profile_id")
        if not isinstance(profile_id, str) or not profile_id:
            problem(
                "conferencing.profile_id", "errors.required", "conferencing.profile_id is required"
            )
            return
        if profile_id == "explicit":
            url = value.get("join_url")
            if not isinstance(url, str) or not url.startswith(("https://", "http://")):
                problem(
                    "conferencing.join_url",
                    "errors.required",
                    "conferencing.join_url must be a URL when profile_id is explicit",
                )
            if not isinstance(value.get("provider_description"), str):
                problem(
                    "conferencing.provider_description",
                    "errors.required",
                    "conferencing.provider_description is required when profile_id is explicit",
                )
            return
        if profile_id not in ("default", self.conferencing_profile(user)["profile_id"]):
            problem(
                "conferencing.profile_id",
                "errors.unknown_profile",
                f"{profile_id} is not a conferencing profile of this account",
            )

    def apply_conferencing(self, event: dict, value, previous: dict | None) -> None:
        """Set the stored event's conference from an accepted upsert (under the lock)."""
        if previous is not None:
            event["conferencing"] = previous.get("conferencing")
            event["conference_due"] = previous.get("conference_due")
        else:
            event.setdefault("conferencing", None)
            event.setdefault("conference_due", None)
        if value is None:
            return
        if value["profile_id"] == "explicit":
            event["conferencing"] = {
                "provider_description": value.get("provider_description") or "",
                "join_url": value["join_url"],
            }
            event["conference_due"] = None
            return
        current = event.get("conferencing") or {}
        if current.get("pending") or current.get("provider_description") == PROVIDER:
            return  # asked again: the conference it has (or awaits) stays, moving with the event
        if event["start_ts"] <= time.time():
            return  # no conferencing for past events
        event["conferencing"] = {"pending": True}
        event["conference_due"] = time.time() + float(self.config["conferencing_delay"])

    def settle_conference(self, event: dict) -> None:
        """Create a pending conference once it is due and the profile works (under the lock)."""
        conferencing = event.get("conferencing")
        if not conferencing or not conferencing.get("pending"):
            return
        user = self.user_by_sub(event["sub"])
        if user is None or not self.conferencing_profile(user)["profile_connected"]:
            return
        if event.get("conference_due") and event["conference_due"] > time.time():
            return
        event["conferencing"] = {
            "provider_description": PROVIDER,
            "join_url": JOIN_BASE + stable_id("", event["event_uid"])[:12],
        }
        event["conference_due"] = None
