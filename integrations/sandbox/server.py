"""One threaded loopback HTTP server hosting the Greenhouse and Lever fakes.

Mounts (``url`` = ``http://127.0.0.1:<port>``):

* Greenhouse Harvest v1 ``{url}/greenhouse/v1``, v3 ``{url}/greenhouse/v3``, token endpoint
  ``{url}/greenhouse/auth/token``, sandbox screen ``{url}/greenhouse/_sandbox/``; further
  companies (``POST {url}/greenhouse/_sandbox/api/companies``, see ``greenhouse/companies.py``)
  answer their own credentials at the same addresses, screens at
  ``{url}/greenhouse/companies/<key>/_sandbox/``.
* Lever API ``{url}/lever/v1``, OAuth ``{url}/lever/oauth/authorize`` and
  ``{url}/lever/oauth/token``, sandbox screen ``{url}/lever/_sandbox/``.
* Twilio Messaging ``{url}/twilio/2010-04-01/...`` (phones ``{url}/twilio/_sandbox/``), SendGrid
  ``{url}/sendgrid/v3/...`` (outbox ``{url}/sendgrid/_sandbox/``), TextUs Next ``{url}/textus/...``
  (phones ``{url}/textus/_sandbox/``); see those modules for credentials.
* Cronofy ``{url}/cronofy`` (API and OAuth of the US data center; ``{url}/cronofy/uk`` etc. for
  the others), people and calendars ``{url}/cronofy/_sandbox/``.

Default credentials:

* Greenhouse v1 key ``sandbox-harvest-key`` (every endpoint) and ``sandbox-harvest-limited``
  (everything except "GET: List Applications" and "POST: Add Note").
* Greenhouse v3 client ``sandbox-client-id`` / ``sandbox-client-secret`` (all scopes).
* Lever API key ``sandbox-lever-key``; OAuth client ``sandbox-lever-client`` /
  ``sandbox-lever-secret``.

Usage::

    with SandboxServer() as srv:
        requests.get(f"{srv.url}/greenhouse/v1/jobs", auth=("sandbox-harvest-key", ""))
        srv.greenhouse.move_application(app_id, stage_id)

    python -m integrations.sandbox.server --port 8100 --state-file var/sandbox.json

With a state file, every write is saved as JSON and replayed over the regenerated company
on restart (the file also pins the seed and the time anchor).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import threading
from pathlib import Path

from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Response

from integrations.sandbox import cronofy as cy
from integrations.sandbox import greenhouse as gh
from integrations.sandbox import lever as lv
from integrations.sandbox import sendgrid as sg
from integrations.sandbox import textus as tx
from integrations.sandbox import twilio as tw
from integrations.sandbox.atsdata import generate_company


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code="-", size="-") -> None:
        pass


def _root_app(environ, start_response):
    if environ.get("PATH_INFO", "/") not in ("", "/"):
        return Response("Not found", status=404)(environ, start_response)
    body = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><link rel='icon' href='data:,'><title>ATS sandbox</title>"
        "<style>body{font-family:system-ui,sans-serif;margin:40px}li{margin:8px 0}</style>"
        "</head><body><h1>ATS sandbox</h1><ul>"
        "<li><a href='/greenhouse/_sandbox/'>Sandbox Greenhouse</a> (Harvest v1 at "
        "<code>/greenhouse/v1</code>, v3 at <code>/greenhouse/v3</code>)</li>"
        "<li><a href='/lever/_sandbox/'>Sandbox Lever</a> (API at <code>/lever/v1</code>, "
        "OAuth at <code>/lever/oauth/</code>)</li>"
        "<li><a href='/twilio/_sandbox/'>Sandbox Twilio phones</a></li>"
        "<li><a href='/sendgrid/_sandbox/'>Sandbox SendGrid outbox</a></li>"
        "<li><a href='/textus/_sandbox/'>Sandbox TextUs phones</a></li>"
        "<li><a href='/cronofy/_sandbox/'>Sandbox Cronofy calendars</a></li></ul></body></html>"
    )
    return Response(body, mimetype="text/html")(environ, start_response)


class SandboxServer:
    """Serve both fakes from one threaded werkzeug server in a daemon thread."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        seed: int = 1,
        n_candidates: int = 300,
        n_applications: int | None = None,
        n_jobs: int = 20,
        state_file: str | os.PathLike | None = None,
        greenhouse_rate_limit: int | None = 50,
        greenhouse_v3_rate_limit: int | None = 300,
        legacy_epoch_retry_after: bool = False,
        lever_rate: float | None = 10.0,
        lever_burst: int = 20,
        token_lifetime: float = 3600,
        webhook_retry_scale: float = 1 / 60,
        now: float | None = None,
    ):
        self.host = host
        self.port = port
        self.state_file = Path(state_file) if state_file else None
        self._save_lock = threading.Lock()
        saved = None
        if self.state_file and self.state_file.exists():
            saved = json.loads(self.state_file.read_text())
            seed = saved.get("seed", seed)
            now = saved.get("now", now)
            n_candidates = saved.get("n_candidates", n_candidates)
            n_applications = saved.get("n_applications", n_applications)
            n_jobs = saved.get("n_jobs", n_jobs)
        if now is None:
            now = generate_company(seed, n_jobs=1, n_candidates=1, n_applications=0).now
        self.params = {
            "seed": seed,
            "now": now,
            "n_candidates": n_candidates,
            "n_applications": n_applications,
            "n_jobs": n_jobs,
        }

        def company_for(company_seed: int):
            return generate_company(
                company_seed, n_jobs=n_jobs, n_candidates=n_candidates,
                n_applications=n_applications, now=now,
            )  # fmt: skip

        def factory():
            return company_for(seed)

        self.greenhouse = gh.GreenhouseState(
            factory,
            rate_limit=greenhouse_rate_limit,
            legacy_epoch_retry_after=legacy_epoch_retry_after,
            v3_rate_limit=greenhouse_v3_rate_limit,
            token_lifetime=token_lifetime,
            retry_scale=webhook_retry_scale,
        )
        self.lever = lv.LeverState(
            factory,
            rate=lever_rate,
            burst=lever_burst,
            token_lifetime=token_lifetime,
            retry_scale=webhook_retry_scale,
        )
        # Companies of their own ("Use the sandbox" of a new organization), each with its
        # credentials, data seeded from its key, webhook and screens.
        self.greenhouse_companies = gh.GreenhouseCompanies(
            self.greenhouse,
            company_for,
            state_options={
                "rate_limit": greenhouse_rate_limit,
                "legacy_epoch_retry_after": legacy_epoch_retry_after,
                "v3_rate_limit": greenhouse_v3_rate_limit,
                "token_lifetime": token_lifetime,
                "retry_scale": webhook_retry_scale,
            },
        )
        if saved:
            self.greenhouse.replay(saved.get("greenhouse", []))
            self.lever.replay(saved.get("lever", []))
            self.greenhouse_companies.restore(saved.get("greenhouse_companies", []))
        self.greenhouse.on_change = self.save
        self.greenhouse_companies.on_change = self.save
        self.twilio = tw.TwilioState()
        self.sendgrid = sg.SendGridState(retry_scale=webhook_retry_scale)
        self.textus = tx.TextUsState(retry_scale=webhook_retry_scale)
        self.cronofy = cy.CronofyState(seed=seed, retry_scale=webhook_retry_scale)
        self.lever.on_change = self.save
        self.app = DispatcherMiddleware(
            _root_app,
            {
                "/greenhouse": gh.GreenhouseCompaniesApp(self.greenhouse_companies),
                "/lever": lv.LeverApp(self.lever),
                "/twilio": tw.TwilioApp(self.twilio),
                "/sendgrid": sg.SendGridApp(self.sendgrid),
                "/textus": tx.TextUsApp(self.textus),
                "/cronofy": cy.CronofyApp(self.cronofy),
            },
        )
        self._server = None
        self._thread: threading.Thread | None = None

    # persistence -------------------------------------------------------------------------------
    def save(self) -> None:
        if not self.state_file:
            return
        with self._save_lock:
            with self.greenhouse.lock:
                gh_writes = list(self.greenhouse.writes)
            with self.lever.lock:
                lv_writes = list(self.lever.writes)
            data = {
                **self.params,
                "greenhouse": gh_writes,
                "lever": lv_writes,
                "greenhouse_companies": self.greenhouse_companies.export(),
            }
            self.state_file.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.state_file.parent, prefix=".sandbox-")
            with os.fdopen(fd, "w") as fh:
                json.dump(data, fh)
            os.replace(tmp, self.state_file)

    # lifecycle -----------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> SandboxServer:
        self._server = make_server(
            self.host, self.port, self.app, threaded=True, request_handler=_QuietHandler
        )
        self._server.daemon_threads = True
        self.port = self._server.server_port
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="sandbox-http", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        self.greenhouse.dispatcher.stop()
        self.greenhouse_companies.stop()
        self.lever.dispatcher.stop()
        self.twilio.scheduler.stop()
        self.sendgrid.dispatcher.stop()
        self.textus.scheduler.stop()
        self.textus.dispatcher.stop()
        self.cronofy.dispatcher.stop()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def describe(self) -> str:
        u = self.url
        return "\n".join(
            [
                f"Sandbox running at {u}/",
                f"  Greenhouse screen   {u}/greenhouse/_sandbox/",
                f"  Harvest v1          {u}/greenhouse/v1  keys: {gh.DEFAULT_V1_KEY} (all), "
                f"{gh.LIMITED_V1_KEY} (no List Applications / Add Note)",
                f"  Harvest v3          {u}/greenhouse/v3  token: {u}/greenhouse/auth/token "
                f"client {gh.DEFAULT_V3_CLIENT_ID} / {gh.DEFAULT_V3_CLIENT_SECRET}",
                f"  Greenhouse companies POST {u}/greenhouse/_sandbox/api/companies "
                f"(each its own credentials, data, webhook and screen)",
                f"  Lever screen        {u}/lever/_sandbox/",
                f"  Lever API           {u}/lever/v1  key: {lv.DEFAULT_API_KEY}",
                f"  Lever OAuth         {u}/lever/oauth/authorize, {u}/lever/oauth/token "
                f"client {lv.DEFAULT_CLIENT_ID} / {lv.DEFAULT_CLIENT_SECRET}",
                f"  Twilio phones       {u}/twilio/_sandbox/",
                f"  Twilio API          {u}/twilio/2010-04-01  account {tw.DEFAULT_ACCOUNT_SID} "
                f"/ {tw.DEFAULT_AUTH_TOKEN}, service {tw.DEFAULT_SERVICE_SID}",
                f"  SendGrid outbox     {u}/sendgrid/_sandbox/",
                f"  SendGrid API        {u}/sendgrid/v3  key: {sg.DEFAULT_API_KEY}",
                f"  TextUs phones       {u}/textus/_sandbox/",
                f"  TextUs API          {u}/textus  token: {tx.DEFAULT_TOKEN} "
                f"accounts: {', '.join(tx.DEFAULT_ACCOUNTS)}",
                f"  Cronofy calendars   {u}/cronofy/_sandbox/",
                f"  Cronofy API/OAuth   {u}/cronofy (US; {u}/cronofy/uk … for other data centers)"
                f"  client {cy.DEFAULT_CLIENT_ID} / {cy.DEFAULT_CLIENT_SECRET}",
            ]
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run the Greenhouse and Lever sandbox fakes.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--candidates", type=int, default=300)
    parser.add_argument("--applications", type=int, default=None)
    parser.add_argument("--state-file", default=None)
    parser.add_argument(
        "--rate-limit", type=int, default=50, help="Greenhouse v1 per 10 s; 0 = off"
    )
    args = parser.parse_args(argv)
    srv = SandboxServer(
        host=args.host,
        port=args.port,
        seed=args.seed,
        n_candidates=args.candidates,
        n_applications=args.applications,
        state_file=args.state_file,
        greenhouse_rate_limit=args.rate_limit or None,
    )
    srv.start()
    print(srv.describe(), flush=True)
    try:
        srv._thread.join()
    except KeyboardInterrupt:
        pass
    finally:
        srv.stop()


if __name__ == "__main__":
    main()
