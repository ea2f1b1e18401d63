"""The WSGI application of the fake Twilio: the REST API (Messages, IncomingPhoneNumbers)
and the sandbox screens."""

from __future__ import annotations

import time
import urllib.parse

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from integrations.sandbox._common import json_response
from integrations.sandbox.phone import rfc2822
from integrations.sandbox.twilio.contract import API_VERSION, TwilioError
from integrations.sandbox.twilio.control import ControlMixin
from integrations.sandbox.twilio.screens import ScreensMixin
from integrations.sandbox.twilio.state import TwilioState

API_MAP = Map(
    [
        Rule(
            f"/{API_VERSION}/Accounts/<account>/Messages.json",
            methods=["GET", "POST"],
            endpoint="messages",
        ),
        Rule(
            f"/{API_VERSION}/Accounts/<account>/Messages/<sid>.json",
            methods=["GET", "POST", "DELETE"],
            endpoint="message",
        ),
        Rule(
            f"/{API_VERSION}/Accounts/<account>/IncomingPhoneNumbers.json",
            methods=["GET", "POST"],
            endpoint="numbers",
        ),
        Rule(
            f"/{API_VERSION}/Accounts/<account>/IncomingPhoneNumbers/<sid>.json",
            methods=["GET", "POST", "DELETE"],
            endpoint="number",
        ),
    ],
    strict_slashes=False,
)


class TwilioApp(ControlMixin, ScreensMixin):
    """WSGI application: the Messages REST API plus the sandbox phone screens."""

    def __init__(self, state: TwilioState | None = None):
        self.state = state or TwilioState()

    def __call__(self, environ, start_response):
        request = Request(environ)
        try:
            response = self.dispatch(request)
        except TwilioError as exc:
            response = json_response(exc.body, exc.status, exc.headers)
        return response(environ, start_response)

    # REST -------------------------------------------------------------------------------------------
    def dispatch(self, request: Request) -> Response:
        if request.path.startswith("/_sandbox"):
            return self.sandbox(request)
        st = self.state
        adapter = API_MAP.bind_to_environ(request.environ)
        try:
            endpoint, values = adapter.match()
        except HTTPException:
            raise TwilioError(
                404, 20404, f"The requested resource {request.path} was not found"
            ) from None
        auth = request.authorization
        if not auth or auth.type != "basic" or not st.check_auth(auth.username, auth.password):
            raise TwilioError(
                401, 20003, "Authenticate", {"WWW-Authenticate": 'Basic realm="Twilio API"'}
            )
        if values["account"] != st.account_sid:
            raise TwilioError(404, 20404, f"The requested resource {request.path} was not found")
        if not st.available:
            raise TwilioError(503, 20503, "Service Unavailable")
        is_create = endpoint == "messages" and request.method == "POST"
        fault = st.faults.take("create" if is_create else f"{request.method} {request.path}")
        if fault:
            if fault["delay"]:
                time.sleep(fault["delay"])
            if fault["status"] == 429:
                raise TwilioError(
                    429, 20429, "Too Many Requests", {"Twilio-Concurrent-Requests": "101"}
                )
            if fault["status"] == 503:
                raise TwilioError(503, 20503, "Service Unavailable")
            if fault["status"]:
                raise TwilioError(int(fault["status"]), 20500, "Internal Server Error")
        if endpoint == "numbers":
            if request.method == "POST":
                return json_response(st.provision_number(request.form), 201)
            return self.list_numbers(request)
        if endpoint == "number":
            if request.method == "DELETE":
                st.release_number(values["sid"])
                return Response("", status=204)
            if request.method == "POST":
                return json_response(st.update_number(values["sid"], request.form))
            with st.lock:
                return json_response(st.number_json(st.number_by_sid(values["sid"])))
        if endpoint == "messages":
            if request.method == "POST":
                msg = st.create_message(request.form)
                return json_response(st.public(msg), 201)
            return self.list(request)
        sid = values["sid"]
        with st.lock:
            msg = st.messages.get(sid)
            if msg is None:
                raise TwilioError(
                    404, 20404, f"The requested resource {request.path} was not found"
                )
            if request.method == "DELETE":
                st.messages.pop(sid)
                return Response("", status=204)
            if request.method == "POST":
                status = request.form.get("Status")
                if status is not None:
                    if status != "canceled":
                        raise TwilioError(400, 20001, f"Invalid Status: {status}")
                    st.cancel_message(sid)
                if "Body" in request.form:
                    if request.form["Body"] != "":
                        raise TwilioError(400, 20001, "Body can only be redacted (set to '')")
                    msg["body"] = ""
                    msg["date_updated"] = rfc2822(time.time())
            return json_response(st.public(msg))

    def list(self, request: Request) -> Response:
        st = self.state
        try:
            size = max(1, min(1000, int(request.args.get("PageSize", 50))))
            page_no = max(0, int(request.args.get("Page", 0)))
        except ValueError:
            raise TwilioError(400, 20001, "Invalid paging parameter") from None
        msgs = st.list_messages(request.args)
        chunk = msgs[page_no * size : (page_no + 1) * size]
        base = f"/{API_VERSION}/Accounts/{st.account_sid}/Messages.json"
        keep = [
            (k, v)
            for k, v in request.args.items(multi=True)
            if k not in ("Page", "PageToken", "PageSize")
        ]

        def uri(p: int) -> str:
            q = [*keep, ("PageSize", str(size)), ("Page", str(p))]
            if p > 0:
                q.append(("PageToken", f"PA{p}"))
            return f"{base}?{urllib.parse.urlencode(q)}"

        has_next = (page_no + 1) * size < len(msgs)
        return json_response(
            {
                "messages": [st.public(m) for m in chunk],
                "start": page_no * size,
                "end": page_no * size + max(0, len(chunk) - 1),
                "page": page_no,
                "page_size": size,
                "uri": uri(page_no),
                "first_page_uri": uri(0),
                "next_page_uri": uri(page_no + 1) if has_next else None,
                "previous_page_uri": uri(page_no - 1) if page_no > 0 else None,
            }
        )

    def list_numbers(self, request: Request) -> Response:
        st = self.state
        try:
            size = max(1, min(1000, int(request.args.get("PageSize", 50))))
            page_no = max(0, int(request.args.get("Page", 0)))
        except ValueError:
            raise TwilioError(400, 20001, "Invalid paging parameter") from None
        wanted = (request.args.get("PhoneNumber") or "").strip()
        name = request.args.get("FriendlyName")
        with st.lock:
            found = [
                st.number_json(number)
                for number, entry in st.numbers.items()
                if (not wanted or number == wanted)
                and (name is None or entry["friendly_name"] == name)
            ]
        chunk = found[page_no * size : (page_no + 1) * size]
        base = f"/{API_VERSION}/Accounts/{st.account_sid}/IncomingPhoneNumbers.json"
        keep = [
            (k, v)
            for k, v in request.args.items(multi=True)
            if k not in ("Page", "PageToken", "PageSize")
        ]

        def uri(p: int) -> str:
            query = [*keep, ("PageSize", str(size)), ("Page", str(p))]
            return f"{base}?{urllib.parse.urlencode(query)}"

        has_next = (page_no + 1) * size < len(found)
        return json_response(
            {
                "incoming_phone_numbers": chunk,
                "start": page_no * size,
                "end": page_no * size + max(0, len(chunk) - 1),
                "page": page_no,
                "page_size": size,
                "uri": uri(page_no),
                "first_page_uri": uri(0),
                "next_page_uri": uri(page_no + 1) if has_next else None,
                "previous_page_uri": uri(page_no - 1) if page_no > 0 else None,
            }
        )
