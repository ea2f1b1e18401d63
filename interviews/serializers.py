"""The partner API's shapes of video interview templates and video interviews (see
:mod:`interviews.api`)."""

from __future__ import annotations

from datetime import UTC

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .links import recorder_url, review_url
from .models import (
    MESSAGE_KINDS,
    AnswerStatus,
    InterviewStatus,
    VideoInterview,
    VideoTemplate,
)
from .template_services import MAX_QUESTIONS, NUMBER_LIMITS, QUESTION_LIMITS, TEXT_LIMITS

MAX_ID = 2**63 - 1
KINDS = [kind for kind, _ in MESSAGE_KINDS]


def _utc(**kw):
    return serializers.DateTimeField(default_timezone=UTC, **kw)


def _id(**kw):
    return serializers.IntegerField(min_value=1, max_value=MAX_ID, **kw)


class QuestionSerializer(serializers.Serializer):
    text = serializers.CharField(
        max_length=1000, help_text="The question, as the candidate reads it."
    )
    think_seconds = serializers.IntegerField(
        min_value=QUESTION_LIMITS["think_seconds"][1],
        max_value=QUESTION_LIMITS["think_seconds"][2],
        default=30,
        help_text="Time to read and think before recording starts (0: record right away).",
    )
    answer_seconds = serializers.IntegerField(
        min_value=QUESTION_LIMITS["answer_seconds"][1],
        max_value=QUESTION_LIMITS["answer_seconds"][2],
        default=120,
        help_text="The longest an answer may be.",
    )
    retakes = serializers.IntegerField(
        min_value=QUESTION_LIMITS["retakes"][1],
        max_value=QUESTION_LIMITS["retakes"][2],
        default=1,
        help_text="How many times the candidate may record the answer again.",
    )


class MessagePairSerializer(serializers.Serializer):
    email = _id(allow_null=True, required=False, help_text="A Library e-mail template.")
    sms = _id(allow_null=True, required=False, help_text="A Library text message template.")


class MessagesSerializer(serializers.Serializer):
    invitation = MessagePairSerializer(
        required=False, help_text="Video Interview Invitation (at least one channel)."
    )
    reminder = MessagePairSerializer(required=False, help_text="Video Interview Reminder.")
    completion = MessagePairSerializer(required=False, help_text="Video Interview Completed.")


def _number(field: str, **kw):
    _label, lowest, highest, _unit = NUMBER_LIMITS[field]
    return serializers.IntegerField(min_value=lowest, max_value=highest, **kw)


class VideoTemplateUpdate(serializers.Serializer):
    name = serializers.CharField(max_length=TEXT_LIMITS["name"], required=False)
    intro = serializers.CharField(max_length=TEXT_LIMITS["intro"], required=False, allow_blank=True)
    expiry_days = _number("expiry_days", required=False, help_text="Days the link works.")
    reminder_after_hours = _number(
        "reminder_after_hours",
        required=False,
        help_text="Send the Video Interview Reminder when not started after this long (0: none).",
    )
    questions = serializers.ListField(
        child=QuestionSerializer(),
        required=False,
        max_length=MAX_QUESTIONS,
        help_text="In order; replaces all.",
    )
    reviewer_ids = serializers.ListField(
        child=_id(), required=False, max_length=50, help_text="Team members' user ids (/members/)."
    )
    messages = MessagesSerializer(
        required=False,
        help_text="Library message template ids (/message-templates/) per message and channel; "
        "only the ones sent change.",
    )


class VideoTemplateCreate(VideoTemplateUpdate):
    name = serializers.CharField(max_length=TEXT_LIMITS["name"])
    questions = serializers.ListField(
        child=QuestionSerializer(), max_length=MAX_QUESTIONS, help_text="In order."
    )
    messages = MessagesSerializer(help_text="Library message template ids per message and channel.")


