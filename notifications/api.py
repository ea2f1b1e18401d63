"""Partner API: a member's notifications (newest first, cursor pages), mark one read, mark all
read. A signed-in member reads their own; an API key reads those of the member who created it
(a key whose creator left the organization is refused with a clear reason). Another member's
or organization's notification is a 404."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema, inline_serializer
from rest_framework import exceptions, generics, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api_auth import IsOrganizationMember, request_membership
from accounts.models import Membership
from recruitflow.api import ModelSerializer

from . import selectors, services
from .models import Kind, Notification

TAG = ["Notifications"]
_NOTIFICATION = {
    "id": 1803,
    "kind": "replied",
    "title": "Sam Okafor replied",
    "body": "Thursday at 2pm works for me, thanks!",
    "link": "/inbox/318/",
    "created_at": "2026-03-04T15:12:41Z",
    "read": False,
    "read_at": None,
}
_READ = {**_NOTIFICATION, "read": True, "read_at": "2026-03-04T15:20:00Z"}


def _answer(name: str, value) -> OpenApiExample:
    return OpenApiExample(name, value=value, response_only=True, status_codes=["200"])


class NotificationSerializer(ModelSerializer):
    kind = serializers.ChoiceField(choices=Kind.choices)
    read = serializers.SerializerMethodField()

    class Meta:
        model = Notification
        fields = ["id", "kind", "title", "body", "link", "created_at", "read", "read_at"]
        read_only_fields = fields

    def get_read(self, obj: Notification) -> bool:
        return obj.read_at is not None


class MayReadOwnNotifications(IsOrganizationMember):
    """Marking one's own notifications read is open to every member (a hiring manager too);
    an API key still needs to be read-and-write for it."""

    def has_permission(self, request, view) -> bool:
        if request_membership(request) is not None and request._request.organization:
            return True
        return super().has_permission(request, view)


def member_of(request):
    """The member whose notifications this request reads."""
    organization = request._request.organization
    membership = request_membership(request)
    if membership is not None:
        return membership.user
    key = getattr(request._request, "api_key", None)
    if key is None or key.created_by_id is None:
        raise exceptions.PermissionDenied(
            "Notifications belong to a member: use a key created by a member of the organization."
        )
    if not Membership.objects.filter(organization=organization, user_id=key.created_by_id).exists():
        raise exceptions.PermissionDenied(
            "The member who created this API key has left the organization; notifications are "
            "read with a key of a current member."
        )
    return key.created_by


@extend_schema(
    tags=TAG,
    summary="List my notifications",
    description="The notifications shown in the app to the signed-in member (or to the member "
    "who created the API key), newest first. `unread=true` lists only the unread ones. `link` "
    "is a path in the app. A key whose creator has left the organization is refused (403).",
    examples=[_answer("An unread reply", _NOTIFICATION)],
)
class NotificationListView(generics.ListAPIView):
    serializer_class = NotificationSerializer
    cursor_ordering = ("-created_at", "-id")

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema generator
            return Notification.objects.none()
        items = selectors.notifications_of(
            organization=self.request._request.organization, user=member_of(self.request)
        )
        unread = self.request.query_params.get("unread")
        if unread not in (None, "", "true", "false"):
            raise exceptions.ValidationError({"unread": ["Use true or false."]})
        if unread == "true":
            items = items.filter(read_at=None)
        return items


@extend_schema(
    tags=TAG,
    summary="Mark a notification read",
    description="Marks one of your notifications read (no body) and answers it; marking a "
    "read one again keeps its first `read_at`. Every member may do this, a hiring manager "
    "too; an API key needs read-and-write and acts for the member who created it. Another "
    "member's or organization's notification is 404.",
    examples=[_answer("Read", _READ)],
    request=None,
    responses=NotificationSerializer,
)
class NotificationReadView(APIView):
    permission_classes = [MayReadOwnNotifications]

    def post(self, request, pk: int):
        try:
            notification = services.notification_mark_read(
                organization=request._request.organization,
                user=member_of(request),
                notification_id=pk,
            )
        except services.NotFound as exc:
            raise exceptions.NotFound("No such notification of yours.") from exc
        return Response(NotificationSerializer(notification).data)


@extend_schema(
    tags=TAG,
    summary="Mark all my notifications read",
    description="Marks every unread notification of yours read (no body) and answers how "
    "many were unread; 0 when there were none. Every member may do this; an API key needs "
    "read-and-write and acts for the member who created it.",
    examples=[_answer("Five were unread", {"marked_read": 5})],
    request=None,
    responses=inline_serializer(
        "NotificationsMarkedRead", {"marked_read": serializers.IntegerField()}
    ),
)
class NotificationReadAllView(APIView):
    permission_classes = [MayReadOwnNotifications]

    def post(self, request):
        count = services.notifications_mark_all_read(
            organization=request._request.organization, user=member_of(request)
        )
        return Response({"marked_read": count})
