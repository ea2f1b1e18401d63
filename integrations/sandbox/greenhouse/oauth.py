"""``POST /auth/token``: client-credentials tokens for Harvest v3."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time

from werkzeug.wrappers import Request, Response

from integrations.sandbox._common import json_response
from integrations.sandbox.greenhouse.contract import ALL_V3_SCOPES
from integrations.sandbox.greenhouse.state import GreenhouseState


class OAuthMixin:
    """The token endpoint of :class:`GreenhouseApp`."""

    state: GreenhouseState

    # token endpoint and v3 ---------------------------------------------------------------------
    def token(self, request: Request) -> Response:
        st = self.state
        if request.method != "POST":
            return json_response({"error": "invalid_request"}, 405)
        auth = request.authorization
        client = st.v3_clients.get(auth.username) if auth and auth.type == "basic" else None
        if client is None or not hmac.compare_digest(
            client["secret"].encode(), (auth.password or "").encode()
        ):
            return json_response(
                {"error": "invalid_client", "error_description": "Client authentication failed"},
                401,
            )
        if request.form.get("grant_type") != "client_credentials":
            return json_response({"error": "unsupported_grant_type"}, 400)
        sub = request.form.get("sub")
        user_id = None
        if sub:
            if not sub.isdigit() or st.co.user(int(sub)) is None:
                return json_response(
                    {"error": "invalid_request", "error_description": "Unknown sub user"}, 400
                )
            user_id = int(sub)
        now = time.time()
        exp = now + st.token_lifetime
        scopes = client["scopes"]
        claims = {
            "iss": "https://auth.greenhouse.io",
            "sub": str(user_id) if user_id else "service-account",
            "client_id": auth.username,
            "iat": int(now),
            "exp": int(exp),
            "jti": secrets.token_hex(8),
            "scope": " ".join(sorted(scopes if scopes is not None else ALL_V3_SCOPES)),
        }

        def b64(data: bytes) -> str:
            return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

        head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        body = b64(json.dumps(claims, separators=(",", ":")).encode())
        sig = b64(hmac.new(st._token_secret, f"{head}.{body}".encode(), hashlib.sha256).digest())
        token = f"{head}.{body}.{sig}"
        st.tokens[token] = {
            "client_id": auth.username,
            "user_id": user_id,
            "exp": exp,
            "scopes": scopes,
        }
        return json_response(
            {"access_token": token, "token_type": "bearer", "expires_in": int(st.token_lifetime)}
        )
