"""The partner API's e-mail opt-out ledger (``/api/v1/opt-outs/email/``), beside the texts'
``/api/v1/opt-outs/``: the addresses that get no e-mail, and why; a lock by hand, and the
opt-back-in (``/api/v1/opt-outs/email/unlock/``) with its reason on the ledger."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from candidates.models import Candidate
from messaging.email_consent import (
    email_is_locked,
    email_opt_out_latest,
    email_opt_out_lock,
    email_opt_out_unlock,
)
from messaging.models import EmailOptOutEntry, EmailOptOutSource, OptOutAction
from messaging.serializers import PersonSerializer
from recruitflow.tenancy import candidates_restricted

_PRIYA = {"id": 41, "email": "priya@northwind.example", "name": "Priya Raman"}
_UNSUBSCRIBED = {
    "id": 214,
    "email": "sam.okafor@example.com",
    "locked": True,
    "action": "lock",
    "source": "one_click",
    "source_label": "One-click unsubscribe in their mail app",
    "detail": "",
    "actor": None,
    "message": 5130,
    "created_at": "2026-03-05T08:01:14Z",
}
_LOCKED_BY_HAND = {**_UNSUBSCRIBED, "source": "manual", "source_label": "Set by a team member",
                   "detail": "Asked on the phone not to be e-mailed", "actor": _PRIYA,
                   "message": None}  # fmt: skip
_OPTED_BACK_IN = {**_LOCKED_BY_HAND, "id": 231, "locked": False, "action": "unlock",
                  "detail": "Asked by reply to hear about the onsite again",
                  "created_at": "2026-03-09T11:30:00Z"}  # fmt: skip


def _answer(name: str, value, *codes: str) -> OpenApiExample:
    return OpenApiExample(name, value=value, response_only=True, status_codes=list(codes))


class EmailOptOutSerializer(serializers.ModelSerializer):
    """One entry of the e-mail opt-out ledger: an address locked or unlocked, how and when."""

    source_label = serializers.CharField(source="get_source_display", read_only=True)
    actor = PersonSerializer(read_only=True, allow_null=True)

    class Meta:
        model = EmailOptOutEntry
        fields = [
            "id",
            "email",
            "locked",
            "action",
            "source",
            "source_label",
            "detail",
            "actor",
            "message",
            "created_at",
        ]
        read_only_fields = fields


class EmailOptOutFilterSerializer(serializers.Serializer):
    # Any text: an address the ledger does not hold simply matches nothing.
    email = serializers.CharField(required=False, max_length=254, trim_whitespace=True)
    history = serializers.BooleanField(required=False, default=False)


class EmailOptOutLockSerializer(serializers.Serializer):
    """An address to lock by hand."""

    email = serializers.EmailField(max_length=254, help_text="The address to lock.")
    reason = serializers.CharField(
        required=False, allow_blank=True, max_length=500,
        help_text="Why (kept on the ledger), e.g. 'asked by phone not to be e-mailed'.",
    )  # fmt: skip


class EmailOptOutUnlockSerializer(serializers.Serializer):
    """An address to opt back in, and why."""

    email = serializers.EmailField(max_length=254, help_text="The locked address.")
    reason = serializers.CharField(
        max_length=500, trim_whitespace=True,
        help_text="Why it may be e-mailed again (required; kept on the ledger), e.g. "
        "'asked in a reply on 3 May to get interview e-mails'.",
    )  # fmt: skip


def _acting_user(request):
    """Who a write is recorded as: the API key's creator, or the signed-in member."""
    key = getattr(request._request, "api_key", None)
    if key is not None:
        return key.created_by
    user = request.user
    return user if getattr(user, "pk", None) else None


def _current_locks(organization):
    later = EmailOptOutEntry.unscoped.filter(
        organization_id=organization.pk, email=OuterRef("email")
    ).filter(
        Q(created_at__gt=OuterRef("created_at"))
        | Q(created_at=OuterRef("created_at"), id__gt=OuterRef("id"))
    )
    return EmailOptOutEntry.objects.filter(
        organization=organization, action=OptOutAction.LOCK
    ).exclude(Exists(later))


