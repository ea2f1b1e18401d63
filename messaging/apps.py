from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "messaging"
    verbose_name = "Messaging"

    def ready(self):
        # The Library renders {{ opt_out_text }}; the text is this app's preference, and the
        # Library sits below messaging, so it is handed over here rather than imported there.
        from library.templating import provide_opt_out_text

        from . import badge
        from .selectors import preferences_for
        from .send_context import connect_invalidation
        from .services.callbacks import register_handlers
        from .services.inbound_email import register_email_handlers

        provide_opt_out_text(
            lambda organization: preferences_for(organization=organization).opt_out_footer
        )
        # The one webhook intake applies delivery updates, inbound texts and opt-out changes
        # with this app's handlers.
        register_handlers()
        register_email_handlers()
        # Workers keep each organization's resolved sending settings; a save drops them.
        connect_invalidation()
        # A conversation deleted with unread messages leaves the cached Inbox badge at once.
        badge.connect_invalidation()
        # Deleting a candidate's personal data empties their messages: this app's eraser
        # registers itself with candidates.erasure.
        from messaging import erasure  # noqa: F401
