"""The candidate page of the fake Greenhouse's screen (``/_sandbox/candidates/<id>``): who the
candidate is, their applications, and what was received on them — the candidate custom fields
(the "Video Interview" link among them, as a link) and the attachments posted through Harvest,
each with a link that downloads it (``/_sandbox/attachments/<id>``)."""

from __future__ import annotations

import time

from werkzeug.wrappers import Request, Response

from integrations.sandbox._common import esc, html_page
from integrations.sandbox._files import download_response, size_words
from integrations.sandbox.greenhouse.contract import NOT_FOUND, ApiError
from integrations.sandbox.greenhouse.state import GreenhouseState


def _when(epoch: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(epoch)) if epoch else ""


class CandidateScreenMixin:
    """``sb_ui_candidate`` (the page) and ``sb_ui_attachment`` (a received file's download)."""

    state: GreenhouseState

    def candidate_sections(self, request: Request, cand: dict) -> list[str]:
        """The page's sections under the candidate's header, in order (HTML; the state's lock
        is held). Further sections (notes, e-mails) extend this list."""
        return [self._custom_fields_section(cand), self._attachments_section(request, cand)]

    def _custom_fields_section(self, cand: dict) -> str:
        """The candidate's active custom fields with their values (a value that starts with a
        web address shows it as a link)."""
        rows = []
        for f in self.state.co.custom_fields:
            if f["field_type"] != "candidate" or not f["active"]:
                continue
            value = cand["custom_fields"].get(f["name_key"])
            if value is None:
                shown = "<span class='muted'>empty</span>"
            else:
                text = ", ".join(value) if isinstance(value, list) else str(value)
                first, _, rest = text.partition("\n")
                if first.startswith(("https://", "http://")):
                    shown = f"<a href='{esc(first)}' data-field-link>{esc(first)}</a>"
                    shown += f"<br>{esc(rest)}" if rest else ""
                else:
                    shown = esc(text).replace("\n", "<br>")
            rows.append(
                f"<tr data-custom-field='{esc(f['name_key'])}'><td>{esc(f['name'])}</td>"
                f"<td class='muted'>{esc(f['value_type'])}</td><td>{shown}</td></tr>"
            )
        table = (
            "<table><tr><th>Field</th><th>Type</th><th>Value</th></tr>" + "".join(rows) + "</table>"
            if rows
            else "<p class='muted'>No candidate custom fields (all deleted).</p>"
        )
        return f"<section id='custom-fields'><h2>Custom fields</h2>{table}</section>"

    def _attachments_section(self, request: Request, cand: dict) -> str:
        st, root = self.state, request.script_root
        rows = []
        for att in sorted(cand["attachments"], key=lambda a: a["created_at"], reverse=True):
            user = st.user_ref(att.get("user_id"))
            if att["id"] in st.attachment_blobs:
                link = (
                    f"<a href='{root}/_sandbox/attachments/{att['id']}' "
                    "data-file-download>Download</a>"
                )
            elif att.get("source_url"):
                link = f"<span class='muted'>by URL: {esc(att['source_url'])}</span>"
            else:
                link = "<span class='muted'>content not kept</span>"
            rows.append(
                f"<tr data-file><td>{esc(att['filename'])}</td><td>{esc(att['type'])}</td>"
                f"<td>{esc(att.get('content_type') or '')}</td>"
                f"<td>{esc(size_words(att.get('size')))}</td>"
                f"<td>{esc(_when(att['created_at']))}</td>"
                f"<td>{esc(user['name']) if user else '<span class=muted>unknown</span>'}</td>"
                f"<td>{link}</td></tr>"
            )
        table = (
            "<table><tr><th>File</th><th>Type</th><th>Content type</th><th>Size</th>"
            f"<th>Attached</th><th>On behalf of</th><th></th></tr>{''.join(rows)}</table>"
            if rows
            else "<p class='muted'>No attachments received yet.</p>"
        )
        return f"<section id='attachments'><h2>Attachments ({len(rows)})</h2>{table}</section>"

    def sb_ui_candidate(self, request: Request, id: int) -> Response:  # noqa: A002
        st, root = self.state, request.script_root
        with st.lock:
            cand = st.co.candidates.get(id)
            if cand is None:
                return html_page(st.title, "<p>No such candidate.</p>")
            name = f"{cand['first_name']} {cand['last_name']}"
            emails = ", ".join(e["value"] for e in cand["email_addresses"])
            phones = ", ".join(p["value"] for p in cand["phone_numbers"])
            apps = ", ".join(
                f"{st.co.job(st.co.applications[a]['job_id'])['name']} "
                f"({st.co.stages[st.co.applications[a]['stage_id']]['name']})"
                for a in cand["application_ids"]
                if a in st.co.applications
            )
            header = (
                f"<p><a href='{root}/_sandbox/'>&larr; All candidates</a></p>"
                f"<section><h2>{esc(name)}</h2><p class='muted'>{esc(emails or 'no e-mail')} · "
                f"{esc(phones or 'no phone')} · candidate #{cand['id']}</p>"
                f"<p>{esc(apps or 'No applications')}</p></section>"
            )
            sections = self.candidate_sections(request, cand)
        return html_page(f"{st.title} · {name}", header + "".join(sections))

    def sb_ui_attachment(self, request: Request, id: int) -> Response:  # noqa: A002
        st = self.state
        with st.lock:
            content = st.attachment_blobs.get(id)
            att = next(
                (a for c in st.co.candidates.values() for a in c["attachments"] if a["id"] == id),
                None,
            )
        if att is None or content is None:
            raise ApiError(404, NOT_FOUND)
        return download_response(content, att.get("content_type") or "", att["filename"])
