"""The Provisioning Client's API: per-school bearer tokens, queued runs, their status."""

import pytest
from django.core.management import call_command
from django.urls import reverse

from accounts.models import AuditEvent
from provisioning.models import ProvisioningRun, SchoolToken
from provisioning.services import run_apply, token_issue, token_revoke

from .conftest import TODAY
from .extracts import pupil, pupils_csv

pytestmark = pytest.mark.django_db
URL = "/api/provisioning/extracts/"


def post(client, token, data=b"", **kw):
    return client.post(
        URL, data=data, content_type="application/octet-stream", HTTP_AUTHORIZATION=f"Bearer {token}", **kw
    )


class TokenTests:
    def test_only_a_hash_of_the_token_is_stored(self, wales):
        raw = token_issue(organisation=wales.secondary)
        assert raw not in str(list(SchoolToken.objects.values()))

    def test_the_command_issues_and_rotates(self, wales, capsys):
        call_command("provisioning_token", wales.secondary.code)
        first = capsys.readouterr().out.strip()
        call_command("provisioning_token", wales.secondary.code)
        second = capsys.readouterr().out.strip()
        assert first != second and SchoolToken.objects.count() == 1


class UploadTests:
    def test_a_good_token_queues_the_extract(self, client, wales):
        token = token_issue(organisation=wales.secondary)
        response = post(client, token, pupils_csv([pupil(1)]))
        assert response.status_code == 202
        body = response.json()
        run = ProvisioningRun.objects.get(pk=body["run"])
        assert (body["status"], run.organisation_id, run.source) == ("queued", wales.secondary.pk, "api")
        assert body["status_url"].endswith(reverse("provisioning:api_run", args=[run.pk]))
        assert AuditEvent.objects.filter(action="provisioning.upload").exists()

    def test_the_status_shows_the_report_once_applied(self, client, wales):
        token = token_issue(organisation=wales.secondary)
        run_id = post(client, token, pupils_csv([pupil(1), pupil(2, adno="")])).json()["run"]
        run_apply(run=ProvisioningRun.objects.get(pk=run_id), today=TODAY)
        body = client.get(
            reverse("provisioning:api_run", args=[run_id]), HTTP_AUTHORIZATION=f"Bearer {token}"
        ).json()
        assert (body["status"], body["created"], body["refused"]) == ("applied", 1, 1)
        assert body["refused_rows"][0]["reason"] == "missing_admission_number"
        assert ProvisioningRun.objects.get(pk=run_id).file_path == ""

    def test_a_wrong_token_is_refused(self, client, wales):
        token_issue(organisation=wales.secondary)
        response = post(client, "ump_6814001_wrong", pupils_csv([pupil(1)]))
        assert response.status_code == 401 and "Bearer" in response["WWW-Authenticate"]
        assert not ProvisioningRun.objects.exists()

    def test_no_token_is_refused(self, client, wales):
        assert client.post(URL, data=b"x", content_type="text/csv").status_code == 401

    def test_a_revoked_token_is_refused(self, client, wales):
        token = token_issue(organisation=wales.secondary)
        token_revoke(organisation=wales.secondary)
        assert post(client, token, pupils_csv([pupil(1)])).status_code == 401

    def test_a_rotated_token_replaces_the_old_one(self, client, wales):
        old = token_issue(organisation=wales.secondary)
        new = token_issue(organisation=wales.secondary)
        assert post(client, old, pupils_csv([pupil(1)])).status_code == 401
        assert post(client, new, pupils_csv([pupil(1)])).status_code == 202

    def test_a_school_cannot_read_another_schools_run(self, client, wales):
        mine = token_issue(organisation=wales.secondary)
        theirs = token_issue(organisation=wales.other_school)
        run_id = post(client, mine, pupils_csv([pupil(1)])).json()["run"]
        url = reverse("provisioning:api_run", args=[run_id])
        assert client.get(url, HTTP_AUTHORIZATION=f"Bearer {theirs}").status_code == 404

    def test_get_on_the_upload_endpoint_is_not_allowed(self, client, wales):
        assert client.get(URL).status_code == 405

    def test_an_empty_body_is_refused(self, client, wales):
        token = token_issue(organisation=wales.secondary)
        assert post(client, token, b"").status_code == 400

    def test_a_multipart_upload_works_too(self, client, wales):
        from django.core.files.uploadedfile import SimpleUploadedFile

        token = token_issue(organisation=wales.secondary)
        response = client.post(
            URL,
            {"file": SimpleUploadedFile("pupils.csv", pupils_csv([pupil(1)]))},
            HTTP_AUTHORIZATION=f"Bearer {token}",
        )
        assert response.status_code == 202


class RevokeCommandTests:
    def test_revoke_stops_the_token(self, client, wales, capsys):
        call_command("provisioning_token", wales.secondary.code)
        token = capsys.readouterr().out.strip()
        call_command("provisioning_token", wales.secondary.code, "--revoke")
        assert post(client, token, pupils_csv([pupil(1)])).status_code == 401

    def test_revoking_without_a_token_is_an_error(self, wales):
        from django.core.management import CommandError

        with pytest.raises(CommandError):
            call_command("provisioning_token", wales.secondary.code, "--revoke")
