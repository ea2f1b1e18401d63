"""Calendar events in the fake Cronofy: free/busy and event queries with paging, upserts and
deletes through the API, and changes the person makes in their own calendar app."""

from __future__ import annotations

import secrets
import time
from datetime import datetime
from zoneinfo import ZoneInfoNotFoundError

from integrations.sandbox.cronofy.contract import (
    CronofyError,
    _zone,
    field_error,
    iso,
    parse_time,
    truthy,
)


class EventsMixin:
    """Reading and writing events (part of :class:`CronofyState`)."""

    # reading -----------------------------------------------------------------------------
    def query(self, token: dict, args, kind: str) -> list[dict]:
        """Items for free_busy or events (all pages), sorted by start."""
        user = self.user_by_sub(token["sub"])
        tzid = args.get("tzid")
        if not tzid:
            raise field_error(422, "tzid", "errors.required", "tzid must be specified")
        _zone(tzid)  # 422 for an unknown zone
        now = time.time()
        explicit = bool(args.get("from") or args.get("to"))
        try:
            lo = parse_time(args["from"], tzid)[0] if args.get("from") else now - 42 * 86400
        except (ValueError, KeyError):
            raise field_error(422, "from", "errors.invalid", "from must be a date") from None
        try:
            hi = parse_time(args["to"], tzid)[0] if args.get("to") else now + 201 * 86400
        except (ValueError, KeyError):
            raise field_error(422, "to", "errors.invalid", "to must be a date") from None
        calendar_ids = set(args.getlist("calendar_ids[]"))
        include_managed = truthy(args.get("include_managed", "false"))
        only_managed = truthy(args.get("only_managed", "false"))
        include_deleted = truthy(args.get("include_deleted", "false"))
        last_modified = None
        if args.get("last_modified"):
            try:
                last_modified = parse_time(args["last_modified"])[0]
            except ValueError:
                raise field_error(
                    422, "last_modified", "errors.invalid", "last_modified must be a time"
                ) from None
        items = []
        with self.lock:
            for event in self.events.values():
                if event["sub"] != user["sub"]:
                    continue
                if calendar_ids and event["calendar_id"] not in calendar_ids:
                    continue
                managed = event["client_id"] == token["client_id"]
                if (managed and not include_managed and not only_managed) or (
                    only_managed and not managed
                ):
                    continue
                if event["deleted"] and (kind == "free_busy" or not include_deleted):
                    continue
                if last_modified is not None and event["updated"] < last_modified:
                    continue
                # Managed events are not held to the default window, only to an explicit one.
                if (explicit or not managed) and not (
                    event["start_ts"] < hi and event["end_ts"] > lo
                ):
                    continue
                if kind == "free_busy" and event["transparency"] == "transparent":
                    continue
                self.settle_conference(event)
                items.append((event["start_ts"], self._render(event, kind, managed)))
        items.sort(key=lambda pair: pair[0])
        return [item for _, item in items]

    @staticmethod
    def _render(event: dict, kind: str, managed: bool) -> dict:
        start = event["start"] if event["all_day"] else iso(event["start_ts"])
        end = event["end"] if event["all_day"] else iso(event["end_ts"])
        if kind == "free_busy":
            status = "tentative" if event["participation_status"] == "tentative" else "busy"
            return {
                "calendar_id": event["calendar_id"],
                "start": start,
                "end": end,
                "free_busy_status": status,
            }
        item = {
            "calendar_id": event["calendar_id"],
            "event_uid": event["event_uid"],
            "summary": event["summary"],
            "description": event["description"],
            "start": start,
            "end": end,
            "deleted": event["deleted"],
            "created": iso(event["created"]),
            "updated": iso(event["updated"]),
            "participation_status": event["participation_status"],
            "transparency": event["transparency"],
            "status": "cancelled" if event["deleted"] else "confirmed",
            "attendees": event["attendees"],
            "categories": [],
            "recurring": False,
            "event_private": False,
            "options": {"delete": True, "update": True, "change_participation_status": True},
        }
        if event["location"]:
            item["location"] = event["location"]
        if event.get("conferencing"):
            item["conferencing"] = dict(event["conferencing"])
        if managed:
            item["event_id"] = event["event_id"]
        return item

    def paged(self, token: dict, items: list[dict], key: str, base: str) -> dict:
        size = max(1, int(self.config["page_size"]))
        chunks = [items[i : i + size] for i in range(0, len(items), size)] or [[]]
        total = len(chunks)
        with self.lock:
            tokens = [secrets.token_hex(12) for _ in range(total)]
            for number in range(1, total):
                self.pages[tokens[number]] = {
                    "sub": token["sub"],
                    "key": key,
                    "current": number + 1,
                    "total": total,
                    "items": chunks[number],
                    "next": tokens[number + 1] if number + 1 < total else None,
                    "base": base,
                }
        return self._page(key, 1, total, chunks[0], tokens[1] if total > 1 else None, base)

    @staticmethod
    def _page(key, current, total, items, next_token, base) -> dict:
        pages = {"current": current, "total": total}
        if next_token:
            pages["next_page"] = f"{base}/v1/{key}/pages/{next_token}"
        return {"pages": pages, key: items}

    def next_page(self, token: dict, key: str, page_token: str) -> dict:
        with self.lock:
            stored = self.pages.get(page_token)
            if stored is None or stored["sub"] != token["sub"] or stored["key"] != key:
                raise CronofyError(404, None)
            return self._page(
                key,
                stored["current"],
                stored["total"],
                stored["items"],
                stored["next"],
                stored["base"],
            )

    # writing through the API ---------------------------------------------------------------
    def upsert(self, token: dict, calendar_id: str, body) -> None:
        user = self.user_by_sub(token["sub"])
        calendar = self.calendar(user, calendar_id)
        if calendar is None or calendar["calendar_deleted"]:
            raise CronofyError(404, None)
        if not isinstance(body, dict):
            raise field_error(422, "event_id", "errors.required", "event_id must be specified")
        errors: dict[str, list] = {}

        def problem(name: str, key: str, description: str) -> None:
            errors.setdefault(name, []).append({"key": key, "description": description})

        event_id = body.get("event_id")
        if not isinstance(event_id, str) or not event_id:
            problem("event_id", "errors.required", "event_id must be specified")
        elif len(event_id) > 64 or not event_id.isascii():
            problem("event_id", "errors.invalid", "event_id must be up to 64 ASCII characters")
        summary = body.get("summary")
        if not isinstance(summary, str) or not summary.strip():
            problem("summary", "errors.required", "summary must be specified")
        elif len(summary) > 1024:
            problem("summary", "errors.too_long", "summary must be at most 1024 characters")
        description = body.get("description") or ""
        if not isinstance(description, str) or len(description) > 4096:
            problem("description", "errors.too_long", "description must be at most 4096 characters")
        tzid = body.get("tzid") or "Etc/UTC"
        times = {}
        for name in ("start", "end"):
            if body.get(name) in (None, ""):
                problem(name, "errors.required", f"{name} must be specified")
                continue
            try:
                times[name] = parse_time(body[name], tzid)
            except (ValueError, ZoneInfoNotFoundError):
                problem(
                    name, "errors.invalid", f"{name} must be a time such as 2026-01-19T09:00:00Z"
                )
        if len(times) == 2 and times["end"][0] <= times["start"][0]:
            problem("end", "errors.must_be_after_start", "end must be after start")
        if calendar["calendar_readonly"]:
            problem("calendar_id", "errors.calendar_readonly", "The calendar is read-only")
        attendees = body.get("attendees") or {}
        invite = attendees.get("invite", []) if isinstance(attendees, dict) else None
        if invite is None or any(
            not isinstance(a, dict) or "@" not in str(a.get("email", "")) for a in invite
        ):
            problem("attendees", "errors.invalid", "attendees.invite must list {email} objects")
        if "conferencing" in body:
            self.conferencing_problems(user, body["conferencing"], problem)
        if errors:
            raise CronofyError(422, {"errors": errors})
        with self.lock:
            event, uid = self.managed_event(user["sub"], calendar_id, token["client_id"], event_id)
            all_day = times["start"][1]
            stored = self._store_event(
                user,
                calendar_id,
                summary=summary,
                start=body["start"] if all_day else times["start"][0],
                end=body["end"] if all_day else times["end"][0],
                uid=uid,
                all_day=all_day,
            )
            if event is not None:
                stored["created"] = event["created"]
            stored.update(
                event_id=event_id,
                client_id=token["client_id"],
                description=description,
                location=body.get("location") or None,
                attendees=[
                    {
                        "email": a["email"],
                        "display_name": a.get("display_name", ""),
                        "status": "needs_action",
                    }
                    for a in invite
                ],
                transparency=body.get("transparency") or "opaque",
                tzid=tzid,
            )
            self.apply_conferencing(stored, body.get("conferencing"), event)
            self.writes.append(
                {
                    "op": "upsert",
                    "event_id": event_id,
                    "calendar_id": calendar_id,
                    "conferencing": body.get("conferencing"),
                }
            )

    def delete(self, token: dict, calendar_id: str, body) -> None:
        user = self.user_by_sub(token["sub"])
        if self.calendar(user, calendar_id) is None:
            raise CronofyError(404, None)
        body = body if isinstance(body, dict) else {}
        with self.lock:
            if body.get("event_id"):
                event, _ = self.managed_event(
                    user["sub"], calendar_id, token["client_id"], str(body["event_id"])
                )
            elif body.get("event_uid"):
                event = self.events.get(str(body["event_uid"]))
                if event is not None and event["calendar_id"] != calendar_id:
                    event = None
            else:
                raise field_error(422, "event_id", "errors.required", "event_id must be specified")
            if event is not None and not event["deleted"]:
                event["deleted"] = True
                event["updated"] = time.time()
            self.writes.append({"op": "delete", "calendar_id": calendar_id, **body})

    # changes made by the person (their calendar app, not our API) --------------------------
    def add_busy(self, email: str, *, summary: str, start, end, calendar_id: str = "") -> dict:
        user = self.user(email)
        with self.lock:
            start_ts, all_day = (
                parse_time(start, user["zone"])
                if isinstance(start, str)
                else (float(start.timestamp() if isinstance(start, datetime) else start), False)
            )
            end_ts = (
                parse_time(end, user["zone"])[0]
                if isinstance(end, str)
                else float(end.timestamp() if isinstance(end, datetime) else end)
            )
            if end_ts <= start_ts:
                raise ValueError("end must be after start")
            calendar_id = calendar_id or user["calendars"][0]["calendar_id"]
            event = self._store_event(
                user,
                calendar_id,
                summary=summary,
                start=start if all_day else start_ts,
                end=end if all_day else end_ts,
                uid="evt_external_" + secrets.token_hex(10),
                all_day=all_day,
            )
            self._notify(user, event)
            return self.snapshot(event)

    def _find(self, user: dict, event_id: str | None, event_uid: str | None) -> dict:
        for event in self.events.values():
            if event["sub"] != user["sub"]:
                continue
            if (event_uid and event["event_uid"] == event_uid) or (
                event_id and event["event_id"] == event_id
            ):
                return event
        raise KeyError(f"No event {event_id or event_uid!r} in {user['email']}'s calendar")

    def delete_as_user(
        self, email: str, *, event_id: str | None = None, event_uid: str | None = None
    ) -> dict:
        """The person deletes an event in their calendar app (e.g. the interview we booked)."""
        user = self.user(email)
        with self.lock:
            event = self._find(user, event_id, event_uid)
            if not event["deleted"]:
                event["deleted"] = True
                event["updated"] = time.time()
                self._notify(user, event)
            return self.snapshot(event)

    def update_as_user(
        self,
        email: str,
        *,
        event_id: str | None = None,
        event_uid: str | None = None,
        start=None,
        end=None,
        summary: str | None = None,
    ) -> dict:
        """The person moves or renames an event in their calendar app."""
        user = self.user(email)
        with self.lock:
            event = self._find(user, event_id, event_uid)
            if start is not None:
                event["start_ts"] = parse_time(start)[0]
                event["start"] = event["start_ts"]
            if end is not None:
                event["end_ts"] = parse_time(end)[0]
                event["end"] = event["end_ts"]
            if summary is not None:
                event["summary"] = summary
            event["all_day"] = False if start is not None or end is not None else event["all_day"]
            event["updated"] = time.time()
            self._notify(user, event)
            return self.snapshot(event)