class VideoTemplateSerializer(serializers.ModelSerializer):
    questions = serializers.SerializerMethodField()
    reviewer_ids = serializers.SerializerMethodField()
    messages = serializers.SerializerMethodField()
    created_at = _utc(read_only=True)
    updated_at = _utc(read_only=True)

    class Meta:
        model = VideoTemplate
        fields = [
            "id",
            "name",
            "intro",
            "expiry_days",
            "reminder_after_hours",
            "questions",
            "reviewer_ids",
            "messages",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(QuestionSerializer(many=True))
    def get_questions(self, template) -> list[dict]:
        return [q.snapshot() for q in template.questions.all()]

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField()))
    def get_reviewer_ids(self, template) -> list[int]:
        return [r.user_id for r in template.reviewers.all()]

    @extend_schema_field(
        {
            "type": "object",
            "properties": {
                kind: {
                    "type": "object",
                    "properties": {
                        "email": {"type": ["integer", "null"]},
                        "sms": {"type": ["integer", "null"]},
                    },
                    "required": ["email", "sms"],
                }
                for kind in KINDS
            },
            "required": KINDS,
        }
    )
    def get_messages(self, template) -> dict:
        return {
            kind: {
                "email": getattr(template, f"{kind}_email_id"),
                "sms": getattr(template, f"{kind}_sms_id"),
            }
            for kind in KINDS
        }


class VideoTemplateRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class AnswerStateSerializer(serializers.Serializer):
    question_index = serializers.IntegerField(help_text="0 for the first question.")
    question = serializers.CharField()
    status = serializers.ChoiceField(
        choices=["not_recorded", *AnswerStatus.values],
        help_text="`not_recorded`, or the state of the take that counts: recording, uploaded, "
        "processing, ready, failed (the candidate is asked to record it again).",
    )
    takes = serializers.IntegerField(help_text="Takes recorded.")
    duration_seconds = serializers.FloatField(allow_null=True)


class VideoInterviewCreate(serializers.Serializer):
    template_id = _id(help_text="The video interview template (Library).")
    candidate_id = _id()
    application_id = _id(
        required=False,
        allow_null=True,
        help_text="The application it is for (default: the candidate's most recent).",
    )


class VideoInterviewSerializer(serializers.ModelSerializer):
    template = serializers.SerializerMethodField()
    candidate_id = serializers.IntegerField(read_only=True)
    application_id = serializers.IntegerField(read_only=True, allow_null=True)
    job_id = serializers.IntegerField(read_only=True, allow_null=True)
    status = serializers.ChoiceField(choices=InterviewStatus.choices, read_only=True)
    recorder_url = serializers.SerializerMethodField()
    review_url = serializers.SerializerMethodField()
    answers = serializers.SerializerMethodField()
    invited_at = _utc(read_only=True, allow_null=True)
    expires_at = _utc(read_only=True)
    reminder_sent_at = _utc(read_only=True, allow_null=True)
    started_at = _utc(read_only=True, allow_null=True)
    completed_at = _utc(read_only=True, allow_null=True)
    created_at = _utc(read_only=True)

    class Meta:
        model = VideoInterview
        fields = [
            "id",
            "template",
            "candidate_id",
            "application_id",
            "job_id",
            "status",
            "source",
            "recorder_url",
            "review_url",
            "answers",
            "invited_at",
            "expires_at",
            "reminder_sent_at",
            "started_at",
            "completed_at",
            "created_at",
        ]
        read_only_fields = fields

    @extend_schema_field(VideoTemplateRefSerializer)
    def get_template(self, interview) -> dict:
        return {"id": interview.template_id, "name": interview.template.name}

    @extend_schema_field({"type": "string", "format": "uri"})
    def get_recorder_url(self, interview) -> str:
        return recorder_url(interview)

    @extend_schema_field({"type": "string", "format": "uri"})
    def get_review_url(self, interview) -> str:
        return review_url(interview)

    @extend_schema_field(AnswerStateSerializer(many=True))
    def get_answers(self, interview) -> list[dict]:
        takes: dict[int, list] = {}
        for answer in interview.answers.all():
            takes.setdefault(answer.question_index, []).append(answer)
        states = []
        for index, question in enumerate(interview.questions or []):
            mine = takes.get(index, [])
            final = next((a for a in mine if a.is_final), mine[-1] if mine else None)
            states.append(
                {
                    "question_index": index,
                    "question": str((question or {}).get("text", "")),
                    "status": final.status if final else "not_recorded",
                    "takes": len(mine),
                    "duration_seconds": final.duration_seconds if final else None,
                }
            )
        return states
