"""The sandbox control API of the fake Cronofy (``/_sandbox/api/...``, no auth)."""

from __future__ import annotations

import urllib.parse
from zoneinfo import ZoneInfoNotFoundError

from werkzeug.wrappers import Request, Response

from integrations.sandbox._common import json_response
from integrations.sandbox.cronofy.contract import iso, read_body
from integrations.sandbox.cronofy.state import CronofyState


class ControlMixin:
    """The ``/_sandbox/`` routes of :class:`CronofyApp` and its JSON API."""

    state: CronofyState

    # sandbox controls --------------------------------------------------------------------
    def sandbox(self, request: Request, path: str) -> Response:
        rest = path[len("/_sandbox") :].strip("/")
        try:
            if rest.startswith("api/"):
                return self.control(request, rest[4:])
            return self.screen(request, rest)
        except KeyError as exc:
            return json_response({"error": str(exc.args[0] if exc.args else exc)}, 404)
        except (ValueError, TypeError, ZoneInfoNotFoundError) as exc:
            return json_response({"error": str(exc)}, 400)

    def control(self, request: Request, rest: str) -> Response:
        st = self.state
        body = read_body(request) if request.method in ("POST", "DELETE") else {}
        parts = [urllib.parse.unquote(p) for p in rest.split("/") if p]
        if parts == ["config"]:
            if request.method == "POST":
                return json_response(st.configure(**body))
            return json_response(st.config)
        if parts == ["clients"] and request.method == "POST":
            st.add_client(body["client_id"], body["client_secret"])
            return json_response({"ok": True}, 201)
        if len(parts) == 3 and parts[0] == "clients" and parts[2] == "secrets":
            st.set_client_secrets(parts[1], list(body["secrets"]))
            return json_response({"ok": True})
        if parts == ["users"]:
            if request.method == "POST":
                user = st.add_user(
                    body["email"],
                    name=body.get("name", ""),
                    zone=body.get("zone", "Europe/London"),
                    data_center=body.get("data_center", "us"),
                )
                return json_response(self._user_json(user), 201)
            return json_response([self._user_json(u) for u in st.users.values()])
        if len(parts) >= 3 and parts[0] == "users" and parts[2] == "events":
            email = parts[1]
            action = parts[3] if len(parts) > 3 else None
            if action is None and request.method == "GET":
                return json_response([self._event_json(e) for e in st.events_of(email)])
            if action is None:
                event = st.add_busy(
                    email, summary=body.get("summary", "Busy"), start=body["start"], end=body["end"]
                )
                return json_response(self._event_json(event), 201)
            if action == "delete":
                event = st.delete_as_user(
                    email, event_id=body.get("event_id"), event_uid=body.get("event_uid")
                )
                return json_response(self._event_json(event))
            if action == "update":
                event = st.update_as_user(
                    email,
                    event_id=body.get("event_id"),
                    event_uid=body.get("event_uid"),
                    start=body.get("start"),
                    end=body.get("end"),
                    summary=body.get("summary"),
                )
                return json_response(self._event_json(event))
        if (
            len(parts) == 4
            and parts[0] == "users"
            and parts[2] == "conferencing"
            and parts[3] in ("disconnect", "reconnect")
            and request.method == "POST"
        ):
            profile = st.set_conferencing_connected(parts[1], parts[3] == "reconnect")
            return json_response(profile)
        if len(parts) == 3 and parts[0] == "users" and parts[2] == "expire_tokens":
            return json_response({"expired": st.expire_tokens(parts[1])})
        if parts == ["channels"]:
            with st.lock:
                return json_response([dict(channel) for channel in st.channels.values()])
        if parts == ["deliveries"]:
            return json_response(list(st.deliveries))
        if parts == ["writes"]:
            return json_response(list(st.writes))
        if parts == ["faults"]:
            if request.method == "POST":
                rule = st.faults.add(
                    body.get("match", "/v1/"),
                    body.get("status", 500),
                    int(body.get("count", 1)),
                    float(body.get("delay", 0)),
                )
                return json_response(rule, 201)
            if request.method == "DELETE":
                st.faults.clear()
            return json_response(st.faults.rules)
        if parts == ["reset"] and request.method == "POST":
            st.reset()
            return json_response({"ok": True})
        raise KeyError(f"No control {rest!r}")

    @staticmethod
    def _user_json(user: dict) -> dict:
        return {
            k: user[k]
            for k in ("email", "name", "zone", "data_center", "sub", "profile_id", "calendars")
        }

    @staticmethod
    def _event_json(event: dict) -> dict:
        out = CronofyState.snapshot(event)
        del out["start_ts"], out["end_ts"]
        for key in ("created", "updated"):
            out[key] = iso(event[key])
        return out
