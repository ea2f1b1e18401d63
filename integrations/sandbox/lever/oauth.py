"""Lever OAuth: the authorize page and the token endpoint (codes, refresh tokens)."""

from __future__ import annotations

import secrets
import time
import urllib.parse

from werkzeug.wrappers import Request, Response

from integrations.sandbox._common import json_response, redirect
from integrations.sandbox.lever.contract import read_json
from integrations.sandbox.lever.state import LeverState


class OAuthMixin:
    """The OAuth routes of :class:`LeverApp`."""

    state: LeverState

    # OAuth ---------------------------------------------------------------------------------------
    def authorize(self, request: Request) -> Response:
        st, args = self.state, request.args
        for p in ("client_id", "redirect_uri", "response_type", "state", "audience"):
            if not args.get(p):
                return json_response(
                    {"error": "invalid_request", "error_description": f"Missing {p}"}, 400
                )
        if args["client_id"] not in st.oauth_clients:
            return json_response(
                {"error": "invalid_client", "error_description": "Unknown client"}, 400
            )
        if args["response_type"] != "code":
            return json_response({"error": "unsupported_response_type"}, 400)
        redirect_uri = args["redirect_uri"]
        sep = "&" if "?" in redirect_uri else "?"
        if st.oauth_deny or args.get("deny") in ("1", "true"):
            q = {"error": "access_denied", "error_description": "The user denied access",
                 "state": args["state"]}  # fmt: skip
            return redirect(f"{redirect_uri}{sep}{urllib.parse.urlencode(q)}", 302)
        code = secrets.token_urlsafe(24)
        with st.lock:
            st.codes[code] = {
                "client_id": args["client_id"],
                "redirect_uri": redirect_uri,
                "scope": args.get("scope", ""),
                "exp": time.time() + 60,
            }
        q = {"code": code, "state": args["state"]}
        return redirect(f"{redirect_uri}{sep}{urllib.parse.urlencode(q)}", 302)

    def _issue(self, client_id: str, scope: str, refresh: bool) -> dict:
        st = self.state
        access = (
            "eyJhbGciOiJSUzI1NiJ9." + secrets.token_urlsafe(32) + "." + secrets.token_urlsafe(16)
        )
        st.access_tokens[access] = {"client_id": client_id, "exp": time.time() + st.token_lifetime,
                                    "scope": scope}  # fmt: skip
        out = {"access_token": access, "token_type": "Bearer", "scope": scope,
               "expires_in": int(st.token_lifetime)}  # fmt: skip
        if refresh:
            rt = secrets.token_urlsafe(32)
            st.refresh_tokens[rt] = {"client_id": client_id, "scope": scope}
            out["refresh_token"] = rt
        return out

    def token(self, request: Request) -> Response:
        st = self.state
        if request.method != "POST":
            return json_response({"error": "invalid_request"}, 405)
        form = request.form if request.form else read_json(request)
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        if request.authorization and request.authorization.type == "basic":
            client_id = client_id or request.authorization.username
            client_secret = client_secret or request.authorization.password
        client = st.oauth_clients.get(client_id or "")
        if client is None or client["secret"] != client_secret:
            return json_response(
                {"error": "access_denied", "error_description": "Unauthorized"}, 401
            )
        grant = form.get("grant_type")
        with st.lock:
            if grant == "authorization_code":
                info = st.codes.pop(form.get("code") or "", None)
                if info is None or info["exp"] < time.time() or info["client_id"] != client_id:
                    return json_response(
                        {
                            "error": "invalid_grant",
                            "error_description": "Invalid authorization code",
                        },
                        403,
                    )
                if form.get("redirect_uri") != info["redirect_uri"]:
                    return json_response(
                        {"error": "invalid_grant", "error_description": "redirect_uri mismatch"},
                        403,
                    )
                scope = info["scope"]
                return json_response(
                    self._issue(client_id, scope, "offline_access" in scope.split())
                )
            if grant == "refresh_token":
                info = st.refresh_tokens.pop(form.get("refresh_token") or "", None)
                if info is None or info["client_id"] != client_id:
                    return json_response(
                        {
                            "error": "invalid_grant",
                            "error_description": "Unknown or invalid refresh token.",
                        },
                        403,
                    )
                return json_response(self._issue(client_id, info["scope"], True))
        return json_response({"error": "unsupported_grant_type"}, 400)
