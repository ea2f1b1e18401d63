"""The WSGI application of the fake Greenhouse: faults, then Harvest v1, v3, the token
endpoint or the sandbox screens."""

from __future__ import annotations

import contextlib
import time

from werkzeug.wrappers import Request, Response

from integrations.sandbox._common import json_response
from integrations.sandbox.greenhouse.activity_screen import ActivityScreenMixin
from integrations.sandbox.greenhouse.contract import NOT_FOUND, ApiError
from integrations.sandbox.greenhouse.control import ControlMixin
from integrations.sandbox.greenhouse.harvest_v1 import HarvestV1Mixin
from integrations.sandbox.greenhouse.harvest_v3 import HarvestV3Mixin
from integrations.sandbox.greenhouse.oauth import OAuthMixin
from integrations.sandbox.greenhouse.screens import ScreensMixin
from integrations.sandbox.greenhouse.state import GreenhouseState


class GreenhouseApp(
    HarvestV1Mixin, HarvestV3Mixin, OAuthMixin, ControlMixin, ScreensMixin, ActivityScreenMixin
):
    """WSGI application serving Harvest v1, v3, the token endpoint and the sandbox screens."""

    def __init__(self, state: GreenhouseState | None = None):
        self.state = state or GreenhouseState()

    def __call__(self, environ, start_response):
        request = Request(environ)
        try:
            response = self.dispatch(request)
        except ApiError as exc:
            response = json_response(exc.body, exc.status, exc.headers)
        return response(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        path = request.path
        if path.startswith("/_sandbox"):
            return self.sandbox(request)
        fault = self.state.faults.take(path, request.method)
        if fault and fault.get("after"):
            # Serve the request (a write lands), then fail as if the answer was lost.
            with contextlib.suppress(ApiError):
                self.route(request)
            if fault["delay"]:
                time.sleep(fault["delay"])
            status = fault["status"] or 500
            message = "Service Unavailable" if status == 503 else "Internal Server Error"
            return json_response({"message": message}, status)
        if fault:
            if fault["delay"]:
                time.sleep(fault["delay"])
            if fault["status"]:
                return json_response(
                    {
                        "message": "Internal Server Error"
                        if fault["status"] == 500
                        else "Service Unavailable"
                    },
                    fault["status"],
                )
        return self.route(request)

    def route(self, request: Request) -> Response:
        path = request.path
        if path.startswith("/v1/") or path == "/v1":
            return self.v1(request)
        if path.startswith("/v3/") or path == "/v3":
            return self.v3(request)
        if path.rstrip("/") == "/auth/token":
            return self.token(request)
        return json_response(NOT_FOUND, 404)
