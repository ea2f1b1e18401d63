from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = "Integrations"

    def ready(self) -> None:
        from integrations.http_guard import set_outbound_policy_source
        from integrations.policy import policy_from_settings

        set_outbound_policy_source(policy_from_settings)
