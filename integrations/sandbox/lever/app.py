"""The WSGI application of the fake Lever: OAuth, the API and the sandbox screens."""

from __future__ import annotations

import contextlib
import time

from werkzeug.wrappers import Request, Response

from integrations.sandbox._common import json_response
from integrations.sandbox.lever.api import ApiMixin
from integrations.sandbox.lever.contract import LeverError
from integrations.sandbox.lever.control import ControlMixin
from integrations.sandbox.lever.notes_screen import NotesScreenMixin
from integrations.sandbox.lever.oauth import OAuthMixin
from integrations.sandbox.lever.screens import ScreensMixin
from integrations.sandbox.lever.state import LeverState


class LeverApp(OAuthMixin, ApiMixin, ControlMixin, ScreensMixin, NotesScreenMixin):
    def __init__(self, state: LeverState | None = None):
        self.state = state or LeverState()

    def __call__(self, environ, start_response):
        request = Request(environ)
        try:
            response = self.dispatch(request)
        except LeverError as exc:
            response = json_response({"code": exc.code, "message": exc.message}, exc.status)
        return response(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        path = request.path
        if path.startswith("/_sandbox"):
            return self.sandbox(request)
        fault = self.state.faults.take(path, request.method)
        if fault and fault.get("after"):
            # Serve the request (a write lands), then fail as if the answer was lost.
            with contextlib.suppress(LeverError):
                self.route(request)
            if fault["delay"]:
                time.sleep(fault["delay"])
            code = "ServiceUnavailable" if fault["status"] == 503 else "InternalServerError"
            raise LeverError(fault["status"] or 500, code, "Injected sandbox failure")
        if fault:
            if fault["delay"]:
                time.sleep(fault["delay"])
            if fault["status"]:
                code = "ServiceUnavailable" if fault["status"] == 503 else "InternalServerError"
                raise LeverError(fault["status"], code, "Injected sandbox failure")
        return self.route(request)

    def route(self, request: Request) -> Response:
        path = request.path
        # The real Lever serves https://auth.lever.co/authorize (and /oauth/token).
        if path.rstrip("/") in ("/authorize", "/oauth/authorize"):
            return self.authorize(request)
        if path.rstrip("/") == "/oauth/token":
            return self.token(request)
        if path.startswith("/v1/"):
            return self.api(request)
        raise LeverError(404, "ResourceNotFound", f"{path} was not found")
