"""Partner API of messaging: read conversations and messages, send a text or e-mail to a
candidate (with an ``Idempotency-Key``), read the opt-out ledger and lock a number by hand.

Every query runs in the organization of the API key (or the signed-in member); another
organization's objects are 404.
"""

from __future__ import annotations

from typing import NoReturn

from django.db import transaction
from django.db.models import BooleanField, Exists, ExpressionWrapper, OuterRef, Q, Subquery
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from candidates.models import Candidate, provider_choices
from integrations.messaging import E164
from messaging import selectors, services
from messaging.models import (
    Channel,
    Conversation,
    Message,
    OptOutAction,
    OptOutEntry,
    OptOutSource,
)
from messaging.serializers import (
    IDEMPOTENCY_KEY,
    MAX_ID,
    ConversationDetailSerializer,
    ConversationFilterSerializer,
    ConversationSerializer,
    MessageSendSerializer,
    MessageSerializer,
    OptOutFilterSerializer,
    OptOutLockSerializer,
    OptOutSerializer,
    SendRefusalSerializer,
)
from recruitflow.api import Unprocessable
from recruitflow.tenancy import candidates_restricted

IDEMPOTENCY_HEADER = "Idempotency-Key"
# API keys live in their own namespace of the organization's idempotency keys, so a partner's
# key can never collide with the product's own (journeys, auto-replies).
IDEMPOTENCY_PREFIX = "api:"


_PRIYA = {"id": 41, "email": "priya@northwind.example", "name": "Priya Raman"}
_LAST_MESSAGE = {
    "id": 5120,
    "channel": "sms",
    "direction": "inbound",
    "status": "received",
    "preview": "Thursday at 2pm works for me, thanks!",
    "created_at": "2026-03-04T15:12:40Z",
}
_CONVERSATION = {
    "id": 318,
    "candidate": {
        "id": 2207,
        "name": "Sam Okafor",
        "email": "sam.okafor@example.com",
        "mobile_phone": "+447700900123",
        "provider": provider_choices()[0][0],
        "external_id": "48213370",
    },
    "assigned_to": _PRIYA,
    "unread_count": 1,
    "last_message_at": "2026-03-04T15:12:40Z",
    "opted_out": False,
    "last_message": _LAST_MESSAGE,
    "created_at": "2026-03-01T09:20:00Z",
}
_MESSAGE = {
    "id": 5119,
    "conversation": 318,
    "candidate": 2207,
    "channel": "sms",
    "direction": "outbound",
    "status": "delivered",
    "status_label": "Delivered",
    "to_address": "+447700900123",
    "from_address": "+447700900900",
    "subject": "",
    "body": "Hi Sam, can you do an onsite interview on Thursday at 2pm?",
    "segments": 1,
    "encoding": "GSM-7",
    "provider": "sandbox",
    "error_code": "",
    "error_message": "",
    "hold_until": None,
    "source": "api",
    "sent_by": _PRIYA,
    "created_at": "2026-03-04T14:58:02Z",
    "sent_at": "2026-03-04T14:58:03Z",
    "delivered_at": "2026-03-04T14:58:06Z",
}
_QUEUED = {**_MESSAGE, "status": "queued", "status_label": "Queued", "sent_at": None,
           "delivered_at": None}  # fmt: skip
_OPT_OUT = {
    "id": 77,
    "phone": "+447700900123",
    "locked": True,
    "action": "lock",
    "source": "keyword",
    "source_label": "Candidate texted a keyword",
    "keyword": "STOP",
    "actor": None,
    "message": 5121,
    "created_at": "2026-03-05T08:01:14Z",
}
_MANUAL_LOCK = {**_OPT_OUT, "source": "manual", "source_label": "Set by a team member",
                "keyword": "", "actor": _PRIYA, "message": None}  # fmt: skip


def _answer(name: str, value, *, codes: tuple[str, ...] = ("200",)) -> OpenApiExample:
    return OpenApiExample(name, value=value, response_only=True, status_codes=list(codes))


def _organization(request):
    return request._request.organization


def _acting_user(request):
    """Who a write is recorded as: the API key's creator, or the signed-in member."""
    key = getattr(request._request, "api_key", None)
    if key is not None:
        return key.created_by
    user = request.user
    return user if getattr(user, "pk", None) else None


