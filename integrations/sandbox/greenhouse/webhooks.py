"""Greenhouse webhooks: the escaped JSON body, the ``Signature`` header, the saved hook
with its ping, and the application payload deliveries carry."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid

from integrations.sandbox.atsdata import iso


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


class WebhooksMixin:
    """Configuring the hook and emitting deliveries (part of :class:`GreenhouseState`)."""

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
                if (
                    f["field_type"] == field_type
                    and f["active"]
                    and values.get(f["name_key"]) is not None
                ):
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
