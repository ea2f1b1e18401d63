from django.apps import AppConfig


class LeverConfig(AppConfig):
    name = "integrations.lever"
    label = "lever"
    verbose_name = "Lever"
