"""Credential CSV files (All Pupils, All Staff), streamed, from plain dataclasses (no models here).

The output opens cleanly in Excel: UTF-8 with a byte-order mark, CRLF line ends, and no cell can act
as a formula (accounts.spreadsheets.safe_cell).
"""

import csv
import datetime
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.spreadsheets import safe_cell

BOM = "\ufeff"
ROWS_PER_CHUNK = 500  # one write per chunk keeps a 2,000-row file to a handful of network writes


@dataclass(frozen=True, slots=True)
class PupilRow:
    """One line of the All Pupils file; `password` is None where no shown password is available."""

    forename: str
    surname: str
    username: str
    password: str | None
    date_created: datetime.date | datetime.datetime | None
    year: str
    registration_group: str
    consent: bool | None
    admission_number: str


@dataclass(frozen=True, slots=True)
class StaffRow:
    """One line of the All Staff file."""

    forename: str
    surname: str
    username: str
    password: str | None
    date_created: datetime.date | datetime.datetime | None
    staff_code: str


def _date(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        value = timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    return value.strftime("%d/%m/%Y")


class _Line:
    """A file-like object for csv.writer that hands back what it was given."""

    def write(self, value: str) -> str:
        return value


def _stream(header: list[str], rows: Iterable[list]) -> Iterator[bytes]:
    writer = csv.writer(_Line(), lineterminator="\r\n")
    yield (BOM + writer.writerow([safe_cell(h) for h in header])).encode("utf-8")
    chunk: list[str] = []
    for row in rows:
        chunk.append(writer.writerow([safe_cell(cell) for cell in row]))
        if len(chunk) >= ROWS_PER_CHUNK:
            yield "".join(chunk).encode("utf-8")
            chunk = []
    if chunk:
        yield "".join(chunk).encode("utf-8")


def pupils_csv(rows: Iterable[PupilRow]) -> Iterator[bytes]:
    """Forename, Surname, Username, Password, Date created, Year, Reg group, Consent, Admission number."""
    header = [
        _("Forename"),
        _("Surname"),
        _("Username"),
        _("Password"),
        _("Date created"),
        _("Year"),
        _("Reg group"),
        _("Consent"),
        _("Admission number"),
    ]
    # Words are looked up now: the rows are written later, while the response streams.
    consent = {True: _("Yes"), False: _("No"), None: ""}
    return _stream(
        header,
        (
            [
                r.forename,
                r.surname,
                r.username,
                r.password or "",
                _date(r.date_created),
                r.year,
                r.registration_group,
                consent[r.consent],
                r.admission_number,
            ]
            for r in rows
        ),
    )


def staff_csv(rows: Iterable[StaffRow]) -> Iterator[bytes]:
    """Forename, Surname, Username, Password, Date created, Staff code."""
    header = [_("Forename"), _("Surname"), _("Username"), _("Password"), _("Date created"), _("Staff code")]
    return _stream(
        header,
        (
            [r.forename, r.surname, r.username, r.password or "", _date(r.date_created), r.staff_code]
            for r in rows
        ),
    )
