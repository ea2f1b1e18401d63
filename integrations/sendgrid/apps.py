from django.apps import AppConfig


class SendGridConfig(AppConfig):
    name = "integrations.sendgrid"
    label = "sendgrid"
    verbose_name = "SendGrid"
