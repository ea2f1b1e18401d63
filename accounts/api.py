"""Partner API: the organization and its members."""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import generics, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from recruitflow.api import ModelSerializer

from . import selectors, services
from .api_auth import IsOrganizationAdmin
from .models import TIME_ZONE_CHOICES, Membership, Organization

_ORGANIZATION = {
    "id": 3,
    "name": "Northwind Talent",
    "slug": "northwind-talent",
    "time_zone": "Europe/Berlin",
    "brand_color": "#1F6FEB",
    "parent_id": None,
    "created_at": "2026-01-12T08:30:00Z",
}
_MEMBER = {
    "id": 41,
    "email": "priya@northwind.example",
    "name": "Priya Raman",
    "role": "recruiter",
    "created_at": "2026-01-14T10:02:00Z",
}


def _answer(name: str, value) -> OpenApiExample:
    return OpenApiExample(name, value=value, response_only=True, status_codes=["200"])


class OrganizationSerializer(ModelSerializer):
    parent_id = serializers.IntegerField(read_only=True, allow_null=True)
    time_zone = serializers.ChoiceField(choices=TIME_ZONE_CHOICES, required=False)

    class Meta:
        model = Organization
        fields = ["id", "name", "slug", "time_zone", "brand_color", "parent_id", "created_at"]
        read_only_fields = ["id", "slug", "parent_id", "created_at"]


class MemberSerializer(ModelSerializer):
    email = serializers.EmailField(source="user.email", read_only=True)
    name = serializers.SerializerMethodField()

    class Meta:
        model = Membership
        fields = ["id", "email", "name", "role", "created_at"]

    def get_name(self, obj) -> str:
        return obj.user.get_full_name() or obj.user.email


class ApiRootSerializer(serializers.Serializer):
    organization = OrganizationSerializer()
    authenticated_as = serializers.CharField()
    links = serializers.DictField(child=serializers.CharField())


class ApiRootView(APIView):
    """Who you are and where to go next."""

    @extend_schema(
        responses=ApiRootSerializer,
        operation_id="api_root",
        summary="Who you are",
        description="The organization the API key (or browser session) belongs to, who is "
        "calling, and links to the organization, its members, the schema and the Swagger UI. "
        "A cheap way to check a key: any key, read-only included, may call it; a missing or "
        "revoked key is 401.",
        examples=[
            _answer(
                "A read-only key",
                {
                    "organization": _ORGANIZATION,
                    "authenticated_as": "API key Warehouse (rf_8kq2Xw…, read)",
                    "links": {
                        "organization": "https://recruitflow.example/api/v1/organization/",
                        "members": "https://recruitflow.example/api/v1/members/",
                        "schema": "https://recruitflow.example/api/v1/schema/",
                        "docs": "https://recruitflow.example/api/v1/docs/",
                    },
                },
            )
        ],
    )
    def get(self, request):
        key = getattr(request._request, "api_key", None)
        data = {
            "organization": OrganizationSerializer(request._request.organization).data,
            "authenticated_as": f"API key {key.name} (rf_{key.prefix}…, {key.scope})"
            if key
            else request.user.email,
            "links": {
                "organization": request.build_absolute_uri(reverse("api:organization")),
                "members": request.build_absolute_uri(reverse("api:member-list")),
                "schema": request.build_absolute_uri(reverse("api:schema")),
                "docs": request.build_absolute_uri(reverse("api:docs")),
            },
        }
        return Response(data)


@extend_schema_view(
    get=extend_schema(
        summary="Read your organization",
        description="Your organization's name, time zone (the default for schedules and "
        "reports), brand colour and, for a sub-organization, its parent. Any key may read it.",
        examples=[_answer("An organization", _ORGANIZATION)],
    ),
    patch=extend_schema(
        summary="Change your organization",
        description="Changes the name, time zone (an IANA name) or brand colour; the other "
        "fields are read-only. Needs a read-and-write key or an owner/admin session (403 "
        "otherwise); an unknown time zone or a malformed colour is 400.",
        examples=[
            OpenApiExample(
                "A new time zone",
                value={"time_zone": "America/New_York"},
                request_only=True,
            ),
            _answer("Changed", {**_ORGANIZATION, "time_zone": "America/New_York"}),
        ],
    ),
)
class OrganizationView(generics.RetrieveUpdateAPIView):
    """Your organization's profile. Updating it needs a read-and-write key (or an admin)."""

    serializer_class = OrganizationSerializer
    permission_classes = [IsOrganizationAdmin]
    http_method_names = ["get", "patch", "head", "options"]

    def get_object(self):
        return self.request._request.organization

    def perform_update(self, serializer):
        services.organization_update(
            organization=self.request._request.organization, **serializer.validated_data
        )


class MemberQuerysetMixin:
    serializer_class = MemberSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no organization
            return Membership.unscoped.none()
        return selectors.organization_members(organization=self.request._request.organization)


@extend_schema(
    summary="List members",
    description="The people in your organization with their role (owner, admin, recruiter, "
    "hiring_manager or viewer), a page at a time. Any key may read it; use a "
    "member's `id` where the API asks for a member (a scheduling template's interviewers).",
    examples=[_answer("A member", _MEMBER)],
)
class MemberListView(MemberQuerysetMixin, generics.ListAPIView):
    """The people in your organization and their roles."""


@extend_schema(
    summary="Read a member",
    description="One member of your organization: e-mail, name and role. A member of "
    "another organization is 404.",
    examples=[_answer("A member", _MEMBER)],
)
class MemberDetailView(MemberQuerysetMixin, generics.RetrieveAPIView):
    """One member of your organization."""
