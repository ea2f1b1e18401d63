"""The Inbox: the conversation list, one thread with its composer, and the live updates.

One page (``/inbox/`` and ``/inbox/<id>/``) with htmx: choosing a conversation swaps the thread
pane and pushes its URL; the list and the open thread poll every few seconds and get
``204 No Content`` while nothing changed. Every region of the thread (head, messages, lock,
composer) is a partial, so an action re-renders only what it changes and never the text being
typed.
"""

from __future__ import annotations

import zoneinfo
from contextlib import contextmanager

from django.contrib import messages as flash
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from candidates import selectors as candidate_selectors
from candidates import services as candidate_services
from integrations.messaging import E164
from messaging import inbox, selectors, services
from messaging.forms import AssignForm, ComposeForm, TimeZoneForm
from messaging.models import Channel, OptOutSource
from recruitflow.decorators import editor_required, organization_required
from recruitflow.page_cache import member_page

PAGE_SIZE = 25
POLL_SECONDS = 3
CHANGED_EVENT = "inbox-changed"


@contextmanager
def _organization_time(organization):
    """Times render in the organization's zone (the sidebar says which; formats show it)."""
    try:
        zone = zoneinfo.ZoneInfo(organization.time_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = zoneinfo.ZoneInfo("UTC")
    with timezone.override(zone):
        yield


def _render(request, template: str, context: dict, status: int = 200, headers=None):
    with _organization_time(request.organization):
        response = render(request, template, context, status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def _fragments(request, parts: list[tuple[str, dict]], headers=None) -> HttpResponse:
    """Several partials in one htmx response (the first is the swap target, the others carry
    ``hx-swap-oob``)."""
    with _organization_time(request.organization):
        html = "".join(render_to_string(t, c, request=request) for t, c in parts)
    response = HttpResponse(html)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def _conversation_or_404(request, pk: int):
    conversation = inbox.conversation_get(organization=request.organization, pk=pk)
    if conversation is None:
        raise Http404("No such conversation.")
    return conversation


# --------------------------------------------------------------------------------------------
# Context
# --------------------------------------------------------------------------------------------


def _list_summary(request, *, active_id: int | None) -> inbox.InboxSummary:
    filters = inbox.InboxFilters.from_query(request.GET)
    page_number = request.GET.get("page") or "1"
    return inbox.inbox_summary(
        organization=request.organization,
        user=request.user,
        salt=f"{filters}|{page_number}|{active_id}",
    )


def _list_context(
    request, *, active_id: int | None = None, summary: inbox.InboxSummary | None = None
) -> dict:
    organization = request.organization
    filters = inbox.InboxFilters.from_query(request.GET)
    page_number = request.GET.get("page") or "1"
    summary = summary or _list_summary(request, active_id=active_id)
    paginator = Paginator(
        inbox.conversation_list(organization=organization, user=request.user, filters=filters),
        PAGE_SIZE,
    )
    page = paginator.get_page(page_number)
    conversations = list(page.object_list)
    inbox.attach_last_messages(organization=organization, conversations=conversations)
    poll_query = filters.query(
        page=page.number if page.number > 1 else "", active=active_id or "", v=summary.fingerprint
    )
    return {
        "filters": filters,
        "filter_views": [
            (key, label, summary.count_for(key), inbox.InboxFilters(view=key, q=filters.q).query())
            for key, label in inbox.FILTER_VIEWS.items()
        ],
        "summary": summary,
        "page": page,
        "conversations": conversations,
        "active_id": active_id,
        "filter_query": filters.query(),
        "list_poll_url": f"{reverse('messaging:list')}?{poll_query}",
        "poll_seconds": POLL_SECONDS,
    }


def _thread_state(request, conversation) -> dict:
    organization = request.organization
    candidate = conversation.candidate
    lock = inbox.lock_state(organization=organization, phone=(candidate.mobile_phone or "").strip())
    setup = inbox.sms_setup(organization=organization)
    zone = selectors.candidate_time_zone(organization=organization, candidate=candidate)
    unavailable = {
        Channel.SMS: inbox.sms_availability(candidate=candidate, lock=lock, setup=setup),
        Channel.EMAIL: inbox.email_availability(candidate=candidate, organization=organization),
    }
    return {"lock": lock, "setup": setup, "zone": zone, "unavailable": unavailable}


def _thread_context(request, conversation, *, state: dict | None = None, form=None) -> dict:
    organization = request.organization
    candidate = conversation.candidate
    state = state or _thread_state(request, conversation)
    lock, zone = state["lock"], state["zone"]
    messages, truncated = inbox.thread_messages(
        organization=organization, conversation=conversation
    )
    fingerprint = inbox.thread_fingerprint(conversation=conversation, lock=lock)
    can_edit = request.membership.can_edit
    phone = (candidate.mobile_phone or "").strip()
    form = form or ComposeForm(unavailable=state["unavailable"], initial=_initial_channel(messages))
    options = _channel_options(form, state["unavailable"], lock)
    return {
        "conversation": conversation,
        "candidate": candidate,
        "items": inbox.thread_items(messages=messages, candidate=candidate, zone=zone.zone),
        "truncated": truncated,
        "lock": lock,
        "lock_history": [(e, inbox.entry_description(e)) for e in lock.history],
        "zone": zone,
        "candidate_time": timezone.now()
        .astimezone(zoneinfo.ZoneInfo(zone.zone))
        .strftime("%a %H:%M"),
        "setup": state["setup"],
        "sandbox_phone_url": (
            inbox.sandbox_phone_url(state["setup"], phone) if E164.match(phone) else ""
        ),
        "can_edit": can_edit,
        "time_zone_form": TimeZoneForm(
            initial={"time_zone": candidate.time_zone}, auto_id="thread-%s"
        ),
        "can_lock": can_edit and bool(E164.match(phone)) and not lock.locked,
        "can_unlock": can_edit and lock.manual,
        "form": form,
        "channel_options": options,
        "can_compose": can_edit and any(not o["reason"] for o in options),
        "unavailable": state["unavailable"],
        "quiet_hours": (
            inbox.quiet_hours_hint(organization=organization, zone=zone)
            if not state["unavailable"][Channel.SMS]
            else ""
        ),
        "thread_poll_url": (
            f"{reverse('messaging:thread-poll', args=[conversation.pk])}"
            f"?v={fingerprint}&locked={int(lock.locked)}"
        ),
        "poll_seconds": POLL_SECONDS,
        "templates_options_url": _library_url("template_options", "/library/templates/options/"),
        "templates_render_url": _library_url(
            "template_render", "/library/templates/0/render/", 0
        ).replace("/0/", "/{id}/")
        + f"?candidate={candidate.pk}",
    }


def _library_url(name: str, fallback: str, *args) -> str:
    """A URL of the Library's JSON endpoints (templates live in journeys, which messaging must
    not import). The composer hides the template picker when the URL does not answer."""
    try:
        return reverse(f"library:{name}", args=args)
    except NoReverseMatch:
        return fallback


def _channel_options(form, unavailable: dict, lock) -> list[dict]:
    """The channel switch: each channel with the reason it cannot be used, and the one chosen
    (the first usable one when the chosen channel just became unusable, e.g. locked)."""
    usable = [value for value, _ in Channel.choices if not unavailable.get(value)]
    chosen = form["channel"].value()
    if chosen not in usable:
        chosen = usable[0] if usable else None
    return [
        {
            "value": value,
            "label": label,
            "reason": unavailable.get(value, ""),
            "locked": value == Channel.SMS and lock.locked,
            "checked": value == chosen,
        }
        for value, label in Channel.choices
    ]


def _initial_channel(messages) -> dict:
    """Answer on the channel the candidate last wrote on."""
    for message in reversed(messages):
        if message.direction == "inbound":
            return {"channel": message.channel}
    return {}


# --------------------------------------------------------------------------------------------
# Pages
# --------------------------------------------------------------------------------------------


@require_GET
@organization_required
@member_page
def inbox_page(request):
    return _render(request, "messaging/inbox.html", _list_context(request))


@require_GET
@organization_required
def conversation_list(request):
    """The list alone, for polling: 204 while the list has not changed."""
    active = request.GET.get("active") or ""
    active_id = int(active) if active.isdigit() and len(active) < 19 else None
    if active_id is not None:
        # The open thread is on screen: a reply that arrived since is read, so the list never
        # shows it unread while its own poll has yet to run.
        inbox.open_conversation_mark_read(organization=request.organization, pk=active_id)
    summary = _list_summary(request, active_id=active_id)
    if request.GET.get("v") == summary.fingerprint:
        return HttpResponse(status=204)
    if request.GET.get("empty"):
        # The page showed the empty state: the first conversation needs the whole layout.
        return HttpResponse(status=200, headers={"HX-Refresh": "true"})
    context = _list_context(request, active_id=active_id, summary=summary)
    context["oob_badge"] = True
    return _render(request, "messaging/_conversation_list.html", context)


@require_GET
@organization_required
def thread(request, pk: int):
    conversation = _conversation_or_404(request, pk)
    had_unread = inbox.conversation_mark_read(
        organization=request.organization, conversation=conversation
    )
    context = _thread_context(request, conversation)
    headers = {"HX-Trigger": CHANGED_EVENT} if had_unread else {}
    htmx = getattr(request, "htmx", None)
    if htmx and not htmx.history_restore_request and htmx.target == "thread-pane":
        return _render(request, "messaging/_thread.html", context, headers=headers)
    context.update(_list_context(request, active_id=conversation.pk))
    return _render(request, "messaging/inbox.html", context, headers=headers)


@require_GET
@organization_required
def thread_poll(request, pk: int):
    """New messages, status changes and lock changes of an open thread; 204 when none.

    The composer's channel switch is re-rendered only when the lock changed, so a reply being
    typed is never touched."""
    conversation = _conversation_or_404(request, pk)
    had_unread = bool(conversation.unread_count) and inbox.conversation_mark_read(
        organization=request.organization, conversation=conversation
    )
    lock = inbox.lock_state(
        organization=request.organization, phone=(conversation.candidate.mobile_phone or "").strip()
    )
    if request.GET.get("v") == inbox.thread_fingerprint(conversation=conversation, lock=lock):
        # Nothing new to show, but a read changes the list's badges: tell it to refresh.
        return HttpResponse(status=204, headers={"HX-Trigger": CHANGED_EVENT} if had_unread else {})
    state = _thread_state(request, conversation)
    context = _thread_context(request, conversation, state=state)
    parts = [
        ("messaging/_thread_messages.html", context),
        ("messaging/_thread_head.html", {**context, "oob": True}),
        ("messaging/_thread_lock.html", {**context, "oob": True}),
    ]
    if request.GET.get("locked") != str(int(state["lock"].locked)):
        parts.append(("messaging/_composer_channels.html", {**context, "oob": True}))
    return _fragments(request, parts, headers={"HX-Trigger": CHANGED_EVENT})


# --------------------------------------------------------------------------------------------
# Actions
# --------------------------------------------------------------------------------------------


def _thread_url(conversation) -> str:
    return reverse("messaging:thread", args=[conversation.pk])


def _regions(request, conversation, *, message: str = "") -> HttpResponse:
    """Every region of the thread except the composer's text, swapped out of band."""
    context = {**_thread_context(request, conversation), "oob": True, "notice": message}
    return _fragments(
        request,
        [
            ("messaging/_thread_head.html", context),
            ("messaging/_thread_messages.html", context),
            ("messaging/_thread_lock.html", context),
            ("messaging/_composer_channels.html", context),
        ],
        headers={"HX-Trigger": CHANGED_EVENT},
    )


@require_POST
@editor_required
def send(request, pk: int):
    conversation = _conversation_or_404(request, pk)
    organization = request.organization
    state = _thread_state(request, conversation)
    form = ComposeForm(request.POST, unavailable=state["unavailable"])
    sent = None
    if form.is_valid():
        data = form.cleaned_data
        try:
            sent = services.message_send(
                organization=organization,
                candidate=conversation.candidate,
                channel=data["channel"],
                body=data["body"],
                subject=data["subject"].strip(),
                html=data["html"] if data["channel"] == Channel.EMAIL else "",
                source="inbox",
                sent_by=request.user,
                idempotency_key=form.idempotency_key(),
            )
        except services.CannotSend as exc:
            form.add_error(None, exc.reason)
            state = _thread_state(request, conversation)  # e.g. a lock that just landed
    htmx = bool(getattr(request, "htmx", None))
    if sent is None:
        context = _thread_context(request, conversation, state=state, form=form)
        if htmx:
            return _render(request, "messaging/_composer.html", context)
        context.update(_list_context(request, active_id=conversation.pk))
        return _render(request, "messaging/inbox.html", context, status=400)
    label = "Text" if sent.channel == Channel.SMS else "E-mail"
    if not htmx:
        flash.success(request, f"{label} to {conversation.candidate.full_name} queued.")
        return redirect(_thread_url(conversation))
    fresh = ComposeForm(unavailable=state["unavailable"], initial={"channel": sent.channel})
    context = _thread_context(request, conversation, state=state, form=fresh)
    return _fragments(
        request,
        [
            ("messaging/_composer.html", context),
            ("messaging/_thread_messages.html", {**context, "oob": True}),
        ],
        headers={"HX-Trigger": CHANGED_EVENT},
    )


@require_POST
@editor_required
def assign(request, pk: int):
    conversation = _conversation_or_404(request, pk)
    form = AssignForm(request.POST)
    if form.is_valid():
        assignee = request.user if form.cleaned_data["to"] == "me" else None
        inbox.conversation_assign(
            organization=request.organization, conversation=conversation, assignee=assignee
        )
    if getattr(request, "htmx", None):
        return _regions(request, conversation)
    return redirect(_thread_url(conversation))


@require_POST
@editor_required
def time_zone(request, pk: int):
    """Set (or clear) the candidate's own time zone: it comes first for quiet hours."""
    conversation = _conversation_or_404(request, pk)
    form = TimeZoneForm(request.POST)
    if form.is_valid():
        candidate_services.candidate_time_zone_set(
            organization=request.organization,
            candidate=conversation.candidate,
            time_zone=form.cleaned_data["time_zone"],
            actor=request.user,
        )
    else:
        flash.error(request, " ".join(form.errors["time_zone"]))
    if getattr(request, "htmx", None) and form.is_valid():
        return _regions(request, conversation)
    return redirect(_thread_url(conversation))


@require_POST
@editor_required
def lock(request, pk: int):
    """Lock the candidate's mobile number by hand: no texts until they reply START."""
    conversation = _conversation_or_404(request, pk)
    organization = request.organization
    phone = (conversation.candidate.mobile_phone or "").strip()
    if phone and not selectors.is_locked(organization, phone):
        services.opt_out_lock(
            organization=organization, phone=phone, source=OptOutSource.MANUAL, actor=request.user
        )
    if getattr(request, "htmx", None):
        return _regions(request, conversation)
    return redirect(_thread_url(conversation))


@require_POST
@editor_required
def unlock(request, pk: int):
    """Undo a lock a team member set. A candidate's own STOP is only undone by their START."""
    conversation = _conversation_or_404(request, pk)
    organization = request.organization
    phone = (conversation.candidate.mobile_phone or "").strip()
    state = inbox.lock_state(organization=organization, phone=phone)
    if state.manual:
        services.opt_out_unlock(
            organization=organization, phone=phone, source=OptOutSource.MANUAL, actor=request.user
        )
    elif state.locked and not getattr(request, "htmx", None):
        flash.error(request, f"{state.notice} Only the candidate can undo that.")
    if getattr(request, "htmx", None):
        return _regions(request, conversation)
    return redirect(_thread_url(conversation))


@organization_required
def new_message(request):
    """Start a conversation: find the candidate, then write to them from their thread."""
    organization = request.organization
    if request.method == "POST":
        if not request.membership.can_edit:
            raise PermissionDenied("Your role can read conversations but not send messages.")
        candidate_id = (request.POST.get("candidate") or "").strip()
        candidate = (
            candidate_selectors.candidate_detail(organization=organization, pk=int(candidate_id))
            if candidate_id.isdigit()
            else None
        )
        if candidate is None:
            flash.error(request, "That candidate was not found: search again and pick one.")
            return redirect("messaging:new")
        if candidate.merged_into_id and candidate.merged_into.deleted_at is None:
            candidate = candidate.merged_into  # the ATS merged them: write to the survivor
        conversation = inbox.conversation_open(organization=organization, candidate=candidate)
        return redirect(_thread_url(conversation))
    q = (request.GET.get("q") or "").strip()[:200]
    found = []
    if q:
        filters = candidate_selectors.CandidateFilters(q=q)
        found = list(
            candidate_selectors.candidate_search(organization=organization, filters=filters)[:20]
        )
    return _render(request, "messaging/new.html", {"q": q, "found": found})


@require_POST
@editor_required
def retry(request, pk: int, message_id: int):
    """Send a failed message again, or one whose fate is unknown once the provider says it
    never went out (never twice)."""
    conversation = _conversation_or_404(request, pk)
    organization = request.organization
    if (
        not selectors.conversation_messages(organization=organization, conversation=conversation)
        .filter(pk=message_id)
        .exists()
    ):
        raise Http404("No such message in this conversation.")
    notice = ""
    try:
        services.message_retry(organization=organization, message_id=message_id, actor=request.user)
    except services.CannotSend as exc:
        notice = exc.reason
    if getattr(request, "htmx", None):
        return _regions(request, conversation, message=notice)
    if notice:
        flash.error(request, notice)
    return redirect(_thread_url(conversation))
