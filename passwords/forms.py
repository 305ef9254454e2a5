"""Forms for setting passwords and choosing a group."""

from django import forms
from django.contrib.auth.forms import PasswordChangeForm, SetPasswordForm
from django.utils.translation import gettext_lazy as _

from passwords.models import GroupResetJob


def _show_suggestion(form, suggestion):
    """Fill both new-password boxes with a generated password, shown in clear so that it can be noted."""
    for name in ("new_password1", "new_password2"):
        form.fields[name].widget = forms.TextInput(
            attrs={"autocomplete": "off", "spellcheck": "false", "class": "password-value"}
        )
        form.initial[name] = suggestion


class AccountPasswordForm(SetPasswordForm):
    """Staff choose a password for someone else: typed twice, checked against the policy for that account."""

    def __init__(self, user, *args, suggestion=None, **kwargs):
        super().__init__(user, *args, **kwargs)
        self.fields["new_password1"].label = _("New password")
        self.fields["new_password2"].label = _("Confirm new password")
        if suggestion:
            _show_suggestion(self, suggestion)


class OwnPasswordForm(PasswordChangeForm):
    """My Profile: the current password, then the new one twice (a suggestion may be filled in)."""

    def __init__(self, user, *args, suggestion=None, **kwargs):
        super().__init__(user, *args, **kwargs)
        self.fields["new_password1"].label = _("New password")
        self.fields["new_password2"].label = _("Confirm new password")
        if suggestion:
            _show_suggestion(self, suggestion)


class GroupForm(forms.Form):
    """Which registration group, class or year of a school."""

    group_kind = forms.ChoiceField(label=_("Group type"), choices=GroupResetJob.GroupKind.choices)
    group = forms.CharField(label=_("Group"), max_length=40)

    def __init__(self, *args, choices, **kwargs):
        super().__init__(*args, **kwargs)
        self.group_choices = {
            GroupResetJob.GroupKind.REGISTRATION_GROUP: choices["reg_groups"],
            GroupResetJob.GroupKind.CLASS: choices["classes"],
            GroupResetJob.GroupKind.YEAR: choices["years"],
        }

    def clean(self):
        data = super().clean()
        kind, group = data.get("group_kind"), data.get("group")
        if kind and group and group not in self.group_choices.get(kind, ()):
            self.add_error("group", _("There is no such group at this school."))
        return data
