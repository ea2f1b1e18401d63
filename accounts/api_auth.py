"""Partner API authentication, permissions and throttling.

`TenantMiddleware` already resolved `Authorization: Bearer rf_...` into `request.api_key` and the
organization scope; these classes expose that to DRF and enforce the key's scope.
"""

from __future__ import annotations

import time
from math import ceil

from django.core.cache import cache
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions, permissions, throttling
from rest_framework.authentication import BaseAuthentication

from recruitflow import redis_cache


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


def _rate_limit_ident(request, user, get_ident) -> str:
    key = getattr(request, "api_key", None)
    if key is not None:
        return f"key:{key.pk}"
    if user is not None and user.is_authenticated and getattr(user, "pk", None):
        return f"user:{user.pk}"
    return f"ip:{get_ident(request)}"


class RateLimitState:
    """Where a caller stands in its window: what the RateLimit-* headers say."""

    def __init__(self, *, limit: int, remaining: int, reset: int):
        self.limit, self.remaining, self.reset = limit, max(remaining, 0), max(reset, 0)

    def headers(self) -> dict[str, str]:
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset),
        }


class OrganizationRateThrottle(throttling.SimpleRateThrottle):
    """One budget per API key (or per signed-in user), shared by all API endpoints. Each
    request it checks leaves its standing on the request (``rate_limit``), for the headers.

    The budget is a window of the rate's duration that starts with a caller's first request
    (RateLimit-Reset: the seconds left in it) and one counter in the cache: one round trip per
    request on Redis (the counter moved, its expiry set when it is new, its time left read),
    whatever the rate. DRF's own throttle keeps the time of every request of the window in a
    list read and written whole on every request, which grew with the rate."""

    scope = "organization"
    cache_format = "throttle:v2:%(scope)s:%(ident)s"  # v2: a counter (v1 held a list)
    num_requests: int  # set from the rate by SimpleRateThrottle
    used: int  # this window's requests, this one counted
    left: float  # seconds left in the window
    duration: int

    def get_cache_key(self, request, view):
        return self._name(request._request, request.user)

    def _name(self, django_request, user) -> str:
        ident = _rate_limit_ident(django_request, user, self.get_ident)
        return self.cache_format % {"scope": self.scope, "ident": ident}

    def allow_request(self, request, view):
        if self.rate is None:
            return True
        return self._count(request._request, self.get_cache_key(request, view))

    def _count(self, django_request, name: str) -> bool:
        """Count the request under `name`, leave its standing on it: within the budget?"""
        self.used, self.left = _counted(name, self.duration)
        django_request.rate_limit = self._state()
        return self.used <= self.num_requests

    def wait(self):
        return self.left

    @classmethod
    def count(cls, request) -> bool:
        """Count a request answered without DRF (a kept answer, `recruitflow.page_cache`):
        whether it is within the budget; its standing is left on the request."""
        throttle = cls()
        if throttle.rate is None:
            return True
        return throttle._count(request, throttle._name(request, getattr(request, "user", None)))

    def _state(self) -> RateLimitState:
        return RateLimitState(
            limit=self.num_requests, remaining=self.num_requests - self.used, reset=ceil(self.left)
        )

    @classmethod
    def peek(cls, request) -> RateLimitState | None:
        """The standing of a request the throttle did not check (refused before it, e.g. a
        bad key, or answered from the idempotency store), without counting it."""
        throttle = cls()
        if throttle.rate is None:
            return None
        name = throttle._name(request, getattr(request, "user", None))
        throttle.used, throttle.left = _standing(name, throttle.duration)
        return throttle._state()


def _counted(name: str, seconds: int) -> tuple[int, float]:
    """One more request in the window counted under `name`; its count and seconds left."""
    pipe = redis_cache.pipeline()
    if pipe is not None:
        full = redis_cache.full_key(name)
        pipe.incr(full)
        pipe.expire(full, seconds, nx=True)  # the window starts with its first request
        pipe.pttl(full)
        count, _, left_ms = pipe.execute()
        return count, max(left_ms, 0) / 1000
    # Another cache (the per-process cache of `make run`): the window's start kept with its
    # count, read and written back (only this process shares it).
    now = time.time()
    started, count = cache.get(name) or (now, 0)
    if now - started >= seconds:
        started, count = now, 0
    cache.set(name, (started, count + 1), seconds)
    return count + 1, started + seconds - now


def _standing(name: str, seconds: int) -> tuple[int, float]:
    """The count and seconds left of the window under `name`, without counting (0, 0: none)."""
    pipe = redis_cache.pipeline()
    if pipe is not None:
        full = redis_cache.full_key(name)
        pipe.get(full)
        pipe.pttl(full)
        count, left_ms = pipe.execute()
        return (int(count), max(left_ms, 0) / 1000) if count is not None else (0, 0.0)
    found, now = cache.get(name), time.time()
    if found is None or now - found[0] >= seconds:
        return 0, 0.0
    started, count = found
    return count, started + seconds - now


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.api_auth.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An organization API key (rf_...) from Settings → API keys.",
        }
