"""Serializers of the webhook API: subscriptions (the secret only in the answer that made it),
deliveries with their attempts, and the event types."""

from __future__ import annotations

import json

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from partners import event_types
from partners.models import Delivery, DeliveryAttempt, Subscription


class SubscriptionSerializer(serializers.ModelSerializer):
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=[]),
        help_text="Names of the event types to send (see /webhook-event-types/).",
    )
    rotating_until = serializers.DateTimeField(
        source="previous_secret_expires_at",
        read_only=True,
        allow_null=True,
        help_text="While set and in the future, deliveries carry a second signature made with "
        "the previous secret.",
    )

    class Meta:
        model = Subscription
        fields = [
            "id",
            "url",
            "description",
            "event_types",
            "enabled",
            "ordered",
            "failing_since",
            "disabled_reason",
            "rotating_until",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "failing_since", "disabled_reason", "created_at", "updated_at"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [n for n in event_types.names() if n != event_types.TEST_EVENT]
        self.fields["event_types"].child.choices = choices
        self.fields["event_types"].child.choice_strings_to_values = {c: c for c in choices}


class SubscriptionWithSecretSerializer(SubscriptionSerializer):
    secret = serializers.CharField(
        read_only=True,
        help_text="The signing secret (whsec_…). Shown only in this answer: keep it.",
    )

    class Meta(SubscriptionSerializer.Meta):
        fields = [*SubscriptionSerializer.Meta.fields, "secret"]


class AttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = DeliveryAttempt
        fields = [
            "number",
            "url",
            "started_at",
            "duration_ms",
            "request_headers",
            "request_body",
            "response_status",
            "response_headers",
            "response_body",
            "error",
        ]


class DeliverySerializer(serializers.ModelSerializer):
    event_id = serializers.CharField(source="event.event_id", read_only=True)
    event_type = serializers.CharField(source="event.type", read_only=True)
    subscription_id = serializers.IntegerField(read_only=True)

    class Meta:
        model = Delivery
        fields = [
            "id",
            "subscription_id",
            "event_id",
            "event_type",
            "status",
            "attempts",
            "next_attempt_at",
            "last_status_code",
            "last_error",
            "created_at",
            "delivered_at",
        ]


class DeliveryDetailSerializer(DeliverySerializer):
    payload = serializers.SerializerMethodField(
        help_text="The body as sent (type, timestamp, data)."
    )
    attempt_log = AttemptSerializer(many=True, read_only=True)

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_payload(self, obj) -> dict:
        return json.loads(obj.event.body)

    class Meta(DeliverySerializer.Meta):
        fields = [*DeliverySerializer.Meta.fields, "payload", "attempt_log"]


class EventTypeSerializer(serializers.Serializer):
    name = serializers.CharField()
    group = serializers.CharField()
    description = serializers.CharField()
    example = serializers.JSONField(help_text="The `data` of an example payload.")


class ReplayFailedSerializer(serializers.Serializer):
    since = serializers.DateTimeField(
        help_text="Replay deliveries created since this time whose last attempt failed."
    )


class ReplayFailedResult(serializers.Serializer):
    replayed = serializers.IntegerField()
