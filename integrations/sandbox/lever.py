"""Fake Lever Data API (v1), OAuth and webhooks, as a WSGI application.

Paths are relative to the mount:

* ``/v1/...``: Basic (API key as username, blank password) or ``Bearer <access token>``.
  Envelopes ``{"data": ...}`` / ``{"data": [...], "next": "<token>", "hasNext": bool}``;
  errors ``{"code": ..., "message": ...}``.  ``limit`` 1..100; ``offset`` only accepts tokens
  this server issued for the same query (anything else: 400 ``BadRequestError``).
* ``/authorize`` and ``/oauth/token`` (like ``auth.lever.co``; ``/oauth/authorize`` is kept as
  an alias): authorization-code flow with rotating refresh
  tokens (a refresh token is issued when the scope contains ``offline_access``).  Pass
  ``deny=1`` to the authorize URL (or set ``LeverState.oauth_deny``) to simulate a user
  declining consent.
* ``/_sandbox/``: HTML page and JSON control API (no auth; loopback only).

Rate limit: token bucket per credential (10 req/s, burst 20 by default); 429 with no headers.
Webhooks: ``{id, event, triggeredAt, token, signature, data}`` signed as
``hex(HMAC-SHA256(signatureToken, token + str(triggeredAt)))``, ``User-Agent: Lever-Webhooks``,
any 2xx is success, 5 retries on a scaled schedule.
"""

from __future__ import annotations

import bisect
import hashlib
import hmac
import json
import secrets
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from integrations.sandbox._common import (
    Faults,
    TokenBucket,
    WebhookDispatcher,
    esc,
    html_page,
    json_response,
    redirect,
)
from integrations.sandbox.atsdata import STAGE_ORDER, Company, generate_company, ms, stable_uuid

DEFAULT_API_KEY = "sandbox-lever-key"
DEFAULT_CLIENT_ID = "sandbox-lever-client"
DEFAULT_CLIENT_SECRET = "sandbox-lever-secret"
MAX_FILE_BYTES = 30 * 1024 * 1024
HIRED_REASON_TEXT = "Hired"


