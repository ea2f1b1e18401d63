from django.urls import path

from . import views

app_name = "analytics"

urlpatterns: list = [
    path("analytics/", views.analytics_index, name="index"),
    path(
        "analytics/<slug:card>/<slug:table>.csv",
        views.analytics_csv,
        name="csv",
    ),
]
