"""The activity-feed sections of the fake Greenhouse's candidate page: the notes and e-mails
received through Harvest, each with who wrote it (On-Behalf-Of), when and its visibility, as a
recruiter reads them on the candidate's Activity Feed."""

from __future__ import annotations

import time

from werkzeug.wrappers import Request

from integrations.sandbox._common import esc
from integrations.sandbox.greenhouse.candidate_screen import CandidateScreenMixin

VISIBILITY_WORDS = {
    "admin_only": "Admin only",
    "private": "Private",
    "public": "Public — visible to interviewers",
}


def _when(epoch: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(epoch)) if epoch else ""


def _text(body: str) -> str:
    return esc(body).replace("\n", "<br>")


class ActivityScreenMixin(CandidateScreenMixin):
    """Adds the Activity Feed (notes, then e-mails, newest first) to the candidate page."""

    def candidate_sections(self, request: Request, cand: dict) -> list[str]:
        return [
            self._notes_section(cand),
            self._emails_section(cand),
            *super().candidate_sections(request, cand),
        ]

    def _author(self, user_id) -> str:
        user = self.state.user_ref(user_id)
        return esc(user["name"]) if user else "<span class='muted'>unknown</span>"

    def _notes_section(self, cand: dict) -> str:
        items = [
            f"<li data-note data-visibility='{esc(n['visibility'])}'>"
            f"<div class='muted'>{esc(_when(n['created_at']))} · by {self._author(n['user_id'])}"
            f" · <strong>{esc(VISIBILITY_WORDS.get(n['visibility'], n['visibility']))}</strong>"
            f"</div><div>{_text(n['body'])}</div></li>"
            for n in sorted(cand["notes"], key=lambda n: n["created_at"], reverse=True)
        ]
        inner = (
            f"<ul class='feed'>{''.join(items)}</ul>"
            if items
            else "<p class='muted'>No notes received yet.</p>"
        )
        return f"<section id='notes'><h2>Activity Feed · Notes ({len(items)})</h2>{inner}</section>"

    def _emails_section(self, cand: dict) -> str:
        items = [
            f"<li data-email><div class='muted'>{esc(_when(e['created_at']))} · by "
            f"{self._author(e['user_id'])} · from {esc(e['from'])} to {esc(e['to'])}</div>"
            f"<div><strong>{esc(e['subject'])}</strong></div><div>{_text(e['body'])}</div></li>"
            for e in sorted(cand["emails"], key=lambda e: e["created_at"], reverse=True)
        ]
        inner = (
            f"<ul class='feed'>{''.join(items)}</ul>"
            if items
            else "<p class='muted'>No e-mails received yet.</p>"
        )
        return (
            f"<section id='emails'><h2>Activity Feed · E-mails ({len(items)})</h2>{inner}</section>"
        )
