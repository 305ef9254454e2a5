"""Ops commands: import_organisations, create_admin, seed_demo."""

import pytest
from django.core.management import CommandError, call_command

from accounts.models import Account, Organisation, RoleGrant

GOOD = """code,kind,name,name_cy,phase,parent_code
6614002,school,Ysgol Uwchradd Tywyn,Ysgol Uwchradd Tywyn,secondary,661
661,local_authority,Gwynedd Council,Cyngor Gwynedd,,GWE
GWE,consortium,GwE,GwE,,
"""


@pytest.mark.django_db
class TestImportOrganisations:
    def test_it_loads_parents_that_come_later_and_is_idempotent(self, tmp_path, capsys):
        path = tmp_path / "orgs.csv"
        path.write_text(GOOD, encoding="utf-8")
        call_command("import_organisations", str(path))
        call_command("import_organisations", str(path))
        school = Organisation.objects.get(code="6614002")
        assert school.parent.code == "661" and school.parent.parent.code == "GWE"
        assert Organisation.objects.count() == 3
        assert "0 created, 3 updated" in capsys.readouterr().out

    def test_a_bad_row_changes_nothing(self, tmp_path):
        path = tmp_path / "orgs.csv"
        path.write_text(GOOD + "66140,school,Short code,,secondary,661\n999,moon,Moon,,,\n", encoding="utf-8")
        with pytest.raises(CommandError) as excinfo:
            call_command("import_organisations", str(path))
        assert "Line 5" in str(excinfo.value) and "Line 6" in str(excinfo.value)
        assert Organisation.objects.count() == 0

    def test_windows_1252_files_are_read(self, tmp_path):
        path = tmp_path / "orgs.csv"
        path.write_bytes(
            "code,kind,name,name_cy,phase,parent_code\nGWE,consortium,GwE,Consortiwm Gogledd – Cymru,,\n".encode(
                "cp1252"
            )
        )
        call_command("import_organisations", str(path))
        assert Organisation.objects.get(code="GWE").name_cy == "Consortiwm Gogledd – Cymru"

    def test_an_optional_column_records_each_schools_language_medium(self, tmp_path):
        path = tmp_path / "orgs.csv"
        with_medium = GOOD.replace("parent_code\n", "parent_code,language_medium\n", 1).replace(
            "secondary,661\n", "secondary,661,Welsh\n"
        )
        path.write_text(with_medium, encoding="utf-8")
        call_command("import_organisations", str(path))
        school = Organisation.objects.get(code="6614002")
        assert school.language_medium == Organisation.Medium.WELSH
        assert school.learner_password_language() == "cy"
        path.write_text(GOOD, encoding="utf-8")  # a file without the column leaves the medium as it was
        call_command("import_organisations", str(path))
        assert Organisation.objects.get(code="6614002").language_medium == Organisation.Medium.WELSH

    def test_an_unknown_language_medium_is_refused(self, tmp_path):
        path = tmp_path / "orgs.csv"
        path.write_text(
            "code,kind,name,name_cy,phase,parent_code,language_medium\n6614002,school,X,,secondary,,klingon\n"
        )
        with pytest.raises(CommandError, match="language medium"):
            call_command("import_organisations", str(path))

    def test_a_missing_parent_is_reported(self, tmp_path):
        path = tmp_path / "orgs.csv"
        path.write_text("code,kind,name,name_cy,phase,parent_code\n6614002,school,X,,secondary,999\n")
        with pytest.raises(CommandError, match="parent 999"):
            call_command("import_organisations", str(path))


@pytest.mark.django_db
def test_create_admin_makes_a_national_hwb_administrator(monkeypatch, capsys):
    monkeypatch.setenv("UMP_ADMIN_PASSWORD", "Gweinyddwr-Cryf-2026")
    call_command("create_admin", "--forename", "Nia", "--surname", "Ben-Aur")
    admin = Account.objects.get(legal_surname="Ben-Aur")
    assert admin.username == "BenAurN"
    assert RoleGrant.objects.filter(
        account=admin, role=RoleGrant.Role.HWB_ADMIN, organisation__code="NATIONAL"
    ).exists()
    assert admin.check_password("Gweinyddwr-Cryf-2026")


@pytest.mark.django_db
def test_create_admin_refuses_a_weak_password(monkeypatch):
    monkeypatch.setenv("UMP_ADMIN_PASSWORD", "password")
    with pytest.raises(CommandError):
        call_command("create_admin", "--forename", "Nia", "--surname", "Ben")
