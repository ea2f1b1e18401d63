import zoneinfo
from functools import cache

from django import forms
from django.utils.html import format_html_join

from . import services
from .models import TIME_ZONE_CHOICES, ApiKeyScope, Organization, Role, validate_time_zone
from .selectors import invitation_by_token


@cache
def _time_zone_datalist() -> str:
    options = format_html_join("", '<option value="{}">', ((tz,) for tz, _ in TIME_ZONE_CHOICES))
    return f'<datalist id="time-zones">{options}</datalist>'


class TimeZoneInput(forms.TextInput):
    """A text box that suggests IANA zone names as you type (one shared datalist, rendered once:
    a 600-option select costs tens of milliseconds per page)."""

    def __init__(self, attrs=None):
        super().__init__({"list": "time-zones", "autocomplete": "off", **(attrs or {})})

    def render(self, name, value, attrs=None, renderer=None):
        from django.utils.safestring import mark_safe

        return mark_safe(super().render(name, value, attrs, renderer) + _time_zone_datalist())  # noqa: S308


def time_zone_field(**kwargs) -> forms.CharField:
    return forms.CharField(
        max_length=64,
        widget=TimeZoneInput(),
        validators=[validate_time_zone],
        help_text=kwargs.pop(
            "help_text", "An IANA name such as Europe/London or America/New_York."
        ),
        **kwargs,
    )


_UTC_NAMES = {"UTC", "Etc/UTC", "Etc/GMT", "Etc/Universal", "Etc/Zulu", "Etc/UCT"}


def browser_time_zone(value: str | None) -> str:
    """The IANA zone a browser reported (``Intl.DateTimeFormat().resolvedOptions().timeZone``),
    when it is a zone name this server knows; else "UTC". Region/City names and UTC only: a
    browser's "Etc/Unknown", a bare abbreviation or anything typed into the hidden field falls
    back without an error."""
    value = (value or "").strip()
    if value in _UTC_NAMES:
        return "UTC"
    if "/" in value and value in zoneinfo.available_timezones():
        return value
    return "UTC"


class SignupOrganizationForm(forms.Form):
    """Extra fields on the signup page: the organization a new user starts."""

    first_name = forms.CharField(max_length=150, label="Your first name")
    last_name = forms.CharField(max_length=150, label="Your last name", required=False)
    organization_name = forms.CharField(
        max_length=200,
        label="Company name",
        required=False,
        help_text="Your workspace. Leave empty if you were invited to join a team.",
    )
    # Filled by static/js/signup_time_zone.js with the browser's zone; a missing or unknown one
    # is not the person's mistake, so the organization starts in UTC (Settings → Organization).
    time_zone = forms.CharField(
        required=False, widget=forms.HiddenInput(attrs={"data-browser-zone": ""})
    )

    def clean_time_zone(self) -> str:
        return browser_time_zone(self.cleaned_data.get("time_zone"))

    def signup(self, request, user):
        user.first_name = self.cleaned_data["first_name"]
        user.last_name = self.cleaned_data.get("last_name", "")
        user.save(update_fields=["first_name", "last_name"])
        token = request.session.pop("invitation_token", None)
        invitation = invitation_by_token(token=token) if token else None
        if invitation is not None and invitation.email.lower() == user.email.lower():
            try:
                membership = services.invitation_accept(invitation=invitation, user=user)
                request.session["organization_id"] = membership.organization_id
                return
            except services.InvitationError:
                pass
        name = self.cleaned_data.get("organization_name") or f"{user.first_name}'s team"
        organization = services.organization_create(
            name=name, owner=user, time_zone=self.cleaned_data.get("time_zone") or "UTC"
        )
        request.session["organization_id"] = organization.pk


class OrganizationProfileForm(forms.ModelForm):
    time_zone = time_zone_field(
        help_text="Used when a candidate's own time zone is unknown. Start typing, e.g. Europe/."
    )

    class Meta:
        model = Organization
        fields = ["name", "logo", "brand_color", "time_zone"]
        widgets = {"brand_color": forms.TextInput(attrs={"type": "color"})}
        help_texts = {
            "logo": "PNG or JPEG, shown on emails and candidate pages. Up to 2 MB.",
        }

    def clean_logo(self):
        logo = self.cleaned_data.get("logo")
        if logo and hasattr(logo, "size") and logo.size > 2 * 1024 * 1024:
            raise forms.ValidationError("The logo is larger than 2 MB. Use a smaller image.")
        return logo


class OrganizationCreateForm(forms.Form):
    name = forms.CharField(max_length=200, label="Organization name")
    time_zone = time_zone_field(initial="UTC")


class InvitationForm(forms.Form):
    email = forms.EmailField()
    role = forms.ChoiceField(choices=Role.choices, initial=Role.RECRUITER)


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class ApiKeyForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="Who or what uses it, e.g. 'Data warehouse'.")
    scope = forms.ChoiceField(choices=ApiKeyScope.choices, initial=ApiKeyScope.READ)