def _schema_view(view) -> bool:
    return getattr(view, "swagger_fake_view", False)


# ----------------------------------------------------------------------------------------------
# Conversations
# ----------------------------------------------------------------------------------------------


def _conversations(organization):
    latest_action = (
        OptOutEntry.unscoped.filter(
            organization_id=organization.pk, phone=OuterRef("candidate__mobile_phone")
        )
        .order_by("-created_at", "-id")
        .values("action")[:1]
    )
    return (
        Conversation.objects.filter(organization=organization)
        .select_related("candidate", "assigned_to")
        .annotate(latest_opt_out=Subquery(latest_action))
        .annotate(
            opted_out=ExpressionWrapper(
                Q(latest_opt_out=OptOutAction.LOCK), output_field=BooleanField()
            )
        )
    )


def _last_messages(organization, conversations) -> dict[int, Message]:
    """The latest message of each conversation, in one query."""
    ids = [c.pk for c in conversations]
    if not ids:
        return {}
    latest = (
        Message.objects.filter(organization=organization, conversation_id=OuterRef("pk"))
        .order_by("-created_at", "-id")
        .values("pk")[:1]
    )
    message_ids = (
        Conversation.objects.filter(organization=organization, pk__in=ids)
        .annotate(last_id=Subquery(latest))
        .values_list("pk", "last_id")
    )
    wanted = {last_id: pk for pk, last_id in message_ids if last_id}
    return {
        wanted[m.pk]: m
        for m in Message.objects.filter(organization=organization, pk__in=list(wanted))
    }


CONVERSATION_FILTERS = [
    OpenApiParameter(
        "unread", OpenApiTypes.BOOL, description="true: only conversations with unread replies."
    ),
    OpenApiParameter(
        "opted_out",
        OpenApiTypes.BOOL,
        description="true: only candidates whose number is locked (texted STOP); false: the rest.",
    ),
    OpenApiParameter(
        "candidate",
        {"type": "integer", "minimum": 1, "maximum": MAX_ID},
        description="Only the conversation with this candidate (a RecruitFlow candidate id).",
    ),
]


