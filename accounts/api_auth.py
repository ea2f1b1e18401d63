"""Partner API authentication, permissions and throttling.

`TenantMiddleware` already resolved `Authorization: Bearer rf_...` into `request.api_key` and the
organization scope; these classes expose that to DRF and enforce the key's scope.
"""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions, permissions, throttling
from rest_framework.authentication import BaseAuthentication


class ApiKeyPrincipal:
    """The `request.user` of an API-key request: authenticated, but not a person."""

    is_authenticated = True
    is_anonymous = False
    is_staff = False
    is_superuser = False

    def __init__(self, api_key):
        self.api_key = api_key
        self.pk = None

    def __str__(self) -> str:
        return f"API key {self.api_key.name}"


class ApiKeyAuthentication(BaseAuthentication):
    def authenticate(self, request):
        django_request = request._request
        if getattr(django_request, "api_key_error", None):
            raise exceptions.AuthenticationFailed(
                "Invalid or revoked API key. Create a key under Settings → API keys."
            )
        key = getattr(django_request, "api_key", None)
        if key is None:
            return None
        return (ApiKeyPrincipal(key), key)

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="RecruitFlow API"'


def request_membership(request):
    return getattr(request._request, "membership", None)


class IsOrganizationMember(permissions.BasePermission):
    """A request acts for an organization: through its API key or the user's membership. Writes
    need a read-and-write key, or a role that may edit."""

    message = "Authenticate with an organization API key (Settings → API keys)."

    def has_permission(self, request, view) -> bool:
        django_request = request._request
        if getattr(django_request, "organization", None) is None:
            return False
        if request.method in permissions.SAFE_METHODS:
            return True
        key = getattr(django_request, "api_key", None)
        if key is not None:
            if not key.can_write:
                self.message = (
                    "This API key is read-only. Create a read-and-write key to make changes."
                )
                return False
            return True
        membership = request_membership(request)
        if membership is None or not membership.can_edit:
            self.message = "Your role can't make changes here."
            return False
        return True


class IsOrganizationAdmin(IsOrganizationMember):
    def has_permission(self, request, view) -> bool:
        if not super().has_permission(request, view):
            return False
        if request.method in permissions.SAFE_METHODS:
            return True
        membership = request_membership(request)
        if membership is not None and not membership.is_admin:
            self.message = "Only owners and admins can change organization settings."
            return False
        return True


class OrganizationRateThrottle(throttling.SimpleRateThrottle):
    """One budget per API key (or per signed-in user), shared by all API endpoints."""

    scope = "organization"

    def get_cache_key(self, request, view):
        key = getattr(request._request, "api_key", None)
        if key is not None:
            ident = f"key:{key.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"ip:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.api_auth.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An organization API key (rf_...) from Settings → API keys.",
        }
