"""Partner API: video interview templates (list, create, read, change) and video interviews
(list with filters, read with each answer's state, send one to a candidate).

Writes go through the same services as the Library's editor
(:mod:`interviews.template_services`) and the journey step (:func:`interviews.services
.interview_send`). Ids of another organization's objects — in the path or in the body — are
404. A name that is taken is 409. An interview that can't be sent (a template without questions
or invitation, a candidate the invitation can't reach) is 422 with the reason.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Prefetch
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import exceptions, generics, serializers, status
from rest_framework.response import Response

from candidates.models import Application, Candidate
from recruitflow.api import Unprocessable

from . import services, template_services
from .models import (
    Answer,
    InterviewSource,
    InterviewStatus,
    VideoInterview,
    VideoQuestion,
    VideoTemplate,
    VideoTemplateReviewer,
)
from .serializers import (
    MAX_ID,
    VideoInterviewCreate,
    VideoInterviewSerializer,
    VideoTemplateCreate,
    VideoTemplateSerializer,
    VideoTemplateUpdate,
)


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the video interview template as it is."
    default_code = "conflict"


_CONFLICT = OpenApiResponse(
    response=inline_serializer(
        "VideoTemplateConflict", fields={"detail": serializers.CharField(required=False)}
    ),
    description="Another video interview template has that name.",
)


def _organization(request):
    return request._request.organization


def _acting_user(request):
    """The person behind a browser-session call; API keys act for no particular user."""
    if getattr(request._request, "api_key", None) is not None:
        return None
    return request.user if request.user.is_authenticated else None


def _parse(request, serializer_class) -> dict:
    parser = serializer_class(data=request.data)
    if not parser.is_valid():
        raise exceptions.ValidationError(parser.errors)
    return parser.validated_data


# --- Video interview templates -------------------------------------------------------------------


def _templates(request):
    organization = _organization(request)
    return VideoTemplate.objects.filter(organization=organization).prefetch_related(
        Prefetch("questions", queryset=VideoQuestion.objects.filter(organization=organization)),
        Prefetch(
            "reviewers", queryset=VideoTemplateReviewer.objects.filter(organization=organization)
        ),
    )


def _template_or_404(request, pk) -> VideoTemplate:
    found = None
    if isinstance(pk, int) and 0 < pk <= MAX_ID:
        found = _templates(request).filter(pk=pk).first()
    if found is None:
        raise exceptions.NotFound("No such video interview template in your organization.")
    return found


def _api_errors(errors: dict[str, list[str]]) -> dict[str, list[str]]:
    """The service's field names as the API's: ``invitation_email`` →
    ``messages.invitation.email``, ``invitation`` → ``messages.invitation``."""
    kinds = {kind for kind, _ in template_services.MESSAGE_KINDS}
    out: dict[str, list[str]] = {}
    for key, messages in errors.items():
        if key in template_services.MESSAGE_FIELDS:
            kind, channel = key.rsplit("_", 1)
            key = f"messages.{kind}.{channel}"
        elif key in kinds:
            key = f"messages.{key}"
        out.setdefault(key, []).extend(messages)
    return out


def _save(*, request, data: dict, template: VideoTemplate | None = None) -> VideoTemplate:
    organization = _organization(request)
    values = (
        template_services.template_values(template)
        if template is not None
        else template_services.default_values(organization)
    )
    for key, value in data.items():
        if key == "messages":
            changed = {
                f"{kind}_{channel}": pk
                for kind, pair in value.items()
                for channel, pk in pair.items()
            }
            values["messages"] = {**values["messages"], **changed}
        elif key == "questions":
            values["questions"] = [dict(q) for q in value]
        else:
            values[key] = value
    name = " ".join(str(values["name"]).split())
    if name and (
        VideoTemplate.objects.filter(organization=organization, name__iexact=name)
        .exclude(pk=template.pk if template else None)
        .exists()
    ):
        raise Conflict({"name": [f"Another video interview template is already called “{name}”."]})
    try:
        saved = template_services.template_save(
            organization=organization,
            values=values,
            template=template,
            actor=_acting_user(request) if template is None else None,
        )
    except DjangoValidationError as exc:
        raise exceptions.ValidationError(_api_errors(exc.message_dict)) from exc
    return _template_or_404(request, saved.pk)


_QUESTIONS = [
    {"text": "Tell us about yourself.", "think_seconds": 30, "answer_seconds": 90, "retakes": 1},
    {
        "text": "Describe a deal you won against the odds.",
        "think_seconds": 45,
        "answer_seconds": 120,
        "retakes": 1,
    },
]
_TEMPLATE_REQUEST = {
    "name": "Sales screen",
    "intro": "Hi! Two short questions, about five minutes in all.",
    "expiry_days": 7,
    "reminder_after_hours": 48,
    "questions": _QUESTIONS,
    "reviewer_ids": [41],
    "messages": {"invitation": {"email": 70, "sms": 71}, "reminder": {"sms": 72}},
}
_TEMPLATE = {
    "id": 9,
    "name": "Sales screen",
    "intro": "Hi! Two short questions, about five minutes in all.",
    "expiry_days": 7,
    "reminder_after_hours": 48,
    "questions": _QUESTIONS,
    "reviewer_ids": [41],
    "messages": {
        "invitation": {"email": 70, "sms": 71},
        "reminder": {"email": None, "sms": 72},
        "completion": {"email": None, "sms": None},
    },
    "created_at": "2026-02-10T15:30:00Z",
    "updated_at": "2026-02-10T15:30:00Z",
}
_CHANGED = {**_TEMPLATE, "expiry_days": 5, "updated_at": "2026-03-01T10:00:00Z"}


def _answer(name: str, value, *codes: str) -> OpenApiExample:
    return OpenApiExample(name, value=value, response_only=True, status_codes=list(codes))


@extend_schema_view(
    get=extend_schema(
        summary="List video interview templates",
        operation_id="video_templates_list",
        description="Your organization's video interview templates, a page at a time: the "
        "introduction, the questions (thinking time, answer limit, retakes), how long a link "
        "works, when the reminder goes, the reviewers and the Library templates of its three "
        "messages. Any key may read them.",
        examples=[_answer("A sales screen", _TEMPLATE, "200")],
    ),
    post=extend_schema(
        summary="Create a video interview template",
        operation_id="video_templates_create",
        request=VideoTemplateCreate,
        responses={201: VideoTemplateSerializer, 409: _CONFLICT},
        description="Reviewers are team members' user ids (`/members/`); messages are Library "
        "message template ids (`/message-templates/`). A template needs at least one question "
        "and a Video Interview Invitation; an unknown id, a message of the wrong channel or "
        "one using a merge field a video interview can't fill (e.g. `{{ scheduling_link }}`) "
        "is 400 naming the field. Needs a read-and-write key; a name another template has is "
        "409.",
        examples=[
            OpenApiExample("A sales screen", value=_TEMPLATE_REQUEST, request_only=True),
            _answer("Created", _TEMPLATE, "201"),
        ],
    ),
)
class VideoTemplateListView(generics.ListCreateAPIView):
    """Your organization's video interview templates."""

    serializer_class = VideoTemplateSerializer
    filter_backends: list = []

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no organization
            return VideoTemplate.unscoped.none()
        return _templates(self.request).order_by("name", "id")

    def create(self, request, *args, **kwargs):
        template = _save(request=request, data=_parse(request, VideoTemplateCreate))
        return Response(VideoTemplateSerializer(template).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    get=extend_schema(
        summary="Get a video interview template",
        operation_id="video_templates_retrieve",
        description="One video interview template. Any key may read it; another "
        "organization's template is 404.",
        examples=[_answer("A sales screen", _TEMPLATE, "200")],
    ),
    patch=extend_schema(
        summary="Change a video interview template",
        operation_id="video_templates_partial_update",
        request=VideoTemplateUpdate,
        responses={200: VideoTemplateSerializer, 409: _CONFLICT},
        description="Send only what changes, with the checks of creating one; `questions` "
        "replaces the whole list. Interviews already sent keep their questions. Needs a "
        "read-and-write key; a name another template has is 409.",
        examples=[
            OpenApiExample("Shorter-lived links", value={"expiry_days": 5}, request_only=True),
            _answer("Changed", _CHANGED, "200"),
        ],
    ),
)
class VideoTemplateDetailView(generics.RetrieveUpdateAPIView):
    """One video interview template."""

    serializer_class = VideoTemplateSerializer
    filter_backends: list = []
    http_method_names = ["get", "patch", "head", "options"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return VideoTemplate.unscoped.none()
        return _templates(self.request)

    def get_object(self):
        return _template_or_404(self.request, self.kwargs["pk"])

    def update(self, request, *args, **kwargs):
        template = self.get_object()
        data = _parse(request, VideoTemplateUpdate)
        return Response(
            VideoTemplateSerializer(_save(request=request, data=data, template=template)).data
        )


# --- Video interviews ----------------------------------------------------------------------------


def _interviews(request):
    organization = _organization(request)
    return (
        VideoInterview.objects.filter(organization=organization)
        .select_related("template")
        .prefetch_related(
            Prefetch("answers", queryset=Answer.objects.filter(organization=organization))
        )
    )


class _InterviewFilters(serializers.Serializer):
    status = serializers.ChoiceField(choices=InterviewStatus.values, required=False)
    candidate = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False)
    job = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False)
    template = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False)


