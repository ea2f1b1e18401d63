"""The Cronofy API endpoints (``/v1/...``, bearer tokens): userinfo, account, calendars,
free/busy, events, channels and service-account authorizations."""

from __future__ import annotations

import re

from werkzeug.wrappers import Response

from integrations.sandbox._common import json_response
from integrations.sandbox.cronofy.contract import NEEDS, CronofyError, read_body
from integrations.sandbox.cronofy.state import CronofyState

# --------------------------------------------------------------------------------------------
# The WSGI app
# --------------------------------------------------------------------------------------------

API_ROUTES = [
    ("GET", re.compile(r"^/v1/userinfo$"), "userinfo"),
    ("GET", re.compile(r"^/v1/account$"), "account"),
    ("GET", re.compile(r"^/v1/calendars$"), "calendars"),
    ("GET", re.compile(r"^/v1/free_busy$"), "free_busy"),
    ("GET", re.compile(r"^/v1/free_busy/pages/(?P<page>\w+)$"), "free_busy_page"),
    ("GET", re.compile(r"^/v1/events$"), "events"),
    ("GET", re.compile(r"^/v1/events/pages/(?P<page>\w+)$"), "events_page"),
    ("POST", re.compile(r"^/v1/calendars/(?P<calendar_id>[^/]+)/events$"), "upsert"),
    ("DELETE", re.compile(r"^/v1/calendars/(?P<calendar_id>[^/]+)/events$"), "delete"),
    ("GET", re.compile(r"^/v1/channels$"), "list_channels"),
    ("POST", re.compile(r"^/v1/channels$"), "create_channel"),
    ("DELETE", re.compile(r"^/v1/channels/(?P<channel_id>[^/]+)$"), "close_channel"),
    ("POST", re.compile(r"^/v1/service_account_authorizations$"), "service_account"),
]


class ApiMixin:
    """The ``/v1`` endpoints of :class:`CronofyApp`."""

    state: CronofyState

    # API ---------------------------------------------------------------------------------
    def api_userinfo(self, request, token, base):
        st = self.state
        if token["kind"] == "service_account":
            service = st.service_accounts[token["sub"]]
            return json_response(
                {
                    "sub": token["sub"],
                    "cronofy.type": "service_account",
                    "cronofy.service_account.domain": service["domain"],
                }
            )
        user = st.user_by_sub(token["sub"])
        return json_response(
            {
                "sub": user["sub"],
                "cronofy.type": "account",
                "email": user["email"],
                "name": user["name"],
                "zoneinfo": user["zone"],
                "cronofy.data": {
                    "authorization": {"scope": token["scope"], "status": "active"},
                    "profiles": [
                        {
                            "provider_name": user["provider_name"],
                            "profile_id": user["profile_id"],
                            "profile_name": user["email"],
                            "profile_connected": True,
                            "profile_initial_sync_required": False,
                            "calendars": [self._calendar_json(user, c) for c in user["calendars"]],
                        }
                    ],
                    "conferencing_profiles": st.conferencing_profiles_json(user, base),
                },
            }
        )

    def api_account(self, request, token, base):
        user = self._account_user(token)
        return json_response(
            {
                "account": {
                    "account_id": user["sub"],
                    "email": user["email"],
                    "name": user["name"],
                    "default_tzid": user["zone"],
                }
            }
        )

    def _account_user(self, token) -> dict:
        if token["kind"] != "account":
            raise CronofyError(403, None)
        return self.state.user_by_sub(token["sub"])

    @staticmethod
    def _calendar_json(user: dict, calendar: dict) -> dict:
        return {
            "provider_name": user["provider_name"],
            "profile_id": user["profile_id"],
            "profile_name": user["email"],
            **calendar,
            "permission_level": "sandbox" if calendar["calendar_readonly"] else "unrestricted",
        }

    def _need(self, token: dict, what: str) -> None:
        if token["kind"] != "account":
            raise CronofyError(403, None)
        if not set(token["scope"].split()) & NEEDS[what]:
            raise CronofyError(403, None)

    def api_calendars(self, request, token, base):
        self._need(token, "calendars")
        user = self.state.user_by_sub(token["sub"])
        return json_response(
            {"calendars": [self._calendar_json(user, c) for c in user["calendars"]]}
        )

    def api_free_busy(self, request, token, base):
        self._need(token, "free_busy")
        items = self.state.query(token, request.args, "free_busy")
        return json_response(self.state.paged(token, items, "free_busy", base))

    def api_free_busy_page(self, request, token, base, page):
        self._need(token, "free_busy")
        return json_response(self.state.next_page(token, "free_busy", page))

    def api_events(self, request, token, base):
        self._need(token, "events")
        items = self.state.query(token, request.args, "events")
        return json_response(self.state.paged(token, items, "events", base))

    def api_events_page(self, request, token, base, page):
        self._need(token, "events")
        return json_response(self.state.next_page(token, "events", page))

    def api_upsert(self, request, token, base, calendar_id):
        self._need(token, "write")
        self.state.upsert(token, calendar_id, read_body(request))
        return Response("", status=202)

    def api_delete(self, request, token, base, calendar_id):
        self._need(token, "delete")
        self.state.delete(token, calendar_id, read_body(request))
        return Response("", status=202)

    def api_list_channels(self, request, token, base):
        self._account_user(token)
        return json_response(self.state.list_channels(token))

    def api_create_channel(self, request, token, base):
        self._account_user(token)
        return json_response(self.state.create_channel(token, read_body(request)))

    def api_close_channel(self, request, token, base, channel_id):
        self._account_user(token)
        self.state.close_channel(token, channel_id)
        return Response("", status=202)

    def api_service_account(self, request, token, base):
        self.state.service_account_authorizations(token, read_body(request))
        return Response("", status=202)
