"""Forms for managing users: Add new user, Edit name, Activate, keep or close an expiring account, Audit."""

from django import forms
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from accounts.audit import action_choices
from accounts.models import SUPPLY_TEACHER_ROLE, Account
from managing.selectors import likely_duplicates
from managing.services import (
    CLOSE_AT_EXPIRY,
    CLOSE_NOW,
    DURATION_NONE,
    DURATION_YEAR_END,
    KEEP_NEXT_YEAR_END,
    OPEN_ENDED_KINDS,
)

DURATION_CHOICES = [
    ("1", _("1 month")),
    ("3", _("3 months")),
    ("6", _("6 months")),
    (DURATION_YEAR_END, _("To the end of the academic year (31 August)")),
]
KEEP_CHOICES = [
    (KEEP_NEXT_YEAR_END, _("To the end of next academic year")),
    ("6", _("6 months")),
    ("3", _("3 months")),
    ("1", _("1 month")),
]
# The password styles of the form's two Generate buttons (passwords.services.password_generate's styles).
GENERATE_STYLES = ("learner", "random")
# What a school non-MIS user is: (value, label, account kind). Recorded as the account's role.
USER_TYPES = [
    ("temporary_staff", _("Temporary staff"), Account.Kind.SCHOOL_NON_MIS),
    (SUPPLY_TEACHER_ROLE, _("Supply teacher"), Account.Kind.SCHOOL_NON_MIS),
    ("student_teacher", _("Student teacher on placement"), Account.Kind.ITE_STUDENT),
    ("stakeholder", _("Other stakeholder"), Account.Kind.SCHOOL_NON_MIS),
    ("service", _("A service, such as a printer or photocopier"), Account.Kind.SERVICE),
]
KIND_TYPES = {
    Account.Kind.GOVERNOR: ("governor", _("Governor")),
    Account.Kind.LA_NON_MIS: ("la_user", _("Local authority user")),
    Account.Kind.CONSORTIUM_NON_MIS: ("consortium_user", _("Consortium user")),
}


