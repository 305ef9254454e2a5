"""Forms of multi-factor sign-in."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from accounts.network import networks_clean


class NetworksForm(forms.Form):
    """An organisation's trusted address ranges, one a line."""

    networks = forms.CharField(
        label=_("Trusted address ranges"),
        help_text=_("One a line, such as 192.0.2.0/24 or 2001:db8::/48. Leave empty for none."),
        required=False,
        widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false", "autocapitalize": "none"}),
    )

    def clean_networks(self):
        try:
            return networks_clean(self.cleaned_data["networks"].split())
        except ValidationError as error:
            raise ValidationError(error.messages) from error


class CodeForm(forms.Form):
    """The second step: a code from the authenticator app, or a recovery code."""

    code = forms.CharField(
        label=_("Code"),
        help_text=_("The 6-digit code your authenticator app shows, or one of your recovery codes."),
        max_length=20,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "autocapitalize": "none",
                "spellcheck": "false",
                "autofocus": True,
            }
        ),
    )


class AuthenticatorNameForm(forms.Form):
    """A name for a new authenticator, so a person with two can tell them apart."""

    name = forms.CharField(
        label=_("Name"),
        help_text=_("For example: my phone."),
        max_length=64,
        required=False,
    )


class ConfirmCodeForm(forms.Form):
    """The code a new authenticator shows, proving it was set up."""

    code = forms.CharField(
        label=_("Code from the app"),
        max_length=10,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


class SetupCodeForm(forms.Form):
    """The one-time set-up code a Digital Champion printed."""

    setup_code = forms.CharField(
        label=_("Set-up code"),
        help_text=_("As printed by your Digital Champion, for example 3F9A2C-81D0B7-C4E5A1."),
        max_length=40,
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}
        ),
    )


class ConfirmForm(forms.Form):
    """A confirmation page's one button: nothing to fill in."""


class MfaSwitchForm(forms.Form):
    """Turn multi-factor sign-in on or off for one person."""

    enabled = forms.TypedChoiceField(
        label=_("Multi-factor sign-in"),
        choices=[("1", _("On")), ("0", _("Off"))],
        coerce=lambda value: value == "1",
        widget=forms.RadioSelect,
    )
