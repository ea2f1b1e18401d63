"""The human screen of the fake Lever (``/_sandbox/``)."""

from __future__ import annotations

import urllib.parse

from werkzeug.wrappers import Request, Response

from integrations.sandbox._common import esc, html_page
from integrations.sandbox.lever.state import LeverState


class ScreensMixin:
    """The HTML page of :class:`LeverApp`."""

    state: LeverState

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
                    f"<tr><td><a href='{root}/_sandbox/opportunities/{o['id']}'>"
                    f"{esc(o['name'])}</a><div class='muted'>"
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
