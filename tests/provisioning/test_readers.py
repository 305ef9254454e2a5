import io
import zipfile
from datetime import date

import pytest

from provisioning.readers import (
    ExtractError,
    Problem,
    parse_date,
    parse_user_ids,
    read_extract,
    read_mis_csv,
    read_zip_members,
)
from provisioning.records import ENROLMENT_FIELDS, LEARNER, STAFF, Reason

from .extracts import (
    oneroster_members,
    oneroster_zip,
    pupil,
    pupils_csv,
    staff,
    staff_csv,
    upn,
    zip_bytes,
)


class MisCsvTests:
    def test_it_reads_a_pupil_export(self):
        extract = read_mis_csv(pupils_csv([pupil(1, "Ap Iorwerth", "Gwenllïan")]))
        assert extract.kinds == {LEARNER}
        assert extract.full
        [r] = extract.learners
        assert (r.surname, r.forename, r.upn) == ("Ap Iorwerth", "Gwenllïan", upn(1))
        assert r.admission_date == date(2019, 9, 1)
        assert r.year_group == "7"
        assert r.registration_group == "7A"
        assert r.classes == ("7A/Ma1", "7A/Cy1")
        assert r.row == 2

    def test_it_reads_a_staff_export(self):
        extract = read_mis_csv(staff_csv([staff("sev")]))
        assert extract.kinds == {STAFF}
        [s] = extract.staff
        assert (s.staff_code, s.start_date, s.staff_role) == ("SEV", date(2015, 9, 1), "Teacher")

    def test_it_matches_header_variants_ignoring_case_spaces_and_punctuation(self):
        header = [
            "SURNAME",
            "forename",
            "U.P.N.",
            "Admission Number",
            "Date of Admission",
            "NC Year",
            "Registration-Group",
            "Consent",
        ]
        data = (
            ",".join(header).encode() + b"\n" + f"Jones,Elin,{upn(2)},123,2020-09-03,Y10,10X,Yes\n".encode()
        )
        extract = read_mis_csv(data)
        [r] = extract.learners
        assert (r.admission_number, r.admission_date, r.year_group, r.registration_group, r.consent) == (
            "123",
            date(2020, 9, 3),
            "10",
            "10X",
            True,
        )
        assert extract.learner_fields == {
            "admission_number",
            "admission_date",
            "year_group",
            "registration_group",
            "consent",
        }

    def test_it_prefers_the_legal_surname_when_both_are_present(self):
        data = f"Surname,Legal Surname,Forename,UPN\nSmith,Smyth,Ann,{upn(3)}\n".encode()
        assert read_mis_csv(data).learners[0].surname == "Smyth"

    def test_it_reads_utf8_with_a_bom(self):
        extract = read_mis_csv(pupils_csv([pupil(1, "Llŷr", "Siôn")], bom=True))
        assert extract.learners[0].surname == "Llŷr"

    def test_it_detects_windows_1252(self):
        extract = read_mis_csv(pupils_csv([pupil(1, "Prydderch", "Siân")], encoding="cp1252"))
        assert extract.learners[0].forename == "Siân"

    def test_it_refuses_a_file_that_is_not_text(self):
        with pytest.raises(ExtractError) as exc:
            read_mis_csv(b"Legal Surname,Legal Forename,UPN\n\x81\x8d\x8f,\x90\x9d,x\n")
        assert exc.value.problem is Problem.ENCODING
        with pytest.raises(ExtractError):
            read_mis_csv(b"\x00\x01\x02PNG")

    def test_it_refuses_unknown_headers(self):
        with pytest.raises(ExtractError) as exc:
            read_mis_csv(b"Name,Email\nA,b@example.com\n")
        assert exc.value.problem is Problem.UNKNOWN_HEADERS

    def test_a_bad_date_refuses_only_that_row(self):
        extract = read_mis_csv(pupils_csv([pupil(1, admitted="31/02/2019"), pupil(2)]))
        assert [r.row for r in extract.refused] == [2]
        assert extract.refused[0].reason is Reason.BAD_DATE
        assert len(extract.learners) == 1

    def test_a_row_with_the_wrong_number_of_fields_is_refused(self):
        data = pupils_csv([pupil(1)]) + b"Jones,Ann\r\n" + pupils_csv([pupil(2)]).split(b"\r\n", 1)[1]
        extract = read_mis_csv(data)
        assert [(r.row, r.reason) for r in extract.refused] == [(3, Reason.MALFORMED_ROW)]
        assert len(extract.learners) == 2

    def test_it_notices_a_file_cut_short(self):
        data = pupils_csv([pupil(1), pupil(2)])
        extract = read_mis_csv(data[: len(data) - 30])
        assert extract.truncated
        assert len(extract.learners) == 1

    def test_it_notices_a_file_cut_inside_a_quoted_field(self):
        data = pupils_csv([pupil(1)]) + b'Jones,"Ann'
        assert read_mis_csv(data).truncated

    def test_an_empty_export_is_empty(self):
        extract = read_mis_csv(pupils_csv([]))
        assert extract.empty and extract.kinds == {LEARNER}


class DateTests:
    def test_it_reads_both_date_styles(self):
        assert parse_date("03/09/2020") == parse_date("2020-09-03") == date(2020, 9, 3)
        assert parse_date("") is None
        with pytest.raises(ValueError):
            parse_date("September 3rd")


