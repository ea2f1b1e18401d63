"""Several sandbox Greenhouse companies behind one mount.

The default company (:class:`GreenhouseState` given at construction, the one the demo and the
tests use) answers everything that names no other company. Further companies are made by
``POST /_sandbox/api/companies`` (``{"key": "..."}`` optional, ``"name"`` optional): each has
its own data (the same generator, seeded from the company key, so a key always gives the same
company), its own credentials (a Harvest v1 key and a v3 client id/secret), its own webhook
and its own screens at ``/companies/<key>/_sandbox/``. Creating a key that exists returns it
unchanged (idempotent). ``GET /_sandbox/api/companies`` lists them; ``GET
/_sandbox/api/companies/<key>`` shows one.

Requests reach a company by its credentials: ``/v1/...`` by the Basic-auth API key,
``/auth/token`` by the client id, ``/v3/...`` by the Bearer token a company issued. Anything
under ``/companies/<key>/`` goes to that company whatever it carries (its screens, its control
API, and its Harvest API for a client given that address). Credentials one company issued are
unknown to every other: each sees only its own records.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
from collections.abc import Callable

from werkzeug.wrappers import Request

from integrations.sandbox._common import json_response
from integrations.sandbox.atsdata import Company
from integrations.sandbox.greenhouse.app import GreenhouseApp
from integrations.sandbox.greenhouse.params import read_json
from integrations.sandbox.greenhouse.state import GreenhouseState

KEY_RE = re.compile(r"^[a-z0-9][a-z0-9-]{2,47}$")
COMPANIES_PATH = "/_sandbox/api/companies"


def company_seed(key: str) -> int:
    """The generator seed of the company ``key`` (stable across restarts and machines)."""
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:6], "big")


class GreenhouseCompanies:
    """The default company and the companies created since, each a :class:`GreenhouseState`.

    ``factory(seed)`` generates a company's data; ``state_options`` are the keyword arguments
    every new company's state gets (rate limits, token lifetime, webhook retry scale).
    """

    def __init__(
        self,
        default: GreenhouseState,
        factory: Callable[[int], Company],
        state_options: dict | None = None,
        on_change: Callable[[], None] | None = None,
    ):
        self.default = default
        self.factory = factory
        self.state_options = dict(state_options or {})
        self.on_change = on_change
        self.lock = threading.RLock()
        self.companies: dict[str, GreenhouseState] = {}
        self.info: dict[str, dict] = {}
        self.apps: dict[str, GreenhouseApp] = {}

    # companies -----------------------------------------------------------------------------------
    def create(
        self,
        key: str | None = None,
        name: str = "",
        *,
        credentials: dict | None = None,
    ) -> tuple[dict, bool]:
        """The company ``key`` (a new random key when None) and whether it was made now.
        ``credentials`` restores saved ones (loading a state file); else new ones are made."""
        with self.lock:
            if key is None:
                key = f"co-{secrets.token_hex(5)}"
            if not KEY_RE.match(key):
                raise ValueError(
                    "key: use 3 to 48 lowercase letters, digits or dashes, starting with a "
                    "letter or digit"
                )
            if key in self.companies:
                return self.describe(key), False
            creds = credentials or {
                "api_key": f"sandbox-harvest-{key}-{secrets.token_hex(8)}",
                "client_id": f"sandbox-client-{key}",
                "client_secret": secrets.token_hex(16),
            }
            seed = company_seed(key)
            # Only this company's own credentials: none of the default company's.
            state = GreenhouseState(
                lambda: self.factory(seed),
                on_change=self._changed,
                credentials=creds,
                title=f"Sandbox Greenhouse · {name or key}",
                **self.state_options,
            )
            self.companies[key] = state
            self.info[key] = {"key": key, "name": name or key, "seed": seed, **creds}
            self.apps[key] = GreenhouseApp(state)
        self._changed()
        return self.describe(key), True

    def describe(self, key: str) -> dict:
        state = self.companies[key]
        info = self.info[key]
        return {
            **info,
            "screen_path": f"/companies/{key}/_sandbox/",
            "webhook": dict(state.webhook),
            "candidates": len(state.co.candidates),
            "jobs": len(state.co.jobs),
        }

    def state_for(self, key: str) -> GreenhouseState | None:
        return self.companies.get(key)

    # who is asking ------------------------------------------------------------------------------
    def by_api_key(self, api_key: str) -> str | None:
        with self.lock:
            return next((k for k, s in self.companies.items() if api_key in s.v1_keys), None)

    def by_client_id(self, client_id: str) -> str | None:
        with self.lock:
            return next((k for k, s in self.companies.items() if client_id in s.v3_clients), None)

    def by_token(self, token: str) -> str | None:
        with self.lock:
            return next((k for k, s in self.companies.items() if token in s.tokens), None)

    def key_for(self, request: Request) -> str | None:
        """The company a Harvest or token request belongs to (None: the default company)."""
        path = request.path
        auth = request.authorization
        if path.startswith("/v1") and auth and auth.type == "basic" and auth.username:
            return self.by_api_key(auth.username)
        if path.rstrip("/") == "/auth/token" and auth and auth.type == "basic":
            return self.by_client_id(auth.username or "")
        if path.startswith("/v3"):
            header = request.headers.get("Authorization", "")
            if header[:7].lower() == "bearer ":
                return self.by_token(header[7:].strip())
        return None

    # persistence --------------------------------------------------------------------------------
    def export(self) -> list[dict]:
        """Every company's key, name, credentials, webhook and writes (for the state file)."""
        with self.lock:
            out = []
            for key, state in self.companies.items():
                with state.lock:
                    info = self.info[key]
                    out.append(
                        {
                            "key": key,
                            "name": info["name"],
                            "credentials": {
                                k: info[k] for k in ("api_key", "client_id", "client_secret")
                            },
                            "webhook": dict(state.webhook),
                            "writes": list(state.writes),
                        }
                    )
            return out

    def restore(self, saved: list[dict]) -> None:
        """Recreate saved companies: same data, credentials and webhook (not pinged again)."""
        for item in saved:
            self.create(item["key"], item.get("name", ""), credentials=item["credentials"])
            state = self.companies[item["key"]]
            state.replay(item.get("writes", []))
            if item.get("webhook"):
                state.webhook = dict(item["webhook"])

    def _changed(self) -> None:
        if self.on_change:
            self.on_change()

    def stop(self) -> None:
        with self.lock:
            for state in self.companies.values():
                state.dispatcher.stop()


