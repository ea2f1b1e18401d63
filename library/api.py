"""Partner API: the Library's message templates (list, create, read, update, delete).

The request schemas say what each channel needs (an e-mail: a one-line subject and an HTML body;
a text message: its text), so a request that fits the schema fails only on the template language
itself: 400 with the field and the line. A name that is taken, or a change that does not fit the
template's channel (it can't change), is a 409 conflict."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import RegexValidator
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import exceptions, generics, serializers, status
from rest_framework.response import Response

from recruitflow.api import ModelSerializer, StrictCharField

from . import services, templating
from .models import MessageTemplate, TemplateChannel

EMAIL, SMS = "email", "sms"
_MERGE_FIELDS = ", ".join(f"`{f.tag}`" for f in templating.MERGE_FIELDS)
# Documentation of the request bodies (the views parse with MessageTemplateInput and the
# template engine checks): not blank, no NUL characters, a subject on one line.
_NOT_BLANK = RegexValidator(r"^[^\u0000]*\S[^\u0000]*$", "Write something here.")
_NO_NUL = RegexValidator(r"^[^\u0000]*$", "Null characters are not allowed.")
_ONE_LINE = RegexValidator(r"^[^\r\n\u0000]*\S[^\r\n\u0000]*$", "Write a subject on one line.")
_LIMIT = templating.MAX_LENGTH


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the template as it is."
    default_code = "conflict"


# --- Output --------------------------------------------------------------------------------------


class MessageTemplateSerializer(ModelSerializer):
    created_by = serializers.SerializerMethodField()

    class Meta:
        model = MessageTemplate
        fields = [
            "id",
            "name",
            "channel",
            "subject",
            "html_body",
            "text_body",
            "text_body_edited",
            "created_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "text_body": {
                "help_text": "The text message, or the e-mail's plain-text part (derived from "
                "`html_body` unless `text_body_edited`)."
            },
            "text_body_edited": {
                "help_text": "The e-mail's plain-text part was written by hand (send a "
                "non-empty `text_body` to write it, an empty one to derive it again)."
            },
        }

    def get_created_by(self, obj) -> str | None:
        user = obj.created_by
        return (user.get_full_name() or user.email) if user else None


# --- Input ---------------------------------------------------------------------------------------


def _name(**kw):
    return StrictCharField(
        max_length=200,
        validators=[_NOT_BLANK],
        help_text="Unique in your organization.",
        **kw,
    )


def _subject(**kw):
    return StrictCharField(
        max_length=_LIMIT[(EMAIL, "subject")],
        validators=[_ONE_LINE],
        help_text=f"One line. Merge fields: {_MERGE_FIELDS}.",
        **kw,
    )


def _html_body(**kw):
    return StrictCharField(
        max_length=_LIMIT[(EMAIL, "html_body")],
        validators=[_NOT_BLANK],
        trim_whitespace=False,
        help_text="The e-mail's HTML. Merge field values are HTML-escaped.",
        **kw,
    )


def _email_text(**kw):
    return StrictCharField(
        max_length=_LIMIT[(EMAIL, "text_body")],
        validators=[_NO_NUL],
        allow_blank=True,
        trim_whitespace=False,
        help_text="The plain-text part, written by hand. Leave it out (or empty) to derive it "
        "from `html_body`.",
        **kw,
    )


def _sms_text(**kw):
    return StrictCharField(
        max_length=_LIMIT[(SMS, "text_body")],
        validators=[_NOT_BLANK],
        trim_whitespace=False,
        help_text="The text message. 160 GSM-7 characters (70 with an emoji) make one segment.",
        **kw,
    )


class EmailTemplateCreate(serializers.Serializer):
    name = _name()
    channel = serializers.ChoiceField(choices=[(EMAIL, "E-mail")])
    subject = _subject()
    html_body = _html_body()
    text_body = _email_text(required=False)


class SmsTemplateCreate(serializers.Serializer):
    name = _name()
    channel = serializers.ChoiceField(choices=[(SMS, "Text message")])
    text_body = _sms_text()


class MessageTemplateUpdate(serializers.Serializer):
    """Fields to change; those left out keep their value. ``subject`` and ``html_body`` belong
    to e-mails; a text message has only ``text_body``."""

    name = _name(required=False)
    subject = _subject(required=False)
    html_body = _html_body(required=False)
    text_body = StrictCharField(
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        validators=[_NO_NUL],
        max_length=_LIMIT[(EMAIL, "text_body")],
        help_text="A text message's text; or an e-mail's plain-text part written by hand "
        "(empty: derive it from `html_body` again).",
    )


class MessageTemplateInput(serializers.Serializer):
    """What the views actually parse: any channel, checked by the template engine."""

    name = StrictCharField(max_length=200, required=False)
    channel = serializers.ChoiceField(choices=TemplateChannel.choices, required=False)
    subject = StrictCharField(max_length=500, required=False, allow_blank=True)
    html_body = StrictCharField(required=False, allow_blank=True, trim_whitespace=False)
    text_body = StrictCharField(required=False, allow_blank=True, trim_whitespace=False)


_CREATE_REQUEST = PolymorphicProxySerializer(
    component_name="MessageTemplateCreate",
    serializers={EMAIL: EmailTemplateCreate, SMS: SmsTemplateCreate},
    resource_type_field_name="channel",
)
_CONFLICT = OpenApiResponse(
    response=inline_serializer(
        "MessageTemplateConflict",
        fields={"detail": serializers.CharField(required=False)},
    ),
    description="The name is taken, the change does not fit the template's channel, or (on "
    "delete) a journey step uses the template; the body says which.",
)


class _CreateBodyRequired(AutoSchema):
    """A create needs a body; drf-spectacular can't tell that from a one-of (e-mail | text)."""

    def _get_request_body(self, direction="request"):
        body = super()._get_request_body(direction)
        if body and self.method == "POST":
            body["required"] = True
        return body


