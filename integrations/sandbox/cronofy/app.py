"""The WSGI application of the fake Cronofy: every data center's API and app hosts, plus
the sandbox controls."""

from __future__ import annotations

import time

from werkzeug.wrappers import Request, Response

from integrations.sandbox._common import json_response
from integrations.sandbox.cronofy.api import API_ROUTES, ApiMixin
from integrations.sandbox.cronofy.contract import DATA_CENTERS, CronofyError, read_body
from integrations.sandbox.cronofy.control import ControlMixin
from integrations.sandbox.cronofy.screens import ScreensMixin
from integrations.sandbox.cronofy.state import CronofyState


class CronofyApp(ApiMixin, ControlMixin, ScreensMixin):
    """WSGI application: the API and app hosts of every data center, plus the controls."""

    def __init__(self, state: CronofyState | None = None):
        self.state = state or CronofyState()

    def __call__(self, environ, start_response):
        request = Request(environ)
        try:
            response = self.dispatch(request)
        except CronofyError as exc:
            if exc.body is None:
                response = Response("", status=exc.status)
                for key, value in exc.headers.items():
                    response.headers[key] = value
            else:
                response = json_response(exc.body, exc.status, exc.headers)
        return response(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        path = request.path
        if path.startswith("/_sandbox"):
            return self.sandbox(request, path)
        data_center, prefix = "us", ""
        parts = path.split("/", 2)
        if len(parts) > 1 and parts[1] in DATA_CENTERS and parts[1] != "us":
            data_center, prefix = parts[1], "/" + parts[1]
            path = "/" + (parts[2] if len(parts) > 2 else "")
        base = request.host_url.rstrip("/") + request.script_root + prefix
        fault = self.state.faults.take(path)
        if fault:
            if fault["delay"]:
                time.sleep(fault["delay"])
            if fault["status"]:
                raise CronofyError(int(fault["status"]), None)
        if path.rstrip("/") == "/oauth/authorize":
            return self.authorize(request, data_center, base, enterprise=False)
        if path.rstrip("/") == "/enterprise_connect/oauth/authorize":
            return self.authorize(request, data_center, base, enterprise=True)
        if path == "/oauth/token" and request.method == "POST":
            form = read_body(request)
            self.state.rate_limit(str(form.get("client_id")), data_center)
            return json_response(self.state.token_request(form, data_center))
        if path == "/oauth/token/revoke" and request.method == "POST":
            self.state.revoke(read_body(request))
            return Response("", status=200)
        for method, pattern, name in API_ROUTES:
            match = pattern.match(path)
            if match and request.method == method:
                header = request.headers.get("Authorization", "")
                token = header[7:].strip() if header.lower().startswith("bearer ") else None
                info = self.state.authenticate(token, data_center)
                self.state.rate_limit(info["client_id"], data_center)
                return getattr(self, f"api_{name}")(request, info, base, **match.groupdict())
        raise CronofyError(404, None)
