from django.urls import path

from . import views

app_name = "notifications"

urlpatterns: list = [
    path("notifications/", views.index, name="index"),
    path("notifications/bell/", views.bell, name="bell"),
    path("notifications/read-all/", views.mark_all_read, name="mark_all_read"),
    path("notifications/<int:pk>/open/", views.open_one, name="open"),
    path("notifications/<int:pk>/read/", views.mark_read, name="mark_read"),
    path("settings/notifications/", views.preferences, name="preferences"),
]
