from django.urls import path

from . import email_lock_views, views

app_name = "messaging"
urlpatterns = [
    path("", views.inbox_page, name="inbox"),
    path("list/", views.conversation_list, name="list"),
    path("new/", views.new_message, name="new"),
    path("<int:pk>/", views.thread, name="thread"),
    path("<int:pk>/poll/", views.thread_poll, name="thread-poll"),
    path("<int:pk>/send/", views.send, name="send"),
    path("<int:pk>/assign/", views.assign, name="assign"),
    path("<int:pk>/time-zone/", views.time_zone, name="time-zone"),
    path("<int:pk>/lock/", views.lock, name="lock"),
    path("<int:pk>/unlock/", views.unlock, name="unlock"),
    path("<int:pk>/messages/<int:message_id>/retry/", views.retry, name="retry"),
    path(
        "candidates/<int:candidate_id>/email/lock/",
        email_lock_views.email_lock,
        name="email-lock",
    ),
    path(
        "candidates/<int:candidate_id>/email/unlock/",
        email_lock_views.email_unlock,
        name="email-unlock",
    ),
]
