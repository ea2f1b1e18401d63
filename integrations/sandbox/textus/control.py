"""The sandbox control API of the fake TextUs (``/_sandbox/api/...``, no auth)."""

from __future__ import annotations

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from integrations.sandbox.textus.contract import jsonld
from integrations.sandbox.textus.state import TextUsState

SANDBOX_MAP = Map(
    [
        Rule("/_sandbox/", methods=["GET"], endpoint="ui_index"),
        Rule("/_sandbox/phone/<phone>", methods=["GET"], endpoint="ui_phone"),
        Rule("/_sandbox/phone/<phone>/reply", methods=["POST"], endpoint="ui_reply"),
        Rule("/_sandbox/api/config", methods=["GET", "POST"], endpoint="api_config"),
        Rule("/_sandbox/api/inbound", methods=["POST"], endpoint="api_inbound"),
        Rule("/_sandbox/api/outcomes", methods=["POST"], endpoint="api_outcomes"),
        Rule("/_sandbox/api/messages", methods=["GET"], endpoint="api_messages"),
        Rule("/_sandbox/api/deliveries", methods=["GET"], endpoint="api_deliveries"),
        Rule("/_sandbox/api/faults", methods=["GET", "POST", "DELETE"], endpoint="api_faults"),
        Rule("/_sandbox/api/reset", methods=["POST"], endpoint="api_reset"),
    ]
)


class ControlMixin:
    """The ``/_sandbox/`` routes of :class:`TextUsApp`."""

    state: TextUsState

    # sandbox ------------------------------------------------------------------------------------
    def sandbox(self, request: Request) -> Response:
        adapter = SANDBOX_MAP.bind_to_environ(request.environ)
        try:
            endpoint, values = adapter.match()
        except HTTPException:
            return jsonld({"error": "not found"}, 404)
        try:
            return getattr(self, f"sb_{endpoint}")(request, **values)
        except (KeyError, ValueError) as exc:
            return jsonld({"error": str(exc)}, 400)

    def sb_api_config(self, request):
        st = self.state
        if request.method == "POST":
            b = request.get_json(silent=True) or {}
            account = b.get("account", "acme-talent")
            if "rate_limit" in b:
                st.set_rate_limit(b["rate_limit"], b.get("rate_window"))
            if "delivery_delay" in b:
                st.delivery_delay = float(b["delivery_delay"])
            if "webhook_url" in b or "secret" in b:
                st.configure_webhook(
                    b.get("webhook_url"), b.get("secret"), account, b.get("events")
                )
        with st.lock:
            return jsonld(
                {
                    "accounts": [st._acct_json(a) for a in st.accounts.values()],
                    "rate_limit": st.limiter.limit,
                    "rate_window": st.limiter.window,
                    "delivery_delay": st.delivery_delay,
                }
            )

    def sb_api_inbound(self, request):
        b = request.get_json(silent=True) or {}
        msg = self.state.text_from(b["from"], b.get("body", ""), b.get("account", "acme-talent"))
        return jsonld(self.state.public(msg), 201)

    def sb_api_outcomes(self, request):
        b = request.get_json(silent=True) or {}
        self.state.set_outcome(b["phone"], b.get("state", "delivered"))
        return jsonld({"ok": True})

    def sb_api_messages(self, request):
        with self.state.lock:
            return jsonld(
                [
                    {**self.state.public(m), "account": m["_account"], "phone": m["_phone"]}
                    for m in self.state.messages.values()
                ]
            )

    def sb_api_deliveries(self, request):
        return jsonld(list(self.state.deliveries))

    def sb_api_faults(self, request):
        st = self.state
        if request.method == "POST":
            b = request.get_json(silent=True) or {}
            return jsonld(
                st.inject_fault(b.get("status", 500), int(b.get("count", 1)),
                                float(b.get("delay", 0))), 201)  # fmt: skip
        if request.method == "DELETE":
            st.faults.clear()
        return jsonld(st.faults.rules)

    def sb_api_reset(self, request):
        self.state.reset()
        return jsonld({"ok": True})
