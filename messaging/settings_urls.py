from django.urls import path

from . import settings_views as views

app_name = "messaging_settings"
urlpatterns = [
    path("", views.index, name="index"),
    path("quiet-hours/", views.quiet_hours_save, name="quiet_hours"),
    path("texts/", views.auto_texts_save, name="auto_texts"),
    path("twilio/", views.twilio_save, name="twilio"),
    path("twilio/test/", views.twilio_test, name="twilio_test"),
    path("textus/", views.textus_save, name="textus"),
    path("textus/test/", views.textus_test, name="textus_test"),
    path("sms/disconnect/", views.sms_disconnect, name="sms_disconnect"),
    path("sendgrid/", views.sendgrid_save, name="sendgrid"),
    path("sendgrid/test/", views.sendgrid_test, name="sendgrid_test"),
    path("email/disconnect/", views.email_disconnect, name="email_disconnect"),
]
