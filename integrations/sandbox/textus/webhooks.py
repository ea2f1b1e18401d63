"""TextUs webhooks: the signature, the saved hook and its signed deliveries."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time

from integrations.sandbox.phone import iso_z
from integrations.sandbox.textus.contract import ALL_ACTIONS, random_id


def textus_signature(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


class WebhooksMixin:
    """Configuring the hook and delivering events (part of :class:`TextUsState`)."""

    def configure_webhook(
        self,
        url: str | None,
        secret: str | None = None,
        account: str = "acme-talent",
        events: list[str] | None = None,
    ) -> dict:
        """Point ``account``'s webhook integration at ``url``, signed with ``secret``
        (generated when omitted); ``events`` defaults to every action."""
        with self.lock:
            acct = self.accounts[account]
            acct["webhook_url"] = url
            acct["secret"] = secret or secrets.token_hex(16)
            acct["events"] = set(events) if events else set(ALL_ACTIONS)
            return self._acct_json(acct)

    def _deliver(self, account: str, action: str, phone: str, **extra) -> None:
        acct = self.accounts[account]
        if not acct["webhook_url"] or action not in acct["events"]:
            return
        conv = self._conversation(account, phone)
        hook = f"/integrations/{acct['integration']}"
        payload = {
            "@context": "/contexts/WebhookDelivery",
            "@type": "WebhookDelivery",
            "id": f"{hook}/deliveries/{random_id(10)}",
            "timestamp": iso_z(time.time()),
            "action": action,
            "webHook": hook,
            "account": f"/accounts/{account}",
            "conversation": conv,
            "contact": conv["assignedContact"],
        }
        for k, v in extra.items():
            payload[k] = self.public(v) if k == "message" else v
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        headers = {
            "Content-Type": "application/json",
            "X-TextUs-Signature": textus_signature(acct["secret"], body),
        }
        self.dispatcher.submit({"action": action, "account": account}, acct["webhook_url"],
                               body, headers)  # fmt: skip
