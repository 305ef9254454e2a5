"""Turn accounts into the plain rows the PDF and CSV writers take."""

from django.conf import settings

from accounts.models import Account
from accounts.selectors import by_surname
from passwords.selectors import shown_passwords
from printing.csv_export import PupilRow, StaffRow
from printing.slips import Slip

SLIP_FIELDS = (
    "pk",
    "legal_forename",
    "legal_surname",
    "username",
    "email",
    "organisation__name",
    "organisation__name_cy",
    "registration_group",
)


def sign_in_address() -> str:
    return settings.UMP_SIGNIN_URL.removeprefix("https://").removeprefix("http://").rstrip("/")


def slips_for(accounts, *, with_passwords: bool, language: str) -> list[Slip]:
    """One slip per account in surname order (as View Users shows them in `language`), with its shown password
    when asked for (None where there is none)."""
    rows = list(
        Account.objects.filter(pk__in=[a.pk for a in accounts])
        .order_by(*by_surname(language=language))
        .values_list(*SLIP_FIELDS)
    )
    passwords = shown_passwords([row[0] for row in rows]) if with_passwords else {}
    return [
        Slip(
            forename=forename,
            surname=surname,
            username=username,
            email=email,
            school=(name_cy if language == "cy" and name_cy else name),
            password=passwords.get(pk),
            group=group,
        )
        for pk, forename, surname, username, email, name, name_cy, group in rows
    ]


def pupil_rows(organisation):
    """(ids, rows): every learner of a school for All Pupils, in surname order."""
    learners = (
        Account.objects.filter(organisation=organisation, kind=Account.Kind.LEARNER)
        .order_by(*by_surname())
        .values_list(
            "pk", "legal_forename", "legal_surname", "username", "created_at", "year_group",
            "registration_group", "consent", "admission_number",
        )
    )  # fmt: skip
    rows = list(learners)
    passwords = shown_passwords([row[0] for row in rows])
    return [row[0] for row in rows], [
        PupilRow(forename, surname, username, passwords.get(pk), created, year, reg, consent, adno)
        for pk, forename, surname, username, created, year, reg, consent, adno in rows
    ]


def staff_rows(organisation):
    """(ids, rows): every staff account of a school for All Staff, in surname order."""
    rows = list(
        Account.objects.filter(organisation=organisation, kind=Account.Kind.STAFF)
        .order_by(*by_surname())
        .values_list("pk", "legal_forename", "legal_surname", "username", "created_at", "staff_code")
    )
    passwords = shown_passwords([row[0] for row in rows])
    return [row[0] for row in rows], [
        StaffRow(forename, surname, username, passwords.get(pk), created, code)
        for pk, forename, surname, username, created, code in rows
    ]