_INTERVIEW: dict[str, Any] = {
    "id": 3107,
    "template": {"id": 9, "name": "Sales screen"},
    "candidate_id": 812,
    "application_id": 1440,
    "job_id": 77,
    "status": "started",
    "source": "api",
    "recorder_url": "https://recruitflow.example/v/Qm9vZ2xlTWVldA…/",
    "review_url": "https://recruitflow.example/interviews/3107/",
    "answers": [
        {
            "question_index": 0,
            "question": "Tell us about yourself.",
            "status": "ready",
            "takes": 2,
            "duration_seconds": 74.2,
        },
        {
            "question_index": 1,
            "question": "Describe a deal you won against the odds.",
            "status": "not_recorded",
            "takes": 0,
            "duration_seconds": None,
        },
    ],
    "invited_at": "2026-03-02T09:14:00Z",
    "expires_at": "2026-03-09T09:14:00Z",
    "reminder_sent_at": None,
    "started_at": "2026-03-02T18:40:00Z",
    "completed_at": None,
    "created_at": "2026-03-02T09:14:00Z",
}
_SENT = {
    **_INTERVIEW,
    "status": "invited",
    "started_at": None,
    "answers": [{**a, "status": "not_recorded", "takes": 0, "duration_seconds": None}
                for a in _INTERVIEW["answers"]],
}  # fmt: skip


