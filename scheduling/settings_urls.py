from django.urls import path

from . import settings_views as views

app_name = "calendar_settings"
urlpatterns = [
    path("", views.index, name="index"),
    path("cronofy/", views.save, name="save"),
    path("cronofy/delete/", views.delete, name="delete"),
    path("enterprise-connect/", views.enterprise_start, name="enterprise_start"),
    path("enterprise-connect/callback/", views.enterprise_callback, name="enterprise_callback"),
    path("enterprise-connect/forget/", views.enterprise_forget, name="enterprise_forget"),
]
