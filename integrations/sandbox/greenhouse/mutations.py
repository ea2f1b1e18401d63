"""Writes to the fake Greenhouse: stage moves, rejections, hires, candidates, notes, e-mails,
edits and attachments.  Each records a write, fires webhooks and persists."""

from __future__ import annotations

import base64
import time

from integrations.sandbox.atsdata import parse_iso
from integrations.sandbox.greenhouse.contract import (
    NOT_FOUND,
    PERSISTED_ATTACHMENT_BYTES,
    ApiError,
    validation_error,
)


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


class MutationsMixin:
    """The public mutators of :class:`GreenhouseState`."""

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
        content_b64: str | None = None,
    ) -> dict:
        """Attach a file (by its base64 ``content`` or a ``url``). The bytes of a content
        upload are kept for the screen's download link, and persisted with the write when at
        most ``PERSISTED_ATTACHMENT_BYTES``."""
        at = at or time.time()
        content = base64.b64decode(content_b64) if content_b64 else None
        with self.lock:
            cand = self.get_candidate(candidate_id)
            att_id = self.co.next_id("attachment")
            if content is not None:
                self.attachment_blobs[att_id] = content
            att = {
                "id": att_id,
                "filename": filename,
                "type": type,
                "content_type": content_type,
                "source_url": url,
                "size": size,
                "created_at": at,
                "user_id": user_id,
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
                    "content_b64": content_b64
                    if content is not None and len(content) <= PERSISTED_ATTACHMENT_BYTES
                    else None,
                },
                source,
                at,
            )
        self._changed()
        return att

    def set_custom_field_active(
        self, name_key: str, active: bool, source: str = "direct", at: float | None = None
    ) -> dict:
        """Delete (``active=False``) or restore a custom field definition, as Greenhouse's
        Configure → Custom Options does: a deleted field is listed only with
        ``include_inactive=true``, drops out of records' ``custom_fields`` and cannot be
        written. Values already stored come back with the field."""
        at = at or time.time()
        with self.lock:
            fdef = self.co.custom_fields_by_key.get(name_key)
            if fdef is None:
                raise ApiError(404, NOT_FOUND)
            fdef["active"] = bool(active)
            self._bump()
            self._record(
                "set_custom_field_active", {"name_key": name_key, "active": bool(active)},
                source, at,
            )  # fmt: skip
        self._changed()
        return fdef

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
            if fdef is None or fdef["field_type"] != field_type or not fdef["active"]:
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
