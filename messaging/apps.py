from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "messaging"
    verbose_name = "Messaging"

    def ready(self):
        # The Library renders {{ opt_out_text }}; the text is this app's preference, and the
        # Library sits below messaging, so it is handed over here rather than imported there.
        from library.templating import provide_opt_out_text

        from .selectors import preferences_for

        provide_opt_out_text(
            lambda organization: preferences_for(organization=organization).opt_out_footer
        )