class OneRosterTests:
    def test_it_reads_learners_and_staff_of_the_school(self):
        members = oneroster_members(
            learners=[
                {"n": 5, "given": "Mali", "family": "Hughes", "reg": "7C", "classes": ["7C/Hi", "7C/Cy"]}
            ],
            teachers=[{"code": "rmo"}, {"code": "adm", "role": "administrator"}],
        )
        extract = read_extract(zip_bytes(members), school_code="6814001")
        assert extract.format == "oneroster" and extract.full and extract.school_code == "6814001"
        [r] = extract.learners
        assert (r.forename, r.surname, r.upn, r.admission_number) == ("Mali", "Hughes", upn(5), "000005")
        assert r.admission_date == date(2019, 9, 1)
        assert (r.year_group, r.registration_group, r.classes) == ("7", "7C", ("7C/Cy", "7C/Hi"))
        assert sorted(s.staff_code for s in extract.staff) == ["ADM", "RMO"]

    def test_it_reads_a_folder(self, tmp_path):
        for name, data in oneroster_members(learners=[{"n": 1}]).items():
            (tmp_path / name).write_bytes(data)
        assert len(read_extract(tmp_path).learners) == 1

    def test_it_reads_a_package_zipped_with_its_folder(self):
        data = zip_bytes(oneroster_members(learners=[{"n": 1}]), prefix="export/")
        assert len(read_extract(data).learners) == 1

    def test_a_delta_is_a_change_list_with_deletions(self):
        members = oneroster_members(learners=[{"n": 1}, {"n": 2, "status": "tobedeleted"}], mode="delta")
        extract = read_extract(zip_bytes(members))
        assert not extract.full
        assert [r.deleted for r in extract.learners] == [False, True]

    def test_a_delta_row_without_enrolments_omits_what_they_give(self):
        learners = [{"n": 1, "enrolments": False}, {"n": 2}]
        delta = read_extract(zip_bytes(oneroster_members(learners=learners, mode="delta")))
        # with enrolments, a delta row still leaves the learner's classes to the sync, which applies the changes
        assert [r.omits for r in delta.learners] == [
            ENROLMENT_FIELDS,
            frozenset({"registration_group", "classes", "leaving_date"}),
        ]
        assert delta.learners[0].admission_date is None and delta.learners[0].classes == ()
        assert (delta.learners[1].enrolled, delta.learners[1].unenrolled) == (
            ("class-7B", "class-7B/Sc1"),
            (),
        )
        # a full list without a learner's enrolments means they have none
        bulk = read_extract(zip_bytes(oneroster_members(learners=learners)))
        assert [r.omits for r in bulk.learners] == [frozenset(), frozenset()]

    def test_a_delta_gives_enrolments_left_and_those_of_learners_it_does_not_list(self):
        learners = [
            {"n": 1, "reg": "", "classes": ["8C/Hi"], "left": ["7C/Hi"]},
            {
                "n": 2,
                "user": False,
                "reg": "",
                "classes": ["8C/Cy"],
                "left": ["7C/Cy"],
                "begin": "2026-11-02",
            },
        ]
        delta = read_extract(zip_bytes(oneroster_members(learners=learners, mode="delta", class_rows=False)))
        (row,) = delta.learners
        assert (row.source_id, row.enrolled, row.unenrolled) == ("stu-1", ("class-8C/Hi",), ("class-7C/Hi",))
        change = delta.enrolment_changes["stu-2"]
        assert (change.enrolled, change.unenrolled, change.begins) == (
            ("class-8C/Cy",),
            ("class-7C/Cy",),
            date(2026, 11, 2),
        )
        assert {"registration_group", "classes"} <= delta.learner_fields  # classes.csv may be absent

    def test_it_refuses_a_school_not_in_the_package(self):
        with pytest.raises(ExtractError) as exc:
            read_extract(oneroster_zip(), school_code="6604002")
        assert exc.value.problem is Problem.SCHOOL_NOT_FOUND

    def test_it_refuses_a_package_without_users(self):
        members = oneroster_members()
        del members["users.csv"]
        with pytest.raises(ExtractError) as exc:
            read_extract(zip_bytes(members))
        assert exc.value.problem is Problem.ONEROSTER_MISSING

    def test_user_ids_are_parsed(self):
        assert parse_user_ids("{UPN:B801200005001},{LA:12}") == {"upn": "B801200005001", "la": "12"}


class HostileZipTests:
    def test_it_refuses_path_traversal(self):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            zf.writestr("../../etc/users.csv", b"x")
        with pytest.raises(ExtractError) as exc:
            read_zip_members(buf.getvalue())
        assert exc.value.problem is Problem.ZIP_UNSAFE

    def test_it_refuses_absolute_paths(self):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            zf.writestr("/users.csv", b"x")
        with pytest.raises(ExtractError):
            read_zip_members(buf.getvalue())

    def test_it_refuses_a_zip_bomb_without_inflating_it(self, monkeypatch):
        # 64 MiB of zeros compresses to about 64 KiB: a ratio far beyond any CSV.
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("users.csv", b"0" * (64 * 1024 * 1024))
        with pytest.raises(ExtractError) as exc:
            read_zip_members(buf.getvalue())
        assert exc.value.problem is Problem.ZIP_TOO_LARGE

    def test_it_refuses_too_many_files(self):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            for i in range(40):
                zf.writestr(f"f{i}.csv", b"x")
        with pytest.raises(ExtractError) as exc:
            read_zip_members(buf.getvalue())
        assert exc.value.problem is Problem.ZIP_TOO_LARGE

    def test_it_refuses_a_damaged_zip(self):
        with pytest.raises(ExtractError) as exc:
            read_extract(b"PK\x03\x04garbage", fmt="oneroster")
        assert exc.value.problem is Problem.BAD_ZIP