class ConversationListView(generics.ListAPIView):
    """Conversations with candidates, most recent activity first (one per candidate, across
    texts and e-mails)."""

    serializer_class = ConversationSerializer

    def get_queryset(self):
        if _schema_view(self):
            return Conversation.unscoped.none()
        filters = ConversationFilterSerializer(data=self.request.query_params.dict())
        filters.is_valid(raise_exception=True)
        params = filters.validated_data
        qs = _conversations(_organization(self.request))
        if params.get("unread") is True:
            qs = qs.filter(unread_count__gt=0)
        elif params.get("unread") is False:
            qs = qs.filter(unread_count=0)
        if params.get("opted_out") is True:
            qs = qs.filter(latest_opt_out=OptOutAction.LOCK)
        elif params.get("opted_out") is False:
            qs = qs.filter(Q(latest_opt_out__isnull=True) | ~Q(latest_opt_out=OptOutAction.LOCK))
        if params.get("candidate"):
            qs = qs.filter(candidate_id=params["candidate"])
        return qs

    @extend_schema(
        parameters=CONVERSATION_FILTERS,
        operation_id="conversations_list",
        summary="List conversations",
        description="Conversations with candidates, most recent activity first, a page at a "
        "time: one per candidate, across texts and e-mails, with the unread count, whether the "
        "number is locked (texted STOP) and the latest message. Any key may read them; a "
        "filter that is not true/false or not an id is 400.",
        examples=[_answer("An unread reply", _CONVERSATION)],
    )
    def get(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        context = {
            **self.get_serializer_context(),
            "last_messages": _last_messages(_organization(request), page),
        }
        data = ConversationSerializer(page, many=True, context=context).data
        return self.get_paginated_response(data)


def _conversation_or_404(request, pk: int) -> Conversation:
    conversation = _conversations(_organization(request)).filter(pk=pk).first()
    if conversation is None:
        raise Http404
    return conversation


class ConversationDetailView(APIView):
    """One conversation, with the candidate's time zone as RecruitFlow derives it (and why):
    quiet hours are applied in that zone."""

    @extend_schema(
        responses=ConversationDetailSerializer,
        operation_id="conversations_retrieve",
        summary="Read a conversation",
        description="One conversation, with the candidate's time zone as RecruitFlow derives "
        "it and why (quiet hours are applied in that zone). Any key may read it; another "
        "organization's conversation is 404.",
        examples=[
            _answer(
                "With the candidate's time zone",
                {
                    **_CONVERSATION,
                    "candidate_time_zone": {
                        "zone": "Europe/London",
                        "evidence": "From the country code of +447700900123",
                    },
                },
            )
        ],
    )
    def get(self, request, pk: int):
        organization = _organization(request)
        conversation = _conversation_or_404(request, pk)
        context = {
            "request": request,
            "last_messages": _last_messages(organization, [conversation]),
            "time_zone": selectors.candidate_time_zone(
                organization=organization, candidate=conversation.candidate
            ),
        }
        return Response(ConversationDetailSerializer(conversation, context=context).data)


class ConversationMessageListView(generics.ListAPIView):
    """The messages of one conversation, newest first: texts and e-mails, both directions,
    with their delivery status."""

    serializer_class = MessageSerializer

    def get_queryset(self):
        if _schema_view(self):
            return Message.unscoped.none()
        conversation = _conversation_or_404(self.request, self.kwargs["pk"])
        return selectors.conversation_messages(
            organization=_organization(self.request), conversation=conversation
        ).select_related("sent_by")

    @extend_schema(
        operation_id="conversations_messages_list",
        summary="List a conversation's messages",
        description="The messages of one conversation, newest first, a page at a time: texts "
        "and e-mails in both directions with their delivery status (and the error when not "
        "delivered). Any key may read them; another organization's conversation is 404.",
        examples=[_answer("A delivered text", _MESSAGE)],
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


# ----------------------------------------------------------------------------------------------
# Sending
# ----------------------------------------------------------------------------------------------


def _refusal_code(candidate: Candidate, channel: str) -> str:
    if channel == Channel.EMAIL:
        return "no_email" if not (candidate.primary_email or "").strip() else "cannot_send"
    phone = (candidate.mobile_phone or "").strip()
    if not phone:
        return "no_mobile_number"
    if not E164.match(phone):
        return "invalid_number"
    return "opted_out" if selectors.is_locked(candidate.organization, phone) else "cannot_send"


def _refusal(detail: str, code: str) -> NoReturn:
    raise Unprocessable(detail, problem="message_refused", code=code)


def _same_request(message: Message, *, candidate_id: int, data: dict) -> bool:
    return (
        message.candidate_id == candidate_id
        and message.channel == data["channel"]
        and message.body == data["body"]
        and message.subject == data.get("subject", "")
    )


class MessageSendView(APIView):
    """Send a text or an e-mail to a candidate, exactly once.

    Give every new message a new `Idempotency-Key` (a UUID is ideal) and reuse it when you
    retry: the same key with the same request answers 200 with the message created the first
    time, and sends nothing again; the same key with a different request is refused (422,
    code `idempotency_key_reused`). A new message answers 201.

    The message is queued and handed to the texting or e-mail provider by a worker; `status`
    follows it (queued → sent → delivered, or not delivered with `error_message`). Outside the
    organization's quiet hours (in the candidate's time zone) it is `held` until `hold_until`.
    A candidate who texted STOP, or has no usable number or address, is refused with 422 and
    the reason in `detail`, and the refusal is recorded on the candidate's timeline.
    """

    def check_throttles(self, request):
        # A send without a usable key can never succeed: refuse it (400) before it uses up
        # the key's request budget, so the client sees what to fix rather than a 429.
        if request.method == "POST":
            self._idempotency_key(request)
        super().check_throttles(request)

    @staticmethod
    def _idempotency_key(request) -> str:
        key = (request.headers.get(IDEMPOTENCY_HEADER) or "").strip()
        if not key:
            raise exceptions.ValidationError(
                {
                    IDEMPOTENCY_HEADER: [
                        "Send an Idempotency-Key header with a new unique value (a UUID) for "
                        "each message, and the same value when you retry it."
                    ]
                }
            )
        if IDEMPOTENCY_KEY.regex.match(key) is None:
            raise exceptions.ValidationError({IDEMPOTENCY_HEADER: [IDEMPOTENCY_KEY.message]})
        return key

    @extend_schema(
        operation_id="messages_create",
        summary="Send a text or e-mail to a candidate",
        request=MessageSendSerializer,
        parameters=[
            OpenApiParameter(
                IDEMPOTENCY_HEADER,
                {"type": "string", "pattern": IDEMPOTENCY_KEY.regex.pattern},
                location=OpenApiParameter.HEADER,
                required=True,
                description="A unique key per message (e.g. a UUID); reuse it only to retry.",
            )
        ],
        responses={
            200: OpenApiResponse(MessageSerializer, "A retry: the message sent the first time."),
            201: OpenApiResponse(MessageSerializer, "Queued (or held by quiet hours)."),
            422: OpenApiResponse(
                SendRefusalSerializer,
                "Not sent: the candidate opted out or has no usable number or address, or "
                "the Idempotency-Key was already used for a different message.",
            ),
        },
        examples=[
            OpenApiExample(
                "A text",
                value={
                    "candidate": 2207,
                    "channel": "sms",
                    "body": "Hi Sam, can you do an onsite interview on Thursday at 2pm?",
                },
                request_only=True,
            ),
            OpenApiExample(
                "An e-mail",
                value={
                    "candidate": 2207,
                    "channel": "email",
                    "subject": "Your onsite interview",
                    "body": "Hi Sam,\n\nCan you do an onsite interview on Thursday at 2pm?",
                },
                request_only=True,
            ),
            _answer("Queued", _QUEUED, codes=("201",)),
            _answer("A retry with the same key", _QUEUED, codes=("200",)),
        ],
    )
    def post(self, request):
        organization = _organization(request)
        key = self._idempotency_key(request)
        if not isinstance(request.data, dict):
            raise exceptions.ValidationError({"detail": "Send a JSON object."})
        # The candidate first: another organization's candidate is "not found", like any of
        # its objects, whatever else the request says.
        candidate_field = MessageSendSerializer().fields["candidate"]
        try:
            candidate_id = candidate_field.run_validation(request.data.get("candidate"))
        except exceptions.ValidationError as exc:
            raise exceptions.ValidationError({"candidate": exc.detail}) from exc
        candidate = (
            Candidate.objects.filter(
                organization=organization, pk=candidate_id, deleted_at__isnull=True
            )
            .select_related("organization")
            .first()
        )
        if candidate is None:
            raise exceptions.NotFound(f"No candidate with id {candidate_id} in your organization.")
        serializer = MessageSendSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        stored_key = IDEMPOTENCY_PREFIX + key

        existing, message, refusal = None, None, None
        with transaction.atomic():
            # Concurrent retries of one send queue here (the candidate's row is the lock), so
            # only the first creates the message and every later one finds it and replays it.
            list(Candidate.objects.select_for_update().filter(pk=candidate.pk).values_list("pk"))
            existing = Message.objects.filter(
                organization=organization, idempotency_key=stored_key
            ).first()
            if existing is None:
                try:
                    message = services.message_send(
                        organization=organization,
                        candidate=candidate,
                        channel=data["channel"],
                        body=data["body"],
                        subject=data.get("subject", ""),
                        source="api",
                        sent_by=_acting_user(request),
                        idempotency_key=stored_key,
                    )
                except services.CannotSend as exc:  # its timeline entry is kept
                    refusal = exc
        if existing is not None:
            return self._replay(existing, candidate_id=candidate.pk, data=data)
        if refusal is not None:
            _refusal(refusal.reason, _refusal_code(candidate, data["channel"]))
        if not _same_request(message, candidate_id=candidate.pk, data=data):
            # A concurrent request with the same key for another candidate won the race.
            return self._replay(message, candidate_id=candidate.pk, data=data)
        return Response(MessageSerializer(message).data, status=status.HTTP_201_CREATED)

    @staticmethod
    def _replay(message: Message, *, candidate_id: int, data: dict) -> Response:
        if not _same_request(message, candidate_id=candidate_id, data=data):
            raise Unprocessable(
                f"This Idempotency-Key was already used for message {message.pk}, with a "
                "different candidate, channel, subject or body. Use a new key for a new message.",
                problem="idempotency_conflict",
                code="idempotency_key_reused",
            )
        response = Response(MessageSerializer(message).data, status=status.HTTP_200_OK)
        response["Idempotent-Replayed"] = "true"
        return response


# ----------------------------------------------------------------------------------------------
# Opt-outs
# ----------------------------------------------------------------------------------------------


def _current_locks(organization):
    later = OptOutEntry.unscoped.filter(
        organization_id=organization.pk, phone=OuterRef("phone")
    ).filter(
        Q(created_at__gt=OuterRef("created_at"))
        | Q(created_at=OuterRef("created_at"), id__gt=OuterRef("id"))
    )
    return OptOutEntry.objects.filter(organization=organization, action=OptOutAction.LOCK).exclude(
        Exists(later)
    )


class OptOutListView(generics.ListCreateAPIView):
    """The opt-out ledger. By default: the numbers locked now (each with the entry that locked
    it). With `history=true`: every lock and unlock, newest first — the ledger is never
    rewritten, so this is the full record of who or what locked a number, and when.

    POST locks a number by hand (for a candidate who asked by phone or e-mail): no text reaches
    it again, queued texts to it are canceled, and it is recorded as set by the API key's
    creator. There is deliberately no unlock endpoint: only the candidate can opt back in, by
    texting START to your number, which is the consent texting rules require.
    """

    serializer_class = OptOutSerializer

    def get_queryset(self):
        if _schema_view(self):
            return OptOutEntry.unscoped.none()
        filters = OptOutFilterSerializer(data=self.request.query_params.dict())
        filters.is_valid(raise_exception=True)
        organization = _organization(self.request)
        params = filters.validated_data
        qs = (
            OptOutEntry.objects.filter(organization=organization)
            if params["history"]
            else _current_locks(organization)
        )
        if params.get("phone"):
            qs = qs.filter(phone=params["phone"])
        if candidates_restricted():
            # The ledger is by number, not by candidate: a hiring manager sees the numbers of
            # the candidates they may see (the candidate manager narrows to those).
            qs = qs.filter(
                phone__in=Candidate.objects.filter(organization=organization)
                .exclude(mobile_phone="")
                .values("mobile_phone")
            )
        return qs.select_related("actor")

    @extend_schema(
        operation_id="opt_outs_list",
        summary="List locked numbers (the SMS opt-out ledger)",
        examples=[_answer("Texted STOP", _OPT_OUT)],
        parameters=[
            OpenApiParameter(
                "phone",
                {"type": "string", "pattern": E164.pattern},
                description="Only this number (E.164, e.g. +447700900123).",
            ),
            OpenApiParameter(
                "history",
                OpenApiTypes.BOOL,
                description="true: every lock and unlock; false (default): current locks only.",
            ),
        ],
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        operation_id="opt_outs_create",
        summary="Lock a number by hand",
        request=OptOutLockSerializer,
        examples=[
            OpenApiExample("A number", value={"phone": "+447700900123"}, request_only=True),
            _answer("Locked now", _MANUAL_LOCK, codes=("201",)),
            _answer("Already locked", _OPT_OUT, codes=("200",)),
        ],
        responses={
            200: OpenApiResponse(OptOutSerializer, "Already locked: the entry that locked it."),
            201: OpenApiResponse(OptOutSerializer, "Locked now."),
        },
    )
    def post(self, request, *args, **kwargs):
        organization = _organization(request)
        serializer = OptOutLockSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        phone = serializer.validated_data["phone"]
        if selectors.is_locked(organization, phone):
            entry = selectors.opt_out_latest(organization=organization, phone=phone)
            return Response(OptOutSerializer(entry).data, status=status.HTTP_200_OK)
        entry = services.opt_out_lock(
            organization=organization,
            phone=phone,
            source=OptOutSource.MANUAL,
            actor=_acting_user(request),
        )
        return Response(OptOutSerializer(entry).data, status=status.HTTP_201_CREATED)
