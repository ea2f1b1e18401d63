"""The human screen of the fake Greenhouse (``/_sandbox/``)."""

from __future__ import annotations

import urllib.parse

from integrations.sandbox._common import esc, html_page
from integrations.sandbox.greenhouse.params import int_param
from integrations.sandbox.greenhouse.state import GreenhouseState


class ScreensMixin:
    """The HTML page of :class:`GreenhouseApp`."""

    state: GreenhouseState

    def sb_ui_index(self, request):
        st = self.state
        args = request.args
        q = args.get("q", "")
        job_id = int_param(args, "job_id")
        page = max(1, int_param(args, "page", 1))
        root = request.script_root
        here = request.full_path if request.query_string else request.path
        here = f"{root}{here}" if not here.startswith(root) else here
        with st.lock:
            found = self.search_candidates(q, job_id)
            per = 25
            chunk = found[(page - 1) * per : page * per]
            jobs_opts = "".join(
                f"<option value='{j['id']}'{' selected' if j['id'] == job_id else ''}>"
                f"{esc(j['name'])}</option>"
                for j in st.co.jobs
            )
            rows = []
            for c, apps in chunk:
                for a in apps:
                    job = st.co.job(a["job_id"])
                    stage_opts = "".join(
                        f"<option value='{s['id']}'{' selected' if s['id'] == a['stage_id'] else ''}>"
                        f"{esc(s['name'])}</option>"
                        for s in st.co.job_stages(a["job_id"])
                    )
                    hidden = (
                        f"<input type='hidden' name='application_id' value='{a['id']}'>"
                        f"<input type='hidden' name='back' value='{esc(here)}'>"
                    )
                    actions = ""
                    if a["status"] == "active":
                        actions = (
                            f"<form class='inline' method='post' action='{root}/_sandbox/ui/move'>"
                            f"{hidden}<select name='stage_id'>{stage_opts}</select>"
                            "<button>Move</button></form> "
                            f"<form class='inline' method='post' action='{root}/_sandbox/ui/reject'>"
                            f"{hidden}<button>Reject</button></form> "
                            f"<form class='inline' method='post' action='{root}/_sandbox/ui/hire'>"
                            f"{hidden}<button>Hire</button></form>"
                        )
                    elif a["status"] == "rejected":
                        actions = (
                            f"<form class='inline' method='post' action='{root}/_sandbox/ui/unreject'>"
                            f"{hidden}<button>Unreject</button></form>"
                        )
                    email = c["email_addresses"][0]["value"] if c["email_addresses"] else ""
                    stage_name = st.co.stages[a["stage_id"]]["name"]
                    rows.append(
                        f"<tr><td><a href='{root}/_sandbox/candidates/{c['id']}'>"
                        f"{esc(c['first_name'])} {esc(c['last_name'])}</a>"
                        f"<div class='muted'>{esc(email)} · #{c['id']}</div></td>"
                        f"<td>{esc(job['name'])}<div class='muted'>application #{a['id']}</div></td>"
                        f"<td>{esc(stage_name)}</td>"
                        f"<td><span class='pill {a['status']}'>{a['status']}</span></td>"
                        f"<td>{actions}</td></tr>"
                    )
            job_rows = "".join(
                f"<tr><td>{j['id']}</td><td><a href='{root}/_sandbox/?job_id={j['id']}'>"
                f"{esc(j['name'])}</a></td><td>{j['status']}</td>"
                f"<td>{esc(', '.join(s['name'] for s in st.co.job_stages(j['id'])))}</td></tr>"
                for j in st.co.jobs
            )
            total = len(found)
        flash = args.get("flash")
        pages = max(1, -(-total // per))
        qs = urllib.parse.urlencode({k: v for k, v in (("q", q), ("job_id", job_id or "")) if v})
        nav = ""
        if page > 1:
            nav += f"<a href='{root}/_sandbox/?{qs}&page={page - 1}'>&larr; prev</a> "
        if page < pages:
            nav += f"<a href='{root}/_sandbox/?{qs}&page={page + 1}'>next &rarr;</a>"
        hook = st.webhook
        body = (
            (f"<div class='flash'>{esc(flash)}</div>" if flash else "")
            + f"<section><form method='get' action='{root}/_sandbox/'>"
            f"<input name='q' placeholder='Search name or email' value='{esc(q)}'> "
            f"<select name='job_id'><option value=''>All jobs</option>{jobs_opts}</select> "
            "<button>Search</button></form>"
            f"<p class='muted'>{total} candidates · page {page} of {pages} {nav} · webhook: "
            f"{esc(hook.get('url') or 'not configured')} "
            f"({'enabled' if hook.get('enabled') else 'disabled'})</p>"
            "<table><tr><th>Candidate</th><th>Job</th><th>Stage</th><th>Status</th>"
            f"<th>Actions</th></tr>{''.join(rows)}</table></section>"
            "<section><h2>New candidate</h2>"
            f"<form method='post' action='{root}/_sandbox/ui/create'>"
            f"<input type='hidden' name='back' value='{esc(here)}'>"
            "<input name='first_name' placeholder='First name' required> "
            "<input name='last_name' placeholder='Last name' required> "
            "<input name='email' placeholder='Email'> "
            f"<select name='job_id'>{jobs_opts}</select> <button>Create</button></form></section>"
            "<section><h2>Jobs</h2><table><tr><th>Id</th><th>Name</th><th>Status</th>"
            f"<th>Stages</th></tr>{job_rows}</table></section>"
        )
        return html_page(st.title, body)
