"""Lever webhooks: the signature over token and triggeredAt, the saved hook, deliveries and
redeliveries."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
import uuid


def lever_signature(signature_token: str, token: str, triggered_at: int) -> str:
    msg = f"{token}{triggered_at}".encode()
    return hmac.new(signature_token.encode(), msg, hashlib.sha256).hexdigest()


class WebhooksMixin:
    """Configuring the hook and emitting deliveries (part of :class:`LeverState`)."""

    def configure_webhook(
        self,
        url: str | None,
        signature_token: str | None,
        enabled: bool = True,
        events: list[str] | None = None,
    ) -> dict:
        self.webhook = {
            "url": url,
            "signature_token": signature_token,
            "enabled": bool(enabled and url),
            "events": events,
        }
        return dict(self.webhook)

    def _emit(self, event: str, opp: dict, from_stage=None, to_stage=None, extra=None) -> None:
        hook = self.webhook
        if self._replaying or not hook.get("enabled"):
            return
        if hook.get("events") is not None and event not in hook["events"]:
            return
        triggered = int(time.time() * 1000)
        token = secrets.token_hex(24)
        data = {
            "opportunityId": opp["id"],
            "candidateId": opp["id"],
            "contactId": opp["contact"],
            "fromStageId": from_stage,
            "toStageId": to_stage,
        }
        data.update(extra or {})
        payload = {
            "id": str(uuid.uuid4()),
            "event": event,
            "triggeredAt": triggered,
            "token": token,
            "signature": lever_signature(hook["signature_token"], token, triggered)
            if hook.get("signature_token")
            else None,
            "data": data,
        }
        body = json.dumps(payload, separators=(",", ":")).encode()
        entry = {"event": event, "token": token, "triggeredAt": triggered, "id": payload["id"]}
        self.dispatcher.submit(entry, hook["url"], body, {})

    def redeliver(self, index: int) -> dict:
        """Send a past delivery again with the identical body (same ``token``): replay tests."""
        old = self.deliveries[index]
        entry = {k: old[k] for k in ("event", "token", "triggeredAt", "id") if k in old}
        entry["redelivery_of"] = index
        return self.dispatcher.submit(entry, old["url"], old["body"].encode(), {})
