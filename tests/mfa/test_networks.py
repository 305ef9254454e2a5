"""Trusted networks: set on a page by a Digital Champion or Hwb administrator, or by import_organisations."""

import io

import pytest
from django.urls import reverse

from accounts.models import AuditEvent
from accounts.services import OrganisationImportError, organisations_import
from tests.conftest import SCHOOL_NETWORKS

pytestmark = pytest.mark.django_db
URL = reverse("mfa:networks")


class NetworksPageTests:
    def test_a_digital_champion_sets_their_schools_ranges(self, client, digital_champion, wales):
        client.force_login(digital_champion)
        response = client.post(URL, {"org": wales.secondary.code, "networks": "192.0.2.0/24\n2001:db8::/48"})
        assert response.status_code == 302
        wales.secondary.refresh_from_db()
        assert wales.secondary.trusted_networks == ["192.0.2.0/24", "2001:db8::/48"]
        event = AuditEvent.objects.get(action="organisation.networks")
        assert event.details["after"] == ["192.0.2.0/24", "2001:db8::/48"]

    def test_a_bad_range_is_named_and_nothing_saved(self, client, digital_champion, wales):
        client.force_login(digital_champion)
        response = client.post(URL, {"org": wales.secondary.code, "networks": "192.0.2.0/24\nschool-wifi"})
        assert response.status_code == 200
        assert "school-wifi" in response.content.decode()
        wales.secondary.refresh_from_db()
        assert wales.secondary.trusted_networks == SCHOOL_NETWORKS

    def test_the_page_shows_the_current_ranges(self, client, digital_champion, wales):
        wales.secondary.trusted_networks = ["198.51.100.0/24"]
        wales.secondary.save()
        client.force_login(digital_champion)
        assert "198.51.100.0/24" in client.get(URL).content.decode()

    def test_a_teacher_may_not(self, client, teacher):
        client.force_login(teacher)
        assert client.get(URL).status_code == 403


class ImportTests:
    HEADER = "code,kind,name,name_cy,phase,parent_code,trusted_networks\n"

    def test_the_optional_column_sets_the_ranges(self, wales):
        organisations_import(
            stream=io.StringIO(
                self.HEADER + "6814001,school,Caerdydd,,secondary,681,192.0.2.0/24;2001:db8::/48\n"
            )
        )
        wales.secondary.refresh_from_db()
        assert wales.secondary.trusted_networks == ["192.0.2.0/24", "2001:db8::/48"]

    def test_an_empty_cell_keeps_the_ranges(self, wales):
        wales.secondary.trusted_networks = ["192.0.2.0/24"]
        wales.secondary.save()
        organisations_import(stream=io.StringIO(self.HEADER + "6814001,school,Caerdydd,,secondary,681,\n"))
        wales.secondary.refresh_from_db()
        assert wales.secondary.trusted_networks == ["192.0.2.0/24"]

    def test_a_bad_range_refuses_the_file(self, wales):
        with pytest.raises(OrganisationImportError) as error:
            organisations_import(
                stream=io.StringIO(self.HEADER + "6814001,school,Caerdydd,,secondary,681,nope\n")
            )
        assert "Line 2" in str(error.value)
