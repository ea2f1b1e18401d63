from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "messaging"
    verbose_name = "Messaging"

    def ready(self):
        # The Library renders {{ opt_out_text }}; the text is this app's preference, and the
        # Library sits below messaging, so it is handed over here rather than imported there.
        # It is read from the organization's send context (the preferences row it keeps until
        # they are saved), as the sends rendering it read their quiet hours.
        from library.templating import provide_opt_out_text

        from . import badge
        from .send_context import connect_invalidation, send_context
        from .services.callbacks import register_handlers
        from .services.inbound_email import register_email_handlers

        provide_opt_out_text(
            lambda organization: send_context(organization).preferences().opt_out_footer
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
