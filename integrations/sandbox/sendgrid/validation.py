"""Mail Send v3 payload validation, with SendGrid's messages, fields and help links."""

from __future__ import annotations

import base64
import binascii
import json
import time

from integrations.sandbox.sendgrid.contract import EMAIL_RE, error_item


def validate_mail(payload, now: float | None = None) -> list[dict]:
    """SendGrid-style validation of a ``/v3/mail/send`` body; returns the error list."""
    now = time.time() if now is None else now
    errors: list[dict] = []
    if not isinstance(payload, dict):
        return [{"message": "Bad Request", "field": None, "help": None}]
    pers = payload.get("personalizations")
    template_id = payload.get("template_id")
    if not isinstance(pers, list) or not pers:
        errors.append(
            error_item(
                "The personalizations field is required and must have at least one "
                "personalization.",
                "personalizations",
                "personalizations",
            )
        )
        pers = []
    if len(pers) > 1000:
        errors.append(
            error_item(
                "The personalizations field must have no more than 1000 objects.",
                "personalizations",
            )
        )
    total = 0
    for i, p in enumerate(pers):
        if not isinstance(p, dict):
            errors.append(error_item("Invalid type. Expected: object.", f"personalizations.{i}"))
            continue
        to = p.get("to")
        if not isinstance(to, list) or not to:
            errors.append(
                error_item(
                    "The to array is required for all personalization objects, and must have at "
                    "least one email object with a valid email address.",
                    f"personalizations.{i}.to",
                    "personalizations.to",
                )
            )
        seen: dict[str, str] = {}
        for kind in ("to", "cc", "bcc"):
            lst = p.get(kind) or []
            if not isinstance(lst, list):
                errors.append(
                    error_item("Invalid type. Expected: array.", f"personalizations.{i}.{kind}")
                )
                continue
            total += len(lst)
            for j, addr in enumerate(lst):
                em = addr.get("email") if isinstance(addr, dict) else None
                if not isinstance(em, str) or not EMAIL_RE.match(em):
                    errors.append(
                        error_item(
                            "Does not contain a valid address.",
                            f"personalizations.{i}.{kind}.{j}.email",
                            f"personalizations.{kind}",
                        )
                    )
                    continue
                name = addr.get("name")
                if isinstance(name, str) and (";" in name or "," in name):
                    errors.append(
                        error_item(
                            "Names may not contain ; or , characters unless quoted.",
                            f"personalizations.{i}.{kind}.{j}.name",
                        )
                    )
                low = em.lower()
                if low in seen and not any(e["field"] == f"personalizations.{i}" for e in errors):
                    errors.append(
                        error_item(
                            "Each email address in the personalization block should be unique "
                            "between to, cc, and bcc. We found the first duplicate instance of "
                            f"[{em}] in the personalizations.{i}.{kind} field.",
                            f"personalizations.{i}",
                            "personalizations",
                        )
                    )
                seen[low] = kind
        if "custom_args" in p:
            errors.extend(_check_custom_args(p["custom_args"], f"personalizations.{i}.custom_args"))
        if "send_at" in p:
            errors.extend(_check_send_at(p["send_at"], f"personalizations.{i}.send_at", now))
    if total > 1000:
        errors.append(
            error_item(
                "The total number of recipients must be no more than 1000. This includes all "
                "recipients defined within the to, cc, and bcc parameters, across each of the "
                "personalizations.",
                "personalizations",
            )
        )
    frm = payload.get("from")
    if not isinstance(frm, dict) or not frm.get("email"):
        errors.append(
            error_item(
                "The from object must be provided for every email send. It is an object that "
                "requires the email parameter, but may also contain a name parameter.  e.g. "
                '{"email" : "example@example.com"}  or {"email" : "example@example.com", '
                '"name" : "Example Recipient"}.',
                "from.email",
                "from",
            )
        )
    elif not EMAIL_RE.match(str(frm["email"])) or not str(frm["email"]).isascii():
        errors.append(
            error_item("The from email does not contain a valid address.", "from.email", "from")
        )
    if "reply_to" in payload and "reply_to_list" in payload:
        errors.append(
            error_item(
                "The reply_to and reply_to_list properties are mutually exclusive. Please "
                "provide either reply_to or reply_to_list, but not both.",
                "reply_to",
                "reply_to",
            )
        )
    if not template_id:
        subject = payload.get("subject")
        if not (isinstance(subject, str) and subject) and not (
            pers and all(isinstance(p, dict) and p.get("subject") for p in pers)
        ):
            errors.append(
                error_item(
                    "The subject is required. You can get around this requirement if you use a "
                    "template with a subject defined or if every personalization has a subject "
                    "defined.",
                    "subject",
                )
            )
    content = payload.get("content")
    if content is None or content == []:
        if not template_id:
            errors.append(
                error_item(
                    "Unless a valid template_id is provided, the content parameter is required. "
                    "There must be at least one defined content block. We typically suggest both "
                    "text/plain and text/html blocks are included, but only one block is "
                    "required.",
                    "content",
                )
            )
    elif not isinstance(content, list):
        errors.append(error_item("Invalid type. Expected: array.", "content"))
    else:
        types = []
        for k, c in enumerate(content):
            if not isinstance(c, dict) or not isinstance(c.get("type"), str) or not c["type"]:
                errors.append(
                    error_item("The content type is required.", f"content.{k}.type", "content")
                )
                continue
            types.append(c["type"].lower())
            if not isinstance(c.get("value"), str) or not c["value"]:
                errors.append(
                    error_item(
                        "The content value must be a string at least one character in length.",
                        f"content.{k}.value",
                        "content.value",
                    )
                )
        if "text/plain" in types and types[0] != "text/plain":
            errors.append(
                error_item(
                    "If present, text/plain content must be first, followed by text/html, "
                    "followed by any other content.",
                    "content",
                    "content.type",
                )
            )
    if "custom_args" in payload:
        errors.extend(_check_custom_args(payload["custom_args"], "custom_args"))
    if "send_at" in payload:
        errors.extend(_check_send_at(payload["send_at"], "send_at", now))
    cats = payload.get("categories")
    if cats is not None and (
        not isinstance(cats, list) or len(cats) > 10 or not all(isinstance(c, str) for c in cats)
    ):
        errors.append(
            error_item("Categories must be an array of at most 10 strings.", "categories")
        )
    for k, att in enumerate(payload.get("attachments") or []):
        if not isinstance(att, dict) or not att.get("content") or not att.get("filename"):
            errors.append(
                error_item(
                    "The attachment content and filename are required.",
                    f"attachments.{k}",
                    "attachments",
                )
            )
            continue
        try:
            base64.b64decode(att["content"], validate=True)
        except (binascii.Error, ValueError):
            errors.append(
                error_item(
                    "The attachment content must be base64 encoded.",
                    f"attachments.{k}.content",
                    "attachments.content",
                )
            )
    return errors


def _check_custom_args(args, field: str) -> list[dict]:
    if not isinstance(args, dict):
        return [error_item("Invalid type. Expected: object.", field, "custom_args")]
    out = []
    for k, v in args.items():
        if not isinstance(v, str):
            kind = "integer" if isinstance(v, int) else type(v).__name__
            out.append(
                error_item(
                    f"Invalid type. Expected: string, given: {kind}.", f"{field}.{k}", "custom_args"
                )
            )
    if len(json.dumps(args)) >= 10000:
        out.append(
            error_item("The custom_args must total less than 10,000 bytes.", field, "custom_args")
        )
    return out


def _check_send_at(value, field: str, now: float) -> list[dict]:
    if not isinstance(value, int) or isinstance(value, bool):
        return [error_item("send_at must be a UNIX timestamp (integer).", field, "send_at")]
    if value > now + 72 * 3600:
        return [
            error_item(
                "send_at cannot be scheduled more than 72 hours in advance.", field, "send_at"
            )
        ]
    return []
