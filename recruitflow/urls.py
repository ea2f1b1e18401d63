from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.static import serve
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from accounts import api as accounts_api
from accounts import views as account_views
from accounts.urls import settings_patterns
from analytics import api_urls as analytics_api_urls
from candidates import api as candidates_api
from candidates import erasure_api as candidates_erasure_api
from interviews import api_urls as interviews_api_urls
from journeys import api as journeys_api
from journeys import draft_api as journeys_draft_api
from library import api as library_api
from library.views import library_index
from messaging import api as messaging_api
from messaging import email_api as messaging_email_api
from notifications import api_urls as notifications_api_urls
from partners import api_urls as partners_api_urls
from scheduling import api_urls as scheduling_api_urls
from writeback import api_urls as writeback_api_urls

from . import sandbox_views, search_views, views
from .api_endpoint import api_endpoints, api_not_found
from .api_guide import partner_guide
from .decorators import public

api_patterns = (
    api_endpoints(
        [
            path("", accounts_api.ApiRootView.as_view(), name="root"),
            path("organization/", accounts_api.OrganizationView.as_view(), name="organization"),
            path("members/", accounts_api.MemberListView.as_view(), name="member-list"),
            path(
                "members/<int:pk>/", accounts_api.MemberDetailView.as_view(), name="member-detail"
            ),
            path("candidates/", candidates_api.CandidateListView.as_view(), name="candidate-list"),
            path(
                "candidates/<int:pk>/",
                candidates_api.CandidateDetailView.as_view(),
                name="candidate-detail",
            ),
            path(
                "candidates/<int:pk>/timeline/",
                candidates_api.CandidateTimelineView.as_view(),
                name="candidate-timeline",
            ),
            path(
                "candidates/<int:pk>/erase/",
                candidates_erasure_api.CandidateEraseView.as_view(),
                name="candidate-erase",
            ),
            path(
                "applications/",
                candidates_api.ApplicationListView.as_view(),
                name="application-list",
            ),
            path(
                "applications/<int:pk>/",
                candidates_api.ApplicationDetailView.as_view(),
                name="application-detail",
            ),
            path(
                "stage-transitions/",
                candidates_api.StageTransitionListView.as_view(),
                name="stage-transition-list",
            ),
            path(
                "message-templates/",
                library_api.MessageTemplateListView.as_view(),
                name="message-template-list",
            ),
            path(
                "message-templates/<int:pk>/",
                library_api.MessageTemplateDetailView.as_view(),
                name="message-template-detail",
            ),
            path("journeys/", journeys_api.JourneyListView.as_view(), name="journey-list"),
            path(
                "journeys/<int:pk>/",
                journeys_api.JourneyDetailView.as_view(),
                name="journey-detail",
            ),
            path(
                "journeys/<int:pk>/activate/",
                journeys_api.JourneyActivateView.as_view(),
                name="journey-activate",
            ),
            path(
                "journeys/<int:pk>/publish/",
                journeys_draft_api.JourneyPublishView.as_view(),
                name="journey-publish",
            ),
            path(
                "journeys/<int:pk>/discard-draft/",
                journeys_draft_api.JourneyDiscardDraftView.as_view(),
                name="journey-discard-draft",
            ),
            path(
                "journeys/<int:pk>/pause/",
                journeys_api.JourneyPauseView.as_view(),
                name="journey-pause",
            ),
            path(
                "journeys/<int:pk>/enrollments/",
                journeys_api.JourneyEnrollmentView.as_view(),
                name="journey-enrollment-create",
            ),
            path(
                "journeys/<int:pk>/runs/",
                journeys_api.JourneyRunListView.as_view(),
                name="journey-run-list",
            ),
            path(
                "journey-runs/<int:pk>/",
                journeys_api.JourneyRunDetailView.as_view(),
                name="journey-run-detail",
            ),
            path(
                "conversations/",
                messaging_api.ConversationListView.as_view(),
                name="conversation-list",
            ),
            path(
                "conversations/<int:pk>/",
                messaging_api.ConversationDetailView.as_view(),
                name="conversation-detail",
            ),
            path(
                "conversations/<int:pk>/messages/",
                messaging_api.ConversationMessageListView.as_view(),
                name="conversation-message-list",
            ),
            path("messages/", messaging_api.MessageSendView.as_view(), name="message-send"),
            path("opt-outs/", messaging_api.OptOutListView.as_view(), name="opt-out-list"),
            path(
                "opt-outs/email/",
                messaging_email_api.EmailOptOutListView.as_view(),
                name="email-opt-out-list",
            ),
            path(
                "opt-outs/email/unlock/",
                messaging_email_api.EmailOptOutUnlockView.as_view(),
                name="email-opt-out-unlock",
            ),
            *scheduling_api_urls.urlpatterns,
            *interviews_api_urls.urlpatterns,
            *writeback_api_urls.urlpatterns,
            *partners_api_urls.urlpatterns,
            *analytics_api_urls.urlpatterns,
            *notifications_api_urls.urlpatterns,
            path("schema/", public(SpectacularAPIView.as_view()), name="schema"),
            path(
                "docs/",
                public(SpectacularSwaggerSplitView.as_view(url_name="api:schema")),
                name="docs",
            ),
            path("guide/", partner_guide, name="guide"),
            re_path(r"^(?P<unknown>[\s\S]*)\Z", api_not_found, name="not-found"),
        ]
    ),
    "api",
)

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("healthz", views.healthz, name="healthz"),
    path("brand.css", views.brand_css, name="brand_css"),
    path("search/", search_views.search_page, name="search"),
    path("search/suggest/", search_views.search_suggest, name="search_suggest"),
    path("setup/sandbox/", sandbox_views.use_sandbox, name="use_sandbox"),
    path("setup/", include("onboarding.urls")),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("org/new/", account_views.organization_create, name="organization_create"),
    path("org/switch/", account_views.organization_switch, name="organization_switch"),
    path("invitations/<str:token>/", account_views.invitation_accept, name="invitation_accept"),
    path("settings/", include(settings_patterns)),
    path("candidates/", include("candidates.urls")),
    path("candidates/", include("recruitflow.candidate_actions")),
    path("candidates/bulk/", include("bulk.views")),
    path("journeys/", include("journeys.urls")),
    path("library/", library_index, name="library"),
    path("library/", include("library.urls")),
    path("library/scheduling/", include("scheduling.library_urls")),
    path("library/interviews/", include("interviews.library_urls")),
    path("inbox/", include("messaging.urls")),
    path("interviews/media/", include("interviews.media_urls")),
    path("interviews/", include("interviews.urls")),
    path("schedule/", include("scheduling.urls")),
    path("s/", include("scheduling.public_urls")),
    path("v/", include("interviews.public_urls")),
    path("calendar/", include("scheduling.feed_urls")),
    path("api/v1/", include(api_patterns)),
    path("webhooks/", include("candidates.webhook_urls")),
    path("webhooks/", include("messaging.webhook_urls")),
    path("", include("messaging.email_urls")),
    path("webhooks/", include("scheduling.webhook_urls")),
    path("settings/integrations/", include("candidates.integration_urls")),
    path("settings/messaging/", include("messaging.settings_urls")),
    path("settings/calendars/", include("scheduling.settings_urls")),
    path("settings/video-interviews/", include("interviews.settings_urls")),
    path("", include("writeback.urls")),
    path("", include("partners.urls")),
    path("", include("analytics.urls")),
    path("", include("notifications.urls")),
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
