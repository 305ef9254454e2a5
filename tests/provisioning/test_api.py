"""The Provisioning Client's API: per-school bearer tokens, queued runs, their status."""

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent, AuditFailureCount
from accounts.sealing import sealed_file_read
from provisioning import views
from provisioning.models import ProvisioningRun, SchoolToken
from provisioning.runs import run_apply
from provisioning.services import token_issue, token_revoke

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

    def test_fifty_wrong_tokens_cost_a_counted_row_not_fifty_events(self, client, wales):
        token_issue(organisation=wales.secondary)
        events = AuditEvent.objects.count()
        for n in range(50):
            assert post(client, f"ump_6814001_wrong{n}", REMOTE_ADDR="203.0.113.9").status_code == 401
        assert AuditEvent.objects.count() == events
        counts = AuditFailureCount.objects.filter(action="provisioning.api_denied")
        assert 1 <= counts.count() <= 2  # the minute may turn during the test
        assert sum(c.count for c in counts) == 50 and {c.client_ip for c in counts} == {"203.0.113.9"}

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


def api_run(school, minutes_ago, source=ProvisioningRun.Source.API):
    return ProvisioningRun.objects.create(
        organisation=school, source=source, created_at=timezone.now() - timedelta(minutes=minutes_ago)
    )


def extracts_kept(settings):
    folder = settings.UMP_UPLOAD_DIR
    return sorted(folder.iterdir()) if folder.exists() else []


