from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.static import serve
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from accounts import api as accounts_api
from accounts import views as account_views
from accounts.urls import settings_patterns
from journeys.views import library

from . import views
from .decorators import public

api_patterns = (
    [
        path("", accounts_api.ApiRootView.as_view(), name="root"),
        path("organization/", accounts_api.OrganizationView.as_view(), name="organization"),
        path("members/", accounts_api.MemberListView.as_view(), name="member-list"),
        path("members/<int:pk>/", accounts_api.MemberDetailView.as_view(), name="member-detail"),
        path("schema/", public(SpectacularAPIView.as_view()), name="schema"),
        path(
            "docs/",
            public(SpectacularSwaggerSplitView.as_view(url_name="api:schema")),
            name="docs",
        ),
    ],
    "api",
)

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("healthz", views.healthz, name="healthz"),
    path("brand.css", views.brand_css, name="brand_css"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("org/new/", account_views.organization_create, name="organization_create"),
    path("org/switch/", account_views.organization_switch, name="organization_switch"),
    path("invitations/<str:token>/", account_views.invitation_accept, name="invitation_accept"),
    path("settings/", include(settings_patterns)),
    path("candidates/", include("candidates.urls")),
    path("journeys/", include("journeys.urls")),
    path("library/", library, name="library"),
    path("inbox/", include("messaging.urls")),
    path("interviews/", include("interviews.urls")),
    path("schedule/", include("scheduling.urls")),
    path("api/v1/", include(api_patterns)),
    path("webhooks/", include("candidates.webhook_urls")),
    path("settings/integrations/", include("candidates.integration_urls")),
]

if settings.SERVE_MEDIA:
    urlpatterns += [
        re_path(
            r"^media/(?P<path>logos/.*)$",
            public(serve),
            {"document_root": settings.MEDIA_ROOT},
        )
    ]

handler403 = "recruitflow.views.error_403"
handler404 = "recruitflow.views.error_404"
handler500 = "recruitflow.views.error_500"
