"""The notes section of the fake Lever's opportunity page: the notes received through the API,
each with who wrote it (perform_as), when and whether it is secret."""

from __future__ import annotations

import time

from werkzeug.wrappers import Request

from integrations.sandbox._common import esc
from integrations.sandbox.lever.opportunity_screen import OpportunityScreenMixin


def _when(epoch_ms: int | None) -> str:
    if not epoch_ms:
        return ""
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(epoch_ms / 1000))


class NotesScreenMixin(OpportunityScreenMixin):
    """Adds the opportunity's notes (newest first) to its page."""

    def opportunity_sections(self, request: Request, opp: dict) -> list[str]:
        return [self._notes_section(opp), *super().opportunity_sections(request, opp)]

    def _notes_section(self, opp: dict) -> str:
        users = self.state.users_by_id
        items = []
        for note in sorted(opp["notes"], key=lambda n: n["createdAt"], reverse=True):
            if note.get("deletedAt"):
                continue
            user = users.get(note.get("user") or "")
            author = esc(user["name"]) if user else "<span class='muted'>no user</span>"
            secret = "Secret" if note.get("secret") else "Visible to everyone"
            text = "<br>".join(
                esc(str(f.get("value") or "")).replace("\n", "<br>")
                for f in note.get("fields") or []
            )
            items.append(
                f"<li data-note data-secret='{str(bool(note.get('secret'))).lower()}'>"
                f"<div class='muted'>{esc(_when(note['createdAt']))} · by {author} · "
                f"<strong>{secret}</strong></div><div>{text}</div></li>"
            )
        inner = (
            f"<ul class='feed'>{''.join(items)}</ul>"
            if items
            else "<p class='muted'>No notes received yet.</p>"
        )
        return f"<section id='notes'><h2>Notes ({len(items)})</h2>{inner}</section>"
