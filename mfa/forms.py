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
