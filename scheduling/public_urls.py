"""The candidate's booking pages and the public scheduling link, mounted at /s/.

Tokens in these URLs are signed (scheduling.links): ``reverse("booking:page",
args=[request.token])`` builds a working link, a token read out of the database does not.
"""

from django.urls import path

from . import links, public_link_views, public_views

links.register()

app_name = "booking"
urlpatterns = [
    path("brand.css", public_views.brand_css, name="brand_css"),
    path("p/<public_token:public_token>/", public_link_views.public_link, name="public"),
    path(
        "p/<public_token:public_token>/confirm/<str:proof>/",
        public_link_views.public_confirm,
        name="public_confirm",
    ),
    path("<request_token:token>/", public_views.page, name="page"),
    path("<request_token:token>/booked/", public_views.booked, name="booked"),
    path("<request_token:token>/invite.ics", public_views.invite_ics, name="ics"),
    path("<request_token:token>/reschedule/", public_views.reschedule, name="reschedule"),
    path("<request_token:token>/cancel/", public_views.cancel, name="cancel"),
]
