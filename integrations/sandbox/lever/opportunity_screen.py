"""The opportunity page of the fake Lever's screen (``/_sandbox/opportunities/<id>``): who the
candidate is and what was received on them — the files uploaded through the API, each with a
link that downloads it (``/_sandbox/files/<id>``)."""

from __future__ import annotations

import time

from werkzeug.wrappers import Request, Response

from integrations.sandbox._common import esc, html_page
from integrations.sandbox._files import download_response, size_words
from integrations.sandbox.lever.contract import LeverError, not_found
from integrations.sandbox.lever.state import LeverState


def _when(epoch_ms: int | None) -> str:
    if not epoch_ms:
        return ""
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(epoch_ms / 1000))


class OpportunityScreenMixin:
    """``sb_ui_opportunity`` (the page) and ``sb_ui_file`` (a received file's download)."""

    state: LeverState

    def opportunity_sections(self, request: Request, opp: dict) -> list[str]:
        """The page's sections under the candidate's header, in order (HTML; the state's lock
        is held). Further sections (notes) extend this list."""
        return [self._files_section(request, opp)]

    def _files_section(self, request: Request, opp: dict) -> str:
        st, root = self.state, request.script_root
        rows = []
        for f in sorted(opp["files"], key=lambda f: f["uploadedAt"], reverse=True):
            blob = st.file_blobs.get(f["id"]) or {}
            user = st.users_by_id.get(blob.get("perform_as") or "")
            link = (
                f"<a href='{root}/_sandbox/files/{esc(f['id'])}' data-file-download>Download</a>"
                if blob.get("content") is not None
                else "<span class='muted'>content not kept</span>"
            )
            rows.append(
                f"<tr data-file><td>{esc(f['name'])}</td><td>{esc(size_words(f['size']))}</td>"
                f"<td>{esc(_when(f['uploadedAt']))}</td>"
                f"<td>{esc(user['name']) if user else '<span class=muted>unknown</span>'}</td>"
                f"<td>{esc(f['status'] or '')}</td><td>{link}</td></tr>"
            )
        table = (
            "<table><tr><th>File</th><th>Size</th><th>Uploaded</th><th>Uploaded by "
            f"(perform_as)</th><th>Status</th><th></th></tr>{''.join(rows)}</table>"
            if rows
            else "<p class='muted'>No files received yet.</p>"
        )
        return f"<section id='files'><h2>Files ({len(rows)})</h2>{table}</section>"

    def sb_ui_opportunity(self, request: Request, opp: str) -> Response:
        st, root = self.state, request.script_root
        with st.lock:
            o = st.opps.get(opp)
            if o is None:
                return html_page("Sandbox Lever", "<p>No such opportunity.</p>", "lever")
            phones = ", ".join(p["value"] for p in o["phones"] if p.get("value"))
            header = (
                f"<p><a href='{root}/_sandbox/'>&larr; All opportunities</a></p>"
                f"<section><h2>{esc(o['name'])}</h2><p class='muted'>"
                f"{esc(', '.join(o['emails']) or 'no e-mail')} · {esc(phones or 'no phone')} · "
                f"{esc(st.posting_by_id[o['posting']]['text'])} · "
                f"{esc(st.stage_by_id[o['stage']]['text'])} · opportunity {esc(o['id'])}</p>"
                "</section>"
            )
            sections = self.opportunity_sections(request, o)
        return html_page(f"Sandbox Lever · {o['name']}", header + "".join(sections), "lever")

    def sb_ui_file(self, request: Request, file: str) -> Response:
        st = self.state
        with st.lock:
            blob = st.file_blobs.get(file)
            opp = st.opps.get(blob["opportunity_id"]) if blob else None
            rec = next((f for f in opp["files"] if f["id"] == file), None) if opp else None
        if rec is None or blob is None:
            raise not_found("files", file)
        if blob["content"] is None:
            raise LeverError(422, "UnprocessableEntity", "The sandbox did not keep this file")
        return download_response(blob["content"], blob["content_type"], rec["name"])