# --- Views ---------------------------------------------------------------------------------------


def _actor(request):
    user = request.user
    return user if getattr(user, "pk", None) else None


def _save(*, request, data: dict, template: MessageTemplate | None = None) -> MessageTemplate:
    organization = request._request.organization
    if template is None:
        values = {
            "name": data.get("name", ""),
            "channel": data.get("channel", ""),
            "subject": data.get("subject", ""),
            "html_body": data.get("html_body", ""),
            "text_body": data.get("text_body", ""),
        }
        values["text_body_edited"] = values["channel"] == EMAIL and bool(
            values["text_body"].strip()
        )
    else:
        _refuse_channel_conflicts(template, data)
        values = {
            "name": data.get("name", template.name),
            "channel": template.channel,
            "subject": data.get("subject", template.subject),
            "html_body": data.get("html_body", template.html_body),
            "text_body": data.get("text_body", template.text_body),
            "text_body_edited": template.text_body_edited,
        }
        if template.channel == EMAIL and "text_body" in data:
            values["text_body_edited"] = bool(data["text_body"].strip())
    name = " ".join(values["name"].split())
    if name and services.name_taken(
        organization=organization, name=name, exclude_pk=template.pk if template else None
    ):
        raise Conflict({"name": [f"Another template is already called “{name}”."]})
    try:
        return services.message_template_save(
            organization=organization,
            actor=_actor(request) if template is None else None,
            template=template,
            **values,
        )
    except DjangoValidationError as exc:
        raise exceptions.ValidationError(exc.message_dict) from exc


def _refuse_channel_conflicts(template: MessageTemplate, data: dict) -> None:
    conflicts: dict[str, list[str]] = {}
    if "channel" in data and data["channel"] != template.channel:
        conflicts["channel"] = ["A template's channel can't change. Create a new template instead."]
    if template.channel == SMS:
        for field in ("subject", "html_body"):
            if data.get(field, "").strip():
                conflicts[field] = [f"“{template.name}” is a text message: it has no {field}."]
        if "text_body" in data and not data["text_body"].strip():
            conflicts["text_body"] = ["A text message needs its text."]
    if conflicts:
        raise Conflict(conflicts)


class MessageTemplateQuerysetMixin:
    serializer_class = MessageTemplateSerializer
    filter_backends: list = []

    def get_object(self):
        if self.kwargs.get("pk", 0) > 2**63 - 1:  # larger than any id the database can hold
            raise exceptions.NotFound()
        return super().get_object()

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no organization
            return MessageTemplate.unscoped.none()
        return MessageTemplate.objects.filter(
            organization=self.request._request.organization
        ).select_related("created_by")


_EMAIL_TEMPLATE = {
    "id": 58,
    "name": "Onsite invitation",
    "channel": "email",
    "subject": "Your onsite interview for {{ job.name }}",
    "html_body": "<p>Hi {{ candidate.first_name }},</p><p>We would love to meet you onsite.</p>",
    "text_body": "Hi {{ candidate.first_name }},\n\nWe would love to meet you onsite.",
    "text_body_edited": False,
    "created_by": "Priya Raman",
    "created_at": "2026-02-10T09:00:00Z",
    "updated_at": "2026-02-11T16:45:00Z",
}
_SMS_TEMPLATE = {
    **_EMAIL_TEMPLATE,
    "id": 59,
    "name": "Onsite nudge",
    "channel": "sms",
    "subject": "",
    "html_body": "",
    "text_body": "Hi {{ candidate.first_name }}, did you see our onsite invitation?",
}
_EMAIL_REQUEST = OpenApiExample(
    "An e-mail",
    value={
        "name": "Onsite invitation",
        "channel": "email",
        "subject": "Your onsite interview for {{ job.name }}",
        "html_body": "<p>Hi {{ candidate.first_name }},</p><p>We would love to meet you onsite.</p>",
    },
    request_only=True,
)
_SMS_REQUEST = OpenApiExample(
    "A text message",
    value={
        "name": "Onsite nudge",
        "channel": "sms",
        "text_body": "Hi {{ candidate.first_name }}, did you see our onsite invitation?",
    },
    request_only=True,
)
_RENAME = OpenApiExample("A new subject", value={"subject": "Meet us onsite"}, request_only=True)
_RENAMED = {**_EMAIL_TEMPLATE, "subject": "Meet us onsite", "updated_at": "2026-03-02T10:00:00Z"}


