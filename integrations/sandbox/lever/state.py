"""All mutable state of the fake Lever: the company as opportunities, credentials, limits,
faults and records."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable

from integrations.sandbox._common import Faults, TokenBucket, WebhookDispatcher, esc
from integrations.sandbox.atsdata import STAGE_ORDER, Company, generate_company, ms, stable_uuid
from integrations.sandbox.lever.contract import (
    DEFAULT_API_KEY,
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    HIRED_REASON_TEXT,
    LIMITED_API_KEY,
    READ_SCOPES,
    WRITE_PERMISSIONS,
    bad_request,
    not_found,
)
from integrations.sandbox.lever.opportunities import OpportunitiesMixin
from integrations.sandbox.lever.webhooks import WebhooksMixin


class LeverState(WebhooksMixin, OpportunitiesMixin):
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
        # key -> the write permissions it was granted (None: all of them)
        self.api_keys: dict[str, frozenset[str] | None] = {
            DEFAULT_API_KEY: None,
            LIMITED_API_KEY: frozenset(),
        }
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
            # file id -> {opportunity_id, content (bytes or None), content_type, perform_as}
            self.file_blobs: dict[str, dict] = {}
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
    def add_api_key(self, key: str, permissions=None) -> None:
        """Add a key; ``permissions`` (scope names such as ``notes:write:admin``) limits the
        writes it may make (None: every write)."""
        self.api_keys[key] = None if permissions is None else frozenset(permissions)

    def missing_permission(
        self, endpoint: str, *, api_key: str | None = None, token: str | None = None
    ) -> str | None:
        """The write permission the API key (its grants) or the OAuth access token (its
        scopes) lacks for ``endpoint``, or the read scope the token lacks for a note or file
        read, else None."""
        needed = WRITE_PERMISSIONS.get(endpoint)
        if needed is None and api_key is None:
            needed = READ_SCOPES.get(endpoint)
        if needed is None:
            return None
        if api_key is not None:
            granted = self.api_keys.get(api_key)
        else:
            scope = self.access_tokens.get(token or "", {}).get("scope") or ""
            granted = frozenset(scope.split())
        return None if granted is None or needed in granted else needed

    def add_oauth_client(self, client_id: str, client_secret: str) -> None:
        self.oauth_clients[client_id] = {"secret": client_secret}

    def set_rate_limit(self, rate: float | None = 10.0, burst: int = 20) -> None:
        self.bucket.rate, self.bucket.burst = rate, burst
        self.bucket.reset()

    def inject_fault(
        self, prefix: str, status: int | None = 500, count: int = 1, delay=0.0, **options
    ):
        return self.faults.add(prefix, status, count, delay, **options)

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
            raise not_found("opportunities", opp_id)
        return opp

    def check_user(self, user_id: str | None, required: bool = False) -> str | None:
        if not user_id:
            if required:
                raise bad_request("perform_as is required")
            return None
        if user_id not in self.users_by_id:
            raise bad_request(f"perform_as user {user_id} was not found")
        return user_id
