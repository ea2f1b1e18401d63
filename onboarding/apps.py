from django.apps import AppConfig


class OnboardingConfig(AppConfig):
    """A new organization's way to a first working journey: the setup checklist that reads the
    real state of each domain, and the starter gallery that copies ready-made journeys."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "onboarding"
    label = "onboarding"
    verbose_name = "Onboarding"
