"""The sandbox control API of the fake Twilio (``/_sandbox/api/...``, no auth)."""

from __future__ import annotations

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from integrations.sandbox._common import json_response
from integrations.sandbox.twilio.state import TwilioState

SANDBOX_MAP = Map(
    [
        Rule("/_sandbox/", methods=["GET"], endpoint="ui_index"),
        Rule("/_sandbox/phone/<phone>", methods=["GET"], endpoint="ui_phone"),
        Rule("/_sandbox/phone/<phone>/reply", methods=["POST"], endpoint="ui_reply"),
        Rule("/_sandbox/api/config", methods=["GET", "POST"], endpoint="api_config"),
        Rule("/_sandbox/api/inbound", methods=["POST"], endpoint="api_inbound"),
        Rule("/_sandbox/api/faults", methods=["GET", "POST", "DELETE"], endpoint="api_faults"),
        Rule("/_sandbox/api/outcomes", methods=["POST"], endpoint="api_outcomes"),
        Rule("/_sandbox/api/release", methods=["POST"], endpoint="api_release"),
        Rule("/_sandbox/api/messages", methods=["GET"], endpoint="api_messages"),
        Rule("/_sandbox/api/callbacks", methods=["GET"], endpoint="api_callbacks"),
        Rule("/_sandbox/api/opt_outs", methods=["GET"], endpoint="api_opt_outs"),
        Rule("/_sandbox/api/reset", methods=["POST"], endpoint="api_reset"),
    ]
)


def _json_body(request: Request) -> dict:
    data = request.get_json(silent=True)
    if isinstance(data, dict):
        return data
    return dict(request.form.items())


class ControlMixin:
    """The ``/_sandbox/`` routes of :class:`TwilioApp`."""

    state: TwilioState

    # sandbox ------------------------------------------------------------------------------------------
    def sandbox(self, request: Request) -> Response:
        adapter = SANDBOX_MAP.bind_to_environ(request.environ)
        try:
            endpoint, values = adapter.match()
        except HTTPException:
            return json_response({"error": "not found"}, 404)
        try:
            return getattr(self, f"sb_{endpoint}")(request, **values)
        except (ValueError, KeyError) as exc:
            return json_response({"error": str(exc)}, 400)

    def sb_api_config(self, request):
        if request.method == "POST":
            return json_response(self.state.configure(**_json_body(request)))
        with self.state.lock:
            return json_response(self.state.config())

    def sb_api_inbound(self, request):
        b = _json_body(request)
        msg = self.state.text_from(b["from"], b.get("body", ""), b.get("to"))
        return json_response(self.state.dump_message(msg), 201)

    def sb_api_faults(self, request):
        st = self.state
        if request.method == "POST":
            b = _json_body(request)
            rule = st.inject_fault(
                b.get("status", 500),
                int(b.get("count", 1)),
                float(b.get("delay", 0)),
                b.get("match", "create"),
            )
            return json_response(rule, 201)
        if request.method == "DELETE":
            st.faults.clear()
        return json_response(st.faults.rules)

    def sb_api_outcomes(self, request):
        b = _json_body(request)
        code = b.get("error_code")
        self.state.set_outcome(
            b["phone"], b.get("status", "delivered"), int(code) if code else None
        )
        return json_response({"ok": True})

    def sb_api_release(self, request):
        b = _json_body(request)
        return json_response({"released": self.state.release_scheduled(b.get("sid"))})

    def sb_api_messages(self, request):
        with self.state.lock:
            return json_response([self.state.dump_message(m) for m in self.state.messages.values()])

    def sb_api_callbacks(self, request):
        with self.state.lock:
            return json_response(list(self.state.callbacks))

    def sb_api_opt_outs(self, request):
        with self.state.lock:
            return json_response(list(self.state.opt_outs.values()))

    def sb_api_reset(self, request):
        self.state.reset()
        return json_response({"ok": True})
