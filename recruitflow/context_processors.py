from django.urls import reverse

from accounts.selectors import memberships_of_user

from .navigation import SIDEBAR


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
                {"item": item, "url": reverse(item.url_name), "active": item.section == section}
                for item in SIDEBAR
            ],
        }
    )
    return context
