"""Forms for signing in and browsing users."""

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _


class SignInForm(AuthenticationForm):
    """Username or email address, and password."""

    username = forms.CharField(
        label=_("Username or email address"),
        max_length=254,
        widget=forms.TextInput(
            attrs={"autofocus": True, "autocomplete": "username", "autocapitalize": "none"}
        ),
    )
    error_messages = {
        "invalid_login": _("The username or password is not right. Check them and try again."),
        "inactive": _("This account is not active. Ask your school's Digital Champion for help."),
    }


class UserFilterForm(forms.Form):
    """The filters above a View Users table."""

    q = forms.CharField(label=_("Search term"), required=False, max_length=100)
    active = forms.ChoiceField(
        label=_("Active"),
        required=False,
        choices=[("", _("All")), ("Y", _("Yes")), ("N", _("No"))],
    )
    year = forms.ChoiceField(label=_("Year"), required=False)
    reg = forms.ChoiceField(label=_("Registration group"), required=False)

    def __init__(self, *args, years=(), reg_groups=(), section="learners", **kwargs):
        super().__init__(*args, **kwargs)
        # Only learners have admission numbers to search by.
        self.fields["q"].help_text = (
            _("Surname, forename, username or admission number")
            if section == "learners"
            else _("Surname, forename or username")
        )
        self.fields["year"].choices = [("", _("All"))] + [(y, y) for y in years]
        self.fields["reg"].choices = [("", _("All"))] + [(r, r) for r in reg_groups]
