"""The WSGI application of the fake TextUs: the API (messages, opt-outs) and the sandbox
screens."""

from __future__ import annotations

import re
import time
import urllib.parse

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from integrations.sandbox.textus.contract import MEDIA_TYPE, TextUsError, jsonld, normalize_phone
from integrations.sandbox.textus.control import ControlMixin
from integrations.sandbox.textus.screens import ScreensMixin
from integrations.sandbox.textus.state import TextUsState

API_MAP = Map(
    [
        Rule("/messages", methods=["POST"], endpoint="send_without_account"),
        Rule("/messages/<mid>", methods=["GET"], endpoint="get_message"),
        Rule("/<account>/messages", methods=["POST"], endpoint="send"),
        Rule("/<account>/opt_outs", methods=["GET"], endpoint="opt_outs"),
        Rule("/<account>/opt_outs/<phone>", methods=["GET", "PUT"], endpoint="opt_out"),
    ],
    strict_slashes=False,
)


class TextUsApp(ControlMixin, ScreensMixin):
    """WSGI application: the TextUs Next API subset plus the sandbox phone screens."""

    def __init__(self, state: TextUsState | None = None):
        self.state = state or TextUsState()

    def __call__(self, environ, start_response):
        request = Request(environ)
        try:
            response = self.dispatch(request)
        except TextUsError as exc:
            response = jsonld(exc.body, exc.status, exc.headers)
        return response(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        if request.path.startswith("/_sandbox"):
            return self.sandbox(request)
        st = self.state
        header = request.headers.get("Authorization", "")
        token = header[7:].strip() if header.lower().startswith("bearer ") else ""
        with st.lock:
            tok = st.tokens.get(token) if token else None
        if tok is None:
            raise TextUsError(401, "Invalid or missing API token.")
        allowed, limit, remaining, reset = st.limiter.hit(token)
        rl = {"X-RateLimit-Limit": limit, "X-RateLimit-Remaining": remaining,
              "X-RateLimit-Reset": int(reset)}  # fmt: skip
        if not allowed:
            rl["Retry-After"] = max(1, int(reset - time.time() + 0.999))
            raise TextUsError(429, "Rate limit exceeded. Try again later.", rl)
        try:
            response = self._route(request, tok)
        except TextUsError as exc:
            exc.headers = {**rl, **exc.headers}
            raise
        for k, v in rl.items():
            response.headers[k] = str(v)
        return response

    def _route(self, request: Request, tok: dict) -> Response:
        st = self.state
        accept = request.headers.get("Accept", "")
        if accept and not any(
            a in accept for a in (MEDIA_TYPE, "*/*", "application/*", "application/json")
        ):
            raise TextUsError(406, f"Not acceptable: use Accept: {MEDIA_TYPE}")
        fault = st.faults.take(request.path)
        if fault:
            if fault["delay"]:
                time.sleep(fault["delay"])
            if fault["status"]:
                raise TextUsError(int(fault["status"]), "Internal server error (injected).")
        adapter = API_MAP.bind_to_environ(request.environ)
        try:
            endpoint, values = adapter.match()
        except HTTPException:
            raise TextUsError(404, "Not Found") from None
        account = values.get("account")
        if account is not None:
            with st.lock:
                if account not in st.accounts:
                    raise TextUsError(404, f"Account {account} not found.")
            if tok["accounts"] is not None and account not in tok["accounts"]:
                raise TextUsError(403, f"Access denied to account {account}.")
        return getattr(self, f"api_{endpoint}")(request, tok, **values)

    def _json(self, request: Request) -> dict:
        data = request.get_json(force=True, silent=True)
        if not isinstance(data, dict):
            raise TextUsError(400, "Invalid JSON body.")
        return data

    def _send(self, account: str, data: dict, tok: dict) -> Response:
        msgs = self.state.send(account, data.get("to"), data.get("body"), tok["user"])
        if isinstance(data.get("to"), list):
            return Response("", status=202)
        return jsonld(self.state.public(msgs[0]), 201)

    def api_send(self, request, tok, account):
        return self._send(account, self._json(request), tok)

    def api_send_without_account(self, request, tok):
        data = self._json(request)
        st = self.state
        frm = normalize_phone(data.get("from")) if data.get("from") else None
        with st.lock:
            match = [a for a in st.accounts.values() if frm and a["phone"] == frm]
        if not match:
            raise TextUsError(422, "from: No account with this phone number is available.")
        slug = match[0]["slug"]
        if tok["accounts"] is not None and slug not in tok["accounts"]:
            raise TextUsError(403, f"Access denied to account {slug}.")
        return self._send(slug, data, tok)

    def api_get_message(self, request, tok, mid):
        with self.state.lock:
            msg = self.state.messages.get(mid)
            if msg is None:
                raise TextUsError(404, "Not Found")
            return jsonld(self.state.public(msg))

    def api_opt_outs(self, request, tok, account):
        st = self.state
        q = re.sub(r"\D", "", request.args.get("q", ""))
        exact = {
            normalize_phone(v) for k, v in request.args.items(multi=True) if k.startswith("exact")
        }
        with st.lock:
            phones = sorted(p for (a, p) in st.opt_outs if a == account)
            if q and len(q) >= 3:
                phones = [p for p in phones if q in p]
            if exact - {None}:
                phones = [p for p in phones if p in exact]
            members = [st._opt_out_json(account, p) for p in phones]
        base = f"/{account}/opt_outs"
        return jsonld(
            {
                "@context": "/contexts/OptOut",
                "@type": "hydra:Collection",
                "id": base,
                "members": members,
                "totalItems": len(members),
                "view": {"id": base, "first": base, "next": None, "previous": None},
            }
        )

    def api_opt_out(self, request, tok, account, phone):
        st = self.state
        norm = normalize_phone(urllib.parse.unquote(phone))
        if norm is None:
            raise TextUsError(404 if request.method == "GET" else 422, "Invalid phone number.")
        if request.method == "GET":
            with st.lock:
                rec = st._opt_out_json(account, norm)
            if rec is None:
                raise TextUsError(404, "Not Found")
            return jsonld(rec)
        rec, created = st.opt_out(account, norm, via="api", user=tok["user"])
        return jsonld(rec, 201 if created else 200)
