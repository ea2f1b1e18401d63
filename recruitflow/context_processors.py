from functools import cache

from django.urls import get_script_prefix, reverse

from accounts.selectors import memberships_of_user

from .navigation import SIDEBAR


@cache
def _sidebar_urls(script_prefix: str) -> tuple[str, ...]:
    """The sidebar's addresses, reversed once per process (and per script prefix, which the
    server sets the same for every request)."""
    return tuple(reverse(item.url_name) for item in SIDEBAR)


def shell(request):
    """What every page of the app shell needs: the sidebar, the organization switcher, the nonce."""
    context = {"csp_nonce": getattr(request, "csp_nonce", "")}
    organization = getattr(request, "organization", None)
    if organization is None or getattr(request, "membership", None) is None:
        return context
    section = request.path.strip("/").split("/", 1)[0]
    context.update(
        {
            "organization": organization,
            "membership": request.membership,
            "memberships": getattr(request, "memberships", None)
            or memberships_of_user(user=request.user),
            "sidebar": [
                {"item": item, "url": url, "active": item.section == section}
                for item, url in zip(SIDEBAR, _sidebar_urls(get_script_prefix()), strict=True)
            ],
        }
    )
    return context