class RateLimitTests:
    @pytest.fixture(autouse=True)
    def _limit(self, settings):
        settings.UMP_PROVISIONING_UPLOADS_PER_HOUR = 2

    def test_a_school_over_its_hourly_limit_gets_429_and_nothing_is_kept(self, client, wales, settings):
        token = token_issue(organisation=wales.secondary)
        # two different extracts (the same one again would be a retry, answered with its first run)
        assert [post(client, token, pupils_csv([pupil(n)])).status_code for n in (1, 2)] == [202, 202]
        response = post(client, token, pupils_csv([pupil(3)]))
        assert response.status_code == 429
        assert 3590 <= int(response["Retry-After"]) <= 3600
        body = response.json()
        assert body["error"] == "rate_limited"
        assert body["message"] == (
            "This school has reached its hourly upload limit (2). Try again in 60 minutes."
        )
        assert ProvisioningRun.objects.count() == 2 and len(extracts_kept(settings)) == 2
        denied = AuditEvent.objects.get(action="provisioning.upload", outcome="denied")
        assert denied.organisation == wales.secondary and denied.details["reason"] == "rate_limited"

    def test_an_upload_that_raced_past_the_first_check_is_refused_when_recorded(
        self, client, wales, settings, monkeypatch
    ):
        token = token_issue(organisation=wales.secondary)
        api_run(wales.secondary, 5)
        # another upload for the school was recorded while this one's body arrived: the check made before the
        # body was read saw room for one more
        monkeypatch.setattr(views, "upload_retry_after", lambda school: 0)
        api_run(wales.secondary, 1)
        response = post(client, token, pupils_csv([pupil(1)]))
        assert response.status_code == 429
        assert 3290 <= int(response["Retry-After"]) <= 3300
        assert ProvisioningRun.objects.count() == 2 and extracts_kept(settings) == []
        denied = AuditEvent.objects.get(action="provisioning.upload", outcome="denied")
        assert denied.details["reason"] == "rate_limited"

    def test_retry_after_is_when_the_oldest_upload_leaves_the_hour(self, client, wales):
        token = token_issue(organisation=wales.secondary)
        api_run(wales.secondary, 50)
        api_run(wales.secondary, 10)
        response = post(client, token, pupils_csv([pupil(1)]))
        assert response.status_code == 429
        assert 595 <= int(response["Retry-After"]) <= 600
        assert "Try again in 10 minutes." in response.json()["message"]

    def test_the_message_is_in_welsh_for_a_welsh_client(self, client, wales):
        token = token_issue(organisation=wales.secondary)
        api_run(wales.secondary, 59.5)
        api_run(wales.secondary, 1)
        response = post(client, token, pupils_csv([pupil(1)]), HTTP_ACCEPT_LANGUAGE="cy")
        assert response.status_code == 429
        assert response.json()["message"] == (
            "Mae'r ysgol hon wedi cyrraedd ei therfyn lanlwytho fesul awr (2). "
            "Rhowch gynnig arall arni ymhen 1 munud."
        )

    def test_uploads_older_than_an_hour_do_not_count(self, client, wales):
        token = token_issue(organisation=wales.secondary)
        api_run(wales.secondary, 61)
        api_run(wales.secondary, 90)
        api_run(wales.secondary, 5)
        assert post(client, token, pupils_csv([pupil(1)])).status_code == 202

    def test_runs_from_the_provision_command_do_not_count(self, client, wales):
        token = token_issue(organisation=wales.secondary)
        for minutes in (1, 2, 3):
            api_run(wales.secondary, minutes, source=ProvisioningRun.Source.COMMAND)
        assert post(client, token, pupils_csv([pupil(1)])).status_code == 202

    def test_another_school_is_not_held_back_by_this_one(self, client, wales):
        token_issue(organisation=wales.secondary)
        theirs = token_issue(organisation=wales.other_school)
        api_run(wales.secondary, 1)
        api_run(wales.secondary, 2)
        assert post(client, theirs, pupils_csv([pupil(1, la=660, est=4002)])).status_code == 202

    def test_a_wrong_token_stays_a_401_and_never_counts_against_the_school(self, client, wales):
        token = token_issue(organisation=wales.secondary)
        api_run(wales.secondary, 1)
        api_run(wales.secondary, 2)
        response = post(client, f"{token}x", pupils_csv([pupil(1)]))
        assert response.status_code == 401 and "Retry-After" not in response
        ProvisioningRun.objects.all().delete()
        for _ in range(5):
            assert post(client, f"{token}x", pupils_csv([pupil(1)])).status_code == 401
        assert post(client, token, pupils_csv([pupil(1)])).status_code == 202

    def test_the_status_of_a_run_can_still_be_read(self, client, wales):
        token = token_issue(organisation=wales.secondary)
        run = api_run(wales.secondary, 1)
        api_run(wales.secondary, 2)
        url = reverse("provisioning:api_run", args=[run.pk])
        assert client.get(url, HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200


class SizeCapTests:
    def test_an_extract_over_the_cap_is_413_with_a_message_and_nothing_is_kept(
        self, client, wales, settings, monkeypatch
    ):
        monkeypatch.setattr(views, "MAX_EXTRACT_BYTES", 2 * 1024 * 1024)
        token = token_issue(organisation=wales.secondary)
        response = post(client, token, b"x" * (2 * 1024 * 1024 + 1))
        assert response.status_code == 413
        assert response.json() == {
            "error": "zip_too_large",
            "message": "The extract is larger than 2 MB, the most the portal accepts. It was not kept.",
        }
        assert not ProvisioningRun.objects.exists() and extracts_kept(settings) == []

    def test_the_413_message_is_in_welsh_for_a_welsh_client(self, client, wales, monkeypatch):
        monkeypatch.setattr(views, "MAX_EXTRACT_BYTES", 1024 * 1024)
        token = token_issue(organisation=wales.secondary)
        response = post(client, token, b"x" * (1024 * 1024 + 1), HTTP_ACCEPT_LANGUAGE="cy")
        assert response.status_code == 413
        assert response.json()["message"] == (
            "Mae'r detholiad yn fwy na 1 MB, y mwyaf y mae'r porth yn ei dderbyn. Ni chafodd ei gadw."
        )

    def test_a_multipart_upload_over_the_cap_is_413(self, client, wales, settings, monkeypatch):
        from django.core.files.uploadedfile import SimpleUploadedFile

        monkeypatch.setattr(views, "MAX_EXTRACT_BYTES", 1024 * 1024)
        token = token_issue(organisation=wales.secondary)
        response = client.post(
            URL,
            {"file": SimpleUploadedFile("pupils.csv", b"x" * (1024 * 1024 + 1))},
            HTTP_AUTHORIZATION=f"Bearer {token}",
        )
        assert response.status_code == 413 and response.json()["error"] == "zip_too_large"
        assert not ProvisioningRun.objects.exists() and extracts_kept(settings) == []

    def test_the_cap_holds_while_the_body_is_copied(self, client, wales, settings, monkeypatch):
        # a multipart body is larger than its file, so a cap between the two is met only while copying
        from django.core.files.uploadedfile import SimpleUploadedFile

        data = pupils_csv([pupil(n) for n in range(1, 40)])
        monkeypatch.setattr(views, "MAX_EXTRACT_BYTES", len(data) + 50)
        real = views.run_create
        monkeypatch.setattr(views, "run_create", lambda **kw: real(**{**kw, "max_bytes": len(data) - 1}))
        token = token_issue(organisation=wales.secondary)
        response = client.post(
            URL, {"file": SimpleUploadedFile("pupils.csv", data)}, HTTP_AUTHORIZATION=f"Bearer {token}"
        )
        assert response.status_code == 413 and "It was not kept." in response.json()["message"]
        assert not ProvisioningRun.objects.exists() and extracts_kept(settings) == []


class StreamingTests:
    def _spy(self, monkeypatch):
        seen = []
        real = views.run_create

        def spy(**kw):
            seen.append(kw["data"])
            return real(**kw)

        monkeypatch.setattr(views, "run_create", spy)
        return seen

    def test_a_raw_body_is_handed_on_as_a_stream_not_bytes(self, client, wales, monkeypatch):
        seen = self._spy(monkeypatch)
        token = token_issue(organisation=wales.secondary)
        data = pupils_csv([pupil(1), pupil(2)])
        run_id = post(client, token, data).json()["run"]
        assert not isinstance(seen[0], bytes | bytearray) and hasattr(seen[0], "read")
        run = ProvisioningRun.objects.get(pk=run_id)
        assert run.file_size == len(data)
        assert sealed_file_read(Path(run.file_path)) == data

    def test_a_multipart_upload_is_handed_on_as_the_uploaded_file(self, client, wales, monkeypatch):
        from django.core.files.uploadedfile import SimpleUploadedFile, UploadedFile

        seen = self._spy(monkeypatch)
        token = token_issue(organisation=wales.secondary)
        data = pupils_csv([pupil(1)])
        response = client.post(
            URL, {"file": SimpleUploadedFile("pupils.csv", data)}, HTTP_AUTHORIZATION=f"Bearer {token}"
        )
        assert response.status_code == 202 and isinstance(seen[0], UploadedFile)
        assert ProvisioningRun.objects.get().file_size == len(data)

    def test_an_empty_multipart_file_is_refused(self, client, wales, settings):
        from django.core.files.uploadedfile import SimpleUploadedFile

        token = token_issue(organisation=wales.secondary)
        response = client.post(
            URL, {"file": SimpleUploadedFile("pupils.csv", b"")}, HTTP_AUTHORIZATION=f"Bearer {token}"
        )
        assert response.status_code == 400 and response.json()["error"] == "empty"
        assert not ProvisioningRun.objects.exists() and extracts_kept(settings) == []


@pytest.mark.django_db(transaction=True)
def test_the_client_command_prints_the_portals_message_on_429(wales, live_server, settings, tmp_path):
    settings.UMP_PROVISIONING_UPLOADS_PER_HOUR = 1
    token = token_issue(organisation=wales.secondary)
    api_run(wales.secondary, 45)
    path = tmp_path / "pupils.csv"
    path.write_bytes(pupils_csv([pupil(1)]))
    with pytest.raises(CommandError) as caught:
        call_command("provisioning_client", str(path), "--url", live_server.url, "--token", token)
    message = str(caught.value)
    assert "This school has reached its hourly upload limit (1). Try again in 15 minutes." in message
    retry = re.search(r"\(HTTP 429, Retry-After: (\d+) s\)", message)
    assert retry and 890 <= int(retry.group(1)) <= 900
    assert ProvisioningRun.objects.count() == 1
