"""Records as Harvest v1 renders them (part of the state: the v1 and v3 endpoints share these)."""

from __future__ import annotations

from integrations.sandbox.atsdata import iso


class RenderMixin:
    """Harvest JSON of each record (part of :class:`GreenhouseState`)."""

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
            # Only the active fields, as Greenhouse documents ("the active custom fields as of
            # the time this method is called").
            if f["field_type"] != field_type or not f["active"]:
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
