"""manage.py provision: both formats, --dry-run, --json, a clear error for a bad file."""

import json

import pytest
from django.core.management import CommandError, call_command

from accounts.models import Account
from provisioning.models import ProvisioningRun

from .extracts import oneroster_members, oneroster_zip, pupil, pupils_csv

pytestmark = pytest.mark.django_db


def learners(org):
    return Account.objects.filter(organisation=org, kind="learner", source="mis")


class ProvisionCommandTests:
    def test_it_applies_a_mis_csv_and_prints_counts_and_refused_rows(self, wales, tmp_path, capsys):
        path = tmp_path / "pupils.csv"
        path.write_bytes(pupils_csv([pupil(1), pupil(2, upn_value="A801200005001")]))
        call_command("provision", str(path), "--school", wales.secondary.code)
        out = capsys.readouterr().out
        assert "created: 1" in out and "row 3: upn_check_letter" in out
        assert "A801200005001" not in out
        assert learners(wales.secondary).count() == 1
        assert path.exists()  # the ops engineer's own file is left alone
        run = ProvisioningRun.objects.get()
        assert (run.status, run.file_path) == ("applied", "")

    def test_json_output_is_one_object(self, wales, tmp_path, capsys):
        path = tmp_path / "pupils.csv"
        path.write_bytes(pupils_csv([pupil(1), pupil(2, adno="")]))
        call_command("provision", str(path), "--school", wales.secondary.code, "--json")
        data = json.loads(capsys.readouterr().out)
        assert (data["created"], data["held"], data["refused_count"]) == (1, 0, 1)
        assert data["refused"] == [
            {
                "row": 3,
                "reason": "missing_admission_number",
                "message": "The admission number is missing. Add it in the MIS.",
            }
        ]
        assert set(data) >= {
            "created",
            "updated",
            "transferred_in",
            "deactivated",
            "reactivated",
            "unchanged",
            "refused",
            "held",
        }

    def test_dry_run_changes_nothing(self, wales, tmp_path, capsys):
        path = tmp_path / "pupils.csv"
        path.write_bytes(pupils_csv([pupil(1)]))
        call_command("provision", str(path), "--school", wales.secondary.code, "--dry-run", "--json")
        assert json.loads(capsys.readouterr().out)["created"] == 1
        assert not learners(wales.secondary).exists() and not ProvisioningRun.objects.exists()

    def test_a_oneroster_zip_and_folder(self, wales, tmp_path, capsys):
        path = tmp_path / "oneroster.zip"
        path.write_bytes(oneroster_zip(learners=[{"n": 1}]))
        call_command(
            "provision", str(path), "--school", wales.secondary.code, "--format", "oneroster", "--json"
        )
        folder = tmp_path / "or"
        folder.mkdir()
        for name, data in oneroster_members(learners=[{"n": 1}, {"n": 2}]).items():
            (folder / name).write_bytes(data)
        call_command("provision", str(folder), "--school", wales.secondary.code, "--json")
        assert learners(wales.secondary).count() == 2

    def test_a_malformed_file_is_a_clear_error_and_changes_nothing(self, wales, tmp_path):
        path = tmp_path / "junk.csv"
        path.write_bytes(b"Name,Email\nx,y\n")
        with pytest.raises(CommandError, match="unknown_headers"):
            call_command("provision", str(path), "--school", wales.secondary.code)
        assert not learners(wales.secondary).exists()

    def test_an_unknown_school_is_an_error(self, wales, tmp_path):
        path = tmp_path / "pupils.csv"
        path.write_bytes(pupils_csv([pupil(1)]))
        with pytest.raises(CommandError, match="No school"):
            call_command("provision", str(path), "--school", "9999999")
