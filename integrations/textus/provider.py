"""TextUs Next adapter: :class:`SMSProvider` on :class:`TextUsClient`.

TextUs has no per-message callback URL and no metadata field: delivery webhooks are
configured per account (Settings → Integrations) and refer to the message by its id path
(``/messages/QNDkpL``), which is what :meth:`send` returns — store it on the outbox row.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from integrations.http import (
    NOT_PROCESSED_STATUSES,
    NotFound,
    RateLimited,
    TransientError,
    Unreachable,
    ValidationFailed,
    response_body,
)
from integrations.messaging import (
    E164,
    DeliveryUpdate,
    InvalidNumber,
    MessagingTransientError,
    OptedOut,
    SendResult,
    SMSProvider,
    WebhookEvent,
    WebhookRequest,
    config_value,
    header_value,
)
from integrations.registry import register
from integrations.textus.client import DEFAULT_BASE_URL, TextUsClient, phone_path
from integrations.textus.webhooks import (
    SIGNATURE_HEADER,
    normalize_delivery_state,
    parse_delivery,
    verify_delivery,
)


@register("textus")
class TextUsSMSProvider(SMSProvider):
    """TextUs Next. ``config``: a dict or object with ``token`` (a TextUs API token of a
    dedicated service user), ``account_slug`` (the account texts go out from), ``base_url``
    (default ``https://next.textus.com``) and ``webhook_secret`` (the integration's signing
    secret). Extra keyword arguments go to :class:`~integrations.http.HttpClient`."""

    identifier = "textus"
    display_name = "TextUs"

    def __init__(self, config: Any, **http_kwargs: Any) -> None:
        self.account_slug = (config_value(config, "account_slug") or "").strip().strip("/")
        if not self.account_slug:
            raise ValidationFailed(
                "Enter the TextUs account texts are sent from (its slug, as in the TextUs "
                "address bar).",
                code="missing_account",
            )
        self.webhook_secret = config_value(config, "webhook_secret")
        self.client = TextUsClient(
            config_value(config, "token") or "",
            account_slug=self.account_slug,
            base_url=config_value(config, "base_url") or DEFAULT_BASE_URL,
            **http_kwargs,
        )

    def _account(self, sender: str | None = None) -> str:
        return (sender or self.account_slug).strip().strip("/")

    # -- sending ---------------------------------------------------------------------------

    def send(
        self,
        to_e164: str,
        body: str,
        *,
        our_message_id: str | None = None,
        status_callback: str | None = None,
        sender: str | None = None,
    ) -> SendResult:
        """``POST /{account}/messages``. ``sender`` is another account slug to send from;
        ``status_callback`` and ``our_message_id`` have no TextUs equivalent (map delivery
        webhooks back by the returned id)."""
        to = (to_e164 or "").strip()
        if not E164.match(to):
            raise InvalidNumber(
                f"{to or 'The number'} is not a full international number (E.164, like "
                "+13035550123). Check the candidate's phone number.",
                phone=to,
                code="invalid_number",
            )
        if not (body or "").strip():
            raise ValidationFailed("The text is empty.", code="empty_body")
        try:
            response = self.client.post(
                f"/{self._account(sender)}/messages",
                {"to": to, "body": body},
                expect=(200, 201, 202),
            )
        except OptedOut as exc:
            exc.phone = to
            exc.message = (
                f"{to} has opted out of texts from this TextUs account; they get no texts "
                "until they opt back in."
            )
            raise
        except InvalidNumber as exc:
            exc.phone = to
            raise
        except NotFound as exc:
            raise NotFound(
                f"TextUs has no account “{self._account(sender)}” this token can use "
                f"({exc.status}). Check the account slug in the TextUs settings.",
                status=exc.status,
                body=exc.body,
                code="unknown_account",
            ) from exc
        except RateLimited:
            raise  # a 429 was never processed: the caller may resend after retry_after
        except TransientError as exc:
            if isinstance(exc, Unreachable):
                ambiguous = not exc.never_sent
            else:
                ambiguous = exc.status not in NOT_PROCESSED_STATUSES
            note = (
                " The text may or may not have been sent; RecruitFlow checks before resending."
                if ambiguous
                else " The text was not sent."
            )
            raise MessagingTransientError(
                exc.message + note, ambiguous=ambiguous, status=exc.status, body=exc.body
            ) from exc
        data = response_body(response) if response.content else {}
        message_id = data.get("id") if isinstance(data, dict) else None
        if not message_id:
            # 202 without a body is TextUs's answer for several recipients; with one it
            # should not happen. Do not raise: the text is on its way and a retry would
            # send it twice.
            return SendResult(provider_message_id="", status="accepted", raw={"status": 202})
        state = data.get("deliveryState")
        return SendResult(
            provider_message_id=str(message_id),
            status=normalize_delivery_state(state) if state else "queued",
            raw=data,
        )

    def get_status(self, provider_message_id: str) -> DeliveryUpdate:
        path = (
            provider_message_id
            if provider_message_id.startswith("/")
            else (f"/messages/{provider_message_id}")
        )
        data = self.client.get(path)
        data = data if isinstance(data, dict) else {}
        return DeliveryUpdate(
            provider_message_id=str(data.get("id") or provider_message_id),
            status=normalize_delivery_state(data.get("deliveryState")),
            occurred_at=datetime.now(UTC),
            raw=data,
        )

    # -- opt-outs --------------------------------------------------------------------------

    def is_opted_out(self, phone: str) -> bool | None:
        """``GET /{account}/opt_outs/{phone}``: 200 → opted out, 404 → not."""
        try:
            self.client.get(f"/{self.account_slug}/opt_outs/{phone_path(phone)}")
        except NotFound:
            return False
        return True

    def record_opt_out(self, phone: str) -> bool:
        """``PUT /{account}/opt_outs/{phone}`` (201). TextUs advises never deleting these."""
        self.client.put(f"/{self.account_slug}/opt_outs/{phone_path(phone)}", expect=(200, 201))
        return True

    # -- webhooks --------------------------------------------------------------------------

    def verify_webhook(self, request: WebhookRequest) -> bool:
        """``X-TextUs-Signature`` signs the raw body, and the body's ``timestamp`` is within
        five minutes of now (see :func:`integrations.textus.webhooks.verify_delivery`)."""
        return verify_delivery(
            request.raw_body, header_value(request.headers, SIGNATURE_HEADER), self.webhook_secret
        )

    def parse_webhook(self, request: WebhookRequest) -> list[WebhookEvent]:
        return parse_delivery(request.raw_body)
