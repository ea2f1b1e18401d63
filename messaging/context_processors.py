"""The Inbox's unread badge in the sidebar."""

from functools import cache

from messaging.inbox import unread_conversation_count


def inbox(request):
    """``inbox_unread``: how many conversations have unread messages. A callable the template
    calls only when it renders the sidebar (one query, none for partials)."""
    organization = getattr(request, "organization", None)
    if organization is None or getattr(request, "membership", None) is None:
        return {}

    @cache
    def unread() -> int:
        return unread_conversation_count(organization=organization)

    return {"inbox_unread": unread}
