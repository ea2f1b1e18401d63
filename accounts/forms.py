from django import forms

from .models import TIME_ZONE_CHOICES, ApiKeyScope, Organization, Role


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

    def signup(self, request, user):
        from . import services
        from .selectors import invitation_by_token

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
        organization = services.organization_create(name=name, owner=user)
        request.session["organization_id"] = organization.pk


class OrganizationProfileForm(forms.ModelForm):
    time_zone = forms.ChoiceField(choices=TIME_ZONE_CHOICES)

    class Meta:
        model = Organization
        fields = ["name", "logo", "brand_color", "time_zone"]
        widgets = {"brand_color": forms.TextInput(attrs={"type": "color"})}
        help_texts = {
            "logo": "PNG or JPEG, shown on emails and candidate pages. Up to 2 MB.",
            "time_zone": "Used when a candidate's own time zone is unknown.",
        }

    def clean_logo(self):
        logo = self.cleaned_data.get("logo")
        if logo and hasattr(logo, "size") and logo.size > 2 * 1024 * 1024:
            raise forms.ValidationError("The logo is larger than 2 MB. Use a smaller image.")
        return logo


class OrganizationCreateForm(forms.Form):
    name = forms.CharField(max_length=200, label="Organization name")
    time_zone = forms.ChoiceField(choices=TIME_ZONE_CHOICES, initial="UTC")


class InvitationForm(forms.Form):
    email = forms.EmailField()
    role = forms.ChoiceField(choices=Role.choices, initial=Role.RECRUITER)


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class ApiKeyForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="Who or what uses it, e.g. 'Data warehouse'.")
    scope = forms.ChoiceField(choices=ApiKeyScope.choices, initial=ApiKeyScope.READ)
