"""Opportunity writes in the fake Lever (stage changes, archive, hire, create, delete, notes,
files) and the opportunity JSON."""

from __future__ import annotations

import base64
import bisect
import time
import uuid

from integrations.sandbox.atsdata import ms, stable_uuid
from integrations.sandbox.lever.contract import PERSISTED_FILE_BYTES, not_found


class OpportunitiesMixin:
    """The public mutators and the opportunity JSON of :class:`LeverState`."""

    # mutations -----------------------------------------------------------------------------------
    def change_stage(self, opportunity_id: str, stage_id: str, perform_as: str | None = None,
                     source: str = "direct", at: float | None = None) -> dict:  # fmt: skip
        at = at or time.time()
        with self.lock:
            opp = self.get_opp(opportunity_id)
            if stage_id not in self.stage_by_id:
                raise not_found("stages", stage_id)
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
                raise not_found("archive_reasons", reason)
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
                raise not_found("postings", posting_id)
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
                 file_id: str | None = None, content_b64: str | None = None,
                 content_type: str | None = None) -> dict:  # fmt: skip
        """Store an uploaded file. Its bytes are kept (for the download link on the screen and
        the API's download) and persisted with the write when at most
        ``PERSISTED_FILE_BYTES``; a larger file is listed, its bytes kept only until restart."""
        at = at or time.time()
        content = base64.b64decode(content_b64) if content_b64 else None
        with self.lock:
            opp = self.get_opp(opportunity_id)
            file_id = file_id or str(uuid.uuid4())
            self.file_blobs[file_id] = {
                "opportunity_id": opp["id"], "content": content,
                "content_type": content_type or "application/octet-stream",
                "perform_as": perform_as,
            }  # fmt: skip
            ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
            rec = {
                "id": file_id, "downloadUrl": f"https://hire.lever.co/files/{file_id}/download",
                "ext": ext, "name": name, "uploadedAt": ms(at),
                "status": "processed" if ext in ("pdf", "doc", "docx", "txt") else "unsupported",
                "size": size,
            }  # fmt: skip
            opp["files"].append(rec)
            self._bump()
            kept = content_b64 if content is not None and size <= PERSISTED_FILE_BYTES else None
            self._record("add_file", {"opportunity_id": opp["id"], "name": name, "size": size,
                         "perform_as": perform_as, "file_id": file_id, "content_b64": kept,
                         "content_type": content_type}, source, at)  # fmt: skip
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
