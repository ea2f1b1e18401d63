"""Partner API: webhook subscriptions (list, create, read, change, delete, rotate the secret,
send a test event, replay failed deliveries), their deliveries with the attempts log, and the
event types. The same services as Settings → Webhooks; changes need a read-and-write key or an
owner/admin session. Another organization's ids are 404."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    extend_schema,
    extend_schema_view,
)
from rest_framework import exceptions, generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api_auth import IsOrganizationAdmin
from partners import event_types, services
from partners.models import Delivery, DeliveryStatus, Subscription
from partners.serializers import (
    DeliveryDetailSerializer,
    DeliverySerializer,
    EventTypeSerializer,
    ReplayFailedResult,
    ReplayFailedSerializer,
    SubscriptionSerializer,
    SubscriptionWithSecretSerializer,
)
from recruitflow.api import NamedListPagination

TAG = ["Webhooks"]
MAX_ID = 2**63 - 1

_SUBSCRIPTION_EXAMPLE = OpenApiExample(
    "A warehouse receiver",
    value={
        "url": "https://hooks.example.com/recruitflow",
        "description": "Data warehouse",
        "event_types": ["candidate.stage_changed", "message.delivered"],
        "enabled": True,
        "ordered": True,
    },
    request_only=True,
)

_TYPES = ["candidate.stage_changed", "message.delivered"]
_SUBSCRIPTION = {
    "id": 12,
    "url": "https://hooks.example.com/recruitflow",
    "description": "Data warehouse",
    "event_types": _TYPES,
    "enabled": True,
    "ordered": True,
    "failing_since": None,
    "disabled_reason": "",
    "rotating_until": None,
    "created_at": "2026-03-01T09:00:00Z",
    "updated_at": "2026-03-01T09:00:00Z",
}
_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
_DELIVERY = {
    "id": 90412,
    "subscription_id": 12,
    "event_id": "evt_5f0c2c1f6d3b4a8e9e1f7a2b3c4d5e6f",
    "event_type": "candidate.stage_changed",
    "status": "delivered",
    "attempts": 1,
    "next_attempt_at": None,
    "last_status_code": 204,
    "last_error": "",
    "created_at": "2026-03-02T14:05:12Z",
    "delivered_at": "2026-03-02T14:05:12Z",
}
_PAYLOAD = {
    "type": "candidate.stage_changed",
    "timestamp": "2026-03-02T14:05:11Z",
    "data": event_types.get("candidate.stage_changed").example,  # type: ignore[union-attr]
}
_DELIVERY_DETAIL = {
    **_DELIVERY,
    "payload": _PAYLOAD,
    "attempt_log": [
        {
            "number": 1,
            "url": "https://hooks.example.com/recruitflow",
            "started_at": "2026-03-02T14:05:12Z",
            "duration_ms": 84,
            "request_headers": {
                "Content-Type": "application/json",
                "webhook-id": _DELIVERY["event_id"],
                "webhook-timestamp": "1772460312",
                "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
            },
            "request_body": '{"type":"candidate.stage_changed","timestamp":"…","data":{…}}',
            "response_status": 204,
            "response_headers": {"Content-Length": "0"},
            "response_body": "",
            "error": "",
        }
    ],
}
_PENDING = {**_DELIVERY, "status": "pending", "attempts": 0, "last_status_code": None,
            "next_attempt_at": "2026-03-02T14:05:12Z", "delivered_at": None}  # fmt: skip


def _answer(name: str, value, *, status_codes: list[str] | None = None) -> OpenApiExample:
    return OpenApiExample(name, value=value, response_only=True, status_codes=status_codes)


def _organization(request):
    return request._request.organization


def _validation_error(exc: DjangoValidationError) -> exceptions.ValidationError:
    if hasattr(exc, "error_dict"):
        return exceptions.ValidationError(exc.message_dict)
    return exceptions.ValidationError({"detail": exc.messages})


def _subscription_or_404(request, pk: int) -> Subscription:
    subscription = (
        Subscription.objects.filter(organization=_organization(request), pk=pk).first()
        if 0 < pk <= MAX_ID
        else None
    )
    if subscription is None:
        raise exceptions.NotFound("No such webhook subscription in your organization.")
    return subscription


@extend_schema_view(
    get=extend_schema(
        tags=TAG,
        summary="List webhook subscriptions",
        description="The organization's webhook subscriptions (without their secrets).",
        examples=[_answer("A subscription", _SUBSCRIPTION)],
    ),
    post=extend_schema(
        tags=TAG,
        summary="Create a webhook subscription",
        description="Adds a receiver. The URL must be https and resolve to a public address; "
        "it is checked again at each delivery. The answer carries the signing `secret` — the "
        "only time it is shown.",
        request=SubscriptionSerializer,
        responses={201: SubscriptionWithSecretSerializer},
        examples=[
            _SUBSCRIPTION_EXAMPLE,
            _answer("Created", {**_SUBSCRIPTION, "secret": _SECRET}, status_codes=["201"]),
        ],
    ),
)
class SubscriptionListView(generics.ListCreateAPIView):
    serializer_class = SubscriptionSerializer
    permission_classes = [IsOrganizationAdmin]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no organization
            return Subscription.unscoped.none()
        return Subscription.objects.filter(organization=_organization(self.request))

    def create(self, request, *args, **kwargs):
        serializer = SubscriptionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            subscription = services.subscription_create(
                organization=_organization(request),
                url=data["url"],
                event_types=data["event_types"],
                description=data.get("description", ""),
                enabled=data.get("enabled", True),
                ordered=data.get("ordered", False),
            )
        except DjangoValidationError as exc:
            raise _validation_error(exc) from exc
        body = SubscriptionWithSecretSerializer(subscription).data
        response = Response(body, status=status.HTTP_201_CREATED)
        response["Cache-Control"] = "no-store, private"
        return response


@extend_schema_view(
    get=extend_schema(
        tags=TAG,
        summary="Read a webhook subscription",
        description="One subscription (without its secret).",
        examples=[_answer("A subscription", _SUBSCRIPTION)],
    ),
    patch=extend_schema(
        tags=TAG,
        summary="Change a webhook subscription",
        description="Change any of url, description, event_types, enabled, ordered. Switching "
        "a subscription back on clears its failure clock.",
        examples=[_SUBSCRIPTION_EXAMPLE, _answer("Changed", _SUBSCRIPTION)],
    ),
    delete=extend_schema(
        tags=TAG,
        summary="Delete a webhook subscription",
        description="Deletes it with its delivery log; nothing more is sent.",
    ),
)
class SubscriptionDetailView(generics.RetrieveUpdateDestroyAPIView):
    serializer_class = SubscriptionSerializer
    permission_classes = [IsOrganizationAdmin]
    http_method_names = ["get", "patch", "delete", "head", "options"]

    def get_object(self):
        return _subscription_or_404(self.request, self.kwargs["pk"])

    def update(self, request, *args, **kwargs):
        subscription = self.get_object()
        serializer = SubscriptionSerializer(subscription, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        try:
            services.subscription_update(subscription=subscription, **serializer.validated_data)
        except DjangoValidationError as exc:
            raise _validation_error(exc) from exc
        return Response(SubscriptionSerializer(subscription).data)

    def perform_destroy(self, instance):
        services.subscription_delete(subscription=instance)


class SubscriptionRotateView(APIView):
    permission_classes = [IsOrganizationAdmin]

    @extend_schema(
        tags=TAG,
        summary="Rotate a subscription's signing secret",
        description="Makes a new secret and returns it (the only time it is shown). For 24 "
        "hours every delivery is signed with both the new and the old secret.",
        request=None,
        responses={200: SubscriptionWithSecretSerializer},
        examples=[
            _answer(
                "Rotated",
                {**_SUBSCRIPTION, "secret": _SECRET, "rotating_until": "2026-03-03T09:00:00Z"},
            )
        ],
    )
    def post(self, request, pk: int):
        rotation = services.subscription_rotate_secret(
            subscription=_subscription_or_404(request, pk)
        )
        response = Response(SubscriptionWithSecretSerializer(rotation.subscription).data)
        response["Cache-Control"] = "no-store, private"
        return response


class SubscriptionTestView(APIView):
    permission_classes = [IsOrganizationAdmin]

    @extend_schema(
        tags=TAG,
        summary="Send a test event",
        description="Queues a `webhook.test` event for this subscription alone; follow it in "
        "its deliveries.",
        request=None,
        responses={202: DeliverySerializer},
        examples=[
            _answer("Queued", {**_PENDING, "event_type": "webhook.test"}, status_codes=["202"])
        ],
    )
    def post(self, request, pk: int):
        delivery = services.test_event_send(subscription=_subscription_or_404(request, pk))
        return Response(DeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)


class SubscriptionReplayFailedView(APIView):
    permission_classes = [IsOrganizationAdmin]

    @extend_schema(
        tags=TAG,
        summary="Replay failed deliveries since a time",
        description="Sends again, now, every delivery of this subscription created since "
        "`since` whose last attempt failed (given up or waiting for a retry).",
        request=ReplayFailedSerializer,
        responses={200: ReplayFailedResult},
        examples=[
            OpenApiExample(
                "Since yesterday", value={"since": "2026-03-01T00:00:00Z"}, request_only=True
            ),
            _answer("Replayed", {"replayed": 3}),
        ],
    )
    def post(self, request, pk: int):
        subscription = _subscription_or_404(request, pk)
        serializer = ReplayFailedSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        count = services.deliveries_replay_failed(
            subscription=subscription, since=serializer.validated_data["since"]
        )
        return Response({"replayed": count})


@extend_schema_view(
    get=extend_schema(
        tags=TAG,
        summary="List a subscription's deliveries",
        description="Newest first, kept 30 days. Filter with `status`.",
        parameters=[
            OpenApiParameter("status", str, enum=[s.value for s in DeliveryStatus], required=False)
        ],
        examples=[_answer("A delivery", _DELIVERY)],
    )
)
class SubscriptionDeliveryListView(generics.ListAPIView):
    serializer_class = DeliverySerializer
    permission_classes = [IsOrganizationAdmin]
    filter_backends: list = []

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no organization
            return Delivery.unscoped.none()
        subscription = _subscription_or_404(self.request, self.kwargs["pk"])
        qs = Delivery.objects.filter(subscription=subscription).select_related("event")
        wanted = self.request.query_params.get("status")
        if wanted:
            if wanted not in DeliveryStatus.values:
                raise exceptions.ValidationError(
                    {"status": f"Use one of: {', '.join(DeliveryStatus.values)}."}
                )
            qs = qs.filter(status=wanted)
        return qs


def _delivery_or_404(request, pk: int) -> Delivery:
    delivery = (
        Delivery.objects.filter(organization=_organization(request), pk=pk)
        .select_related("event")
        .prefetch_related("attempt_log")
        .first()
        if 0 < pk <= MAX_ID
        else None
    )
    if delivery is None:
        raise exceptions.NotFound("No such webhook delivery in your organization.")
    return delivery


class DeliveryDetailView(APIView):
    permission_classes = [IsOrganizationAdmin]

    @extend_schema(
        tags=TAG,
        summary="Read a webhook delivery",
        description="The payload and every attempt: request headers and body, response status, "
        "headers and body (first 64 KB), duration.",
        responses={200: DeliveryDetailSerializer},
        examples=[_answer("Delivered at the first attempt", _DELIVERY_DETAIL)],
    )
    def get(self, request, pk: int):
        return Response(DeliveryDetailSerializer(_delivery_or_404(request, pk)).data)


class DeliveryReplayView(APIView):
    permission_classes = [IsOrganizationAdmin]

    @extend_schema(
        tags=TAG,
        summary="Replay a webhook delivery",
        description="Sends the delivery again now, with the same `webhook-id` (receivers that "
        "have it can tell) and a fresh 3-day retry window.",
        request=None,
        responses={202: DeliverySerializer},
        examples=[_answer("Queued again", {**_PENDING, "attempts": 1}, status_codes=["202"])],
    )
    def post(self, request, pk: int):
        delivery = services.delivery_replay(delivery=_delivery_or_404(request, pk))
        return Response(DeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)


class EventTypeListView(generics.ListAPIView):
    serializer_class = EventTypeSerializer
    pagination_class = NamedListPagination
    filter_backends: list = []  # a fixed list: nothing to filter

    @extend_schema(
        tags=TAG,
        summary="List webhook event types",
        description="Every event type a subscription can choose, in name order and cursor pages "
        "like every list, with an example of its "
        "`data`. The payloads are also in this schema's `webhooks`.",
        examples=[
            _answer(  # one item of the list
                "An event type",
                {
                    "name": "journey.run_finished",
                    "group": "Journeys",
                    "description": "A candidate's journey run ended: completed, exited by an "
                    "exit rule (the reason says which), failed or canceled.",
                    "example": event_types.get("journey.run_finished").example,  # type: ignore[union-attr]
                },
            )
        ],
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        return [t for t in event_types.all_types() if t.name != event_types.TEST_EVENT]
