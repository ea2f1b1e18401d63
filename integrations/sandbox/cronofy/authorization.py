"""Authorization in the fake Cronofy: codes, tokens (rotating refresh tokens), revocation,
bearer checks, rate limits and Enterprise Connect service-account authorizations."""

from __future__ import annotations

import json
import secrets
import time

from integrations.sandbox.cronofy.contract import CODE_TTL_S, CronofyError, field_error, oauth_error


class AuthorizationMixin:
    """Tokens and Enterprise Connect (part of :class:`CronofyState`)."""

    # tokens ------------------------------------------------------------------------------
    def issue_code(self, **info) -> str:
        code = secrets.token_urlsafe(24)[:32]
        with self.lock:
            self.codes[code] = {**info, "exp": time.time() + CODE_TTL_S}
        return code

    def _issue_tokens(self, grant: dict) -> dict:
        service = grant["kind"] == "service_account"
        lifetime = self.config["service_account_token_lifetime" if service else "token_lifetime"]
        access = secrets.token_urlsafe(24)
        refresh = secrets.token_urlsafe(24)
        record = {key: grant[key] for key in ("kind", "client_id", "sub", "scope", "data_center")}
        self.access_tokens[access] = {**record, "exp": time.time() + float(lifetime)}
        self.refresh_tokens[refresh] = dict(record)
        body = {
            "token_type": "bearer",
            "access_token": access,
            "expires_in": int(lifetime),
            "refresh_token": refresh,
            "scope": grant["scope"],
        }
        if service:
            body["service_account_id"] = grant["sub"]
        else:
            user = self.user_by_sub(grant["sub"])
            body.update(
                account_id=grant["sub"],
                sub=grant["sub"],
                linking_profile={
                    "provider_name": user["provider_name"],
                    "profile_id": user["profile_id"],
                    "profile_name": user["email"],
                },
            )
        return body

    def token_request(self, form: dict, data_center: str) -> dict:
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        with self.lock:
            if not self.check_client(client_id, client_secret):
                raise oauth_error("invalid_client", "The client_id or client_secret is not valid")
            grant_type = form.get("grant_type")
            if grant_type == "authorization_code":
                info = self.codes.pop(form.get("code") or "", None)
                if info is None or info["exp"] < time.time() or info["client_id"] != client_id:
                    raise oauth_error(
                        "invalid_grant", "The code is unknown, has expired or was already used"
                    )
                if info["data_center"] != data_center:
                    raise oauth_error("invalid_grant", "The code was issued by another data center")
                if (form.get("redirect_uri") or "") != info["redirect_uri"]:
                    raise oauth_error(
                        "invalid_grant", "redirect_uri does not match the authorization request"
                    )
                self.writes.append({"op": "token", "grant": "authorization_code"})
                return self._issue_tokens(info)
            if grant_type == "refresh_token":
                info = self.refresh_tokens.get(form.get("refresh_token") or "")
                if info is None or info["client_id"] != client_id:
                    raise oauth_error("invalid_grant", "The refresh_token is unknown or revoked")
                if info["data_center"] != data_center:
                    raise oauth_error(
                        "invalid_grant", "The refresh_token belongs to another data center"
                    )
                del self.refresh_tokens[form["refresh_token"]]  # rotation: single use
                self.writes.append({"op": "token", "grant": "refresh_token"})
                return self._issue_tokens(info)
            if not grant_type:
                raise oauth_error("invalid_request", "grant_type is required")
            raise oauth_error("unsupported_grant_type", f"{grant_type} is not supported")

    def revoke(self, form: dict) -> None:
        with self.lock:
            if not self.check_client(form.get("client_id"), form.get("client_secret")):
                raise oauth_error("invalid_client", "The client_id or client_secret is not valid")
            token = form.get("token") or ""
            info = self.access_tokens.pop(token, None) or self.refresh_tokens.pop(token, None)
            if info:
                for store in (self.access_tokens, self.refresh_tokens):
                    for key in [k for k, v in store.items() if v["sub"] == info["sub"]]:
                        del store[key]

    def expire_tokens(self, email: str) -> int:
        sub = self.user(email)["sub"]
        with self.lock:
            expired = 0
            for info in self.access_tokens.values():
                if info["sub"] == sub:
                    info["exp"] = 0
                    expired += 1
            return expired

    def authenticate(self, token: str | None, data_center: str) -> dict:
        with self.lock:
            info = self.access_tokens.get(token or "")
            if info is None or info["exp"] < time.time() or info["data_center"] != data_center:
                raise CronofyError(401, None, {"WWW-Authenticate": 'Bearer error="invalid_token"'})
            return dict(info)

    def rate_limit(self, client_id: str, data_center: str) -> None:
        key = f"{client_id}:{data_center}"
        allowed_second = self.per_second.hit(key)[0]
        allowed_minute = self.per_minute.hit(key)[0]
        if not (allowed_second and allowed_minute):
            raise CronofyError(429, None)

    # Enterprise Connect --------------------------------------------------------------------
    def service_account_authorizations(self, token: dict, body) -> None:
        if token["kind"] != "service_account":
            raise CronofyError(403, None)
        service = self.service_accounts[token["sub"]]
        body = body if isinstance(body, dict) else {}
        entries = body.get("service_account_authorizations")
        if entries is not None and any(k in body for k in ("email", "callback_url")):
            raise field_error(
                422,
                "service_account_authorizations",
                "errors.invalid",
                "Use either one authorization or a batch, not both",
            )
        batch = entries if entries is not None else [body]
        if not isinstance(batch, list) or not 1 <= len(batch) <= 50:
            raise field_error(
                422,
                "service_account_authorizations",
                "errors.invalid",
                "A batch holds 1 to 50 authorizations",
            )
        for entry in batch:
            for name in ("email", "callback_url", "scope"):
                if not isinstance(entry, dict) or not entry.get(name):
                    raise field_error(422, name, "errors.required", f"{name} must be specified")
            asked = set(str(entry["scope"]).split())
            if not asked <= service["delegated"]:
                raise field_error(
                    422,
                    "scope",
                    "errors.not_delegated",
                    "scope must be within the delegated_scope the administrator granted",
                )
        for entry in batch:
            email = str(entry["email"]).strip().lower()
            user = self.users.get(email)
            state = entry.get("state") or body.get("state")
            if (
                user is None
                or not email.endswith("@" + service["domain"])
                or user["data_center"] != token["data_center"]
            ):
                result = {
                    "error": "access_denied",
                    "error_key": "unknown_account",
                    "error_description": (
                        f"No calendar for {email} in the domain {service['domain']}"
                    ),
                }
            else:
                code = self.issue_code(
                    kind="account",
                    client_id=token["client_id"],
                    sub=user["sub"],
                    scope=entry["scope"],
                    redirect_uri=entry["callback_url"],
                    data_center=token["data_center"],
                )
                result = {"code": code}
            if state is not None:
                result["state"] = state
            payload = json.dumps({"authorization": result}).encode()
            self._post_signed(
                token["client_id"],
                entry["callback_url"],
                payload,
                {"type": "service_account_authorization", "email": email},
            )