class LeverError(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def lever_signature(signature_token: str, token: str, triggered_at: int) -> str:
    msg = f"{token}{triggered_at}".encode()
    return hmac.new(signature_token.encode(), msg, hashlib.sha256).hexdigest()


def _bad(message: str) -> LeverError:
    return LeverError(400, "BadRequestError", message)


def _not_found(kind: str, ident) -> LeverError:
    return LeverError(404, "ResourceNotFound", f"{kind} {ident} was not found")


class LeverState:
    """Mutable state of the Lever fake.

    Mutators: :meth:`change_stage`, :meth:`archive`, :meth:`hire`, :meth:`create_opportunity`,
    :meth:`add_note`, :meth:`add_file`, :meth:`delete_opportunity`.  Configuration:
    :meth:`add_api_key`, :meth:`add_oauth_client`, :meth:`set_rate_limit`,
    :meth:`configure_webhook`, :meth:`inject_fault`, :meth:`reset`, plus ``token_lifetime``
    and ``oauth_deny`` attributes.  Records: :attr:`writes`, :attr:`deliveries`.
    """

    def __init__(
        self,
        company_factory: Callable[[], Company] | None = None,
        rate: float | None = 10.0,
        burst: int = 20,
        token_lifetime: float = 3600,
        retry_delays: list[float] | None = None,
        retry_scale: float = 1 / 60,
        on_change: Callable[[], None] | None = None,
    ):
        self.company_factory = company_factory or generate_company
        self.lock = threading.RLock()
        self.bucket = TokenBucket(rate, burst)
        self.token_lifetime = token_lifetime
        self.oauth_deny = False
        self.faults = Faults()
        self.on_change = on_change
        self.writes: list[dict] = []
        self.deliveries: list[dict] = []
        self.dispatcher = WebhookDispatcher(
            self.deliveries,
            retry_delays if retry_delays is not None else [60, 300, 1800, 7200, 21600],
            retry_scale,
            is_success=lambda code: 200 <= code < 300,
            user_agent="Lever-Webhooks",
        )
        self._replaying = False
        self._install_defaults()
        self._load()

    def _install_defaults(self) -> None:
        self.api_keys: set[str] = {DEFAULT_API_KEY}
        self.oauth_clients: dict[str, dict] = {DEFAULT_CLIENT_ID: {"secret": DEFAULT_CLIENT_SECRET}}
        self.codes: dict[str, dict] = {}
        self.access_tokens: dict[str, dict] = {}
        self.refresh_tokens: dict[str, dict] = {}
        self.webhook = {"url": None, "signature_token": None, "enabled": False, "events": None}
        self._offsets: dict[str, tuple[str, tuple]] = {}
        self._secret = secrets.token_hex(8)

    def _load(self) -> None:
        with self.lock:
            co = self.company_factory()
            self.co = co
            self.version = 0
            self._cache: dict = {}
            self.users = []
            self.user_by_gh: dict[int, str] = {}
            for u in co.users:
                uid = stable_uuid("user", u["id"])
                self.user_by_gh[u["id"]] = uid
                self.users.append(
                    {
                        "id": uid,
                        "name": u["name"],
                        "username": u["email"].split("@")[0],
                        "email": u["email"],
                        "createdAt": ms(u["created_at"]),
                        "deactivatedAt": None,
                        "externalDirectoryId": None,
                        "accessRole": {
                            "admin": "super admin",
                            "recruiter": "admin",
                            "coordinator": "team member",
                        }.get(u["role"], "interviewer"),
                        "photo": None,
                        "linkedContactIds": [],
                        "jobTitle": u["role"].replace("_", " ").title(),
                        "managerId": None,
                    }
                )
            self.users_by_id = {u["id"]: u for u in self.users}
            names = {s["name"] for s in co.stages.values()}
            ordered = [n for n in STAGE_ORDER if n in names] + sorted(names - set(STAGE_ORDER))
            self.stages = [{"id": stable_uuid("stage", n), "text": n} for n in ordered]
            self.stage_by_id = {s["id"]: s for s in self.stages}
            self.stage_by_name = {s["text"]: s["id"] for s in self.stages}
            self.stage_index = {s["id"]: i for i, s in enumerate(self.stages)}
            self.archive_reasons = [
                {
                    "id": stable_uuid("reason", r["id"]),
                    "text": r["name"],
                    "status": "active",
                    "type": "non-hired",
                }
                for r in co.rejection_reasons
            ] + [
                {
                    "id": stable_uuid("reason", "hired"),
                    "text": HIRED_REASON_TEXT,
                    "status": "active",
                    "type": "hired",
                }
            ]
            self.reason_by_id = {r["id"]: r for r in self.archive_reasons}
            self.reason_by_gh = {
                r["id"]: stable_uuid("reason", r["id"]) for r in co.rejection_reasons
            }
            self.hired_reason = stable_uuid("reason", "hired")
            self.postings = []
            self.posting_by_job: dict[int, str] = {}
            for j in co.jobs:
                pid = stable_uuid("posting", j["id"])
                self.posting_by_job[j["id"]] = pid
                dept = co.department(j["department_id"])
                parent = co.department(dept["parent_id"]) if dept["parent_id"] else None
                locs = [co.office(o)["name"] for o in j["office_ids"]]
                owner = self.user_by_gh[j["hiring_team"]["recruiters"][0]]
                self.postings.append(
                    {
                        "id": pid,
                        "text": j["name"],
                        "state": {"open": "published", "closed": "closed"}.get(
                            j["status"], "draft"
                        ),
                        "distributionChannels": ["public", "internal"],
                        "confidentiality": "confidential"
                        if j["confidential"]
                        else "non-confidential",
                        "categories": {
                            "team": dept["name"],
                            "department": (parent or dept)["name"],
                            "location": locs[0],
                            "allLocations": locs,
                            "commitment": "Full-time",
                            "level": None,
                        },
                        "owner": owner,
                        "hiringManager": self.user_by_gh[j["hiring_team"]["hiring_managers"][0]],
                        "user": owner,
                        "tags": [],
                        "content": {
                            "description": f"Join our {dept['name']} team.",
                            "descriptionHtml": f"<div>Join our {esc(dept['name'])} team.</div>",
                            "lists": [],
                            "closing": "",
                            "closingHtml": "",
                        },
                        "requisitionCodes": [j["requisition_id"]],
                        "salaryRange": None,
                        "urls": {
                            "list": "https://jobs.lever.co/sandbox",
                            "show": f"https://jobs.lever.co/sandbox/{pid}",
                            "apply": f"https://jobs.lever.co/sandbox/{pid}/apply",
                        },
                        "workplaceType": "remote" if "Remote" in locs else "onsite",
                        "createdAt": ms(j["created_at"]),
                        "updatedAt": ms(j["updated_at"]),
                    }
                )
            self.posting_by_id = {p["id"]: p for p in self.postings}
            self.opps: dict[str, dict] = {}
            for a in co.applications.values():
                self._add_opp_from_app(a)
            self.deleted: list[dict] = []
            self._sorted_keys: list[tuple] = sorted(
                (o["createdAt"], o["id"]) for o in self.opps.values()
            )

    def _add_opp_from_app(self, a: dict) -> dict:
        co = self.co
        c = co.candidates[a["candidate_id"]]
        job = co.job(a["job_id"])
        oid = stable_uuid("opportunity", a["id"])
        stage_name = co.stages[a["stage_id"]]["name"]
        changes = [
            {
                "toStageId": self.stage_by_name[co.stages[h[2]]["name"]],
                "toStageIndex": self.stage_index[self.stage_by_name[co.stages[h[2]]["name"]]],
                "userId": self.user_by_gh.get(h[3]) if h[3] else None,
                "updatedAt": ms(h[0]),
            }
            for h in a["history"]
        ]
        first_stage = self.stage_by_name[co.stages[job["stage_ids"][0]]["name"]]
        changes.insert(
            0,
            {
                "toStageId": first_stage,
                "toStageIndex": self.stage_index[first_stage],
                "userId": None,
                "updatedAt": ms(a["applied_at"]),
            },
        )
        archived_at = a["rejected_at"] or a["hired_at"]
        reason = None
        if a["status"] == "rejected":
            reason = self.reason_by_gh[a["rejection_reason_id"]]
        elif a["status"] == "hired":
            reason = self.hired_reason
        owner = self.user_by_gh[job["hiring_team"]["recruiters"][0]]
        src = co.source(a["source_id"])
        origin = {"Referral": "referred", "Agency": "agency", "LinkedIn": "sourced"}.get(
            src["name"], "applied"
        )
        opp = {
            "id": oid,
            "name": f"{c['first_name']} {c['last_name']}",
            "headline": c["company"] or "",
            "contact": stable_uuid("contact", c["id"]),
            "emails": [e["value"] for e in c["email_addresses"]],
            "phones": [{"type": p["type"], "value": p["value"]} for p in c["phone_numbers"]],
            "confidentiality": "confidential" if job["confidential"] else "non-confidential",
            "location": co.office(job["office_ids"][0])["name"],
            "links": [],
            "createdAt": ms(a["applied_at"]),
            "updatedAt": ms(a["last_activity_at"]),
            "lastInteractionAt": ms(a["last_activity_at"]),
            "lastAdvancedAt": changes[-1]["updatedAt"],
            "snoozedUntil": None,
            "archivedAt": ms(archived_at) if reason else None,
            "archiveReason": reason,
            "stage": self.stage_by_name[stage_name],
            "stageChanges": changes,
            "owner": owner,
            "tags": [job["name"], co.department(job["department_id"])["name"]] + list(c["tags"]),
            "sources": [src["name"]],
            "origin": origin,
            "sourcedBy": owner if origin == "sourced" else None,
            "applications": [stable_uuid("application", a["id"])],
            "resume": None,
            "followers": [owner],
            "urls": {
                "list": "https://hire.lever.co/candidates",
                "show": f"https://hire.lever.co/candidates/{oid}",
            },
            "dataProtection": None,
            "isAnonymized": False,
            "posting": self.posting_by_job[job["id"]],
            "notes": [],
            "files": [],
        }
        self.opps[oid] = opp
        return opp

    def reset(self) -> None:
        with self.lock:
            self.dispatcher.cancel_all()
            self.writes.clear()
            self.deliveries.clear()
            self.faults.clear()
            self.bucket.reset()
            self.oauth_deny = False
            self._install_defaults()
            self._load()
        self._changed()

    def _changed(self) -> None:
        if self.on_change and not self._replaying:
            self.on_change()

    def _bump(self) -> None:
        self.version += 1
        if len(self._cache) > 256:
            self._cache.clear()

    # configuration -------------------------------------------------------------------------------
    def add_api_key(self, key: str) -> None:
        self.api_keys.add(key)

    def add_oauth_client(self, client_id: str, client_secret: str) -> None:
        self.oauth_clients[client_id] = {"secret": client_secret}

    def set_rate_limit(self, rate: float | None = 10.0, burst: int = 20) -> None:
        self.bucket.rate, self.bucket.burst = rate, burst
        self.bucket.reset()

    def inject_fault(self, prefix: str, status: int | None = 500, count: int = 1, delay=0.0):
        return self.faults.add(prefix, status, count, delay)

    def configure_webhook(
        self,
        url: str | None,
        signature_token: str | None,
        enabled: bool = True,
        events: list[str] | None = None,
    ) -> dict:
        self.webhook = {
            "url": url,
            "signature_token": signature_token,
            "enabled": bool(enabled and url),
            "events": events,
        }
        return dict(self.webhook)

    def _emit(self, event: str, opp: dict, from_stage=None, to_stage=None, extra=None) -> None:
        hook = self.webhook
        if self._replaying or not hook.get("enabled"):
            return
        if hook.get("events") is not None and event not in hook["events"]:
            return
        triggered = int(time.time() * 1000)
        token = secrets.token_hex(24)
        data = {
            "opportunityId": opp["id"],
            "candidateId": opp["id"],
            "contactId": opp["contact"],
            "fromStageId": from_stage,
            "toStageId": to_stage,
        }
        data.update(extra or {})
        payload = {
            "id": str(uuid.uuid4()),
            "event": event,
            "triggeredAt": triggered,
            "token": token,
            "signature": lever_signature(hook["signature_token"], token, triggered)
            if hook.get("signature_token")
            else None,
            "data": data,
        }
        body = json.dumps(payload, separators=(",", ":")).encode()
        entry = {"event": event, "token": token, "triggeredAt": triggered, "id": payload["id"]}
        self.dispatcher.submit(entry, hook["url"], body, {})

    def redeliver(self, index: int) -> dict:
        """Send a past delivery again with the identical body (same ``token``): replay tests."""
        old = self.deliveries[index]
        entry = {k: old[k] for k in ("event", "token", "triggeredAt", "id") if k in old}
        entry["redelivery_of"] = index
        return self.dispatcher.submit(entry, old["url"], old["body"].encode(), {})

    # records -------------------------------------------------------------------------------------
    def _record(self, kind: str, args: dict, source: str, at: float) -> None:
        self.writes.append({"kind": kind, "args": args, "source": source, "at": at})

    def replay(self, writes: list[dict]) -> None:
        self._replaying = True
        try:
            for w in writes:
                getattr(self, w["kind"])(
                    **w["args"], source=w.get("source", "replay"), at=w.get("at")
                )
        finally:
            self._replaying = False

    def get_opp(self, opp_id: str) -> dict:
        opp = self.opps.get(opp_id)
        if opp is None:
            raise _not_found("opportunities", opp_id)
        return opp

    def check_user(self, user_id: str | None, required: bool = False) -> str | None:
        if not user_id:
            if required:
                raise _bad("perform_as is required")
            return None
        if user_id not in self.users_by_id:
            raise _bad(f"perform_as user {user_id} was not found")
        return user_id

    # mutations -----------------------------------------------------------------------------------
    def change_stage(self, opportunity_id: str, stage_id: str, perform_as: str | None = None,
                     source: str = "direct", at: float | None = None) -> dict:  # fmt: skip
        at = at or time.time()
        with self.lock:
            opp = self.get_opp(opportunity_id)
            if stage_id not in self.stage_by_id:
                raise _not_found("stages", stage_id)
            old = opp["stage"]
            now = ms(at)
            opp["stage"] = stage_id
            opp["stageChanges"].append(
                {"toStageId": stage_id, "toStageIndex": self.stage_index[stage_id],
                 "userId": perform_as, "updatedAt": now}
            )  # fmt: skip
            opp["updatedAt"] = opp["lastAdvancedAt"] = opp["lastInteractionAt"] = now
            self._bump()
            self._record("change_stage", {"opportunity_id": opp["id"], "stage_id": stage_id,
                                          "perform_as": perform_as}, source, at)  # fmt: skip
            self._emit("candidateStageChange", opp, old, stage_id)
        self._changed()
        return opp

    def archive(self, opportunity_id: str, reason: str | None, perform_as: str | None = None,
                source: str = "direct", at: float | None = None) -> dict:  # fmt: skip
        """Archive with ``reason`` (an archive reason id) or unarchive with ``None``."""
        at = at or time.time()
        with self.lock:
            opp = self.get_opp(opportunity_id)
            if reason is not None and reason not in self.reason_by_id:
                raise _not_found("archive_reasons", reason)
            was = opp["archiveReason"]
            opp["archiveReason"] = reason
            opp["archivedAt"] = ms(at) if reason else None
            opp["updatedAt"] = opp["lastInteractionAt"] = ms(at)
            self._bump()
            self._record("archive", {"opportunity_id": opp["id"], "reason": reason,
                                     "perform_as": perform_as}, source, at)  # fmt: skip
            self._emit(
                "candidateArchiveChange",
                opp,
                opp["stage"],
                opp["stage"],
                {"fromArchived": {"reason": was} if was else None,
                 "toArchived": {"reason": reason, "archivedAt": opp["archivedAt"]}
                 if reason else None},
            )  # fmt: skip
            if reason == self.hired_reason:
                self._emit("candidateHired", opp, opp["stage"], opp["stage"])
        self._changed()
        return opp

    def hire(self, opportunity_id: str, perform_as: str | None = None) -> dict:
        return self.archive(opportunity_id, self.hired_reason, perform_as)

    def create_opportunity(self, name: str, email: str | None, posting_id: str,
                           perform_as: str | None = None, source: str = "direct",
                           at: float | None = None) -> dict:  # fmt: skip
        at = at or time.time()
        with self.lock:
            posting = self.posting_by_id.get(posting_id)
            if posting is None:
                raise _not_found("postings", posting_id)
            n = len(self.writes) + len(self.opps)
            oid = stable_uuid("opportunity-new", f"{n}:{name}:{at}")
            now = ms(at)
            first = self.stages[0]["id"]
            opp = {
                "id": oid, "name": name, "headline": "", "contact": stable_uuid("contact-new", oid),
                "emails": [email] if email else [], "phones": [],
                "confidentiality": posting["confidentiality"],
                "location": posting["categories"]["location"], "links": [],
                "createdAt": now, "updatedAt": now, "lastInteractionAt": now,
                "lastAdvancedAt": now, "snoozedUntil": None, "archivedAt": None,
                "archiveReason": None, "stage": first,
                "stageChanges": [{"toStageId": first, "toStageIndex": 0, "userId": perform_as,
                                  "updatedAt": now}],
                "owner": posting["owner"], "tags": [posting["text"]], "sources": ["Sandbox"],
                "origin": "applied", "sourcedBy": None,
                "applications": [stable_uuid("application-new", oid)], "resume": None,
                "followers": [posting["owner"]],
                "urls": {"list": "https://hire.lever.co/candidates",
                         "show": f"https://hire.lever.co/candidates/{oid}"},
                "dataProtection": None, "isAnonymized": False, "posting": posting_id,
                "notes": [], "files": [],
            }  # fmt: skip
            self.opps[oid] = opp
            bisect.insort(self._sorted_keys, (now, oid))
            self._bump()
            self._record("create_opportunity", {"name": name, "email": email,
                         "posting_id": posting_id, "perform_as": perform_as}, source, at)  # fmt: skip
            self._emit("applicationCreated", opp, None, first)
        self._changed()
        return opp

    def delete_opportunity(self, opportunity_id: str, source: str = "direct",
                           at: float | None = None) -> None:  # fmt: skip
        at = at or time.time()
        with self.lock:
            opp = self.get_opp(opportunity_id)
            del self.opps[opp["id"]]
            self._sorted_keys.remove((opp["createdAt"], opp["id"]))
            self.deleted.append({"id": opp["id"], "deletedAt": ms(at), "deletedBy": None})
            self._bump()
            self._record("delete_opportunity", {"opportunity_id": opp["id"]}, source, at)
            self._emit("candidateDeleted", opp)
        self._changed()

    def add_note(self, opportunity_id: str, value: str, perform_as: str | None = None,
                 secret: bool = False, score: int | None = None, source: str = "direct",
                 at: float | None = None, note_id: str | None = None) -> dict:  # fmt: skip
        at = at or time.time()
        with self.lock:
            opp = self.get_opp(opportunity_id)
            note_id = note_id or str(uuid.uuid4())
            note = {
                "id": note_id, "text": "Note",
                "fields": [{"type": "note", "text": "Note", "value": value,
                            "createdAt": ms(at), "user": perform_as, "score": score,
                            "stage": opp["stage"]}],
                "user": perform_as, "secret": bool(secret), "createdAt": ms(at),
                "completedAt": ms(at), "deletedAt": None,
            }  # fmt: skip
            opp["notes"].append(note)
            opp["lastInteractionAt"] = ms(at)
            self._bump()
            self._record("add_note", {"opportunity_id": opp["id"], "value": value,
                         "perform_as": perform_as, "secret": bool(secret), "score": score,
                         "note_id": note_id}, source, at)  # fmt: skip
        self._changed()
        return note

    def add_file(self, opportunity_id: str, name: str, size: int, perform_as: str,
                 source: str = "direct", at: float | None = None,
                 file_id: str | None = None) -> dict:  # fmt: skip
        at = at or time.time()
        with self.lock:
            opp = self.get_opp(opportunity_id)
            file_id = file_id or str(uuid.uuid4())
            ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
            rec = {
                "id": file_id, "downloadUrl": f"https://hire.lever.co/files/{file_id}/download",
                "ext": ext, "name": name, "uploadedAt": ms(at),
                "status": "processed" if ext in ("pdf", "doc", "docx", "txt") else "unsupported",
                "size": size,
            }  # fmt: skip
            opp["files"].append(rec)
            self._bump()
            self._record("add_file", {"opportunity_id": opp["id"], "name": name, "size": size,
                         "perform_as": perform_as, "file_id": file_id}, source, at)  # fmt: skip
        self._changed()
        return rec

    # rendering -----------------------------------------------------------------------------------
    def render_opp(self, opp: dict, expand: set[str]) -> dict:
        out = {k: v for k, v in opp.items() if k not in ("notes", "files", "posting")}
        out["stageChanges"] = list(opp["stageChanges"])
        out["archived"] = (
            {"archivedAt": opp["archivedAt"], "reason": opp["archiveReason"]}
            if opp["archiveReason"]
            else None
        )
        if "stage" in expand:
            out["stage"] = dict(self.stage_by_id[opp["stage"]])
        if "owner" in expand and opp["owner"]:
            u = self.users_by_id[opp["owner"]]
            out["owner"] = {"id": u["id"], "name": u["name"], "email": u["email"]}
        if "applications" in expand:
            posting = self.posting_by_id[opp["posting"]]
            out["applications"] = [
                {
                    "id": app_id,
                    "opportunityId": opp["id"],
                    "candidateId": opp["id"],
                    "createdAt": opp["createdAt"],
                    "type": "posting",
                    "posting": posting["id"],
                    "postingOwner": posting["owner"],
                    "postingHiringManager": posting["hiringManager"],
                    "user": None,
                    "name": opp["name"],
                    "email": opp["emails"][0] if opp["emails"] else None,
                    "phone": opp["phones"][0] if opp["phones"] else None,
                    "customQuestions": [],
                    "archived": out["archived"],
                }
                for app_id in opp["applications"]
            ]
        return out


# ---------------------------------------------------------------------------------------------

LEVER_MAP = Map(
    [
        Rule("/v1/opportunities", methods=["GET"], endpoint="list_opps"),
        Rule("/v1/opportunities", methods=["POST"], endpoint="create_opp"),
        Rule("/v1/opportunities/deleted", methods=["GET"], endpoint="deleted_opps"),
        Rule("/v1/opportunities/<opp>", methods=["GET"], endpoint="get_opp"),
        Rule("/v1/opportunities/<opp>/notes", methods=["GET"], endpoint="list_notes"),
        Rule("/v1/opportunities/<opp>/notes", methods=["POST"], endpoint="create_note"),
        Rule("/v1/opportunities/<opp>/files", methods=["GET"], endpoint="list_files"),
        Rule("/v1/opportunities/<opp>/files", methods=["POST"], endpoint="upload_file"),
        Rule("/v1/opportunities/<opp>/stage", methods=["PUT"], endpoint="put_stage"),
        Rule("/v1/opportunities/<opp>/archived", methods=["PUT"], endpoint="put_archived"),
        Rule("/v1/stages", methods=["GET"], endpoint="list_stages"),
        Rule("/v1/stages/<ident>", methods=["GET"], endpoint="get_stage"),
        Rule("/v1/postings", methods=["GET"], endpoint="list_postings"),
        Rule("/v1/postings/<ident>", methods=["GET"], endpoint="get_posting"),
        Rule("/v1/users", methods=["GET"], endpoint="list_users"),
        Rule("/v1/users/<ident>", methods=["GET"], endpoint="get_user"),
        Rule("/v1/archive_reasons", methods=["GET"], endpoint="list_reasons"),
        Rule("/v1/archive_reasons/<ident>", methods=["GET"], endpoint="get_reason"),
    ],
    strict_slashes=False,
)
SANDBOX_MAP = Map(
    [
        Rule("/_sandbox/", methods=["GET"], endpoint="ui_index"),
        Rule("/_sandbox/ui/<action>", methods=["POST"], endpoint="ui_action"),
        Rule("/_sandbox/api/opportunities", methods=["GET"], endpoint="api_opps"),
        Rule("/_sandbox/api/opportunities", methods=["POST"], endpoint="api_create"),
        Rule("/_sandbox/api/opportunities/<opp>/<action>", methods=["POST"], endpoint="api_action"),
        Rule("/_sandbox/api/stages", methods=["GET"], endpoint="api_stages"),
        Rule("/_sandbox/api/postings", methods=["GET"], endpoint="api_postings"),
        Rule("/_sandbox/api/webhook", methods=["GET", "POST"], endpoint="api_webhook"),
        Rule("/_sandbox/api/credentials", methods=["POST"], endpoint="api_credentials"),
        Rule("/_sandbox/api/rate_limit", methods=["POST"], endpoint="api_rate_limit"),
        Rule("/_sandbox/api/oauth", methods=["POST"], endpoint="api_oauth"),
        Rule("/_sandbox/api/faults", methods=["GET", "POST", "DELETE"], endpoint="api_faults"),
        Rule("/_sandbox/api/writes", methods=["GET"], endpoint="api_writes"),
        Rule("/_sandbox/api/deliveries", methods=["GET"], endpoint="api_deliveries"),
        Rule(
            "/_sandbox/api/deliveries/<int:index>/redeliver",
            methods=["POST"],
            endpoint="api_redeliver",
        ),  # fmt: skip
        Rule("/_sandbox/api/reset", methods=["POST"], endpoint="api_reset"),
    ],
    strict_slashes=False,
)


def _json_body(request: Request) -> dict:
    raw = request.get_data(cache=True)
    if not raw:
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise _bad("Request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise _bad("Request body must be a JSON object")
    return body


def _ms_param(args, name: str) -> int | None:
    raw = args.get(name)
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise _bad(f"{name} must be a timestamp in milliseconds") from None


class LeverApp:
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
        fault = self.state.faults.take(path)
        if fault:
            if fault["delay"]:
                time.sleep(fault["delay"])
            if fault["status"]:
                code = "ServiceUnavailable" if fault["status"] == 503 else "InternalServerError"
                raise LeverError(fault["status"], code, "Injected sandbox failure")
        # The real Lever serves https://auth.lever.co/authorize (and /oauth/token).
        if path.rstrip("/") in ("/authorize", "/oauth/authorize"):
            return self.authorize(request)
        if path.rstrip("/") == "/oauth/token":
            return self.token(request)
        if path.startswith("/v1/"):
            return self.api(request)
        raise LeverError(404, "ResourceNotFound", f"{path} was not found")

    # OAuth ---------------------------------------------------------------------------------------
    def authorize(self, request: Request) -> Response:
        st, args = self.state, request.args
        for p in ("client_id", "redirect_uri", "response_type", "state", "audience"):
            if not args.get(p):
                return json_response(
                    {"error": "invalid_request", "error_description": f"Missing {p}"}, 400
                )
        if args["client_id"] not in st.oauth_clients:
            return json_response(
                {"error": "invalid_client", "error_description": "Unknown client"}, 400
            )
        if args["response_type"] != "code":
            return json_response({"error": "unsupported_response_type"}, 400)
        redirect_uri = args["redirect_uri"]
        sep = "&" if "?" in redirect_uri else "?"
        if st.oauth_deny or args.get("deny") in ("1", "true"):
            q = {"error": "access_denied", "error_description": "The user denied access",
                 "state": args["state"]}  # fmt: skip
            return redirect(f"{redirect_uri}{sep}{urllib.parse.urlencode(q)}", 302)
        code = secrets.token_urlsafe(24)
        with st.lock:
            st.codes[code] = {
                "client_id": args["client_id"],
                "redirect_uri": redirect_uri,
                "scope": args.get("scope", ""),
                "exp": time.time() + 60,
            }
        q = {"code": code, "state": args["state"]}
        return redirect(f"{redirect_uri}{sep}{urllib.parse.urlencode(q)}", 302)

    def _issue(self, client_id: str, scope: str, refresh: bool) -> dict:
        st = self.state
        access = (
            "eyJhbGciOiJSUzI1NiJ9." + secrets.token_urlsafe(32) + "." + secrets.token_urlsafe(16)
        )
        st.access_tokens[access] = {"client_id": client_id, "exp": time.time() + st.token_lifetime,
                                    "scope": scope}  # fmt: skip
        out = {"access_token": access, "token_type": "Bearer", "scope": scope,
               "expires_in": int(st.token_lifetime)}  # fmt: skip
        if refresh:
            rt = secrets.token_urlsafe(32)
            st.refresh_tokens[rt] = {"client_id": client_id, "scope": scope}
            out["refresh_token"] = rt
        return out

    def token(self, request: Request) -> Response:
        st = self.state
        if request.method != "POST":
            return json_response({"error": "invalid_request"}, 405)
        form = request.form if request.form else _json_body(request)
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        if request.authorization and request.authorization.type == "basic":
            client_id = client_id or request.authorization.username
            client_secret = client_secret or request.authorization.password
        client = st.oauth_clients.get(client_id or "")
        if client is None or client["secret"] != client_secret:
            return json_response(
                {"error": "access_denied", "error_description": "Unauthorized"}, 401
            )
        grant = form.get("grant_type")
        with st.lock:
            if grant == "authorization_code":
                info = st.codes.pop(form.get("code") or "", None)
                if info is None or info["exp"] < time.time() or info["client_id"] != client_id:
                    return json_response(
                        {
                            "error": "invalid_grant",
                            "error_description": "Invalid authorization code",
                        },
                        403,
                    )
                if form.get("redirect_uri") != info["redirect_uri"]:
                    return json_response(
                        {"error": "invalid_grant", "error_description": "redirect_uri mismatch"},
                        403,
                    )
                scope = info["scope"]
                return json_response(
                    self._issue(client_id, scope, "offline_access" in scope.split())
                )
            if grant == "refresh_token":
                info = st.refresh_tokens.pop(form.get("refresh_token") or "", None)
                if info is None or info["client_id"] != client_id:
                    return json_response(
                        {
                            "error": "invalid_grant",
                            "error_description": "Unknown or invalid refresh token.",
                        },
                        403,
                    )
                return json_response(self._issue(client_id, info["scope"], True))
        return json_response({"error": "unsupported_grant_type"}, 400)

    # API -----------------------------------------------------------------------------------------
    def _credential(self, request: Request) -> str:
        st = self.state
        auth = request.authorization
        if auth and auth.type == "basic":
            if auth.username in st.api_keys and not auth.password:
                return f"key:{auth.username}"
        elif auth and auth.type == "bearer":
            tok = st.access_tokens.get(auth.token or "")
            if tok and tok["exp"] > time.time():
                return f"oauth:{tok['client_id']}"
        raise LeverError(401, "UnauthorizedError", "Invalid or missing credentials")

    def api(self, request: Request) -> Response:
        cred = self._credential(request)
        if not self.state.bucket.take(cred):
            raise LeverError(429, "TooManyRequests", "Rate limit exceeded, retry later")
        adapter = LEVER_MAP.bind_to_environ(request.environ)
        try:
            endpoint, values = adapter.match()
        except HTTPException:
            raise LeverError(404, "ResourceNotFound", f"{request.path} was not found") from None
        return getattr(self, f"h_{endpoint}")(request, **values)

    def _limit(self, args) -> int:
        raw = args.get("limit", "100")
        try:
            limit = int(raw)
        except ValueError:
            raise _bad("limit must be an integer between 1 and 100") from None
        if not 1 <= limit <= 100:
            raise _bad("limit must be an integer between 1 and 100")
        return limit

    def _page(self, request: Request, keys: list[tuple], fetch, qhash: str) -> Response:
        """Page through ``keys`` (sorted (createdAt, id) tuples) using issued offset tokens."""
        st = self.state
        limit = self._limit(request.args)
        offset = request.args.get("offset")
        start = 0
        if offset:
            issued = st._offsets.get(offset)
            if issued is None or issued[0] != qhash:
                raise _bad("Invalid offset token")
            start = bisect.bisect_right(keys, issued[1])
        chunk = keys[start : start + limit]
        body: dict = {"data": [fetch(k) for k in chunk]}
        has_next = start + limit < len(keys)
        if has_next:
            last = chunk[-1]
            token = f"0.{last[0] or 0}.{last[1]}"
            sig = hashlib.sha256(f"{st._secret}{qhash}{token}".encode()).hexdigest()[:8]
            token = f"{token}.{sig}"
            if len(st._offsets) > 200000:
                st._offsets.clear()
            st._offsets[token] = (qhash, last)
            body["next"] = token
        body["hasNext"] = has_next
        return json_response(body)

    @staticmethod
    def _qhash(request: Request, path: str) -> str:
        items = sorted(
            (k, v) for k, v in request.args.items(multi=True) if k not in ("offset", "limit")
        )
        return hashlib.sha256(json.dumps([path, items]).encode()).hexdigest()[:16]

    def h_list_opps(self, request: Request) -> Response:
        st, args = self.state, request.args
        expand = set(args.getlist("expand"))
        rng = {}
        for f in ("updated_at", "created_at", "archived_at", "advanced_at"):
            rng[f] = (_ms_param(args, f"{f}_start"), _ms_param(args, f"{f}_end"))
        stage_ids = set(args.getlist("stage_id"))
        posting_ids = set(args.getlist("posting_id"))
        tags = {t.lower() for t in args.getlist("tag")}
        emails = {e.lower() for e in args.getlist("email")}
        contacts = set(args.getlist("contact_id"))
        origins = set(args.getlist("origin"))
        reasons = set(args.getlist("archive_reason_id"))
        archived = args.get("archived")
        if archived not in (None, "true", "false"):
            raise _bad("archived must be true or false")
        conf = args.get("confidentiality", "non-confidential")
        if conf not in ("non-confidential", "confidential", "all"):
            raise _bad("confidentiality must be one of non-confidential, confidential, all")
        field_of = {"updated_at": "updatedAt", "created_at": "createdAt",
                    "archived_at": "archivedAt", "advanced_at": "lastAdvancedAt"}  # fmt: skip
        qhash = self._qhash(request, "opportunities")

        def keep(o: dict) -> bool:
            for f, (lo, hi) in rng.items():
                if lo is None and hi is None:
                    continue
                v = o[field_of[f]]
                if v is None or (lo is not None and v < lo) or (hi is not None and v > hi):
                    return False
            if stage_ids and o["stage"] not in stage_ids:
                return False
            if posting_ids and o["posting"] not in posting_ids:
                return False
            if archived == "true" and not o["archiveReason"]:
                return False
            if archived == "false" and o["archiveReason"]:
                return False
            if conf != "all" and o["confidentiality"] != conf:
                return False
            if tags and not tags & {t.lower() for t in o["tags"]}:
                return False
            if emails and not emails & {e.lower() for e in o["emails"]}:
                return False
            if contacts and o["contact"] not in contacts:
                return False
            if origins and o["origin"] not in origins:
                return False
            return not (reasons and o["archiveReason"] not in reasons)

        with st.lock:
            hit = st._cache.get(qhash)
            if hit and hit[0] == st.version:
                keys = hit[1]
            else:
                keys = [k for k in st._sorted_keys if keep(st.opps[k[1]])]
                st._cache[qhash] = (st.version, keys)
            return self._page(request, keys, lambda k: st.render_opp(st.opps[k[1]], expand), qhash)

    def h_get_opp(self, request: Request, opp: str) -> Response:
        st = self.state
        with st.lock:
            o = st.get_opp(opp)
            return json_response({"data": st.render_opp(o, set(request.args.getlist("expand")))})

    def h_create_opp(self, request: Request) -> Response:
        st = self.state
        perform_as = st.check_user(request.args.get("perform_as"), required=True)
        body = _json_body(request)
        postings = body.get("postings") or []
        if len(postings) != 1:
            raise _bad("postings must contain exactly one posting id")
        if not body.get("name"):
            raise _bad("name is required")
        emails = body.get("emails") or []
        opp = st.create_opportunity(body["name"], emails[0] if emails else None, postings[0],
                                    perform_as, source="api")  # fmt: skip
        with st.lock:
            return json_response({"data": st.render_opp(opp, set())}, 201)

    def h_deleted_opps(self, request: Request) -> Response:
        st = self.state
        lo, hi = (
            _ms_param(request.args, "deleted_at_start"),
            _ms_param(request.args, "deleted_at_end"),
        )
        with st.lock:
            rows = {
                (d["deletedAt"], d["id"]): d
                for d in st.deleted
                if (lo is None or d["deletedAt"] >= lo) and (hi is None or d["deletedAt"] <= hi)
            }
            keys = sorted(rows)
            return self._page(request, keys, lambda k: rows[k], self._qhash(request, "deleted"))

    def h_list_notes(self, request: Request, opp: str) -> Response:
        st = self.state
        with st.lock:
            o = st.get_opp(opp)
            rows = {(n["createdAt"], n["id"]): n for n in o["notes"]}
            return self._page(request, sorted(rows), lambda k: rows[k],
                              self._qhash(request, f"notes:{opp}"))  # fmt: skip

    def h_create_note(self, request: Request, opp: str) -> Response:
        st = self.state
        st.get_opp(opp)
        perform_as = st.check_user(request.args.get("perform_as"))
        body = _json_body(request)
        value = body.get("value")
        if not isinstance(value, str) or not value.strip():
            raise _bad("value is required")
        score = body.get("score")
        if score is not None and score not in (1, 2, 3, 4):
            raise _bad("score must be between 1 and 4")
        created = body.get("createdAt")
        if created is not None and (
            not isinstance(created, int) or created > time.time() * 1000 + 1000
        ):
            raise _bad("createdAt must be a past timestamp in milliseconds")
        note = st.add_note(opp, value, perform_as, bool(body.get("secret", False)), score,
                           source="api", at=created / 1000 if created else None,
                           note_id=request.args.get("note_id") or None)  # fmt: skip
        return json_response({"data": {"noteId": note["id"]}}, 201)

    def h_list_files(self, request: Request, opp: str) -> Response:
        st = self.state
        with st.lock:
            o = st.get_opp(opp)
            rows = {(f["uploadedAt"], f["id"]): f for f in o["files"]}
            return self._page(request, sorted(rows), lambda k: rows[k],
                              self._qhash(request, f"files:{opp}"))  # fmt: skip

    def h_upload_file(self, request: Request, opp: str) -> Response:
        st = self.state
        st.get_opp(opp)
        perform_as = st.check_user(request.args.get("perform_as"), required=True)
        if (request.content_length or 0) > MAX_FILE_BYTES + 64 * 1024:
            raise LeverError(413, "RequestEntityTooLarge", "File exceeds the 30 MB limit")
        if not (request.mimetype or "").startswith("multipart/form-data"):
            raise _bad("Files must be uploaded as multipart/form-data")
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            raise _bad("A file is required in the 'file' field")
        size = 0
        while True:
            chunk = upload.stream.read(1 << 20)
            if not chunk:
                break
            size += len(chunk)
            if size > MAX_FILE_BYTES:
                raise LeverError(413, "RequestEntityTooLarge", "File exceeds the 30 MB limit")
        rec = st.add_file(opp, upload.filename, size, perform_as, source="api")
        return json_response({"data": rec})

    def h_put_stage(self, request: Request, opp: str) -> Response:
        st = self.state
        st.get_opp(opp)
        perform_as = st.check_user(request.args.get("perform_as"))
        body = _json_body(request)
        if not body.get("stage"):
            raise _bad("stage is required")
        o = st.change_stage(opp, body["stage"], perform_as, source="api")
        with st.lock:
            return json_response({"data": st.render_opp(o, set())})

    def h_put_archived(self, request: Request, opp: str) -> Response:
        st = self.state
        st.get_opp(opp)
        perform_as = st.check_user(request.args.get("perform_as"))
        body = _json_body(request)
        if "reason" not in body:
            raise _bad("reason is required (null to unarchive)")
        o = st.archive(opp, body["reason"], perform_as, source="api")
        with st.lock:
            return json_response({"data": st.render_opp(o, set())})

    def _simple_list(self, request: Request, rows: list[dict], name: str) -> Response:
        keyed = {(i, r["id"]): r for i, r in enumerate(rows)}
        return self._page(request, sorted(keyed), lambda k: keyed[k], self._qhash(request, name))

    def h_list_stages(self, request: Request) -> Response:
        return self._simple_list(request, self.state.stages, "stages")

    def h_get_stage(self, request: Request, ident: str) -> Response:
        s = self.state.stage_by_id.get(ident)
        if s is None:
            raise _not_found("stages", ident)
        return json_response({"data": s})

    def h_list_postings(self, request: Request) -> Response:
        args = request.args
        rows = self.state.postings
        for param, getter in (
            ("state", lambda p: p["state"]),
            ("team", lambda p: p["categories"]["team"]),
            ("department", lambda p: p["categories"]["department"]),
            ("location", lambda p: p["categories"]["location"]),
            ("commitment", lambda p: p["categories"]["commitment"]),
        ):
            wanted = set(args.getlist(param))
            if wanted:
                rows = [p for p in rows if getter(p) in wanted]
        return self._simple_list(request, rows, "postings")

    def h_get_posting(self, request: Request, ident: str) -> Response:
        p = self.state.posting_by_id.get(ident)
        if p is None:
            raise _not_found("postings", ident)
        return json_response({"data": p})

    def h_list_users(self, request: Request) -> Response:
        rows = self.state.users
        email = request.args.get("email")
        if email:
            rows = [u for u in rows if u["email"].lower() == email.lower()]
        return self._simple_list(request, rows, "users")

    def h_get_user(self, request: Request, ident: str) -> Response:
        u = self.state.users_by_id.get(ident)
        if u is None:
            raise _not_found("users", ident)
        return json_response({"data": u})

    def h_list_reasons(self, request: Request) -> Response:
        rows = self.state.archive_reasons
        if request.args.get("type"):
            rows = [r for r in rows if r["type"] == request.args["type"]]
        return self._simple_list(request, rows, "archive_reasons")

    def h_get_reason(self, request: Request, ident: str) -> Response:
        r = self.state.reason_by_id.get(ident)
        if r is None:
            raise _not_found("archive_reasons", ident)
        return json_response({"data": r})

    # sandbox -------------------------------------------------------------------------------------
    def sandbox(self, request: Request) -> Response:
        adapter = SANDBOX_MAP.bind_to_environ(request.environ)
        try:
            endpoint, values = adapter.match()
        except HTTPException:
            return json_response({"error": "not found"}, 404)
        try:
            return getattr(self, f"sb_{endpoint}")(request, **values)
        except LeverError as exc:
            if endpoint == "ui_action":
                back = request.form.get("back") or f"{request.script_root}/_sandbox/"
                sep = "&" if "?" in back else "?"
                return redirect(f"{back}{sep}{urllib.parse.urlencode({'flash': exc.message})}")
            return json_response({"code": exc.code, "message": exc.message}, exc.status)

    def search(self, q: str = "", posting_id: str = "") -> list[dict]:
        st = self.state
        q = q.strip().lower()
        out = []
        for _, oid in reversed(st._sorted_keys):
            o = st.opps[oid]
            if posting_id and o["posting"] != posting_id:
                continue
            if q and q not in o["name"].lower() and not any(q in e.lower() for e in o["emails"]) \
                    and q != oid:  # fmt: skip
                continue
            out.append(o)
        return out

    def _summary(self, o: dict) -> dict:
        st = self.state
        return {
            "id": o["id"], "name": o["name"], "email": o["emails"][0] if o["emails"] else None,
            "posting": o["posting"], "posting_text": st.posting_by_id[o["posting"]]["text"],
            "stage": o["stage"], "stage_text": st.stage_by_id[o["stage"]]["text"],
            "archiveReason": o["archiveReason"], "updatedAt": o["updatedAt"],
        }  # fmt: skip

    def sb_api_opps(self, request: Request) -> Response:
        args = request.args
        page = max(1, int(args.get("page", 1)))
        per = min(500, max(1, int(args.get("per_page", 50))))
        with self.state.lock:
            found = self.search(args.get("q", ""), args.get("posting_id", ""))
            items = [self._summary(o) for o in found[(page - 1) * per : page * per]]
        return json_response({"total": len(found), "page": page, "per_page": per, "items": items})

    def sb_api_create(self, request: Request) -> Response:
        b = _json_body(request)
        if not b.get("name") or not b.get("posting_id"):
            raise _bad("name and posting_id are required")
        o = self.state.create_opportunity(
            b["name"], b.get("email"), b["posting_id"], source="control"
        )
        return json_response({"data": self._summary(o)}, 201)

    def _action(self, opp: str, action: str, data) -> dict:
        st = self.state
        if action == "stage":
            stage = data.get("stage") or data.get("stage_id")
            if not stage and data.get("stage_name"):
                stage = st.stage_by_name.get(data["stage_name"])
            if not stage:
                raise _bad("stage is required")
            return st.change_stage(opp, stage, source="control")
        if action == "archive":
            reason = data.get("reason") or st.archive_reasons[0]["id"]
            return st.archive(opp, reason, source="control")
        if action == "unarchive":
            return st.archive(opp, None, source="control")
        if action == "hire":
            return st.archive(opp, st.hired_reason, source="control")
        if action == "delete":
            st.delete_opportunity(opp, source="control")
            return {"id": opp, "deleted": True}
        raise LeverError(404, "ResourceNotFound", f"Unknown action {action}")

    def sb_api_action(self, request: Request, opp: str, action: str) -> Response:
        o = self._action(opp, action, _json_body(request))
        with self.state.lock:
            return json_response({"data": self._summary(o) if "stage" in o else o})

    def sb_api_stages(self, request: Request) -> Response:
        return json_response(self.state.stages)

    def sb_api_postings(self, request: Request) -> Response:
        return json_response([{"id": p["id"], "text": p["text"]} for p in self.state.postings])

    def sb_api_webhook(self, request: Request) -> Response:
        st = self.state
        if request.method == "POST":
            b = _json_body(request)
            return json_response(st.configure_webhook(b.get("url"), b.get("signature_token"),
                                                      b.get("enabled", True), b.get("events")))  # fmt: skip
        return json_response(st.webhook)

    def sb_api_credentials(self, request: Request) -> Response:
        b = _json_body(request)
        if b.get("api_key"):
            self.state.add_api_key(b["api_key"])
        if b.get("client_id") and b.get("client_secret"):
            self.state.add_oauth_client(b["client_id"], b["client_secret"])
        return json_response({"ok": True}, 201)

    def sb_api_rate_limit(self, request: Request) -> Response:
        b = _json_body(request)
        self.state.set_rate_limit(b.get("rate"), int(b.get("burst", 20)))
        return json_response({"rate": self.state.bucket.rate, "burst": self.state.bucket.burst})

    def sb_api_oauth(self, request: Request) -> Response:
        b = _json_body(request)
        if "deny" in b:
            self.state.oauth_deny = bool(b["deny"])
        if "token_lifetime" in b:
            self.state.token_lifetime = float(b["token_lifetime"])
        return json_response(
            {"deny": self.state.oauth_deny, "token_lifetime": self.state.token_lifetime}
        )

    def sb_api_faults(self, request: Request) -> Response:
        st = self.state
        if request.method == "POST":
            b = _json_body(request)
            rule = st.inject_fault(b.get("path_prefix", "/"), b.get("status", 500),
                                   int(b.get("count", 1)), float(b.get("delay", 0)))  # fmt: skip
            return json_response(rule, 201)
        if request.method == "DELETE":
            st.faults.clear()
        return json_response(st.faults.rules)

    def sb_api_writes(self, request: Request) -> Response:
        with self.state.lock:
            return json_response(self.state.writes)

    def sb_api_deliveries(self, request: Request) -> Response:
        return json_response(list(self.state.deliveries))

    def sb_api_redeliver(self, request: Request, index: int) -> Response:
        if not 0 <= index < len(self.state.deliveries):
            raise _not_found("deliveries", index)
        entry = self.state.redeliver(index)
        return json_response({"event": entry.get("event"), "token": entry.get("token")}, 201)

    def sb_api_reset(self, request: Request) -> Response:
        self.state.reset()
        return json_response({"ok": True})

    def sb_ui_action(self, request: Request, action: str) -> Response:
        form = request.form
        back = form.get("back") or f"{request.script_root}/_sandbox/"
        if not back.startswith("/"):
            back = f"{request.script_root}/_sandbox/"
        if action == "create":
            self.state.create_opportunity(form.get("name") or "New Candidate",
                                          form.get("email") or None,
                                          form.get("posting_id") or self.state.postings[0]["id"],
                                          source="control")  # fmt: skip
        else:
            self._action(form.get("opportunity_id", ""), action, form)
        return redirect(back)

    def sb_ui_index(self, request: Request) -> Response:
        st, args = self.state, request.args
        root = request.script_root
        q, posting_id = args.get("q", ""), args.get("posting_id", "")
        try:
            page = max(1, int(args.get("page", 1)))
        except ValueError:
            page = 1
        here = f"{root}{request.full_path}" if request.query_string else f"{root}{request.path}"
        per = 25
        with st.lock:
            found = self.search(q, posting_id)
            posting_opts = "".join(
                f"<option value='{p['id']}'{' selected' if p['id'] == posting_id else ''}>"
                f"{esc(p['text'])}</option>"
                for p in st.postings
            )
            rows = []
            for o in found[(page - 1) * per : page * per]:
                stage_opts = "".join(
                    f"<option value='{s['id']}'{' selected' if s['id'] == o['stage'] else ''}>"
                    f"{esc(s['text'])}</option>"
                    for s in st.stages
                )
                hidden = (f"<input type='hidden' name='opportunity_id' value='{o['id']}'>"
                          f"<input type='hidden' name='back' value='{esc(here)}'>")  # fmt: skip
                reason = st.reason_by_id.get(o["archiveReason"]) if o["archiveReason"] else None
                status = (
                    "hired" if reason and reason["type"] == "hired"
                    else "archived" if reason else "active"
                )  # fmt: skip
                if status == "active":
                    actions = (
                        f"<form class='inline' method='post' action='{root}/_sandbox/ui/stage'>"
                        f"{hidden}<select name='stage'>{stage_opts}</select><button>Move</button></form> "
                        f"<form class='inline' method='post' action='{root}/_sandbox/ui/archive'>"
                        f"{hidden}<button>Archive</button></form> "
                        f"<form class='inline' method='post' action='{root}/_sandbox/ui/hire'>"
                        f"{hidden}<button>Hire</button></form>"
                    )
                else:
                    actions = (
                        f"<form class='inline' method='post' action='{root}/_sandbox/ui/unarchive'>"
                        f"{hidden}<button>Unarchive</button></form>"
                    )
                rows.append(
                    f"<tr><td>{esc(o['name'])}<div class='muted'>"
                    f"{esc(o['emails'][0] if o['emails'] else '')}</div></td>"
                    f"<td>{esc(st.posting_by_id[o['posting']]['text'])}</td>"
                    f"<td>{esc(st.stage_by_id[o['stage']]['text'])}</td>"
                    f"<td><span class='pill {status}'>{status}"
                    f"{' · ' + esc(reason['text']) if reason and status != 'hired' else ''}"
                    f"</span></td><td>{actions}</td></tr>"
                )
            total = len(found)
        pages = max(1, -(-total // per))
        qs = urllib.parse.urlencode({k: v for k, v in (("q", q), ("posting_id", posting_id)) if v})
        nav = ""
        if page > 1:
            nav += f"<a href='{root}/_sandbox/?{qs}&page={page - 1}'>&larr; prev</a> "
        if page < pages:
            nav += f"<a href='{root}/_sandbox/?{qs}&page={page + 1}'>next &rarr;</a>"
        flash = args.get("flash")
        body = (
            (f"<div class='flash'>{esc(flash)}</div>" if flash else "")
            + f"<section><form method='get' action='{root}/_sandbox/'>"
            f"<input name='q' placeholder='Search name or email' value='{esc(q)}'> "
            f"<select name='posting_id'><option value=''>All postings</option>{posting_opts}"
            "</select> <button>Search</button></form>"
            f"<p class='muted'>{total} opportunities · page {page} of {pages} {nav} · webhook: "
            f"{esc(st.webhook.get('url') or 'not configured')}</p>"
            "<table><tr><th>Opportunity</th><th>Posting</th><th>Stage</th><th>Status</th>"
            f"<th>Actions</th></tr>{''.join(rows)}</table></section>"
            f"<section><h2>New opportunity</h2><form method='post' action='{root}/_sandbox/ui/create'>"
            f"<input type='hidden' name='back' value='{esc(here)}'>"
            "<input name='name' placeholder='Full name' required> "
            "<input name='email' placeholder='Email'> "
            f"<select name='posting_id'>{posting_opts}</select> <button>Create</button></form></section>"
        )
        return html_page("Sandbox Lever", body, "lever")
