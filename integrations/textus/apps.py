from django.apps import AppConfig


class TextUsConfig(AppConfig):
    name = "integrations.textus"
    label = "textus"
    verbose_name = "TextUs"