class GreenhouseCompaniesApp:
    """WSGI app: the companies' control API, ``/companies/<key>/...``, else a request goes to
    the company its credentials belong to (the default company when they belong to none)."""

    def __init__(self, companies: GreenhouseCompanies):
        self.companies = companies
        self.default_app = GreenhouseApp(companies.default)

    def __call__(self, environ, start_response):
        request = Request(environ)
        path = request.path
        if path.rstrip("/") == COMPANIES_PATH or path.startswith(COMPANIES_PATH + "/"):
            return self.control(request)(environ, start_response)
        if path.startswith("/companies/"):
            key, _, rest = path[len("/companies/") :].partition("/")
            app = self.companies.apps.get(key)
            if app is None:
                return json_response(
                    {"message": f"No sandbox company {key!r}: create it first."}, 404
                )(environ, start_response)
            prefix = f"/companies/{key}"
            environ = dict(environ)
            environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + prefix
            environ["PATH_INFO"] = "/" + rest
            answer = app(environ, start_response)
            if rest.startswith("_sandbox/api/webhook") and request.method == "POST":
                self.companies._changed()  # a saved webhook survives a restart
            return answer
        key = self.companies.key_for(request)
        app = self.companies.apps[key] if key else self.default_app
        return app(environ, start_response)

    def control(self, request: Request):
        root = request.script_root
        tail = request.path[len(COMPANIES_PATH) :].strip("/")
        if tail:
            if request.method != "GET" or tail not in self.companies.companies:
                return json_response({"message": f"No sandbox company {tail!r}."}, 404)
            return json_response(self._with_urls(self.companies.describe(tail), root))
        if request.method == "GET":
            with self.companies.lock:
                keys = list(self.companies.companies)
            return json_response([self._with_urls(self.companies.describe(k), root) for k in keys])
        if request.method != "POST":
            return json_response({"message": "Use GET or POST."}, 405)
        body = read_json(request) if request.get_data() else {}
        key = body.get("key") or None
        name = str(body.get("name") or "")[:100]
        try:
            company, created = self.companies.create(key, name)
        except ValueError as exc:
            return json_response({"message": str(exc)}, 422)
        return json_response(self._with_urls(company, root), 201 if created else 200)

    @staticmethod
    def _with_urls(company: dict, root: str) -> dict:
        return {**company, "screen_url_path": f"{root}{company['screen_path']}"}
