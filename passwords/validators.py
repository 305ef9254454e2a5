"""The password policy as Django password validators (AUTH_PASSWORD_VALIDATORS).

Installing them in settings means every path that sets a password (forms, services, createsuperuser,
changepassword) applies the same rules. Each ValidationError carries a code so tests and forms can
tell the rules apart without matching words.
"""

import re

from django.contrib.auth.password_validation import CommonPasswordValidator
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from accounts.text import without_accents

# Words that are "common" in a Welsh school even though they are rare in the general lists Django ships,
# refused whatever digits or symbols are added around them.
SCHOOL_BLOCKLIST = frozenset(
    {
        "password", "passw0rd", "cyfrinair", "croeso", "welcome", "letmein", "qwerty", "asdfgh",
        "abcdef", "abc", "hwb", "hwbcymru", "cymru", "wales", "ysgol", "school", "pupil", "dysgwr",
        "learner", "teacher", "athro", "athrawes", "student", "myfyriwr", "admin", "changeme",
        "newpassword", "iloveyou", "football", "pelddroed", "summer", "winter", "hello", "helo",
        "shwmae", "diolch", "monkey", "dragon", "draig",
    }
)  # fmt: skip

LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "@": "a", "$": "s", "!": "i"})

MIN_NAME_PART = 3  # shorter parts ("Jo", "Li") would refuse too many unrelated passwords


def fold(text: str) -> str:
    """Lower-case and strip accents, so that "Siân" and "sian" compare equal."""
    return without_accents(text or "").casefold()


class HwbComplexityValidator:
    """At least `min_length` characters with upper-case and lower-case letters and digits (the Hwb policy)."""

    def __init__(self, min_length: int = 8):
        self.min_length = min_length

    def validate(self, password, user=None):
        errors = []
        if len(password) < self.min_length:
            errors.append(
                ValidationError(
                    _("Your password must be at least %(min_length)d characters long."),
                    code="password_too_short",
                    params={"min_length": self.min_length},
                )
            )
        if not any(c.isupper() for c in password):
            errors.append(
                ValidationError(
                    _("Your password must contain at least one upper-case letter."), code="password_no_upper"
                )
            )
        if not any(c.islower() for c in password):
            errors.append(
                ValidationError(
                    _("Your password must contain at least one lower-case letter."), code="password_no_lower"
                )
            )
        if not any(c.isdigit() for c in password):
            errors.append(
                ValidationError(
                    _("Your password must contain at least one number."), code="password_no_digit"
                )
            )
        if errors:
            raise ValidationError(errors)

    def get_help_text(self):
        return _(
            "Your password must be at least %(min_length)d characters long and contain upper-case "
            "and lower-case letters and numbers."
        ) % {"min_length": self.min_length}


class BlocklistValidator(CommonPasswordValidator):
    """Django's list of 20,000 common passwords, plus school words with any digits or symbols around them."""

    def validate(self, password, user=None):
        folded = fold(password).strip()
        if folded in self.passwords or folded in SCHOOL_BLOCKLIST or self._core(folded) in SCHOOL_BLOCKLIST:
            raise ValidationError(
                _("This password is too common. Please choose another."), code="password_too_common"
            )

    @staticmethod
    def _core(folded: str) -> str:
        """Turn "P@ssw0rd1!" into "password": drop what is padded around a word, undo look-alike swaps inside it."""
        trimmed = re.sub(r"^[^a-z]+|[^a-z]+$", "", folded)
        return re.sub(r"[^a-z]", "", trimmed.translate(LEET))

    def get_help_text(self):
        return _("Your password cannot be a commonly used password.")


class PersonalDataValidator:
    """Nothing containing the account's username or any of its names (accents and case ignored)."""

    NAME_ATTRIBUTES = ("legal_forename", "legal_surname", "display_name", "first_name", "last_name")

    def validate(self, password, user=None):
        if user is None:
            return
        folded = fold(password)
        for part in self._parts(user):
            if part in folded:
                raise ValidationError(
                    _("Your password cannot contain your username or your name."),
                    code="password_contains_personal_information",
                )

    def _parts(self, user):
        username = getattr(user, "username", "") or ""
        # "BloggsJ@hwbcymru.net": the local part is what a child would reuse.
        yield from self._split(username.split("@", 1)[0], whole=True)
        for attribute in self.NAME_ATTRIBUTES:
            yield from self._split(getattr(user, attribute, "") or "")

    @staticmethod
    def _split(value: str, whole: bool = False):
        folded = fold(value)
        if whole and len(folded) >= MIN_NAME_PART:
            yield folded
        for part in re.split(r"[^\w]+|_", folded):
            if len(part) >= MIN_NAME_PART:
                yield part

    def get_help_text(self):
        return _("Your password cannot contain your username or your name.")