def _answer(name: str, value, *codes: str) -> OpenApiExample:
    return OpenApiExample(name, value=value, response_only=True, status_codes=list(codes))


def _parse(request) -> dict:
    parser = MessageTemplateInput(data=request.data)
    parser.is_valid(raise_exception=True)
    return parser.validated_data


@extend_schema_view(
    get=extend_schema(
        operation_id="message_templates_list",
        summary="List message templates",
        description="Your organization's e-mail and text message templates in the Library, a "
        "page at a time; `channel` narrows to one kind. Any key may read them; use a "
        "template's `id` in a journey's send steps.",
        examples=[_answer("An e-mail template", _EMAIL_TEMPLATE, "200")],
        parameters=[
            OpenApiParameter(
                "channel",
                OpenApiTypes.STR,
                enum=TemplateChannel.values,
                description="Only e-mails (`email`) or text messages (`sms`).",
            )
        ],
    ),
    post=extend_schema(
        operation_id="message_templates_create",
        summary="Create a message template",
        request=_CREATE_REQUEST,
        examples=[
            _EMAIL_REQUEST,
            _SMS_REQUEST,
            _answer("Created", _EMAIL_TEMPLATE, "201"),
            _answer("A retry with the same Idempotency-Key", _EMAIL_TEMPLATE, "200"),
        ],
        responses={201: MessageTemplateSerializer, 409: _CONFLICT},
        description="Create an e-mail or a text message template. Merge fields: "
        f"{_MERGE_FIELDS}. A template with an unknown merge field, a syntax error, or nesting "
        f"too deep for a message (more than {templating.MAX_BRACKET_DEPTH} brackets inside "
        f"each other, more than {templating.MAX_UNARY_RUN} `not` in a row, more than "
        f"{templating.MAX_BLOCK_DEPTH} tags inside each other) is refused with 400, naming the "
        "field and the line. Needs a read-and-write key; a name another template has is 409.",
    ),
)
class MessageTemplateListView(MessageTemplateQuerysetMixin, generics.ListCreateAPIView):
    """Your organization's message templates (e-mails and text messages) in the Library."""

    schema = _CreateBodyRequired()

    def get_queryset(self):
        queryset = super().get_queryset()
        channel = self.request.query_params.get("channel")
        if channel is not None:
            if channel not in TemplateChannel.values:
                raise exceptions.ValidationError({"channel": ["Use `email` or `sms`."]})
            queryset = queryset.filter(channel=channel)
        return queryset

    def create(self, request, *args, **kwargs):
        data = _parse(request)
        template = _save(request=request, data=data)
        return Response(MessageTemplateSerializer(template).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    get=extend_schema(
        operation_id="message_templates_retrieve",
        summary="Read a message template",
        description="One template with its subject and bodies as written (merge fields "
        "unfilled). Another organization's template is 404.",
        examples=[
            _answer("An e-mail template", _EMAIL_TEMPLATE, "200"),
            _answer("A text message template", _SMS_TEMPLATE, "200"),
        ],
    ),
    put=extend_schema(
        operation_id="message_templates_update",
        summary="Replace a message template",
        description="Changes the fields sent; the channel can't change (409, as does a "
        "subject or HTML body for a text message, or a name another template has). The same "
        "checks as creating one apply (400 for an unknown merge field or a syntax error). "
        "Needs a read-and-write key.",
        examples=[_RENAME, _answer("Changed", _RENAMED, "200")],
        request=MessageTemplateUpdate,
        responses={200: MessageTemplateSerializer, 409: _CONFLICT},
    ),
    patch=extend_schema(
        operation_id="message_templates_partial_update",
        summary="Change a message template",
        description="Changes only the fields sent, with the checks of a full update: the "
        "channel can't change (409) and merge fields must be known (400). Needs a "
        "read-and-write key.",
        examples=[_RENAME, _answer("Changed", _RENAMED, "200")],
        request=MessageTemplateUpdate,
        responses={200: MessageTemplateSerializer, 409: _CONFLICT},
    ),
    delete=extend_schema(
        operation_id="message_templates_destroy",
        summary="Delete a message template",
        description="Removes the template from the Library. A template still in use (by a "
        "journey step, for example) is refused with 409: change what uses it first. Needs a "
        "read-and-write key.",
        responses={204: OpenApiResponse(description="Deleted."), 409: _CONFLICT},
    ),
)
class MessageTemplateDetailView(
    MessageTemplateQuerysetMixin, generics.RetrieveUpdateDestroyAPIView
):
    """One message template. Its channel can't change; everything else can."""

    def update(self, request, *args, **kwargs):
        template = self.get_object()
        data = _parse(request)
        template = _save(request=request, data=data, template=template)
        return Response(MessageTemplateSerializer(template).data)

    def destroy(self, request, *args, **kwargs):
        template = self.get_object()
        try:
            services.message_template_delete(template=template)
        except services.TemplateInUse as exc:
            raise Conflict(str(exc)) from exc
        return Response(status=status.HTTP_204_NO_CONTENT)
