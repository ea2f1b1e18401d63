from django.apps import AppConfig


class RecruitflowConfig(AppConfig):
    name = "recruitflow"
    verbose_name = "RecruitFlow"

    def ready(self) -> None:
        from . import checks  # noqa: F401 — registers the deploy checks
