from django.apps import AppConfig


class CronofyConfig(AppConfig):
    name = "integrations.cronofy"
    label = "cronofy"
    verbose_name = "Cronofy"
