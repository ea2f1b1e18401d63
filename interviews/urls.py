from django.urls import path

from . import review_views, send_views, shared_views, views

app_name = "interviews"
urlpatterns = [
    path("", views.interview_list, name="list"),
    path("<int:pk>/", review_views.interview_review, name="review"),
    path("send/<int:candidate_pk>/", send_views.interview_send, name="send"),
    path("<int:pk>/share/", review_views.interview_share, name="share"),
    path("shared/<str:signed>/", shared_views.shared_review, name="shared"),
    path(
        "shared/<str:signed>/answers/<int:index>/<str:kind>/",
        shared_views.shared_media,
        name="shared_media",
    ),
]
