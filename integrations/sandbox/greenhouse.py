"""Fake Greenhouse Harvest API (v1 and v3) plus webhooks, as a WSGI application.

Mount the app anywhere; paths below are relative to the mount.

Harvest v1 (``/v1/...``)
    HTTP Basic with the API key as username and an empty password.  Missing or unknown key:
    ``401 {"message":"Invalid Basic Auth credentials"}``.  Each key carries a set of endpoint
    grants named like Greenhouse's Dev Center labels (``"GET: List Candidates"``...); a missing
    grant gives ``403 {"message":"This API Key does not have permission for this endpoint"}``.
    Unknown routes and records give ``404 {"message":"Resource not found"}``; a GET carrying a
    body gives 403.  Paging, Link headers, filters and the per-10-second rate limit follow the
    Harvest documentation.

    On-Behalf-Of policy: every write needs an ``On-Behalf-Of`` header holding the numeric id of
    an existing user.  A missing header, a non-numeric value (for example an e-mail address)
    or an unknown id is refused with **403** and a ``{"message": ...}`` body; nothing is
    written.  Successful ``PATCH /v1/candidates/{id}`` returns the candidate object (not
    wrapped in a list).

Harvest v3 (``/v3/...``) and ``POST /auth/token``
    Client-credentials tokens (Basic ``client_id:client_secret``, form
    ``grant_type=client_credentials&sub=<user id>``) used as Bearer tokens.  Cursor paging,
    id-descending order, ``created_at``/``updated_at`` pipe filters, scopes named
    ``harvest:<resource>:list`` and ``harvest:notes:create``, fixed 30-second rate window.

Webhooks
    Configure with :meth:`GreenhouseState.configure_webhook`.  Deliveries carry
    ``Greenhouse-Event-ID``, ``Signature: sha256 <hex HMAC-SHA256(secret, raw body)>`` and a
    Greenhouse-style escaped JSON body; only HTTP 200 counts as success; retries follow
    ``retry_delays`` (seconds) multiplied by ``retry_scale``.

Sandbox control (``/_sandbox/``)
    An HTML page and a JSON API under ``/_sandbox/api/`` (no auth; loopback use only).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from integrations.sandbox._common import (
    Faults,
    WebhookDispatcher,
    WindowLimiter,
    esc,
    html_page,
    json_response,
    redirect,
)
from integrations.sandbox.atsdata import Company, generate_company, iso, parse_iso

ALL_V1_PERMISSIONS = [
    "GET: List Candidates",
    "GET: Retrieve Candidate",
    "PATCH: Edit Candidate",
    "POST: Add Candidate",
    "POST: Add Attachment",
    "POST: Add Application",
    "POST: Add Note",
    "POST: Add E-mail",
    "GET: List Applications",
    "GET: Retrieve Application",
    "POST: Advance Application",
    "POST: Move Application",
    "POST: Reject Application",
    "POST: Unreject Application",
    "POST: Hire Application",
    "GET: Retrieve Activity Feed",
    "GET: List Jobs",
    "GET: Retrieve Job",
    "GET: List job stages",
    "GET: List job stages for job",
    "GET: Retrieve job stage",
    "GET: List Departments",
    "GET: Retrieve Department",
    "GET: List Offices",
    "GET: Retrieve Office",
    "GET: List Users",
    "GET: Retrieve User",
    "GET: List User Roles",
    "GET: Get custom fields",
    "GET: List sources",
    "GET: List candidate tags",
    "GET: List tags applied to candidate",
]
V3_RESOURCES = [
    "departments",
    "offices",
    "jobs",
    "job_stages",
    "users",
    "user_roles",
    "custom_fields",
    "sources",
    "tags",
    "candidates",
    "applications",
    "notes",
]
ALL_V3_SCOPES = [f"harvest:{r}:list" for r in V3_RESOURCES] + ["harvest:notes:create"]

DEFAULT_V1_KEY = "sandbox-harvest-key"
LIMITED_V1_KEY = "sandbox-harvest-limited"
DEFAULT_V3_CLIENT_ID = "sandbox-client-id"
DEFAULT_V3_CLIENT_SECRET = "sandbox-client-secret"

NOT_FOUND = {"message": "Resource not found"}
BAD_AUTH = {"message": "Invalid Basic Auth credentials"}
NO_PERMISSION = {"message": "This API Key does not have permission for this endpoint"}
ATTACHMENT_CONTENT_TYPES = {
    "application/pdf",
    "application/msword",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "text/plain",
    "application/rtf",
    "text/rtf",
    "image/png",
    "image/jpeg",
    "image/gif",
    "application/vnd.oasis.opendocument.text",
}
CURSOR_ERROR = {"errors": ["When passing a cursor, do not include other query params."]}


class ApiError(Exception):
    def __init__(self, status: int, body, headers: dict | None = None):
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or {}


def validation_error(field: str, message: str) -> ApiError:
    return ApiError(
        422, {"message": "Validation error", "errors": [{"message": message, "field": field}]}
    )


def greenhouse_json(obj) -> bytes:
    """Serialise like Greenhouse (Rails): compact, UTF-8, with <, >, & written as \\u escapes."""
    text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
    text = (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )
    return text.encode("utf-8")


def greenhouse_signature(secret: str, body: bytes) -> str:
    """The ``Signature`` header value for a raw webhook body."""
    return "sha256 " + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class GreenhouseState:
    """All mutable state of the fake, plus the operations tests and the control API use.

    Public mutators (each records a write, fires webhooks, and persists when configured):
    :meth:`move_application`, :meth:`reject_application`, :meth:`unreject_application`,
    :meth:`hire_application`, :meth:`create_candidate`, :meth:`add_note`, :meth:`add_email`,
    :meth:`patch_candidate`, :meth:`add_attachment`.  Configuration: :meth:`add_v1_key`,
    :meth:`add_v3_client`, :meth:`set_rate_limit`, :meth:`configure_webhook`,
    :meth:`inject_fault`, :meth:`reset`.  Records: :attr:`writes`, :attr:`deliveries`.
    """

    def __init__(
        self,
        company_factory: Callable[[], Company] | None = None,
        rate_limit: int | None = 50,
        legacy_epoch_retry_after: bool = False,
        v3_rate_limit: int | None = 300,
        token_lifetime: float = 3600,
        retry_delays: list[float] | None = None,
        retry_scale: float = 1 / 60,
        on_change: Callable[[], None] | None = None,
    ):
        self.company_factory = company_factory or generate_company
        self.lock = threading.RLock()
        self.limiter = WindowLimiter(rate_limit, 10.0)
        self.legacy_epoch_retry_after = legacy_epoch_retry_after
        # Seconds the epoch headers (X-RateLimit-Reset, legacy Retry-After) lag the real reset:
        # Greenhouse rounds epochs to the second and clocks differ, so one can have passed
        # when it arrives while the window is still closed.
        self.legacy_epoch_lag = 0.0
        self.v3_limiter = WindowLimiter(v3_rate_limit, 30.0)
        self.token_lifetime = token_lifetime
        self.faults = Faults()
        self.on_change = on_change
        self.writes: list[dict] = []
        self.deliveries: list[dict] = []
        self.dispatcher = WebhookDispatcher(
            self.deliveries,
            retry_delays if retry_delays is not None else [60, 900, 3600, 7200, 14400, 28800],
            retry_scale,
            is_success=lambda code: code == 200,
            user_agent="Greenhouse-Webhooks/1.0 (sandbox)",
        )
        self.webhook: dict = {"id": 1, "url": None, "secret": None, "enabled": False}
        self.v1_keys: dict[str, set[str] | None] = {}
        self.v3_clients: dict[str, dict] = {}
        self.tokens: dict[str, dict] = {}
        self._token_secret = secrets.token_bytes(16)
        self._replaying = False
        self._install_defaults()
        self._load_company()

    # setup ---------------------------------------------------------------------------------------
    def _install_defaults(self) -> None:
        self.v1_keys = {
            DEFAULT_V1_KEY: None,
            LIMITED_V1_KEY: {
                p.lower()
                for p in ALL_V1_PERMISSIONS
                if p not in ("GET: List Applications", "POST: Add Note")
            },
        }
        self.v3_clients = {
            DEFAULT_V3_CLIENT_ID: {"secret": DEFAULT_V3_CLIENT_SECRET, "scopes": None}
        }

    def _load_company(self) -> None:
        with self.lock:
            self.co = self.company_factory()
            self.version = 0
            self._cache: dict = {}
            self._apps_sorted: list[int] = sorted(self.co.applications)
            self._cands_sorted: list[int] = sorted(self.co.candidates)

    def reset(self) -> None:
        """Regenerate the company and forget writes, deliveries, faults and extra credentials."""
        with self.lock:
            self.dispatcher.cancel_all()
            self.writes.clear()
            self.deliveries.clear()
            self.faults.clear()
            self.tokens.clear()
            self.limiter.reset()
            self.v3_limiter.reset()
            self.legacy_epoch_lag = 0.0
            self.webhook = {"id": 1, "url": None, "secret": None, "enabled": False}
            self._install_defaults()
            self._load_company()
        self._changed()

    def _changed(self) -> None:
        if self.on_change and not self._replaying:
            self.on_change()

    def _bump(self) -> None:
        self.version += 1
        if len(self._cache) > 256:
            self._cache.clear()

    # credentials / configuration -----------------------------------------------------------------
    def add_v1_key(self, key: str, permissions: list[str] | None = None) -> None:
        """Add or replace a v1 API key; ``permissions=None`` grants every endpoint."""
        with self.lock:
            self.v1_keys[key] = None if permissions is None else {p.lower() for p in permissions}

    def add_v3_client(self, client_id: str, client_secret: str, scopes: list[str] | None = None):
        with self.lock:
            self.v3_clients[client_id] = {
                "secret": client_secret,
                "scopes": None if scopes is None else set(scopes),
            }

    def set_rate_limit(
        self,
        limit: int | None = 50,
        legacy_epoch_retry_after: bool | None = None,
        v3_limit: int | None | str = "unchanged",
        legacy_epoch_lag: float | None = None,
    ) -> None:
        """``legacy_epoch_lag`` makes ``X-RateLimit-Reset`` (and the epoch ``Retry-After`` of
        ``legacy_epoch_retry_after``) that many seconds earlier than the real reset, e.g. 10
        for epochs that have already passed when the 429 arrives."""
        self.limiter.limit = limit
        self.limiter.reset()
        if legacy_epoch_retry_after is not None:
            self.legacy_epoch_retry_after = legacy_epoch_retry_after
        if legacy_epoch_lag is not None:
            self.legacy_epoch_lag = float(legacy_epoch_lag)
        if v3_limit != "unchanged":
            self.v3_limiter.limit = v3_limit  # type: ignore[assignment]
            self.v3_limiter.reset()

    def inject_fault(self, prefix: str, status: int | None = 500, count: int = 1, delay=0.0):
        """Make the next ``count`` requests under ``prefix`` (e.g. ``/v1/applications``) fail
        with ``status`` (None = no error) after sleeping ``delay`` seconds."""
        return self.faults.add(prefix, status, count, delay)

    def configure_webhook(self, url: str | None, secret: str | None, enabled: bool = True) -> dict:
        """Save the webhook endpoint.  When enabled, a ping is POSTed synchronously; if it does
        not get HTTP 200 the hook is saved disabled, like Greenhouse."""
        hook = {"id": self.webhook.get("id", 1), "url": url, "secret": secret, "enabled": False}
        ping = None
        if enabled and url:
            body = greenhouse_json({"action": "ping", "payload": {"web_hook_id": hook["id"]}})
            headers = self._hook_headers(body, secret)
            code, error = self.dispatcher.post_now(url, body, headers)
            ping = {"http_status": code, "error": error}
            self.deliveries.append(
                {
                    "event_id": headers["Greenhouse-Event-ID"],
                    "action": "ping",
                    "url": url,
                    "status": "delivered" if code == 200 else "failed",
                    "attempts": [{"at": time.time(), "http_status": code, "error": error}],
                    "body": body.decode(),
                    "headers": headers,
                }
            )
            hook["enabled"] = code == 200
        self.webhook = hook
        return {**hook, "ping": ping}

    def _hook_headers(self, body: bytes, secret: str | None) -> dict:
        headers = {"Greenhouse-Event-ID": str(uuid.uuid4())}
        if secret:
            headers["Signature"] = greenhouse_signature(secret, body)
        return headers

    def _emit(self, action: str, app: dict) -> None:
        if self._replaying or not self.webhook.get("enabled") or not self.webhook.get("url"):
            return
        payload = {"action": action, "payload": {"application": self.webhook_application(app)}}
        body = greenhouse_json(payload)
        headers = self._hook_headers(body, self.webhook.get("secret"))
        entry = {"event_id": headers["Greenhouse-Event-ID"], "action": action}
        self.dispatcher.submit(entry, self.webhook["url"], body, headers)

    # records -------------------------------------------------------------------------------------
    def _record(self, kind: str, args: dict, source: str, at: float) -> dict:
        rec = {"kind": kind, "args": args, "source": source, "at": at}
        self.writes.append(rec)
        return rec

    def replay(self, writes: list[dict]) -> None:
        """Re-apply recorded writes (used when loading a state file); no webhooks fire."""
        self._replaying = True
        try:
            for w in writes:
                fn = getattr(self, w["kind"])
                fn(**w["args"], source=w.get("source", "replay"), at=w.get("at"))
        finally:
            self._replaying = False

    def get_application(self, app_id: int) -> dict:
        app = self.co.applications.get(int(app_id))
        if app is None:
            raise ApiError(404, NOT_FOUND)
        return app

    def get_candidate(self, cand_id: int) -> dict:
        cand = self.co.candidates.get(int(cand_id))
        if cand is None:
            raise ApiError(404, NOT_FOUND)
        return cand

    def _touch(self, app: dict, at: float) -> None:
        app["last_activity_at"] = at
        cand = self.co.candidates[app["candidate_id"]]
        cand["last_activity"] = max(cand["last_activity"], at)
        cand["updated_at"] = max(cand["updated_at"], at)

    def _activity(self, cand: dict, at: float, subject: str, body: str, user_id) -> None:
        cand["activities"].append(
            {
                "id": self.co.next_id("activity"),
                "created_at": at,
                "subject": subject,
                "body": body,
                "user_id": user_id,
            }
        )

    # mutations -----------------------------------------------------------------------------------
    def move_application(
        self,
        application_id: int,
        to_stage_id: int,
        user_id: int | None = None,
        from_stage_id: int | None = None,
        source: str = "direct",
        at: float | None = None,
    ) -> dict:
        at = at or time.time()
        with self.lock:
            app = self.get_application(application_id)
            if app["status"] != "active":
                raise validation_error("application_id", "Application must be active to move")
            job = self.co.job(app["job_id"])
            if from_stage_id is not None and int(from_stage_id) != app["stage_id"]:
                raise validation_error(
                    "from_stage_id", "from_stage_id does not match the current stage"
                )
            if int(to_stage_id) not in job["stage_ids"]:
                raise validation_error("to_stage_id", "Stage does not belong to this job")
            old = app["stage_id"]
            app["stage_id"] = int(to_stage_id)
            app["history"].append([at, old, app["stage_id"], user_id])
            self._touch(app, at)
            cand = self.co.candidates[app["candidate_id"]]
            self._activity(
                cand,
                at,
                "Candidate moved",
                f"{cand['first_name']} {cand['last_name']} was moved into "
                f"{self.co.stages[app['stage_id']]['name']} for {job['name']} "
                f"from {self.co.stages[old]['name']}",
                user_id,
            )
            self._bump()
            self._record(
                "move_application",
                {
                    "application_id": app["id"],
                    "to_stage_id": app["stage_id"],
                    "user_id": user_id,
                    "from_stage_id": from_stage_id,
                },
                source,
                at,
            )
            self._emit("candidate_stage_change", app)
        self._changed()
        return app

    def reject_application(
        self,
        application_id: int,
        rejection_reason_id: int | None = None,
        notes: str | None = None,
        user_id: int | None = None,
        source: str = "direct",
        at: float | None = None,
    ) -> dict:
        at = at or time.time()
        with self.lock:
            app = self.get_application(application_id)
            if app["status"] != "active":
                raise validation_error("application_id", "Application must be active to reject")
            if rejection_reason_id is None:
                rejection_reason_id = self.co.rejection_reasons[0]["id"]
            if self.co.rejection_reason(int(rejection_reason_id)) is None:
                raise validation_error("rejection_reason_id", "Rejection reason not found")
            app["status"] = "rejected"
            app["rejected_at"] = at
            app["rejection_reason_id"] = int(rejection_reason_id)
            self._touch(app, at)
            cand = self.co.candidates[app["candidate_id"]]
            job = self.co.job(app["job_id"])
            self._activity(cand, at, "Candidate rejected", f"Rejected from {job['name']}", user_id)
            self._bump()
            self._record(
                "reject_application",
                {
                    "application_id": app["id"],
                    "rejection_reason_id": int(rejection_reason_id),
                    "notes": notes,
                    "user_id": user_id,
                },
                source,
                at,
            )
            self._emit("reject_candidate", app)
        self._changed()
        return app

    def unreject_application(
        self,
        application_id: int,
        user_id: int | None = None,
        source: str = "direct",
        at: float | None = None,
    ) -> dict:
        at = at or time.time()
        with self.lock:
            app = self.get_application(application_id)
            if app["status"] != "rejected":
                raise validation_error("application_id", "Application is not rejected")
            app["status"] = "active"
            app["rejected_at"] = None
            app["rejection_reason_id"] = None
            self._touch(app, at)
            cand = self.co.candidates[app["candidate_id"]]
            self._activity(cand, at, "Candidate unrejected", "Application unrejected", user_id)
            self._bump()
            self._record(
                "unreject_application",
                {"application_id": app["id"], "user_id": user_id},
                source,
                at,
            )
            self._emit("unreject_candidate", app)
        self._changed()
        return app

    def hire_application(
        self,
        application_id: int,
        user_id: int | None = None,
        start_date: str | None = None,
        source: str = "direct",
        at: float | None = None,
    ) -> dict:
        at = at or time.time()
        with self.lock:
            app = self.get_application(application_id)
            if app["status"] != "active":
                raise validation_error("application_id", "Application must be active to hire")
            app["status"] = "hired"
            app["hired_at"] = at
            self._touch(app, at)
            cand = self.co.candidates[app["candidate_id"]]
            job = self.co.job(app["job_id"])
            self._activity(cand, at, "Candidate hired", f"Hired for {job['name']}", user_id)
            self._bump()
            self._record(
                "hire_application",
                {"application_id": app["id"], "user_id": user_id, "start_date": start_date},
                source,
                at,
            )
            self._emit("hire_candidate", app)
        self._changed()
        return app

    def create_candidate(
        self,
        first_name: str,
        last_name: str,
        job_id: int,
        email: str | None = None,
        phone: str | None = None,
        stage_id: int | None = None,
        source_id: int | None = None,
        user_id: int | None = None,
        source: str = "direct",
        at: float | None = None,
    ) -> tuple[dict, dict]:
        """Create a candidate with one application on ``job_id`` (first stage by default)."""
        at = at or time.time()
        with self.lock:
            job = self.co.job(int(job_id))
            if job is None:
                raise validation_error("job_id", "Job not found")
            if stage_id is None:
                stage_id = job["stage_ids"][0]
            if int(stage_id) not in job["stage_ids"]:
                raise validation_error("stage_id", "Stage does not belong to this job")
            cid = self.co.next_id("candidate")
            aid = self.co.next_id("application")
            cand = {
                "id": cid,
                "first_name": first_name,
                "last_name": last_name,
                "company": None,
                "title": None,
                "created_at": at,
                "updated_at": at,
                "last_activity": at,
                "is_private": False,
                "can_email": True,
                "phone_numbers": [{"value": phone, "type": "mobile"}] if phone else [],
                "email_addresses": [{"value": email, "type": "personal"}] if email else [],
                "addresses": [],
                "website_addresses": [],
                "social_media_addresses": [],
                "tags": [],
                "recruiter_id": job["hiring_team"]["recruiters"][0],
                "coordinator_id": job["hiring_team"]["coordinators"][0],
                "application_ids": [aid],
                "custom_fields": {},
                "attachments": [],
                "notes": [],
                "emails": [],
                "activities": [],
                "country": "US",
            }
            app = {
                "id": aid,
                "candidate_id": cid,
                "job_id": job["id"],
                "stage_id": int(stage_id),
                "status": "active",
                "applied_at": at,
                "rejected_at": None,
                "hired_at": None,
                "last_activity_at": at,
                "source_id": int(source_id) if source_id else self.co.sources[2]["id"],
                "credited_to_id": job["hiring_team"]["recruiters"][0],
                "rejection_reason_id": None,
                "history": [],
                "attachments": [],
                "custom_fields": {},
            }
            self.co.candidates[cid] = cand
            self.co.applications[aid] = app
            self._apps_sorted.append(aid)
            self._cands_sorted.append(cid)
            self._bump()
            self._record(
                "create_candidate",
                {
                    "first_name": first_name,
                    "last_name": last_name,
                    "job_id": job["id"],
                    "email": email,
                    "phone": phone,
                    "stage_id": int(stage_id),
                    "source_id": source_id,
                    "user_id": user_id,
                },
                source,
                at,
            )
            self._emit("new_candidate_application", app)
        self._changed()
        return cand, app

    def add_note(
        self,
        candidate_id: int,
        user_id: int,
        body: str,
        visibility: str,
        source: str = "direct",
        at: float | None = None,
    ) -> dict:
        at = at or time.time()
        with self.lock:
            cand = self.get_candidate(candidate_id)
            note = {
                "id": self.co.next_id("note"),
                "created_at": at,
                "body": body,
                "user_id": user_id,
                "visibility": visibility,
            }
            cand["notes"].append(note)
            cand["updated_at"] = cand["last_activity"] = at
            self._bump()
            self._record(
                "add_note",
                {
                    "candidate_id": cand["id"],
                    "user_id": user_id,
                    "body": body,
                    "visibility": visibility,
                },
                source,
                at,
            )
        self._changed()
        return note

    def add_email(
        self,
        candidate_id: int,
        user_id: int,
        to: str,
        from_: str,
        subject: str,
        body: str,
        cc: list | None = None,
        source: str = "direct",
        at: float | None = None,
    ) -> dict:
        at = at or time.time()
        with self.lock:
            cand = self.get_candidate(candidate_id)
            email = {
                "id": self.co.next_id("email"),
                "created_at": at,
                "subject": subject,
                "body": body,
                "to": to,
                "from": from_,
                "cc": list(cc or []),
                "user_id": user_id,
            }
            cand["emails"].append(email)
            cand["updated_at"] = cand["last_activity"] = at
            self._bump()
            self._record(
                "add_email",
                {
                    "candidate_id": cand["id"],
                    "user_id": user_id,
                    "to": to,
                    "from_": from_,
                    "subject": subject,
                    "body": body,
                    "cc": list(cc or []),
                },
                source,
                at,
            )
        self._changed()
        return email

    def patch_candidate(
        self,
        candidate_id: int,
        user_id: int | None = None,
        fields: dict | None = None,
        custom_fields: list | None = None,
        source: str = "direct",
        at: float | None = None,
    ) -> dict:
        """Apply plain field changes and custom field changes (validated, see v1 PATCH)."""
        at = at or time.time()
        fields = dict(fields or {})
        with self.lock:
            cand = self.get_candidate(candidate_id)
            changes = self._validate_custom_fields(custom_fields or [], "candidate")
            for key, value in fields.items():
                cand[key] = value
            for key, value in changes:
                if value is _DELETE:
                    cand["custom_fields"].pop(key, None)
                else:
                    cand["custom_fields"][key] = value
            cand["updated_at"] = at
            self._bump()
            self._record(
                "patch_candidate",
                {
                    "candidate_id": cand["id"],
                    "user_id": user_id,
                    "fields": fields,
                    "custom_fields": custom_fields or [],
                },
                source,
                at,
            )
        self._changed()
        return cand

    def add_attachment(
        self,
        candidate_id: int,
        user_id: int | None,
        filename: str,
        type: str,  # noqa: A002 - Greenhouse's field name
        content_type: str | None = None,
        url: str | None = None,
        size: int | None = None,
        source: str = "direct",
        at: float | None = None,
    ) -> dict:
        at = at or time.time()
        with self.lock:
            cand = self.get_candidate(candidate_id)
            att_id = self.co.next_id("attachment")
            att = {
                "id": att_id,
                "filename": filename,
                "type": type,
                "content_type": content_type,
                "source_url": url,
                "size": size,
                "created_at": at,
            }
            cand["attachments"].append(att)
            cand["updated_at"] = at
            self._bump()
            self._record(
                "add_attachment",
                {
                    "candidate_id": cand["id"],
                    "user_id": user_id,
                    "filename": filename,
                    "type": type,
                    "content_type": content_type,
                    "url": url,
                    "size": size,
                },
                source,
                at,
            )
        self._changed()
        return att

    def _validate_custom_fields(self, items, field_type: str) -> list[tuple[str, object]]:
        if not isinstance(items, list):
            raise validation_error("custom_fields", "Must be an array")
        out = []
        for item in items:
            if not isinstance(item, dict) or ("id" not in item and "name_key" not in item):
                raise validation_error("custom_fields", "Each custom field needs id or name_key")
            if "id" in item:
                try:
                    fdef = self.co.custom_fields_by_id.get(int(item["id"]))
                except (TypeError, ValueError):
                    fdef = None
            else:
                fdef = self.co.custom_fields_by_key.get(item["name_key"])
            if fdef is None or fdef["field_type"] != field_type:
                raise validation_error("custom_fields", "Custom field not found")
            key = fdef["name_key"]
            if "delete_value" in item:
                if item["delete_value"] != "true":
                    raise validation_error(
                        "custom_fields", 'delete_value must be the string "true"'
                    )
                out.append((key, _DELETE))
                continue
            if "value" not in item or item["value"] is None or item["value"] == "":
                raise validation_error("custom_fields", f"A value is required for {key}")
            out.append((key, _coerce_custom_value(fdef, item["value"])))
        return out

    # rendering (Harvest shapes) ---------------------------------------------------------------
    def user_ref(self, uid) -> dict | None:
        u = self.co.user(uid) if uid is not None else None
        if u is None:
            return None
        return {
            "id": u["id"],
            "first_name": u["first_name"],
            "last_name": u["last_name"],
            "name": u["name"],
            "employee_id": u["employee_id"],
        }

    def render_department(self, d: dict) -> dict:
        children = [x for x in self.co.departments if x["parent_id"] == d["id"]]
        parent = self.co.department(d["parent_id"]) if d["parent_id"] else None
        return {
            "id": d["id"],
            "name": d["name"],
            "parent_id": d["parent_id"],
            "parent_department_external_id": parent["external_id"] if parent else None,
            "child_ids": [c["id"] for c in children],
            "child_department_external_ids": [c["external_id"] for c in children],
            "external_id": d["external_id"],
        }

    def render_department_tree(self, d: dict) -> dict:
        children = [x for x in self.co.departments if x["parent_id"] == d["id"]]
        return {
            "id": d["id"],
            "name": d["name"],
            "parent_id": d["parent_id"],
            "external_id": d["external_id"],
            "children": [self.render_department_tree(c) for c in children],
        }

    def render_office(self, o: dict) -> dict:
        return {
            "id": o["id"],
            "name": o["name"],
            "location": {"name": o["location"]},
            "primary_contact_user_id": o["primary_contact_user_id"],
            "parent_id": o["parent_id"],
            "parent_office_external_id": None,
            "child_ids": [],
            "child_office_external_ids": [],
            "external_id": o["external_id"],
        }

    def _keyed(self, values: dict, field_type: str) -> tuple[dict, dict]:
        plain, keyed = {}, {}
        for f in self.co.custom_fields:
            if f["field_type"] != field_type:
                continue
            v = values.get(f["name_key"])
            plain[f["name_key"]] = v
            if v is not None:
                vt = "boolean" if f["value_type"] == "yes_no" else f["value_type"]
                keyed[f["name_key"]] = {"name": f["name"], "type": vt, "value": v}
        return plain, keyed

    def render_job(self, j: dict) -> dict:
        plain, keyed = self._keyed(j["custom_fields"], "job")
        team = j["hiring_team"]

        def members(ids, responsible=False):
            out = []
            for uid in ids:
                ref = dict(self.user_ref(uid))
                ref["responsible"] = responsible
                out.append(ref)
            return out

        return {
            "id": j["id"],
            "name": j["name"],
            "requisition_id": j["requisition_id"],
            "notes": j["notes"],
            "confidential": j["confidential"],
            "is_template": False,
            "copied_from_id": None,
            "status": j["status"],
            "created_at": iso(j["created_at"]),
            "opened_at": iso(j["opened_at"]),
            "closed_at": iso(j["closed_at"]),
            "updated_at": iso(j["updated_at"]),
            "departments": [self.render_department(self.co.department(j["department_id"]))],
            "offices": [self.render_office(self.co.office(o)) for o in j["office_ids"]],
            "custom_fields": plain,
            "keyed_custom_fields": keyed,
            "hiring_team": {
                "hiring_managers": members(team["hiring_managers"]),
                "recruiters": members(team["recruiters"], True),
                "coordinators": members(team["coordinators"], True),
                "sourcers": members(team["sourcers"]),
            },
            "openings": [
                {
                    "id": int(j["id"]) * 10 + 1,
                    "opening_id": oid,
                    "status": "open" if j["status"] == "open" else "closed",
                    "opened_at": iso(j["opened_at"]),
                    "closed_at": iso(j["closed_at"]),
                    "application_id": None,
                    "close_reason": None,
                }
                for oid in j["opening_ids"]
            ],
        }

    def render_stage(self, s: dict) -> dict:
        return {
            "id": s["id"],
            "name": s["name"],
            "created_at": iso(s["created_at"]),
            "updated_at": iso(s["updated_at"]),
            "active": s["active"],
            "job_id": s["job_id"],
            "priority": s["priority"],
            "interviews": s["interviews"],
        }

    def render_user(self, u: dict) -> dict:
        return {
            "id": u["id"],
            "name": u["name"],
            "first_name": u["first_name"],
            "last_name": u["last_name"],
            "primary_email_address": u["email"],
            "updated_at": iso(u["updated_at"]),
            "created_at": iso(u["created_at"]),
            "disabled": u["disabled"],
            "site_admin": u["site_admin"],
            "emails": [u["email"]],
            "employee_id": u["employee_id"],
            "linked_candidate_ids": [],
            "offices": [self.render_office(self.co.office(o)) for o in u["office_ids"]],
            "departments": [
                self.render_department(self.co.department(d)) for d in u["department_ids"]
            ],
        }

    def render_custom_field(self, f: dict) -> dict:
        return dict(f)

    def render_application(self, a: dict) -> dict:
        co = self.co
        job = co.job(a["job_id"])
        src = co.source(a["source_id"])
        reason = co.rejection_reason(a["rejection_reason_id"])
        office = co.office(job["office_ids"][0])
        cand = co.candidates[a["candidate_id"]]
        stage = co.stages[a["stage_id"]] if a["status"] != "hired" else None
        plain, keyed = self._keyed(a["custom_fields"], "application")
        return {
            "id": a["id"],
            "candidate_id": a["candidate_id"],
            "prospect": False,
            "applied_at": iso(a["applied_at"]),
            "rejected_at": iso(a["rejected_at"]),
            "last_activity_at": iso(a["last_activity_at"]),
            "location": {"address": office["location"]},
            "source": {"id": src["id"], "public_name": src["name"]} if src else None,
            "credited_to": self.user_ref(a["credited_to_id"]),
            "recruiter": self.user_ref(cand["recruiter_id"]),
            "coordinator": self.user_ref(cand["coordinator_id"]),
            "rejection_reason": reason,
            "rejection_details": (
                {"custom_fields": {}, "keyed_custom_fields": {}} if reason else None
            ),
            "jobs": [{"id": job["id"], "name": job["name"]}],
            "job_post_id": job["id"] + 500000,
            "status": a["status"],
            "current_stage": {"id": stage["id"], "name": stage["name"]} if stage else None,
            "answers": [],
            "prospective_office": None,
            "prospective_department": None,
            "prospect_detail": {
                "prospect_pool": None,
                "prospect_stage": None,
                "prospect_owner": None,
            },
            "custom_fields": plain,
            "keyed_custom_fields": keyed,
            "attachments": [],
        }

    def _attachment(self, att: dict) -> dict:
        return {
            "filename": att["filename"],
            "url": att["source_url"]
            or f"https://sandbox-attachments.example.com/{att['id']}/{att['filename']}"
            "?X-Amz-Expires=604800",
            "type": att["type"],
            "created_at": iso(att["created_at"]),
        }

    def render_candidate(self, c: dict) -> dict:
        plain, keyed = self._keyed(c["custom_fields"], "candidate")
        return {
            "id": c["id"],
            "first_name": c["first_name"],
            "last_name": c["last_name"],
            "company": c["company"],
            "title": c["title"],
            "created_at": iso(c["created_at"]),
            "updated_at": iso(c["updated_at"]),
            "last_activity": iso(c["last_activity"]),
            "is_private": c["is_private"],
            "photo_url": None,
            "attachments": [self._attachment(a) for a in c["attachments"]],
            "application_ids": list(c["application_ids"]),
            "phone_numbers": list(c["phone_numbers"]),
            "addresses": list(c["addresses"]),
            "email_addresses": list(c["email_addresses"]),
            "website_addresses": list(c["website_addresses"]),
            "social_media_addresses": list(c["social_media_addresses"]),
            "recruiter": self.user_ref(c["recruiter_id"]),
            "coordinator": self.user_ref(c["coordinator_id"]),
            "can_email": c["can_email"],
            "tags": list(c["tags"]),
            "applications": [
                self.render_application(self.co.applications[a]) for a in c["application_ids"]
            ],
            "educations": [],
            "employments": [],
            "linked_user_ids": [],
            "custom_fields": plain,
            "keyed_custom_fields": keyed,
        }

    def render_note(self, n: dict) -> dict:
        return {
            "id": n["id"],
            "created_at": iso(n["created_at"]),
            "body": n["body"],
            "user": self.user_ref(n["user_id"]),
            "private": n["visibility"] != "public",
            "visiblity": n["visibility"],
            "visibility": n["visibility"],
        }

    def render_email(self, e: dict) -> dict:
        return {
            "id": e["id"],
            "created_at": iso(e["created_at"]),
            "subject": e["subject"],
            "body": e["body"],
            "to": e["to"],
            "from": e["from"],
            "cc": e["cc"],
            "user": self.user_ref(e["user_id"]),
        }

    def activity_feed(self, c: dict) -> dict:
        acts = [
            {
                "id": a["id"],
                "created_at": iso(a["created_at"]),
                "subject": a["subject"],
                "body": a["body"],
                "user": self.user_ref(a["user_id"]),
            }
            for a in c["activities"]
        ]
        for att in c["attachments"]:
            acts.append(
                {
                    "id": att["id"],
                    "created_at": iso(att["created_at"]),
                    "subject": "Attachment added",
                    "body": f"{att['filename']} ({att['type']}) was attached",
                    "user": None,
                }
            )
        acts.sort(key=lambda x: x["created_at"], reverse=True)
        return {
            "notes": [self.render_note(n) for n in reversed(c["notes"])],
            "emails": [self.render_email(e) for e in reversed(c["emails"])],
            "activities": acts,
        }

    def webhook_application(self, a: dict) -> dict:
        """Application as webhooks show it (differs from Harvest: see reference 1.13)."""
        co = self.co
        job = co.job(a["job_id"])
        cand = co.candidates[a["candidate_id"]]
        src = co.source(a["source_id"])
        reason = co.rejection_reason(a["rejection_reason_id"])

        def person(uid):
            u = co.user(uid)
            if not u:
                return None
            return {
                "id": u["id"],
                "email": u["email"],
                "name": u["name"],
                "employee_id": u["employee_id"],
            }

        def typed(values, field_type):
            out = {}
            for f in co.custom_fields:
                if f["field_type"] == field_type and values.get(f["name_key"]) is not None:
                    vt = "boolean" if f["value_type"] == "yes_no" else f["value_type"]
                    out[f["name_key"]] = {
                        "name": f["name"],
                        "type": vt,
                        "value": values[f["name_key"]],
                    }
            return out

        stage = co.stages[a["stage_id"]]
        return {
            "id": a["id"],
            "rejected_at": iso(a["rejected_at"]),
            "prospect": False,
            "status": a["status"],
            "applied_at": iso(a["applied_at"]),
            "last_activity_at": iso(a["last_activity_at"]),
            "url": f"https://app.greenhouse.io/people/{cand['id']}?application_id={a['id']}",
            "source": {"id": src["id"], "name": src["name"]} if src else None,
            "credited_to": person(a["credited_to_id"]),
            "rejection_reason": reason,
            "rejection_details": None,
            "current_stage": {
                "id": stage["id"],
                "name": stage["name"],
                "interviews": [
                    {
                        "id": i["id"],
                        "name": i["name"],
                        "status": "to_be_scheduled",
                        "interview_kit": {
                            "url": f"https://app.greenhouse.io/guides/{i['id']}/people/{cand['id']}",
                            "content": i["interview_kit"]["content"],
                            "questions": [],
                        },
                        "interviewers": [],
                    }
                    for i in stage["interviews"]
                ],
            },
            "custom_fields": typed(a["custom_fields"], "application"),
            "candidate": {
                "id": cand["id"],
                "first_name": cand["first_name"],
                "last_name": cand["last_name"],
                "title": cand["title"],
                "company": cand["company"],
                "created_at": iso(cand["created_at"]),
                "external_id": None,
                "photo_url": None,
                "url": f"https://app.greenhouse.io/people/{cand['id']}",
                "is_private": cand["is_private"],
                "can_email": cand["can_email"],
                "phone_numbers": list(cand["phone_numbers"]),
                "email_addresses": list(cand["email_addresses"]),
                "addresses": list(cand["addresses"]),
                "website_addresses": list(cand["website_addresses"]),
                "social_media_addresses": list(cand["social_media_addresses"]),
                "educations": [],
                "employments": [],
                "recruiter": person(cand["recruiter_id"]),
                "coordinator": person(cand["coordinator_id"]),
                "attachments": [
                    {
                        "filename": x["filename"],
                        "url": self._attachment(x)["url"],
                        "type": x["type"],
                    }
                    for x in cand["attachments"]
                ],
                "tags": list(cand["tags"]),
                "custom_fields": typed(cand["custom_fields"], "candidate"),
            },
            "jobs": [
                {
                    "id": job["id"],
                    "name": job["name"],
                    "requisition_id": job["requisition_id"],
                    "notes": job["notes"],
                    "confidential": job["confidential"],
                    "job_post_id": job["id"] + 500000,
                    "status": job["status"],
                    "created_by_id": job["hiring_team"]["recruiters"][0],
                    "created_at": iso(job["created_at"]),
                    "opened_at": iso(job["opened_at"]),
                    "closed_at": iso(job["closed_at"]),
                    "departments": [
                        {
                            "id": job["department_id"],
                            "name": co.department(job["department_id"])["name"],
                            "external_id": co.department(job["department_id"])["external_id"],
                        }
                    ],
                    "offices": [
                        {
                            "id": o["id"],
                            "name": o["name"],
                            "location": o["location"],
                            "external_id": o["external_id"],
                        }
                        for o in (co.office(x) for x in job["office_ids"])
                    ],
                    "custom_fields": typed(job["custom_fields"], "job"),
                }
            ],
        }

    # queries -------------------------------------------------------------------------------------
    def cached_ids(self, key: tuple, compute: Callable[[], list[int]]) -> list[int]:
        """Filtered, id-sorted lists are cached per state version so paging is O(page)."""
        hit = self._cache.get(key)
        if hit and hit[0] == self.version:
            return hit[1]
        ids = compute()
        self._cache[key] = (self.version, ids)
        return ids


class _Delete:
    def __repr__(self) -> str:
        return "DELETE"


_DELETE = _Delete()


def _coerce_custom_value(fdef: dict, value):
    vt = fdef["value_type"]
    key = fdef["name_key"]
    options = fdef["custom_field_options"]
    if vt in ("short_text", "long_text", "url"):
        if not isinstance(value, str):
            raise validation_error("custom_fields", f"{key} must be a string")
        return value
    if vt == "yes_no":
        if not isinstance(value, bool):
            raise validation_error("custom_fields", f"{key} must be true or false")
        return value
    if vt == "number":
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise validation_error("custom_fields", f"{key} must be a number")
        return value
    if vt == "date":
        try:
            parse_iso(str(value) + ("T00:00:00Z" if len(str(value)) == 10 else ""))
        except ValueError:
            raise validation_error("custom_fields", f"{key} must be a date") from None
        return value
    if vt == "single_select":
        for o in options:
            if value == o["id"] or value == o["name"]:
                return o["name"]
        raise validation_error("custom_fields", f"{key}: option not found")
    if vt == "multi_select":
        if not isinstance(value, list):
            raise validation_error("custom_fields", f"{key} must be an array of option ids")
        names = []
        for v in value:
            match = [o["name"] for o in options if o["id"] == v]
            if not match:
                raise validation_error("custom_fields", f"{key}: option {v} not found")
            names.append(match[0])
        return names
    return value


# ---------------------------------------------------------------------------------------------
# HTTP layer
# ---------------------------------------------------------------------------------------------


def _int_param(args, name: str, default: int | None = None) -> int | None:
    raw = args.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise validation_error(name, "Must be an integer") from None


def _time_param(args, name: str) -> float | None:
    raw = args.get(name)
    if raw is None or raw == "":
        return None
    try:
        return parse_iso(raw)
    except ValueError:
        raise validation_error(name, "Must be an ISO-8601 timestamp") from None


def _in_window(ts: float | None, after: float | None, before: float | None) -> bool:
    if after is not None and (ts is None or ts < after):
        return False
    return not (before is not None and (ts is None or ts >= before))


def _read_json(request: Request) -> dict:
    data = request.get_data(cache=True)
    if not data:
        return {}
    try:
        body = json.loads(data)
    except ValueError:
        raise ApiError(400, {"message": "Malformed JSON body"}) from None
    if not isinstance(body, dict):
        raise ApiError(400, {"message": "Expected a JSON object"})
    return body


V1_RULES = [
    ("/v1/candidates", "GET", "list_candidates", "GET: List Candidates"),
    ("/v1/candidates/<int:id>", "GET", "get_candidate", "GET: Retrieve Candidate"),
    ("/v1/candidates/<int:id>", "PATCH", "patch_candidate", "PATCH: Edit Candidate"),
    (
        "/v1/candidates/<int:id>/activity_feed",
        "GET",
        "activity_feed",
        "GET: Retrieve Activity Feed",
    ),
    ("/v1/candidates/<int:id>/activity_feed/notes", "POST", "add_note", "POST: Add Note"),
    ("/v1/candidates/<int:id>/activity_feed/emails", "POST", "add_email", "POST: Add E-mail"),
    ("/v1/candidates/<int:id>/attachments", "POST", "add_attachment", "POST: Add Attachment"),
    (
        "/v1/candidates/<int:id>/tags",
        "GET",
        "candidate_tags",
        "GET: List tags applied to candidate",
    ),
    ("/v1/applications", "GET", "list_applications", "GET: List Applications"),
    ("/v1/applications/<int:id>", "GET", "get_application", "GET: Retrieve Application"),
    ("/v1/applications/<int:id>/move", "POST", "move", "POST: Move Application"),
    ("/v1/applications/<int:id>/advance", "POST", "advance", "POST: Advance Application"),
    ("/v1/applications/<int:id>/reject", "POST", "reject", "POST: Reject Application"),
    ("/v1/applications/<int:id>/unreject", "POST", "unreject", "POST: Unreject Application"),
    ("/v1/applications/<int:id>/hire", "POST", "hire", "POST: Hire Application"),
    ("/v1/jobs", "GET", "list_jobs", "GET: List Jobs"),
    ("/v1/jobs/<int:id>", "GET", "get_job", "GET: Retrieve Job"),
    ("/v1/jobs/<int:id>/stages", "GET", "job_stages_for_job", "GET: List job stages for job"),
    ("/v1/job_stages", "GET", "list_job_stages", "GET: List job stages"),
    ("/v1/job_stages/<int:id>", "GET", "get_job_stage", "GET: Retrieve job stage"),
    ("/v1/departments", "GET", "list_departments", "GET: List Departments"),
    ("/v1/departments/<int:id>", "GET", "get_department", "GET: Retrieve Department"),
    ("/v1/offices", "GET", "list_offices", "GET: List Offices"),
    ("/v1/offices/<int:id>", "GET", "get_office", "GET: Retrieve Office"),
    ("/v1/users", "GET", "list_users", "GET: List Users"),
    ("/v1/users/<int:id>", "GET", "get_user", "GET: Retrieve User"),
    ("/v1/user_roles", "GET", "list_user_roles", "GET: List User Roles"),
    ("/v1/custom_fields", "GET", "list_custom_fields", "GET: Get custom fields"),
    ("/v1/custom_fields/<field_type>", "GET", "list_custom_fields", "GET: Get custom fields"),
    ("/v1/custom_field/<int:id>", "GET", "get_custom_field", "GET: Get custom fields"),
    ("/v1/sources", "GET", "list_sources", "GET: List sources"),
    ("/v1/tags/candidate", "GET", "list_candidate_tags", "GET: List candidate tags"),
]
V1_PERMISSION = {name: perm for _, _, name, perm in V1_RULES}
V1_MAP = Map(
    [Rule(path, methods=[m], endpoint=name) for path, m, name, _ in V1_RULES],
    strict_slashes=False,
)
V3_MAP = Map(
    [Rule(f"/v3/{r}", methods=["GET"], endpoint=f"list:{r}") for r in V3_RESOURCES]
    + [Rule("/v3/notes", methods=["POST"], endpoint="create:notes")],
    strict_slashes=False,
)
SANDBOX_MAP = Map(
    [
        Rule("/_sandbox/", methods=["GET"], endpoint="ui_index"),
        Rule("/_sandbox/ui/<action>", methods=["POST"], endpoint="ui_action"),
        Rule("/_sandbox/api/jobs", methods=["GET"], endpoint="api_jobs"),
        Rule("/_sandbox/api/stages", methods=["GET"], endpoint="api_stages"),
        Rule("/_sandbox/api/candidates", methods=["GET"], endpoint="api_candidates"),
        Rule("/_sandbox/api/candidates", methods=["POST"], endpoint="api_create_candidate"),
        Rule("/_sandbox/api/applications/<int:id>", methods=["GET"], endpoint="api_application"),
        Rule(
            "/_sandbox/api/applications/<int:id>/<action>",
            methods=["POST"],
            endpoint="api_app_action",
        ),
        Rule("/_sandbox/api/webhook", methods=["GET", "POST"], endpoint="api_webhook"),
        Rule("/_sandbox/api/credentials", methods=["POST"], endpoint="api_credentials"),
        Rule("/_sandbox/api/rate_limit", methods=["POST"], endpoint="api_rate_limit"),
        Rule("/_sandbox/api/faults", methods=["GET", "POST", "DELETE"], endpoint="api_faults"),
        Rule("/_sandbox/api/writes", methods=["GET"], endpoint="api_writes"),
        Rule("/_sandbox/api/deliveries", methods=["GET"], endpoint="api_deliveries"),
        Rule("/_sandbox/api/reset", methods=["POST"], endpoint="api_reset"),
    ],
    strict_slashes=False,
)


class GreenhouseApp:
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
        fault = self.state.faults.take(path)
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
        if path.startswith("/v1/") or path == "/v1":
            return self.v1(request)
        if path.startswith("/v3/") or path == "/v3":
            return self.v3(request)
        if path.rstrip("/") == "/auth/token":
            return self.token(request)
        return json_response(NOT_FOUND, 404)

    # v1 ------------------------------------------------------------------------------------------
    def _v1_key(self, request: Request) -> str | None:
        auth = request.authorization
        if not auth or auth.type != "basic":
            return None
        if auth.password not in (None, ""):
            return None
        return auth.username if auth.username in self.state.v1_keys else None

    def v1(self, request: Request) -> Response:
        st = self.state
        key = self._v1_key(request)
        if key is None:
            limit, remaining = st.limiter.peek("anonymous")
            return json_response(
                BAD_AUTH,
                401,
                {"X-RateLimit-Limit": limit, "X-RateLimit-Remaining": remaining},
            )
        allowed, limit, remaining, reset = st.limiter.hit(key)
        rl_headers = {"X-RateLimit-Limit": limit, "X-RateLimit-Remaining": remaining}
        if not allowed:
            retry = max(1, int(reset - time.time() + 0.999))
            rl_headers["Retry-After"] = (
                int(reset - st.legacy_epoch_lag) if st.legacy_epoch_retry_after else retry
            )
            rl_headers["X-RateLimit-Reset"] = int(reset - st.legacy_epoch_lag)
            return json_response(
                {"message": "Too Many Requests"},
                429,
                rl_headers,
            )
        try:
            response = self._v1_route(request, key)
        except ApiError as exc:
            response = json_response(exc.body, exc.status, exc.headers)
        for k, v in rl_headers.items():
            response.headers[k] = str(v)
        return response

    def _v1_route(self, request: Request, key: str) -> Response:
        st = self.state
        if request.method in ("GET", "HEAD") and (
            (request.content_length or 0) > 0 or request.headers.get("Transfer-Encoding")
        ):
            raise ApiError(403, {"message": "GET requests must not include a body"})
        adapter = V1_MAP.bind_to_environ(request.environ)
        try:
            endpoint, values = adapter.match()
        except (NotFound, MethodNotAllowed):
            raise ApiError(404, NOT_FOUND) from None
        except HTTPException:
            raise ApiError(404, NOT_FOUND) from None
        grants = st.v1_keys.get(key)
        if grants is not None and V1_PERMISSION[endpoint].lower() not in grants:
            raise ApiError(403, NO_PERMISSION)
        acting = None
        if request.method != "GET":
            acting = self._on_behalf_of(request)
        handler = getattr(self, f"v1_{endpoint}")
        with st.lock:
            result = handler(request, acting=acting, **values)
        if isinstance(result, Response):
            return result
        return json_response(result)

    def _on_behalf_of(self, request: Request) -> int:
        raw = request.headers.get("On-Behalf-Of")
        if raw is None or not raw.strip():
            raise ApiError(403, {"message": "Missing On-Behalf-Of header"})
        raw = raw.strip()
        if not raw.isdigit():
            raise ApiError(
                403, {"message": "On-Behalf-Of must be the numeric id of a Greenhouse user"}
            )
        uid = int(raw)
        user = self.state.co.user(uid)
        if user is None or user["disabled"]:
            raise ApiError(403, {"message": f"On-Behalf-Of user {uid} was not found"})
        return uid

    def _page(self, request: Request, ids_or_items: list, render, next_only=False) -> Response:
        args = request.args
        per_page = _int_param(args, "per_page", 100)
        page = _int_param(args, "page", 1)
        if per_page < 1 or per_page > 500:
            raise validation_error("per_page", "Must be between 1 and 500")
        if page < 1:
            raise validation_error("page", "Must be greater than or equal to 1")
        total = len(ids_or_items)
        last = max(1, -(-total // per_page))
        chunk = ids_or_items[(page - 1) * per_page : page * per_page]
        body = [render(x) for x in chunk]
        resp = json_response(body)
        links = []
        base = request.base_url

        def url(p: int) -> str:
            q = [(k, v) for k, v in args.items(multi=True) if k != "page"]
            q.insert(0, ("page", str(p)))
            if "per_page" not in args:
                q.append(("per_page", str(per_page)))
            return f"{base}?{urllib.parse.urlencode(q)}"

        if page < last:
            links.append(f'<{url(page + 1)}>; rel="next"')
        if not next_only:
            if page > 1:
                links.append(f'<{url(min(page - 1, last))}>; rel="prev"')
            skip = args.get("skip_count", "").lower() == "true"
            if not skip and last > 1:
                links.append(f'<{url(last)}>; rel="last"')
        if links:
            resp.headers["Link"] = ",".join(links)
        return resp

    # v1 handlers (run under the state lock) ---------------------------------------------------
    def v1_list_candidates(self, request, acting=None):
        st, args = self.state, request.args
        ca, cb = _time_param(args, "created_after"), _time_param(args, "created_before")
        ua, ub = _time_param(args, "updated_after"), _time_param(args, "updated_before")
        job_id = _int_param(args, "job_id")
        email = (args.get("email") or "").strip().lower() or None
        cids = None
        if args.get("candidate_ids") and not email:
            try:
                cids = {int(x) for x in args["candidate_ids"].split(",") if x.strip()}
            except ValueError:
                raise validation_error("candidate_ids", "Must be a comma separated list") from None
            if len(cids) > 50:
                raise validation_error("candidate_ids", "At most 50 ids")
        cands = st.co.candidates

        def compute():
            out = []
            for cid in st._cands_sorted:
                c = cands[cid]
                if cids is not None and cid not in cids:
                    continue
                if not _in_window(c["created_at"], ca, cb):
                    continue
                if not _in_window(c["updated_at"], ua, ub):
                    continue
                if email and not any(e["value"].lower() == email for e in c["email_addresses"]):
                    continue
                if job_id is not None and not any(
                    st.co.applications[a]["job_id"] == job_id for a in c["application_ids"]
                ):
                    continue
                out.append(cid)
            return out

        key = ("cand", ca, cb, ua, ub, job_id, email, tuple(sorted(cids)) if cids else None)
        ids = st.cached_ids(key, compute)
        return self._page(request, ids, lambda i: st.render_candidate(cands[i]))

    def v1_get_candidate(self, request, id, acting=None):  # noqa: A002
        return self.state.render_candidate(self.state.get_candidate(id))

    def v1_candidate_tags(self, request, id, acting=None):  # noqa: A002
        c = self.state.get_candidate(id)
        return [t for t in self.state.co.candidate_tags if t["name"] in c["tags"]]

    def v1_activity_feed(self, request, id, acting=None):  # noqa: A002
        return self.state.activity_feed(self.state.get_candidate(id))

    def v1_list_applications(self, request, acting=None):
        st, args = self.state, request.args
        ca, cb = _time_param(args, "created_after"), _time_param(args, "created_before")
        la = _time_param(args, "last_activity_after")
        job_id = _int_param(args, "job_id")
        status = args.get("status")
        apps = st.co.applications
        if status is not None and status not in ("active", "converted", "hired", "rejected"):
            return self._page(request, [], lambda x: x)

        def compute():
            if ca is None and cb is None and la is None and job_id is None and status is None:
                return st._apps_sorted
            out = []
            for aid in st._apps_sorted:
                a = apps[aid]
                if not _in_window(a["applied_at"], ca, cb):
                    continue
                if la is not None and a["last_activity_at"] < la:
                    continue
                if job_id is not None and a["job_id"] != job_id:
                    continue
                if status is not None and a["status"] != status:
                    continue
                out.append(aid)
            return out

        ids = st.cached_ids(("app", ca, cb, la, job_id, status), compute)
        return self._page(request, ids, lambda i: st.render_application(apps[i]))

    def v1_get_application(self, request, id, acting=None):  # noqa: A002
        return self.state.render_application(self.state.get_application(id))

    def _app_write(self, request, id, acting, fn):  # noqa: A002
        st = self.state
        st.get_application(id)
        body = _read_json(request)
        app = fn(body)
        return json_response(st.render_application(app))

    def v1_move(self, request, id, acting=None):  # noqa: A002
        def go(body):
            for f in ("from_stage_id", "to_stage_id"):
                if body.get(f) is None:
                    raise validation_error(f, "can't be blank")
            try:
                frm, to = int(body["from_stage_id"]), int(body["to_stage_id"])
            except (TypeError, ValueError):
                raise validation_error("to_stage_id", "Must be an integer") from None
            return self.state.move_application(id, to, acting, from_stage_id=frm, source="v1")

        return self._app_write(request, id, acting, go)

    def v1_advance(self, request, id, acting=None):  # noqa: A002
        def go(body):
            if body.get("from_stage_id") is None:
                raise validation_error("from_stage_id", "can't be blank")
            app = self.state.get_application(id)
            stages = self.state.co.job(app["job_id"])["stage_ids"]
            if app["stage_id"] not in stages or app["stage_id"] == stages[-1]:
                raise validation_error("from_stage_id", "Application is in the last stage")
            nxt = stages[stages.index(app["stage_id"]) + 1]
            return self.state.move_application(
                id, nxt, acting, from_stage_id=int(body["from_stage_id"]), source="v1"
            )

        return self._app_write(request, id, acting, go)

    def v1_reject(self, request, id, acting=None):  # noqa: A002
        return self._app_write(
            request,
            id,
            acting,
            lambda b: self.state.reject_application(
                id, b.get("rejection_reason_id"), b.get("notes"), acting, source="v1"
            ),
        )

    def v1_unreject(self, request, id, acting=None):  # noqa: A002
        return self._app_write(
            request,
            id,
            acting,
            lambda b: self.state.unreject_application(id, acting, source="v1"),
        )

    def v1_hire(self, request, id, acting=None):  # noqa: A002
        return self._app_write(
            request,
            id,
            acting,
            lambda b: self.state.hire_application(id, acting, b.get("start_date"), source="v1"),
        )

    def v1_add_note(self, request, id, acting=None):  # noqa: A002
        st = self.state
        st.get_candidate(id)
        body = _read_json(request)
        user_id = body.get("user_id", acting)
        try:
            user_id = int(user_id)
        except (TypeError, ValueError):
            raise validation_error("user_id", "Must be a user id") from None
        if st.co.user(user_id) is None:
            raise validation_error("user_id", "User not found")
        text = body.get("body")
        if not isinstance(text, str) or not text.strip():
            raise validation_error("body", "can't be blank")
        visibility = body.get("visibility")
        if visibility not in ("admin_only", "private", "public"):
            raise validation_error("visibility", "Must be one of: admin_only, private, public")
        note = st.add_note(id, user_id, text, visibility, source="v1")
        return json_response(st.render_note(note), 201)

    def v1_add_email(self, request, id, acting=None):  # noqa: A002
        st = self.state
        st.get_candidate(id)
        body = _read_json(request)
        user_id = body.get("user_id", acting)
        try:
            user_id = int(user_id)
        except (TypeError, ValueError):
            raise validation_error("user_id", "Must be a user id") from None
        if st.co.user(user_id) is None:
            raise validation_error("user_id", "User not found")
        for f in ("to", "from", "subject", "body"):
            if not isinstance(body.get(f), str) or not body[f].strip():
                raise validation_error(f, "can't be blank")
        cc = body.get("cc") or []
        if not isinstance(cc, list):
            raise validation_error("cc", "Must be an array")
        email = st.add_email(
            id, user_id, body["to"], body["from"], body["subject"], body["body"], cc, source="v1"
        )
        return json_response(st.render_email(email), 201)

    PATCHABLE = (
        "first_name",
        "last_name",
        "company",
        "title",
        "is_private",
        "phone_numbers",
        "addresses",
        "email_addresses",
        "website_addresses",
        "social_media_addresses",
    )

    def v1_patch_candidate(self, request, id, acting=None):  # noqa: A002
        st = self.state
        st.get_candidate(id)
        body = _read_json(request)
        fields = {k: body[k] for k in self.PATCHABLE if k in body}
        for k in ("first_name", "last_name"):
            if k in fields and (not isinstance(fields[k], str) or not fields[k].strip()):
                raise validation_error(k, "can't be blank")
        cand = st.patch_candidate(id, acting, fields, body.get("custom_fields") or [], source="v1")
        return st.render_candidate(cand)

    def v1_add_attachment(self, request, id, acting=None):  # noqa: A002
        st = self.state
        st.get_candidate(id)
        body = _read_json(request)
        filename = body.get("filename")
        if not isinstance(filename, str) or not filename.strip():
            raise validation_error("filename", "can't be blank")
        if body.get("type") not in ("resume", "cover_letter", "admin_only"):
            raise validation_error("type", "Must be one of: resume, cover_letter, admin_only")
        content, url, ctype = body.get("content"), body.get("url"), body.get("content_type")
        size = None
        if content is not None:
            if not ctype:
                raise validation_error("content_type", "is required when content is provided")
            if ctype not in ATTACHMENT_CONTENT_TYPES:
                raise validation_error("content_type", "Unsupported content type")
            try:
                size = len(base64.b64decode(content, validate=True))
            except (binascii.Error, TypeError, ValueError):
                raise validation_error("content", "Must be base64 encoded") from None
        elif url is not None:
            if not isinstance(url, str) or not url.startswith(("http://", "https://")):
                raise validation_error("url", "Must be a valid URL")
        else:
            raise validation_error("content", "Either content or url is required")
        att = st.add_attachment(
            id, acting, filename, body["type"], ctype, url if content is None else None, size,
            source="v1",
        )  # fmt: skip
        out = st._attachment(att)
        return json_response(
            {"filename": out["filename"], "url": out["url"], "type": att["type"],
             "content_type": ctype},
            201,
        )  # fmt: skip

    def _jobs_filtered(self, args) -> list[dict]:
        ca, cb = _time_param(args, "created_after"), _time_param(args, "created_before")
        ua, ub = _time_param(args, "updated_after"), _time_param(args, "updated_before")
        status = args.get("status")
        dept = _int_param(args, "department_id")
        office = _int_param(args, "office_id")
        req = args.get("requisition_id")
        out = []
        for j in self.state.co.jobs:
            if not _in_window(j["created_at"], ca, cb) or not _in_window(j["updated_at"], ua, ub):
                continue
            if status and j["status"] != status:
                continue
            if dept is not None and j["department_id"] != dept:
                continue
            if office is not None and office not in j["office_ids"]:
                continue
            if req and j["requisition_id"] != req:
                continue
            out.append(j)
        return out

    def v1_list_jobs(self, request, acting=None):
        return self._page(request, self._jobs_filtered(request.args), self.state.render_job)

    def v1_get_job(self, request, id, acting=None):  # noqa: A002
        job = self.state.co.job(id)
        if job is None:
            raise ApiError(404, NOT_FOUND)
        return self.state.render_job(job)

    def _stages_filtered(self, args, stages) -> list[dict]:
        ca, cb = _time_param(args, "created_after"), _time_param(args, "created_before")
        ua, ub = _time_param(args, "updated_after"), _time_param(args, "updated_before")
        return [
            s
            for s in stages
            if _in_window(s["created_at"], ca, cb) and _in_window(s["updated_at"], ua, ub)
        ]

    def v1_job_stages_for_job(self, request, id, acting=None):  # noqa: A002
        if self.state.co.job(id) is None:
            raise ApiError(404, NOT_FOUND)
        stages = self._stages_filtered(request.args, self.state.co.job_stages(id))
        return self._page(request, stages, self.state.render_stage)

    def v1_list_job_stages(self, request, acting=None):
        stages = [self.state.co.stages[k] for k in sorted(self.state.co.stages)]
        stages = self._stages_filtered(request.args, stages)
        return self._page(request, stages, self.state.render_stage)

    def v1_get_job_stage(self, request, id, acting=None):  # noqa: A002
        s = self.state.co.stages.get(id)
        if s is None:
            raise ApiError(404, NOT_FOUND)
        return self.state.render_stage(s)

    def v1_list_departments(self, request, acting=None):
        st = self.state
        depts = st.co.departments
        if request.args.get("external_id"):
            depts = [d for d in depts if d["external_id"] == request.args["external_id"]]
        if request.args.get("render_as") == "tree":
            roots = [d for d in depts if d["parent_id"] is None]
            return self._page(request, roots, st.render_department_tree)
        return self._page(request, depts, st.render_department)

    def v1_get_department(self, request, id, acting=None):  # noqa: A002
        d = self.state.co.department(id)
        if d is None:
            raise ApiError(404, NOT_FOUND)
        return self.state.render_department(d)

    def v1_list_offices(self, request, acting=None):
        offices = self.state.co.offices
        if request.args.get("external_id"):
            offices = [o for o in offices if o["external_id"] == request.args["external_id"]]
        return self._page(request, offices, self.state.render_office)

    def v1_get_office(self, request, id, acting=None):  # noqa: A002
        o = self.state.co.office(id)
        if o is None:
            raise ApiError(404, NOT_FOUND)
        return self.state.render_office(o)

    def v1_list_users(self, request, acting=None):
        args = request.args
        ca, cb = _time_param(args, "created_after"), _time_param(args, "created_before")
        ua, ub = _time_param(args, "updated_after"), _time_param(args, "updated_before")
        email = (args.get("email") or "").lower()
        emp = args.get("employee_id")
        users = [
            u
            for u in self.state.co.users
            if _in_window(u["created_at"], ca, cb)
            and _in_window(u["updated_at"], ua, ub)
            and (not email or u["email"].lower() == email)
            and (not emp or u["employee_id"] == emp)
        ]
        return self._page(request, users, self.state.render_user)

    def v1_get_user(self, request, id, acting=None):  # noqa: A002
        u = self.state.co.user(id)
        if u is None:
            raise ApiError(404, NOT_FOUND)
        return self.state.render_user(u)

    def v1_list_user_roles(self, request, acting=None):
        return self._page(request, self.state.co.user_roles, dict, next_only=True)

    def v1_list_custom_fields(self, request, field_type=None, acting=None):
        fields = self.state.co.custom_fields
        if field_type is not None:
            valid = (
                "job", "candidate", "application", "offer", "opening", "rejection_question",
                "referral_question", "user_attribute",
            )  # fmt: skip
            if field_type not in valid:
                raise ApiError(404, NOT_FOUND)
            fields = [f for f in fields if f["field_type"] == field_type]
        if request.args.get("include_inactive", "").lower() != "true":
            fields = [f for f in fields if f["active"]]
        return self._page(request, fields, self.state.render_custom_field, next_only=True)

    def v1_get_custom_field(self, request, id, acting=None):  # noqa: A002
        f = self.state.co.custom_fields_by_id.get(id)
        if f is None:
            raise ApiError(404, NOT_FOUND)
        return self.state.render_custom_field(f)

    def v1_list_sources(self, request, acting=None):
        return self._page(request, self.state.co.sources, dict)

    def v1_list_candidate_tags(self, request, acting=None):
        return self._page(request, self.state.co.candidate_tags, dict)

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

    def v3(self, request: Request) -> Response:
        st = self.state
        auth = request.headers.get("Authorization", "")
        tok = None
        if auth.lower().startswith("bearer "):
            tok = st.tokens.get(auth[7:].strip())
        if tok is None or tok["exp"] <= time.time():
            return json_response({"errors": ["Unauthorized: invalid or expired token"]}, 401)
        allowed, limit, remaining, reset = st.v3_limiter.hit(tok["client_id"])
        headers = {
            "X-RateLimit-Limit": limit,
            "X-RateLimit-Remaining": remaining,
            "X-RateLimit-Reset": int(reset),
        }
        if not allowed:
            headers["Retry-After"] = max(1, int(reset - time.time() + 0.999))
            return json_response({"errors": ["Rate limit exceeded"]}, 429, headers)
        try:
            adapter = V3_MAP.bind_to_environ(request.environ)
            try:
                endpoint, _ = adapter.match()
            except HTTPException:
                raise ApiError(404, {"errors": ["Not found"]}) from None
            verb, resource = endpoint.split(":")
            scope = f"harvest:{resource}:{'list' if verb == 'list' else 'create'}"
            if tok["scopes"] is not None and scope not in tok["scopes"]:
                raise ApiError(403, {"errors": [f"Missing required scope: {scope}"]})
            with st.lock:
                if verb == "create":
                    response = self.v3_create_note(request, tok)
                else:
                    response = self.v3_list(request, resource)
        except ApiError as exc:
            response = json_response(exc.body, exc.status)
        for k, v in headers.items():
            response.headers[k] = str(v)
        return response

    def _v3_source(self, resource: str) -> tuple[list, Callable, Callable]:
        """(id-sorted records or ids, id getter, renderer) for a v3 resource."""
        st, co = self.state, self.state.co
        if resource == "applications":
            return st._apps_sorted, lambda i: i, lambda i: st.render_application(co.applications[i])
        if resource == "candidates":
            return st._cands_sorted, lambda i: i, lambda i: st.render_candidate(co.candidates[i])
        if resource == "notes":
            notes = [
                {**n, "candidate_id": c["id"]}
                for c in co.candidates.values()
                if c["notes"]
                for n in c["notes"]
            ]
            notes.sort(key=lambda n: n["id"])

            def render_note(n):
                out = st.render_note(n)
                out["candidate_id"] = n["candidate_id"]
                return out

            return notes, lambda n: n["id"], render_note
        table = {
            "departments": (co.departments, st.render_department),
            "offices": (co.offices, st.render_office),
            "jobs": (co.jobs, st.render_job),
            "job_stages": ([co.stages[k] for k in sorted(co.stages)], st.render_stage),
            "users": (co.users, st.render_user),
            "user_roles": (co.user_roles, dict),
            "custom_fields": (co.custom_fields, st.render_custom_field),
            "sources": (co.sources, dict),
            "tags": (co.candidate_tags, dict),
        }
        items, render = table[resource]
        return sorted(items, key=lambda x: x["id"]), lambda x: x["id"], render

    @staticmethod
    def _pipe_filter(name: str, raw: str | None):
        if raw is None or raw == "":
            return None
        parts = raw.split("|")
        if len(parts) % 2:
            raise ApiError(422, {"errors": [f"Invalid {name} filter: expected op|timestamp pairs"]})
        conds = []
        for op, value in zip(parts[::2], parts[1::2], strict=True):
            if op not in ("gte", "gt", "lte", "lt", "eq"):
                raise ApiError(422, {"errors": [f"Invalid {name} operator: {op}"]})
            try:
                conds.append((op, parse_iso(value)))
            except ValueError:
                raise ApiError(422, {"errors": [f"Invalid {name} timestamp: {value}"]}) from None
        return tuple(conds)

    @staticmethod
    def _match_pipe(ts: float | None, conds) -> bool:
        if conds is None:
            return True
        if ts is None:
            return False
        for op, v in conds:
            if (
                (op == "gte" and ts < v)
                or (op == "gt" and ts <= v)
                or (op == "lte" and ts > v)
                or (op == "lt" and ts >= v)
                or (op == "eq" and ts != v)
            ):
                return False
        return True

    def _v3_times(self, resource: str, rec) -> tuple[float | None, float | None]:
        co = self.state.co
        if resource == "applications":
            a = co.applications[rec]
            return a["applied_at"], a["last_activity_at"]
        if resource == "candidates":
            c = co.candidates[rec]
            return c["created_at"], c["updated_at"]
        return rec.get("created_at"), rec.get("updated_at", rec.get("created_at"))

    V3_FILTERS = {"per_page", "created_at", "updated_at", "ids", "job_id", "candidate_id",
                  "status", "email"}  # fmt: skip

    def v3_list(self, request: Request, resource: str) -> Response:
        st = self.state
        args = request.args
        if "cursor" in args:
            if len(list(args.items(multi=True))) > 1:
                raise ApiError(422, CURSOR_ERROR)
            try:
                cur = json.loads(base64.urlsafe_b64decode(args["cursor"] + "=" * 4))
                filters, per_page, after = cur["f"], int(cur["pp"]), int(cur["a"])
                if cur["r"] != resource:
                    raise ValueError
            except (ValueError, KeyError, TypeError, binascii.Error):
                raise ApiError(422, {"errors": ["Invalid cursor"]}) from None
        else:
            unknown = [k for k in args if k not in self.V3_FILTERS]
            if unknown:
                raise ApiError(422, {"errors": [f"Unknown query parameter: {unknown[0]}"]})
            filters = {k: args.get(k) for k in args if k != "per_page"}
            try:
                per_page = int(args.get("per_page", 100))
            except ValueError:
                raise ApiError(422, {"errors": ["per_page must be an integer"]}) from None
            if not 1 <= per_page <= 500:
                raise ApiError(422, {"errors": ["per_page must be between 1 and 500"]})
            after = None
        if filters.get("created_at") and filters.get("updated_at"):
            raise ApiError(422, {"errors": ["Do not pass created_at and updated_at together."]})
        created = self._pipe_filter("created_at", filters.get("created_at"))
        updated = self._pipe_filter("updated_at", filters.get("updated_at"))
        items, get_id, render = self._v3_source(resource)

        def int_set(name):
            raw = filters.get(name)
            if not raw:
                return None
            try:
                return {int(x) for x in str(raw).split(",") if x.strip()}
            except ValueError:
                raise ApiError(422, {"errors": [f"{name} must be integers"]}) from None

        ids_f, job_f, cand_f = int_set("ids"), int_set("job_id"), int_set("candidate_id")
        status = filters.get("status")
        email = (filters.get("email") or "").lower()
        co = st.co

        def keep(rec) -> bool:
            rid = get_id(rec)
            if ids_f is not None and rid not in ids_f:
                return False
            c_ts, u_ts = self._v3_times(resource, rec)
            if not self._match_pipe(c_ts, created) or not self._match_pipe(u_ts, updated):
                return False
            if resource == "applications":
                a = co.applications[rec]
                if job_f is not None and a["job_id"] not in job_f:
                    return False
                if cand_f is not None and a["candidate_id"] not in cand_f:
                    return False
                if status and a["status"] != status:
                    return False
            elif resource == "job_stages":
                if job_f is not None and rec["job_id"] not in job_f:
                    return False
            elif resource == "notes":
                if cand_f is not None and rec["candidate_id"] not in cand_f:
                    return False
            elif resource == "jobs":
                if status and rec["status"] != status:
                    return False
            elif resource == "candidates":
                c = co.candidates[rec]
                if email and not any(e["value"].lower() == email for e in c["email_addresses"]):
                    return False
            elif resource == "users" and email and rec["email"].lower() != email:
                return False
            return True

        key = ("v3", resource, tuple(sorted(filters.items())))
        if resource in ("applications", "candidates"):
            ordered = st.cached_ids(key, lambda: [r for r in reversed(items) if keep(r)])
        else:
            ordered = [r for r in reversed(items) if keep(r)]
        # ordered is id-descending; find the first record with id < after
        start = 0
        if after is not None:
            lo, hi = 0, len(ordered)
            while lo < hi:
                mid = (lo + hi) // 2
                if get_id(ordered[mid]) < after:
                    hi = mid
                else:
                    lo = mid + 1
            start = lo
        chunk = ordered[start : start + per_page]
        resp = json_response([render(r) for r in chunk])
        if start + per_page < len(ordered) and chunk:
            cursor = (
                base64.urlsafe_b64encode(
                    json.dumps(
                        {"r": resource, "f": filters, "pp": per_page, "a": get_id(chunk[-1])},
                        separators=(",", ":"),
                    ).encode()
                )
                .decode()
                .rstrip("=")
            )
            resp.headers["Link"] = f'<{request.base_url}?cursor={cursor}>; rel="next"'
        return resp

    def v3_create_note(self, request: Request, tok: dict) -> Response:
        st = self.state
        body = _read_json(request)
        try:
            cid = int(body.get("candidate_id"))
        except (TypeError, ValueError):
            raise ApiError(422, {"errors": ["candidate_id is required"]}) from None
        if cid not in st.co.candidates:
            raise ApiError(404, {"errors": ["Candidate not found"]})
        user_id = tok["user_id"] or body.get("user_id")
        try:
            user_id = int(user_id)
        except (TypeError, ValueError):
            raise ApiError(
                422, {"errors": ["user_id is required when the token has no acting user"]}
            ) from None
        if st.co.user(user_id) is None:
            raise ApiError(422, {"errors": ["user_id does not match a user"]})
        text = body.get("body")
        if not isinstance(text, str) or not text.strip():
            raise ApiError(422, {"errors": ["body can't be blank"]})
        vis = body.get("visibility")
        if vis not in ("admin_only", "private", "public"):
            raise ApiError(
                422, {"errors": ["visibility must be one of: admin_only, private, public"]}
            )
        note = st.add_note(cid, user_id, text, vis, source="v3")
        out = st.render_note(note)
        out["candidate_id"] = cid
        return json_response(out, 201)

    # sandbox control -----------------------------------------------------------------------------
    def sandbox(self, request: Request) -> Response:
        adapter = SANDBOX_MAP.bind_to_environ(request.environ)
        try:
            endpoint, values = adapter.match()
        except HTTPException:
            return json_response({"error": "not found"}, 404)
        try:
            return getattr(self, f"sb_{endpoint}")(request, **values)
        except ApiError as exc:
            if endpoint == "ui_action":
                back = request.form.get("back") or f"{request.script_root}/_sandbox/"
                msg = exc.body.get("message") if isinstance(exc.body, dict) else str(exc.body)
                if isinstance(exc.body, dict) and exc.body.get("errors"):
                    msg = f"{msg}: {exc.body['errors'][0].get('message')}"
                sep = "&" if "?" in back else "?"
                return redirect(f"{back}{sep}{urllib.parse.urlencode({'flash': msg})}")
            return json_response(exc.body, exc.status)

    def _job_summary(self, j: dict) -> dict:
        return {
            "id": j["id"],
            "name": j["name"],
            "status": j["status"],
            "stages": [
                {"id": s["id"], "name": s["name"], "priority": s["priority"]}
                for s in self.state.co.job_stages(j["id"])
            ],
        }

    def sb_api_jobs(self, request):
        with self.state.lock:
            return json_response([self._job_summary(j) for j in self.state.co.jobs])

    def sb_api_stages(self, request):
        st = self.state
        job_id = _int_param(request.args, "job_id")
        with st.lock:
            stages = (
                st.co.job_stages(job_id)
                if job_id
                else [st.co.stages[k] for k in sorted(st.co.stages)]
            )
            return json_response([st.render_stage(s) for s in stages])

    def _app_summary(self, a: dict) -> dict:
        co = self.state.co
        return {
            "id": a["id"],
            "job_id": a["job_id"],
            "job_name": co.job(a["job_id"])["name"],
            "stage_id": a["stage_id"],
            "stage_name": co.stages[a["stage_id"]]["name"],
            "status": a["status"],
            "last_activity_at": iso(a["last_activity_at"]),
        }

    def search_candidates(self, q: str = "", job_id: int | None = None, status: str = ""):
        st = self.state
        q = q.strip().lower()
        out = []
        for cid in reversed(st._cands_sorted):
            c = st.co.candidates[cid]
            apps = [st.co.applications[a] for a in c["application_ids"]]
            if job_id:
                apps = [a for a in apps if a["job_id"] == job_id]
                if not apps:
                    continue
            if status:
                apps = [a for a in apps if a["status"] == status]
                if not apps:
                    continue
            if q:
                hay = f"{c['first_name']} {c['last_name']} " + " ".join(
                    e["value"] for e in c["email_addresses"]
                )
                if q not in hay.lower() and q != str(cid):
                    continue
            out.append((c, apps))
        return out

    def sb_api_candidates(self, request):
        st, args = self.state, request.args
        page = max(1, _int_param(args, "page", 1))
        per_page = min(500, max(1, _int_param(args, "per_page", 50)))
        with st.lock:
            found = self.search_candidates(
                args.get("q", ""), _int_param(args, "job_id"), args.get("status", "")
            )
            chunk = found[(page - 1) * per_page : page * per_page]
            items = [
                {
                    "id": c["id"],
                    "name": f"{c['first_name']} {c['last_name']}",
                    "email": c["email_addresses"][0]["value"] if c["email_addresses"] else None,
                    "applications": [self._app_summary(a) for a in apps],
                }
                for c, apps in chunk
            ]
            return json_response(
                {"total": len(found), "page": page, "per_page": per_page, "items": items}
            )

    def sb_api_create_candidate(self, request):
        body = _read_json(request)
        for f in ("first_name", "last_name", "job_id"):
            if not body.get(f):
                raise validation_error(f, "can't be blank")
        cand, app = self.state.create_candidate(
            body["first_name"],
            body["last_name"],
            int(body["job_id"]),
            email=body.get("email"),
            phone=body.get("phone"),
            stage_id=body.get("stage_id"),
            source="control",
        )
        with self.state.lock:
            return json_response(
                {"candidate": self.state.render_candidate(cand),
                 "application": self.state.render_application(app)},
                201,
            )  # fmt: skip

    def sb_api_application(self, request, id):  # noqa: A002
        with self.state.lock:
            return json_response(self.state.render_application(self.state.get_application(id)))

    def _do_app_action(self, app_id: int, action: str, data) -> dict:
        st = self.state
        if action == "move":
            stage_id = data.get("stage_id") or data.get("to_stage_id")
            if not stage_id and data.get("stage_name"):
                app = st.get_application(app_id)
                stage = st.co.stage_by_name(app["job_id"], data["stage_name"])
                stage_id = stage["id"] if stage else None
            if not stage_id:
                raise validation_error("stage_id", "can't be blank")
            return st.move_application(app_id, int(stage_id), source="control")
        if action == "reject":
            reason = data.get("rejection_reason_id")
            return st.reject_application(app_id, int(reason) if reason else None, source="control")
        if action == "unreject":
            return st.unreject_application(app_id, source="control")
        if action == "hire":
            return st.hire_application(app_id, source="control")
        raise ApiError(404, {"message": f"Unknown action {action}"})

    def sb_api_app_action(self, request, id, action):  # noqa: A002
        app = self._do_app_action(id, action, _read_json(request))
        with self.state.lock:
            return json_response(self.state.render_application(app))

    def sb_api_webhook(self, request):
        st = self.state
        if request.method == "POST":
            body = _read_json(request)
            return json_response(
                st.configure_webhook(
                    body.get("url"), body.get("secret"), bool(body.get("enabled", True))
                )
            )
        return json_response(st.webhook)

    def sb_api_credentials(self, request):
        body = _read_json(request)
        if body.get("type", "v1") == "v3":
            if not body.get("client_id") or not body.get("client_secret"):
                raise validation_error("client_id", "client_id and client_secret are required")
            self.state.add_v3_client(body["client_id"], body["client_secret"], body.get("scopes"))
        else:
            if not body.get("key"):
                raise validation_error("key", "can't be blank")
            self.state.add_v1_key(body["key"], body.get("permissions"))
        return json_response({"ok": True}, 201)

    def sb_api_rate_limit(self, request):
        body = _read_json(request)
        self.state.set_rate_limit(
            body.get("limit"),
            body.get("legacy_epoch_retry_after"),
            body.get("v3_limit", "unchanged"),
            body.get("legacy_epoch_lag"),
        )
        return json_response(
            {"limit": self.state.limiter.limit, "v3_limit": self.state.v3_limiter.limit,
             "legacy_epoch_retry_after": self.state.legacy_epoch_retry_after,
             "legacy_epoch_lag": self.state.legacy_epoch_lag}
        )  # fmt: skip

    def sb_api_faults(self, request):
        st = self.state
        if request.method == "POST":
            b = _read_json(request)
            rule = st.inject_fault(
                b.get("path_prefix", "/"),
                b.get("status", 500),
                int(b.get("count", 1)),
                float(b.get("delay", 0)),
            )
            return json_response(rule, 201)
        if request.method == "DELETE":
            st.faults.clear()
        return json_response(st.faults.rules)

    def sb_api_writes(self, request):
        with self.state.lock:
            return json_response(self.state.writes)

    def sb_api_deliveries(self, request):
        return json_response(list(self.state.deliveries))

    def sb_api_reset(self, request):
        self.state.reset()
        return json_response({"ok": True})

    def sb_ui_action(self, request, action):
        form = request.form
        back = form.get("back") or f"{request.script_root}/_sandbox/"
        if not back.startswith("/"):
            back = f"{request.script_root}/_sandbox/"
        if action == "create":
            self.state.create_candidate(
                form.get("first_name") or "New",
                form.get("last_name") or "Candidate",
                int(form.get("job_id") or self.state.co.jobs[0]["id"]),
                email=form.get("email") or None,
                source="control",
            )
        else:
            app_id = int(form.get("application_id", "0") or 0)
            self._do_app_action(app_id, action, form)
        return redirect(back)

    def sb_ui_index(self, request):
        st = self.state
        args = request.args
        q = args.get("q", "")
        job_id = _int_param(args, "job_id")
        page = max(1, _int_param(args, "page", 1))
        root = request.script_root
        here = request.full_path if request.query_string else request.path
        here = f"{root}{here}" if not here.startswith(root) else here
        with st.lock:
            found = self.search_candidates(q, job_id)
            per = 25
            chunk = found[(page - 1) * per : page * per]
            jobs_opts = "".join(
                f"<option value='{j['id']}'{' selected' if j['id'] == job_id else ''}>"
                f"{esc(j['name'])}</option>"
                for j in st.co.jobs
            )
            rows = []
            for c, apps in chunk:
                for a in apps:
                    job = st.co.job(a["job_id"])
                    stage_opts = "".join(
                        f"<option value='{s['id']}'{' selected' if s['id'] == a['stage_id'] else ''}>"
                        f"{esc(s['name'])}</option>"
                        for s in st.co.job_stages(a["job_id"])
                    )
                    hidden = (
                        f"<input type='hidden' name='application_id' value='{a['id']}'>"
                        f"<input type='hidden' name='back' value='{esc(here)}'>"
                    )
                    actions = ""
                    if a["status"] == "active":
                        actions = (
                            f"<form class='inline' method='post' action='{root}/_sandbox/ui/move'>"
                            f"{hidden}<select name='stage_id'>{stage_opts}</select>"
                            "<button>Move</button></form> "
                            f"<form class='inline' method='post' action='{root}/_sandbox/ui/reject'>"
                            f"{hidden}<button>Reject</button></form> "
                            f"<form class='inline' method='post' action='{root}/_sandbox/ui/hire'>"
                            f"{hidden}<button>Hire</button></form>"
                        )
                    elif a["status"] == "rejected":
                        actions = (
                            f"<form class='inline' method='post' action='{root}/_sandbox/ui/unreject'>"
                            f"{hidden}<button>Unreject</button></form>"
                        )
                    email = c["email_addresses"][0]["value"] if c["email_addresses"] else ""
                    stage_name = st.co.stages[a["stage_id"]]["name"]
                    rows.append(
                        f"<tr><td>{esc(c['first_name'])} {esc(c['last_name'])}"
                        f"<div class='muted'>{esc(email)} · #{c['id']}</div></td>"
                        f"<td>{esc(job['name'])}<div class='muted'>application #{a['id']}</div></td>"
                        f"<td>{esc(stage_name)}</td>"
                        f"<td><span class='pill {a['status']}'>{a['status']}</span></td>"
                        f"<td>{actions}</td></tr>"
                    )
            job_rows = "".join(
                f"<tr><td>{j['id']}</td><td><a href='{root}/_sandbox/?job_id={j['id']}'>"
                f"{esc(j['name'])}</a></td><td>{j['status']}</td>"
                f"<td>{esc(', '.join(s['name'] for s in st.co.job_stages(j['id'])))}</td></tr>"
                for j in st.co.jobs
            )
            total = len(found)
        flash = args.get("flash")
        pages = max(1, -(-total // per))
        qs = urllib.parse.urlencode({k: v for k, v in (("q", q), ("job_id", job_id or "")) if v})
        nav = ""
        if page > 1:
            nav += f"<a href='{root}/_sandbox/?{qs}&page={page - 1}'>&larr; prev</a> "
        if page < pages:
            nav += f"<a href='{root}/_sandbox/?{qs}&page={page + 1}'>next &rarr;</a>"
        hook = st.webhook
        body = (
            (f"<div class='flash'>{esc(flash)}</div>" if flash else "")
            + f"<section><form method='get' action='{root}/_sandbox/'>"
            f"<input name='q' placeholder='Search name or email' value='{esc(q)}'> "
            f"<select name='job_id'><option value=''>All jobs</option>{jobs_opts}</select> "
            "<button>Search</button></form>"
            f"<p class='muted'>{total} candidates · page {page} of {pages} {nav} · webhook: "
            f"{esc(hook.get('url') or 'not configured')} "
            f"({'enabled' if hook.get('enabled') else 'disabled'})</p>"
            "<table><tr><th>Candidate</th><th>Job</th><th>Stage</th><th>Status</th>"
            f"<th>Actions</th></tr>{''.join(rows)}</table></section>"
            "<section><h2>New candidate</h2>"
            f"<form method='post' action='{root}/_sandbox/ui/create'>"
            f"<input type='hidden' name='back' value='{esc(here)}'>"
            "<input name='first_name' placeholder='First name' required> "
            "<input name='last_name' placeholder='Last name' required> "
            "<input name='email' placeholder='Email'> "
            f"<select name='job_id'>{jobs_opts}</select> <button>Create</button></form></section>"
            "<section><h2>Jobs</h2><table><tr><th>Id</th><th>Name</th><th>Status</th>"
            f"<th>Stages</th></tr>{job_rows}</table></section>"
        )
        return html_page("Sandbox Greenhouse", body)
