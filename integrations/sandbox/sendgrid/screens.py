"""The human screens of the fake SendGrid: the e-mail outbox, one mail as the recipient sees
it, and the buttons that play the recipient's engagement."""

from __future__ import annotations

import json
import time
import urllib.parse

from werkzeug.wrappers import Response

from integrations.sandbox._common import esc, redirect
from integrations.sandbox.phone import page
from integrations.sandbox.sendgrid.state import SendGridState


class ScreensMixin:
    """The HTML pages of :class:`SendGridApp`."""

    state: SendGridState

    def sb_ui_index(self, request):
        st = self.state
        base = f"{request.script_root}/_sandbox"
        with st.lock:
            mails = list(reversed(st.mails.values()))
            hook = dict(st.event_webhook)
        rows = []
        for m in mails:
            to = ", ".join(r["email"] for r in m["recipients"] if r["kind"] == "to")
            subject = m["subject"] or (m["recipients"][0]["subject"] if m["recipients"] else "")
            last = m["events"][-1]["event"] if m["events"] else ("sandbox_mode" if
                                                                 m["sandbox_mode"] else "")  # fmt: skip
            when = time.strftime("%H:%M:%S", time.gmtime(m["received_at"]))
            rows.append(
                f"<tr><td>{when}</td><td>{esc(m['from'].get('email'))}</td><td>{esc(to)}</td>"
                f"<td><a href='{esc(base)}/mail/{esc(m['id'])}'>"
                f"{esc(subject or m['template_id'] or '(no subject)')}</a></td>"
                f"<td>{esc(last)}</td></tr>"
            )
        table = (
            "<table><tr><th>Time (UTC)</th><th>From</th><th>To</th><th>Subject</th>"
            "<th>Last event</th></tr>" + "".join(rows) + "</table>"
            if rows
            else "<p class='muted'>No mail sent yet.</p>"
        )
        info = (
            f"<p class='muted'>Event webhook: {esc(hook['url'] or 'not set')} "
            f"({'enabled' if hook['enabled'] else 'disabled'}, "
            f"{'signed' if hook['signed'] else 'unsigned'})</p>"
        )
        return Response(
            page("Sandbox SendGrid — outbox", info + table, "sendgrid"), mimetype="text/html"
        )

    def sb_ui_mail(self, request, mid):
        st = self.state
        base = f"{request.script_root}/_sandbox"
        with st.lock:
            m = st.mails.get(mid)
            if m is None:
                return Response("Not found", status=404)
            m = dict(m, events=list(m["events"]))
        rcpts = "".join(
            f"<li>{esc(r['kind'])}: {esc(r['name'] or '')} &lt;{esc(r['email'])}&gt; — "
            f"subject “{esc(r['subject'] or '')}”, custom_args "
            f"<code>{esc(json.dumps(r['custom_args']))}</code></li>"
            for r in m["recipients"]
        )
        parts = [
            f"<p><a href='{esc(base)}/'>← outbox</a></p>",
            f"<p><b>From</b> {esc(m['from'].get('name') or '')} &lt;{esc(m['from']['email'])}"
            f"&gt; · <b>X-Message-Id</b> <code>{esc(m['id'])}</code>"
            + (f" · <b>template</b> {esc(m['template_id'])}" if m["template_id"] else "")
            + (f" · <b>categories</b> {esc(', '.join(m['categories']))}" if m["categories"] else "")
            + "</p>",
            f"<ul>{rcpts}</ul>",
        ]
        reply_to = (m.get("reply_to") or {}).get("email")
        if reply_to:
            parts.append(f"<p><b>Reply-To</b> <code>{esc(reply_to)}</code></p>")
        if m["headers"]:
            parts.append(
                "<h3>Headers</h3><ul>"
                + "".join(
                    f"<li><code>{esc(k)}: {esc(v)}</code></li>" for k, v in m["headers"].items()
                )
                + "</ul>"
            )
        if m["html"] is not None:
            parts.append(
                "<h3>HTML part</h3><iframe sandbox='' title='HTML part' "
                "style='width:100%;height:420px;border:1px solid #c7cbd1;background:#fff' "
                f'srcdoc="{esc(m["html"])}"></iframe>'
            )
        if m["text"] is not None:
            parts.append(
                "<h3>Text part</h3><pre style='background:#fff;padding:12px;"
                f"border:1px solid #c7cbd1;white-space:pre-wrap'>{esc(m['text'])}</pre>"
            )
        if m["template_id"]:
            data = [p.get("dynamic_template_data") for p in m["personalizations"]]
            parts.append(
                f"<h3>dynamic_template_data</h3><pre>{esc(json.dumps(data, indent=2))}</pre>"
            )
        if m["attachments"]:
            parts.append(
                "<h3>Attachments</h3><ul>"
                + "".join(
                    f"<li>{esc(a['filename'])} ({esc(a['type'])}, {a['size']} bytes)</li>"
                    for a in m["attachments"]
                )
                + "</ul>"
            )
        buttons = "".join(
            f"<form method='post' action='{esc(base)}/mail/{esc(mid)}/event' class='inline'>"
            f"<input type='hidden' name='event' value='{e}'><button type='submit'>{e}</button>"
            "</form> "
            for e in ("open", "click", "spamreport", "unsubscribe")
        )
        parts.append(f"<h3>Simulate recipient</h3><p>{buttons}</p>")
        problem = request.args.get("reply_error")
        sent = request.args.get("replied")
        parts.append(
            "<h3>Reply as the candidate</h3>"
            + (f"<p class='flash' role='alert'>{esc(problem)}</p>" if problem else "")
            + (
                "<p class='flash' role='status'>Reply posted to the Inbound Parse URL.</p>"
                if sent
                else ""
            )
            + f"<form method='post' action='{esc(base)}/mail/{esc(mid)}/reply'>"
            "<p><label for='reply-text'>Reply text</label><br>"
            "<textarea id='reply-text' name='text' rows='3' cols='70'>"
            "Thanks, that works for me. See you then!</textarea></p>"
            "<p><button type='submit'>Reply as the candidate</button> "
            "<span class='muted'>Posts an Inbound Parse request (multipart, basic auth) to the "
            "URL set for the Reply-To address's domain.</span></p></form>"
        )
        ev_rows = "".join(
            f"<tr><td>{esc(e['event'])}</td><td>{esc(e['email'])}</td>"
            f"<td><code>{esc(e['sg_event_id'])}</code></td></tr>"
            for e in m["events"]
        )
        parts.append(
            "<h3>Events</h3><table><tr><th>Event</th><th>Email</th><th>sg_event_id</th></tr>"
            f"{ev_rows}</table>"
        )
        subject = m["subject"] or (m["recipients"][0]["subject"] if m["recipients"] else "")
        return Response(
            page(f"Mail — {subject or mid}", "".join(parts), "sendgrid"), mimetype="text/html"
        )

    def sb_ui_reply(self, request, mid):
        target = f"{request.script_root}/_sandbox/mail/{urllib.parse.quote(mid)}"
        try:
            self.state.reply_as_candidate(mid, request.form.get("text") or None)
        except ValueError as exc:
            return redirect(f"{target}?{urllib.parse.urlencode({'reply_error': str(exc)})}")
        return redirect(f"{target}?replied=1")

    def sb_ui_event(self, request, mid):
        event = request.form.get("event") or "open"
        self.state.emit_event(mid, event)
        return redirect(f"{request.script_root}/_sandbox/mail/{urllib.parse.quote(mid)}")
