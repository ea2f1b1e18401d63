"""The sandbox control API of the fake SendGrid (``/_sandbox/api/...``, no auth)."""

from __future__ import annotations

import base64

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from integrations.sandbox._common import json_response
from integrations.sandbox.sendgrid.state import SendGridState

SANDBOX_MAP = Map(
    [
        Rule("/_sandbox/", methods=["GET"], endpoint="ui_index"),
        Rule("/_sandbox/mail/<mid>", methods=["GET"], endpoint="ui_mail"),
        Rule("/_sandbox/mail/<mid>/event", methods=["POST"], endpoint="ui_event"),
        Rule("/_sandbox/mail/<mid>/reply", methods=["POST"], endpoint="ui_reply"),
        Rule("/_sandbox/api/mails/<mid>/reply", methods=["POST"], endpoint="api_reply"),
        Rule("/_sandbox/api/inbound", methods=["GET"], endpoint="api_inbound"),
        Rule("/_sandbox/api/config", methods=["GET", "POST"], endpoint="api_config"),
        Rule("/_sandbox/api/events", methods=["POST"], endpoint="api_events"),
        Rule("/_sandbox/api/mails", methods=["GET"], endpoint="api_mails"),
        Rule("/_sandbox/api/mails/<mid>", methods=["GET"], endpoint="api_mail"),
        Rule("/_sandbox/api/deliveries", methods=["GET"], endpoint="api_deliveries"),
        Rule("/_sandbox/api/faults", methods=["GET", "POST", "DELETE"], endpoint="api_faults"),
        Rule("/_sandbox/api/reset", methods=["POST"], endpoint="api_reset"),
    ]
)


def _mail_json(mail: dict) -> dict:
    out = {k: v for k, v in mail.items() if k not in ("attachments", "payload")}
    out["attachments"] = [
        {**{k: v for k, v in a.items() if k != "content"}, "content_b64": base64.b64encode(
            a["content"]).decode()} for a in mail["attachments"]
    ]  # fmt: skip
    return out


class ControlMixin:
    """The ``/_sandbox/`` routes of :class:`SendGridApp`."""

    state: SendGridState

    # sandbox --------------------------------------------------------------------------------------
    def sandbox(self, request: Request) -> Response:
        adapter = SANDBOX_MAP.bind_to_environ(request.environ)
        try:
            endpoint, values = adapter.match()
        except HTTPException:
            return json_response({"error": "not found"}, 404)
        try:
            return getattr(self, f"sb_{endpoint}")(request, **values)
        except KeyError as exc:
            return json_response({"error": str(exc.args[0] if exc.args else exc)}, 404)
        except ValueError as exc:
            return json_response({"error": str(exc)}, 400)

    def sb_api_config(self, request):
        """The Event Webhook of one account: ``api_key`` (body, or query on GET) names it, the
        default account when absent; a new key becomes an account the API accepts."""
        st = self.state
        if request.method == "POST":
            b = request.get_json(silent=True) or {}
            key = b.get("api_key") or None
            if "email_activity" in b:
                with st.lock:
                    st.email_activity = bool(b["email_activity"])
            if set(b) - {"email_activity", "api_key"} or not b or key:
                st.configure_events(
                    b.get("event_url", b.get("url")),
                    b.get("enabled", True),
                    b.get("signed", True),
                    api_key=key,
                )
            with st.lock:
                return json_response({**st.hook_for(key), "email_activity": st.email_activity})
        key = request.args.get("api_key") or None
        with st.lock:
            return json_response(
                {
                    **st.hook_for(key),
                    "public_key": st.public_key_b64,
                    "email_activity": st.email_activity,
                }
            )

    def sb_api_events(self, request):
        b = dict(request.get_json(silent=True) or {})
        mid = b.pop("message_id")
        event = b.pop("event")
        email = b.pop("email", None)
        return json_response(self.state.emit_event(mid, event, email, **b), 201)

    def sb_api_mails(self, request):
        with self.state.lock:
            return json_response([_mail_json(m) for m in self.state.mails.values()])

    def sb_api_mail(self, request, mid):
        with self.state.lock:
            return json_response(_mail_json(self.state.mails[mid]))

    def sb_api_reply(self, request, mid):
        body = request.get_json(silent=True) or {}
        entry = self.state.reply_as_candidate(mid, body.get("text"))
        return json_response({k: v for k, v in entry.items() if k != "body"}, 201)

    def sb_api_inbound(self, request):
        with self.state.lock:
            return json_response(
                {
                    "parse_settings": list(self.state.parse_settings.values()),
                    "deliveries": list(self.state.inbound_deliveries),
                }
            )

    def sb_api_deliveries(self, request):
        return json_response(list(self.state.deliveries))

    def sb_api_faults(self, request):
        st = self.state
        if request.method == "POST":
            b = request.get_json(silent=True) or {}
            rule = st.inject_fault(
                b.get("status", 500), int(b.get("count", 1)), float(b.get("delay", 0))
            )
            return json_response(rule, 201)
        if request.method == "DELETE":
            st.faults.clear()
        return json_response(st.faults.rules)

    def sb_api_reset(self, request):
        self.state.reset()
        return json_response({"ok": True})