def _id_param(name: str, what: str) -> OpenApiParameter:
    return OpenApiParameter(
        name, {"type": "integer", "minimum": 1, "maximum": MAX_ID}, description=what
    )


@extend_schema_view(
    get=extend_schema(
        summary="List video interviews",
        operation_id="video_interviews_list",
        description="Video interviews sent, newest first: their status (invited, started, "
        "completed, reviewed, expired, cancelled), the candidate's recording link, the team's "
        "review link and the state of each answer. Filter by status, candidate, job or "
        "template; a filter that isn't a valid value is 400. Any key may read them.",
        parameters=[
            OpenApiParameter(
                "status", OpenApiTypes.STR, enum=InterviewStatus.values, description="Only these."
            ),
            _id_param("candidate", "Only this candidate's interviews."),
            _id_param("job", "Only interviews for this job."),
            _id_param("template", "Only interviews of this video interview template."),
        ],
        examples=[_answer("An interview under way", _INTERVIEW, "200")],
    ),
    post=extend_schema(
        summary="Send a video interview to a candidate",
        operation_id="video_interviews_create",
        description="Send a candidate a video interview from a template: the Video Interview "
        "Invitation goes out now by e-mail and/or text with their own recording link, and the "
        "link expires after the template's days. Another organization's template, candidate "
        "or application is 404; an interview that can't be sent (no questions, no invitation, "
        "no address the invitation can reach) is 422 with the reason. Send an "
        "`Idempotency-Key` so a retry never sends twice. Needs a read-and-write key.",
        request=VideoInterviewCreate,
        responses={
            201: VideoInterviewSerializer,
            422: OpenApiResponse(description="The interview can't be sent: why."),
        },
        examples=[
            OpenApiExample(
                "Send one",
                value={"template_id": 9, "candidate_id": 812, "application_id": 1440},
                request_only=True,
            ),
            _answer("Sent", _SENT, "201"),
        ],
    ),
)
class VideoInterviewListView(generics.ListCreateAPIView):
    """Video interviews: list them, or send one to a candidate."""

    serializer_class = VideoInterviewSerializer
    filter_backends: list = []

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return VideoInterview.unscoped.none()
        params = _InterviewFilters(data=self.request.query_params.dict())
        if not params.is_valid():
            raise exceptions.ValidationError(params.errors)
        wanted = params.validated_data
        interviews = _interviews(self.request)
        if wanted.get("status"):
            interviews = interviews.filter(status=wanted["status"])
        if wanted.get("candidate"):
            interviews = interviews.filter(candidate_id=wanted["candidate"])
        if wanted.get("job"):
            interviews = interviews.filter(job_id=wanted["job"])
        if wanted.get("template"):
            interviews = interviews.filter(template_id=wanted["template"])
        return interviews

    def create(self, request, *args, **kwargs):
        data = _parse(request, VideoInterviewCreate)
        organization = _organization(request)
        template = VideoTemplate.objects.filter(
            organization=organization, pk=data["template_id"]
        ).first()
        if template is None:
            raise exceptions.NotFound(
                f"No video interview template with id {data['template_id']} in your organization."
            )
        candidate = Candidate.objects.filter(
            organization=organization, pk=data["candidate_id"], deleted_at__isnull=True
        ).first()
        if candidate is None:
            raise exceptions.NotFound(
                f"No candidate with id {data['candidate_id']} in your organization."
            )
        application = None
        if data.get("application_id"):
            application = Application.objects.filter(
                organization=organization,
                pk=data["application_id"],
                candidate=candidate,
                deleted_at__isnull=True,
            ).first()
            if application is None:
                raise exceptions.NotFound(
                    f"The candidate has no application with id {data['application_id']}."
                )
        try:
            interview = services.interview_send(
                organization=organization,
                template=template,
                candidate=candidate,
                application=application,
                source=InterviewSource.API,
                created_by=_acting_user(request),
            )
        except services.InterviewError as exc:
            raise Unprocessable(str(exc), problem="video_interview_refused") from exc
        fresh = _interviews(request).get(pk=interview.pk)
        return Response(VideoInterviewSerializer(fresh).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    get=extend_schema(
        summary="Get a video interview",
        operation_id="video_interviews_retrieve",
        description="One video interview: its status, links and the state of each answer "
        "(not recorded, uploading, processing, ready, or failed and asked again). Another "
        "organization's interview is 404.",
        examples=[_answer("An interview under way", _INTERVIEW, "200")],
    )
)
class VideoInterviewDetailView(generics.RetrieveAPIView):
    """One video interview."""

    serializer_class = VideoInterviewSerializer
    filter_backends: list = []

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return VideoInterview.unscoped.none()
        return _interviews(self.request)

    def get_object(self):
        pk = self.kwargs["pk"]
        found = self.get_queryset().filter(pk=pk).first() if 0 < pk <= MAX_ID else None
        if found is None:
            raise exceptions.NotFound("No such video interview in your organization.")
        return found
