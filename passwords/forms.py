"""Forms for setting passwords and choosing a group."""

from django import forms
from django.contrib.auth.forms import PasswordChangeForm, SetPasswordForm
from django.utils.translation import gettext_lazy as _

from passwords.models import GroupResetJob

# Django's own wording for these has no Welsh in Django's catalogue (its Welsh predates the curly apostrophe in
# "didn’t"), so the portal words them itself, in its own catalogue.
MISMATCH = _("The two passwords are not the same. Type the same password in both boxes.")
CONFIRM_HELP = _("Type the same password again, to check it.")


def _label_fields(form):
    form.fields["new_password1"].label = _("New password")
    form.fields["new_password2"].label = _("Confirm new password")
    form.fields["new_password2"].help_text = CONFIRM_HELP


def _show_suggestion(form, suggestion):
    """Fill both new-password boxes with a generated password, shown in clear so that it can be noted."""
    for name in ("new_password1", "new_password2"):
        form.fields[name].widget = forms.TextInput(
            attrs={"autocomplete": "off", "spellcheck": "false", "class": "password-value"}
        )
        form.initial[name] = suggestion


class AccountPasswordForm(SetPasswordForm):
    """Staff choose a password for someone else: typed twice, checked against the policy for that account."""

    error_messages = {**SetPasswordForm.error_messages, "password_mismatch": MISMATCH}

    def __init__(self, user, *args, suggestion=None, **kwargs):
        super().__init__(user, *args, **kwargs)
        _label_fields(self)
        if suggestion:
            _show_suggestion(self, suggestion)


class OwnPasswordForm(PasswordChangeForm):
    """My Profile: the current password, then the new one twice (a suggestion may be filled in)."""

    error_messages = {
        **PasswordChangeForm.error_messages,
        "password_mismatch": MISMATCH,
        "password_incorrect": _("Your current password is not right. Type it again."),
    }

    def __init__(self, user, *args, suggestion=None, **kwargs):
        super().__init__(user, *args, **kwargs)
        _label_fields(self)
        self.fields["old_password"].label = _("Current password")
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
