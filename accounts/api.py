"""Partner API: the organization and its members."""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from recruitflow.api import ModelSerializer

from . import selectors, services
from .api_auth import IsOrganizationAdmin
from .models import TIME_ZONE_CHOICES, Membership, Organization


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

    @extend_schema(responses=ApiRootSerializer, operation_id="api_root")
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


class MemberListView(MemberQuerysetMixin, generics.ListAPIView):
    """The people in your organization and their roles."""


class MemberDetailView(MemberQuerysetMixin, generics.RetrieveAPIView):
    """One member of your organization."""