class AddUserForm(forms.Form):
    """A non-MIS account request: who, what kind, which password and for how long."""

    user_type = forms.ChoiceField(label=_("Type of user"))
    legal_forename = forms.CharField(label=_("Forename"), max_length=100)
    legal_surname = forms.CharField(label=_("Surname"), max_length=100)
    # Shown in clear: the person adding the account types it or generates it, and notes it before Add User.
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "spellcheck": "false", "class": "password-value"}
        ),
        help_text=_(
            "Type a password (at least 8 characters with upper-case and lower-case letters and numbers), "
            "or select Generate Learner Password or Generate Password."
        ),
        error_messages={
            "required": _("Type a password, or select Generate Learner Password or Generate Password.")
        },
    )
    duration = forms.ChoiceField(
        label=_("How long is the account needed?"), choices=DURATION_CHOICES, widget=forms.RadioSelect
    )
    contact_organisation = forms.CharField(label=_("Organisation"), max_length=200, required=False)
    job_title = forms.CharField(label=_("Job title"), max_length=100, required=False)
    work_email = forms.EmailField(label=_("Work email"), required=False)
    contact_number = forms.CharField(label=_("Contact number"), max_length=30, required=False)
    # Hidden until a likely duplicate is found (see clean), then a checkbox the person must tick.
    confirm_duplicate = forms.BooleanField(
        label=_("I have checked: this is a different person and needs a non-MIS account."),
        required=False,
        widget=forms.HiddenInput,
    )

    OPTIONAL = ("contact_organisation", "job_title", "work_email", "contact_number")

    def __init__(self, *args, organisation, kinds=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.organisation = organisation
        self.duplicates = []
        self.types = {}
        for value, label, kind in USER_TYPES:
            if kind in kinds:
                self.types[value] = (label, kind)
        for kind in kinds:
            if kind in KIND_TYPES:
                value, label = KIND_TYPES[kind]
                self.types[value] = (label, kind)
        self.fields["user_type"].choices = [(value, label) for value, (label, _kind) in self.types.items()]
        if len(self.types) == 1:
            self.fields["user_type"].initial = next(iter(self.types))
            self.fields["user_type"].widget = forms.HiddenInput()
        if kinds and set(kinds) <= set(OPEN_ENDED_KINDS):
            self.fields["duration"].choices = [
                *DURATION_CHOICES,
                (DURATION_NONE, _("No end date (it still closes after 90 days without a sign-in)")),
            ]
        self.has_optional = bool(set(kinds) & {Account.Kind.LA_NON_MIS, Account.Kind.CONSORTIUM_NON_MIS})
        if not self.has_optional:
            for name in self.OPTIONAL:
                del self.fields[name]

    @property
    def kind(self):
        return self.types[self.cleaned_data["user_type"]][1]

    @property
    def role(self):
        value = self.cleaned_data["user_type"]
        return value if value in {v for v, _label, _kind in USER_TYPES} else ""

    def clean(self):
        data = super().clean()
        password = data.get("password")
        if password and data.get("legal_forename") and data.get("legal_surname"):
            stub = Account(
                legal_forename=data["legal_forename"], legal_surname=data["legal_surname"], display_name=""
            )
            try:
                validate_password(password, stub)
            except ValidationError as error:
                self.add_error("password", error)
        if data.get("legal_forename") and data.get("legal_surname"):
            self.duplicates = list(
                likely_duplicates(
                    organisation=self.organisation,
                    legal_forename=data["legal_forename"],
                    legal_surname=data["legal_surname"],
                )[:5]
            )
            if self.duplicates:
                self.fields["confirm_duplicate"].widget = forms.CheckboxInput()
            if self.duplicates and not data.get("confirm_duplicate"):
                self.add_error(
                    "confirm_duplicate",
                    _(
                        "An active account from the MIS at this organisation already has these names. It is probably "
                        "the same person: check before creating another account, and tick the box to go ahead."
                    ),
                )
        return data

    def optional_fields(self):
        return {name: self.cleaned_data.get(name, "") for name in self.OPTIONAL if name in self.fields}


class RenameForm(forms.Form):
    """Edit name: legal names, display name and, optionally, a new username."""

    legal_forename = forms.CharField(label=_("Forename"), max_length=100)
    legal_surname = forms.CharField(label=_("Surname"), max_length=100)
    display_name = forms.CharField(
        label=_("Display name"),
        max_length=200,
        required=False,
        help_text=_("Leave empty to make one from the names."),
    )
    new_username = forms.BooleanField(
        label=_("Generate a new username"),
        required=False,
        help_text=_(
            "The account gets a new email address (the old one keeps working as an alias) and a new password, "
            "which you can read with Show password."
        ),
    )


class ActivateForm(forms.Form):
    """Activate; an expired account also needs to know how long it is needed now."""

    duration = forms.ChoiceField(
        label=_("How long is the account needed?"), choices=DURATION_CHOICES, widget=forms.RadioSelect
    )

    def __init__(self, *args, needs_expiry=False, **kwargs):
        super().__init__(*args, **kwargs)
        if not needs_expiry:
            del self.fields["duration"]


class KeepForm(forms.Form):
    """Keep an expiring account for longer."""

    keep_for = forms.ChoiceField(label=_("Keep"), choices=KEEP_CHOICES)


class CloseForm(forms.Form):
    """Close an expiring account now or at its expiry date."""

    when = forms.ChoiceField(
        label=_("Close"), choices=[(CLOSE_NOW, _("Now")), (CLOSE_AT_EXPIRY, _("At its expiry date"))]
    )


class AuditFilterForm(forms.Form):
    """Search the audit trail."""

    account = forms.CharField(label=_("Account (username or id)"), required=False, max_length=254)
    actor = forms.CharField(label=_("Done by (username or id)"), required=False, max_length=254)
    action = forms.ChoiceField(label=_("Action"), required=False, choices=action_choices)
    date_from = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
