from django.apps import AppConfig


class GreenhouseConfig(AppConfig):
    name = "integrations.greenhouse"
    label = "greenhouse"
    verbose_name = "Greenhouse"
