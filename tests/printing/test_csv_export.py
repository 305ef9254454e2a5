import csv
import datetime
import io

from django.utils import translation

from printing.csv_export import BOM, PupilRow, StaffRow, pupils_csv, staff_csv


def read(chunks) -> tuple[bytes, list[list[str]]]:
    raw = b"".join(chunks)
    return raw, list(csv.reader(io.StringIO(raw.decode("utf-8").removeprefix(BOM), newline="")))


def pupil(**overrides):
    values = {
        "forename": "Siân",
        "surname": "Llŷr",
        "username": "LlyrS",
        "password": "Otter472",
        "date_created": datetime.datetime(2025, 9, 3, 10, 0, tzinfo=datetime.UTC),
        "year": "7",
        "registration_group": "7W",
        "consent": True,
        "admission_number": "001234",
    }
    values.update(overrides)
    return PupilRow(**values)


class PupilsCsvTests:
    def test_it_starts_with_a_bom_and_uses_crlf(self):
        raw, _rows = read(pupils_csv([pupil()]))
        assert raw.startswith(BOM.encode("utf-8"))
        assert raw.count(b"\r\n") == 2

    def test_it_has_the_hwb_columns_and_values(self):
        _raw, rows = read(pupils_csv([pupil(), pupil(forename="Dai", password=None, consent=None)]))
        assert rows[0] == [
            "Forename", "Surname", "Username", "Password", "Date created", "Year", "Reg group", "Consent",
            "Admission number",
        ]  # fmt: skip
        assert rows[1] == ["Siân", "Llŷr", "LlyrS", "Otter472", "03/09/2025", "7", "7W", "Yes", "001234"]
        assert rows[2][3] == "" and rows[2][7] == ""

    def test_injected_names_cannot_run_as_formulas(self):
        _raw, rows = read(
            pupils_csv([pupil(forename="=cmd|' /C calc'!A0", surname="@evil", admission_number="-1")])
        )
        assert rows[1][0] == "'=cmd|' /C calc'!A0"
        assert rows[1][1] == "'@evil"
        assert rows[1][8] == "'-1"

    def test_it_streams_in_chunks(self):
        chunks = list(pupils_csv(pupil(username=f"U{i}") for i in range(1200)))
        assert len(chunks) == 1 + 3
        _raw, rows = read(chunks)
        assert len(rows) == 1201

    def test_headers_follow_the_language(self):
        with translation.override("cy"):
            chunks = pupils_csv([pupil()])
        _raw, rows = read(chunks)  # streamed after the language changed back, as a response would be
        assert rows[0][:3] == ["Enw cyntaf", "Cyfenw", "Enw defnyddiwr"]
        assert rows[1][7] == "Ie"


class StaffCsvTests:
    def test_it_has_the_hwb_columns(self):
        row = StaffRow("Rhys", "Ifans", "IfansR", "Xk7pQr2mWz9a", datetime.date(2024, 1, 8), "RIF")
        _raw, rows = read(staff_csv([row]))
        assert rows == [
            ["Forename", "Surname", "Username", "Password", "Date created", "Staff code"],
            ["Rhys", "Ifans", "IfansR", "Xk7pQr2mWz9a", "08/01/2024", "RIF"],
        ]