class EmailOptOutListView(generics.ListCreateAPIView):
    """The e-mail opt-out ledger. By default: the addresses locked now (each with the entry
    that locked it: an unsubscribe link or one-click unsubscribe, a spam report or hard bounce
    the e-mail provider reported, or a team member). With `history=true`: every lock and
    unlock, newest first.

    POST locks an address by hand (the candidate asked by another route not to be e-mailed):
    no e-mail reaches it, queued e-mails to it are canceled, and it is recorded as set by the
    API key's creator. `POST /api/v1/opt-outs/email/unlock/` opts an address back in."""

    serializer_class = EmailOptOutSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return EmailOptOutEntry.unscoped.none()
        filters = EmailOptOutFilterSerializer(data=self.request.query_params.dict())
        filters.is_valid(raise_exception=True)
        organization = self.request._request.organization
        params = filters.validated_data
        qs = (
            EmailOptOutEntry.objects.filter(organization=organization)
            if params["history"]
            else _current_locks(organization)
        )
        if params.get("email"):
            qs = qs.filter(email=params["email"].strip().lower())
        if candidates_restricted():
            # By address, not candidate: a hiring manager sees the addresses of the candidates
            # they may see.
            qs = qs.filter(
                email__in=Candidate.objects.filter(organization=organization)
                .exclude(primary_email="")
                .values("primary_email")
            )
        return qs.select_related("actor")

    @extend_schema(
        operation_id="email_opt_outs_list",
        summary="List locked e-mail addresses (the e-mail opt-out ledger)",
        examples=[_answer("Unsubscribed in their mail app", _UNSUBSCRIBED, "200")],
        parameters=[
            OpenApiParameter(
                "email", OpenApiTypes.STR, description="Only this address (any case)."
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
        operation_id="email_opt_outs_create",
        summary="Lock an e-mail address by hand",
        request=EmailOptOutLockSerializer,
        examples=[
            OpenApiExample(
                "An address, with why",
                value={
                    "email": "sam.okafor@example.com",
                    "reason": "Asked on the phone not to be e-mailed",
                },
                request_only=True,
            ),
            _answer("Locked now", _LOCKED_BY_HAND, "201"),
            _answer("Already locked", _UNSUBSCRIBED, "200"),
        ],
        responses={
            200: OpenApiResponse(
                EmailOptOutSerializer, "Already locked: the entry that locked it."
            ),
            201: OpenApiResponse(EmailOptOutSerializer, "Locked now."),
        },
    )
    def post(self, request, *args, **kwargs):
        organization = request._request.organization
        serializer = EmailOptOutLockSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        email = serializer.validated_data["email"]
        entry = email_opt_out_lock(
            organization=organization,
            email=email,
            source=EmailOptOutSource.MANUAL,
            detail=serializer.validated_data.get("reason", ""),
            actor=_acting_user(request),
        )
        if entry is None:
            latest = email_opt_out_latest(organization=organization, email=email)
            return Response(EmailOptOutSerializer(latest).data, status=status.HTTP_200_OK)
        return Response(EmailOptOutSerializer(entry).data, status=status.HTTP_201_CREATED)


class EmailOptOutUnlockView(APIView):
    """Opt a locked address back in: the candidate asked to be e-mailed again (by phone, in a
    reply). The reason is required and kept on the ledger with who lifted the lock; e-mails
    to the address are allowed again (the e-mail provider may still suppress an address it
    saw bounce or unsubscribe: clear it there too)."""

    @extend_schema(
        operation_id="email_opt_outs_unlock",
        summary="Opt an e-mail address back in",
        request=EmailOptOutUnlockSerializer,
        examples=[
            OpenApiExample(
                "An address, with why",
                value={
                    "email": "sam.okafor@example.com",
                    "reason": "Asked by reply to hear about the onsite again",
                },
                request_only=True,
            ),
            _answer("Opted back in now", _OPTED_BACK_IN, "201"),
            _answer("Was not locked", _OPTED_BACK_IN, "200"),
        ],
        responses={
            200: OpenApiResponse(EmailOptOutSerializer, "Not locked: its latest entry."),
            201: OpenApiResponse(EmailOptOutSerializer, "Opted back in now."),
            404: OpenApiResponse(description="The address is not on the ledger."),
        },
    )
    def post(self, request, *args, **kwargs):
        organization = request._request.organization
        serializer = EmailOptOutUnlockSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        email = serializer.validated_data["email"]
        if not email_is_locked(organization, email):
            latest = email_opt_out_latest(organization=organization, email=email)
            if latest is None:
                return Response(
                    {"detail": "That address is not on the e-mail opt-out ledger."},
                    status=status.HTTP_404_NOT_FOUND,
                )
            return Response(EmailOptOutSerializer(latest).data, status=status.HTTP_200_OK)
        entry = email_opt_out_unlock(
            organization=organization,
            email=email,
            reason=serializer.validated_data["reason"],
            actor=_acting_user(request),
        )
        return Response(EmailOptOutSerializer(entry).data, status=status.HTTP_201_CREATED)
