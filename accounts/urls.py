from django.urls import path

from . import views

settings_patterns = (
    [
        path("", views.organization_profile, name="index"),
        path("organization/", views.organization_profile, name="organization"),
        path("organization/sub-accounts/", views.sub_account_create, name="sub_account_create"),
        path("team/", views.team, name="team"),
        path("team/<int:membership_id>/role/", views.member_change_role, name="member_role"),
        path("team/<int:membership_id>/remove/", views.member_remove, name="member_remove"),
        path(
            "invitations/<int:invitation_id>/revoke/",
            views.invitation_revoke,
            name="invitation_revoke",
        ),
        path("api-keys/", views.api_keys, name="api_keys"),
        path("api-keys/<int:key_id>/revoke/", views.api_key_revoke, name="api_key_revoke"),
        path("security/", views.security, name="security"),
    ],
    "settings",
)
