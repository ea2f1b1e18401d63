"""Push notification channels (Cronofy's webhooks): verification and change notifications
signed with every active client secret, retried on non-2xx answers."""

from __future__ import annotations

import json
import secrets
import time

from integrations.sandbox.cronofy.contract import (
    CHANNEL_LIMIT,
    CronofyError,
    field_error,
    iso,
    sign,
)


class ChannelsMixin:
    """Channels and signed deliveries (part of :class:`CronofyState`)."""

    # channels ------------------------------------------------------------------------------
    def create_channel(self, token: dict, body) -> dict:
        user = self.user_by_sub(token["sub"])
        body = body if isinstance(body, dict) else {}
        callback_url = body.get("callback_url")
        if not isinstance(callback_url, str) or not callback_url:
            raise field_error(
                422, "callback_url", "errors.required", "callback_url must be specified"
            )
        if not callback_url.startswith(("http://", "https://")):
            raise field_error(
                422, "callback_url", "errors.invalid", "callback_url must be an HTTP or HTTPS URL"
            )
        filters = body.get("filters") or {}
        calendar_ids = list(filters.get("calendar_ids") or [])
        for calendar_id in calendar_ids:
            if self.calendar(user, calendar_id) is None:
                raise field_error(
                    422,
                    "filters.calendar_ids",
                    "errors.unknown_calendar",
                    f"{calendar_id} is not a calendar of this account",
                )
        with self.lock:
            mine = [c for c in self.channels.values() if c["sub"] == user["sub"]]
            if len(mine) >= CHANNEL_LIMIT:
                raise field_error(
                    422,
                    "callback_url",
                    "errors.too_many_channels",
                    f"An account may have at most {CHANNEL_LIMIT} channels",
                )
            channel_id = "chn_" + secrets.token_hex(12)
            channel = {
                "channel_id": channel_id,
                "callback_url": callback_url,
                "filters": {
                    "calendar_ids": calendar_ids,
                    "only_managed": bool(filters.get("only_managed")),
                }
                if filters
                else {},
                "sub": user["sub"],
                "client_id": token["client_id"],
                "data_center": token["data_center"],
                "last_notified": time.time(),
            }
            self.channels[channel_id] = channel
        self._deliver(channel, {"notification": {"type": "verification"}})
        return {"channel": self._channel_json(channel)}

    @staticmethod
    def _channel_json(channel: dict) -> dict:
        out = {"channel_id": channel["channel_id"], "callback_url": channel["callback_url"]}
        if channel["filters"]:
            out["filters"] = channel["filters"]
        return out

    def list_channels(self, token: dict) -> dict:
        with self.lock:
            return {
                "channels": [
                    self._channel_json(c)
                    for c in self.channels.values()
                    if c["sub"] == token["sub"] and c["client_id"] == token["client_id"]
                ]
            }

    def close_channel(self, token: dict, channel_id: str) -> None:
        with self.lock:
            channel = self.channels.get(channel_id)
            if channel is None or channel["sub"] != token["sub"]:
                raise CronofyError(404, None)
            del self.channels[channel_id]

    def _notify(self, user: dict, event: dict) -> None:
        for channel in list(self.channels.values()):
            if channel["sub"] != user["sub"]:
                continue
            filters = channel["filters"]
            if filters.get("calendar_ids") and event["calendar_id"] not in filters["calendar_ids"]:
                continue
            if filters.get("only_managed") and event["client_id"] != channel["client_id"]:
                continue
            since = channel["last_notified"]
            channel["last_notified"] = event["updated"]
            self._deliver(
                channel, {"notification": {"type": "change", "changes_since": iso(since)}}
            )

    def _deliver(self, channel: dict, payload: dict) -> None:
        body = json.dumps({**payload, "channel": self._channel_json(channel)}).encode()
        self._post_signed(
            channel["client_id"],
            channel["callback_url"],
            body,
            {"channel_id": channel["channel_id"], "type": payload["notification"]["type"]},
        )

    def _post_signed(self, client_id: str, url: str, body: bytes, entry: dict) -> None:
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Cronofy-HMAC-SHA256": sign(body, self.clients[client_id]["secrets"]),
        }
        self.dispatcher.submit(dict(entry), url, body, headers)

    def wait_idle(self, timeout: float = 5.0) -> bool:
        return self.dispatcher.wait_idle(timeout)
