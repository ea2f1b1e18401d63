"""Partner API serializers of messaging: conversations, messages, sends and the opt-out ledger."""

from __future__ import annotations

from django.core.validators import RegexValidator
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from integrations.messaging import E164
from messaging.models import Channel, Conversation, Message, OptOutEntry
from recruitflow.api import ModelSerializer, StrictCharField

MAX_ID = 2**63 - 1
MAX_EMAIL_BODY = 100_000
MAX_SMS_BODY = 1600  # the longest text body the texting providers accept
E164_HELP = (
    "Write the number in E.164 form: +, country code and number, digits only (+447700900123)."
)
IDEMPOTENCY_KEY = RegexValidator(
    r"^[\x21-\x7e]{1,150}$",
    "Use 1 to 150 visible ASCII characters (letters, digits, punctuation; no spaces), such as "
    "a UUID.",
)


class PersonSerializer(serializers.Serializer):
    """A member of the organization."""

    id = serializers.IntegerField()
    email = serializers.EmailField()
    name = serializers.SerializerMethodField()

    def get_name(self, user) -> str:
        return user.get_full_name() or user.email


class CandidateSummarySerializer(serializers.Serializer):
    """The candidate a conversation is with."""

    id = serializers.IntegerField()
    name = serializers.CharField(source="full_name")
    email = serializers.CharField(source="primary_email")
    mobile_phone = serializers.CharField(help_text="E.164, or empty when unknown.")
    provider = serializers.CharField(help_text="The ATS the candidate comes from.")
    external_id = serializers.CharField(help_text="The candidate's id in that ATS.")


class LastMessageSerializer(serializers.Serializer):
    """The latest message of a conversation, shortened."""

    id = serializers.IntegerField()
    channel = serializers.ChoiceField(choices=Channel.choices)
    direction = serializers.CharField()
    status = serializers.CharField()
    preview = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()

    def get_preview(self, message) -> str:
        text = message.subject or message.body
        return text if len(text) <= 160 else text[:159] + "…"


class TimeZoneSerializer(serializers.Serializer):
    """The time zone quiet hours are applied in for a candidate."""

    zone = serializers.CharField(help_text="IANA time zone, e.g. Europe/London.")
    evidence = serializers.CharField(help_text="Why RecruitFlow believes it.")


class ConversationSerializer(ModelSerializer):
    """All messages with one candidate, on every channel."""

    candidate = CandidateSummarySerializer(read_only=True)
    assigned_to = PersonSerializer(read_only=True, allow_null=True)
    opted_out = serializers.BooleanField(
        read_only=True, help_text="The candidate's mobile number is locked: they texted STOP."
    )
    last_message = serializers.SerializerMethodField()

    class Meta:
        model = Conversation
        fields = [
            "id",
            "candidate",
            "assigned_to",
            "unread_count",
            "last_message_at",
            "opted_out",
            "last_message",
            "created_at",
        ]
        read_only_fields = fields

    @extend_schema_field(LastMessageSerializer(allow_null=True))
    def get_last_message(self, conversation):
        message = self.context.get("last_messages", {}).get(conversation.pk)
        return LastMessageSerializer(message).data if message is not None else None


class ConversationDetailSerializer(ConversationSerializer):
    """A conversation, with the candidate's time zone."""

    candidate_time_zone = serializers.SerializerMethodField()

    class Meta(ConversationSerializer.Meta):
        fields = [*ConversationSerializer.Meta.fields, "candidate_time_zone"]
        read_only_fields = fields

    @extend_schema_field(TimeZoneSerializer)
    def get_candidate_time_zone(self, conversation):
        guess = self.context["time_zone"]
        return {"zone": guess.zone, "evidence": guess.evidence}


class MessageSerializer(ModelSerializer):
    """One text or e-mail, either direction, with its delivery status."""

    status_label = serializers.CharField(source="get_status_display", read_only=True)
    sent_by = PersonSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Message
        fields = [
            "id",
            "conversation",
            "candidate",
            "channel",
            "direction",
            "status",
            "status_label",
            "to_address",
            "from_address",
            "subject",
            "body",
            "segments",
            "encoding",
            "provider",
            "error_code",
            "error_message",
            "hold_until",
            "source",
            "sent_by",
            "created_at",
            "sent_at",
            "delivered_at",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "hold_until": {
                "help_text": "Set while the message is held by quiet hours: when it goes out."
            },
            "segments": {"help_text": "Text messages: how many SMS parts the carrier bills."},
        }


class MessageSendSerializer(serializers.Serializer):
    """A text or e-mail to send to a candidate."""

    candidate = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, help_text="The candidate's id in RecruitFlow."
    )
    channel = serializers.ChoiceField(
        choices=Channel.choices, help_text="sms texts their mobile; email e-mails them."
    )
    body = StrictCharField(
        max_length=MAX_EMAIL_BODY,
        validators=[RegexValidator(r"\S", "Write the message: the body is empty.")],
        help_text=f"Plain text. Texts: at most {MAX_SMS_BODY} characters.",
    )
    subject = StrictCharField(
        required=False,
        allow_blank=True,
        max_length=500,
        default="",
        help_text="E-mails only, and required for them.",
    )

    def validate(self, attrs):
        if attrs["channel"] == Channel.SMS:
            if len(attrs["body"]) > MAX_SMS_BODY:
                raise serializers.ValidationError(
                    {
                        "body": [
                            f"A text can be at most {MAX_SMS_BODY} characters; this one has "
                            f"{len(attrs['body'])}. Shorten it or send an e-mail."
                        ]
                    }
                )
            if attrs.get("subject"):
                raise serializers.ValidationError(
                    {"subject": ["Texts have no subject. Leave it out, or send an e-mail."]}
                )
        elif not (attrs.get("subject") or "").strip():
            raise serializers.ValidationError(
                {"subject": ["E-mails need a subject: candidates see it in their inbox."]}
            )
        return attrs


class SendRefusalSerializer(serializers.Serializer):
    """Why a message was not sent."""

    detail = serializers.CharField()
    code = serializers.ChoiceField(
        choices=[
            ("opted_out", "The number texted STOP"),
            ("no_mobile_number", "The candidate has no mobile number"),
            ("invalid_number", "The mobile number is not a full international number"),
            ("no_email", "The candidate has no e-mail address"),
            ("idempotency_key_reused", "The key was used for a different message"),
            ("cannot_send", "Another reason, given in detail"),
        ]
    )


class ConversationFilterSerializer(serializers.Serializer):
    unread = serializers.BooleanField(required=False)
    opted_out = serializers.BooleanField(required=False)
    candidate = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)


class OptOutSerializer(ModelSerializer):
    """One entry of the opt-out ledger: a number locked or unlocked, how and by whom."""

    source_label = serializers.CharField(source="get_source_display", read_only=True)
    actor = PersonSerializer(read_only=True, allow_null=True)

    class Meta:
        model = OptOutEntry
        fields = [
            "id",
            "phone",
            "locked",
            "action",
            "source",
            "source_label",
            "keyword",
            "actor",
            "message",
            "created_at",
        ]
        read_only_fields = fields


class OptOutFilterSerializer(serializers.Serializer):
    phone = serializers.RegexField(
        E164.pattern, required=False, error_messages={"invalid": E164_HELP}
    )
    history = serializers.BooleanField(required=False, default=False)


class OptOutLockSerializer(serializers.Serializer):
    """A number to lock by hand."""

    phone = serializers.RegexField(
        E164.pattern,
        error_messages={"invalid": E164_HELP},
        help_text="The mobile number to lock, in E.164 form.",
    )
