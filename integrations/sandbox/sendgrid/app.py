"""The WSGI application of the fake SendGrid: Mail Send, Email Activity, the signed-event
settings, and the sandbox screens."""

from __future__ import annotations

import json
import time

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from integrations.sandbox._common import json_response
from integrations.sandbox.sendgrid.contract import BAD_AUTH, MAX_BYTES, SendGridError, error_item
from integrations.sandbox.sendgrid.control import ControlMixin
from integrations.sandbox.sendgrid.screens import ScreensMixin
from integrations.sandbox.sendgrid.state import SendGridState

API_MAP = Map(
    [
        Rule("/v3/mail/send", methods=["POST"], endpoint="mail_send"),
        Rule("/v3/messages", methods=["GET"], endpoint="activity"),
        Rule(
            "/v3/user/webhooks/event/settings/signed",
            methods=["GET", "PATCH"],
            endpoint="signed",
        ),
        Rule("/v3/user/webhooks/event/settings", methods=["GET", "PATCH"], endpoint="settings"),
        Rule(
            "/v3/user/webhooks/parse/settings", methods=["GET", "POST"], endpoint="parse_settings"
        ),
        Rule(
            "/v3/user/webhooks/parse/settings/<hostname>",
            methods=["GET", "PATCH", "DELETE"],
            endpoint="parse_setting",
        ),
    ],
    strict_slashes=False,
)


class SendGridApp(ControlMixin, ScreensMixin):
    """WSGI application: ``/v3/mail/send``, the signed-webhook key, and the outbox screens."""

    def __init__(self, state: SendGridState | None = None):
        self.state = state or SendGridState()

    def __call__(self, environ, start_response):
        request = Request(environ)
        try:
            response = self.dispatch(request)
        except SendGridError as exc:
            response = json_response({"errors": exc.errors}, exc.status, exc.headers)
        return response(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        if request.path.startswith("/_sandbox"):
            return self.sandbox(request)
        st = self.state
        adapter = API_MAP.bind_to_environ(request.environ)
        try:
            endpoint, values = adapter.match()
        except HTTPException as exc:
            code = exc.code or 404
            return json_response({"errors": [{"field": None, "message": exc.name}]}, code)
        header = request.headers.get("Authorization", "")
        key = header[7:].strip() if header.lower().startswith("bearer ") else None
        if not st.check_key(key):
            return json_response(BAD_AUTH, 401)
        request.environ["sandbox.sendgrid.key"] = key
        fault = st.faults.take(request.path)
        if fault:
            if fault["delay"]:
                time.sleep(fault["delay"])
            status = fault["status"]
            if status == 429:
                reset = int(time.time()) + 1
                raise SendGridError(
                    429,
                    [{"field": None, "message": "too many requests"}],
                    {"X-RateLimit-Limit": 600, "X-RateLimit-Remaining": 0,
                     "X-RateLimit-Reset": reset},
                )  # fmt: skip
            if status:
                raise SendGridError(
                    int(status), [{"field": None, "message": "Internal Server Error"}]
                )
        return getattr(self, f"api_{endpoint}")(request, **values)

    def api_parse_settings(self, request: Request) -> Response:
        st = self.state
        if request.method == "POST":
            body = request.get_json(silent=True) or {}
            setting = st.parse_setting_put(
                body.get("hostname", ""),
                body.get("url", ""),
                bool(body.get("spam_check", False)),
                bool(body.get("send_raw", False)),
            )
            return json_response(setting, 201)
        with st.lock:
            return json_response({"result": [dict(s) for s in st.parse_settings.values()]})

    def api_parse_setting(self, request: Request, hostname: str) -> Response:
        st = self.state
        with st.lock:
            current = st.parse_settings.get(hostname.lower())
        if current is None:
            raise SendGridError(404, [error_item("parse setting not found", "hostname")])
        if request.method == "DELETE":
            st.parse_setting_delete(hostname)
            return Response("", status=204)
        if request.method == "PATCH":
            body = request.get_json(silent=True) or {}
            current = st.parse_setting_put(
                hostname,
                body.get("url", current["url"]),
                bool(body.get("spam_check", current["spam_check"])),
                bool(body.get("send_raw", current["send_raw"])),
            )
        return json_response(current)

    def api_mail_send(self, request: Request, **_values) -> Response:
        if (request.content_length or 0) > MAX_BYTES:
            raise SendGridError(
                413, [{"field": None, "message": "Request Entity Too Large", "help": None}]
            )
        raw = request.get_data()
        if len(raw) > MAX_BYTES:
            raise SendGridError(
                413, [{"field": None, "message": "Request Entity Too Large", "help": None}]
            )
        try:
            payload = json.loads(raw)
        except ValueError:
            raise SendGridError(
                400, [{"message": "Bad Request", "field": None, "help": None}]
            ) from None
        mail = self.state.send(payload, request.environ["sandbox.sendgrid.key"])
        if mail["sandbox_mode"]:
            return Response("", status=200)
        resp = Response("", status=202)
        resp.headers["X-Message-Id"] = mail["id"]
        return resp

    def api_activity(self, request: Request, **_values) -> Response:
        try:
            limit = int(request.args.get("limit", 10))
        except ValueError:
            raise SendGridError(400, [error_item("limit must be a number", "limit")]) from None
        rows = self.state.activity(request.args.get("query", ""), limit)
        return json_response({"messages": rows})

    def api_signed(self, request: Request, **_values) -> Response:
        st = self.state
        if request.method == "PATCH":
            body = request.get_json(silent=True) or {}
            with st.lock:
                st.hook_for(request.environ["sandbox.sendgrid.key"])["signed"] = bool(
                    body.get("enabled", True)
                )
        return json_response({"public_key": st.public_key_b64})

    def api_settings(self, request: Request, **_values) -> Response:
        st = self.state
        with st.lock:
            account = st.hook_for(request.environ["sandbox.sendgrid.key"])
            if request.method == "PATCH":
                body = request.get_json(silent=True) or {}
                if "url" in body:
                    account["url"] = body["url"]
                if "enabled" in body:
                    account["enabled"] = bool(body["enabled"])
            hook = dict(account)
        names = ["processed", "delivered", "deferred", "bounce", "dropped", "open", "click",
                 "spam_report", "unsubscribe", "group_unsubscribe", "group_resubscribe"]  # fmt: skip
        return json_response(
            {"enabled": hook["enabled"], "url": hook["url"] or "", **{n: True for n in names}}
        )
