"""The client address (X-Forwarded-For only from trusted proxies) and the trusted-network decision."""

import pytest
from django.core.exceptions import ValidationError
from django.test import RequestFactory

from accounts.network import address_in_networks, client_address, networks_clean, on_trusted_network

PROXY = "10.0.0.5"


def request_from(remote, forwarded=None):
    headers = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        headers["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **headers)


class ClientAddressTests:
    def test_without_a_proxy_it_is_the_connecting_address(self, settings):
        settings.UMP_TRUSTED_PROXIES = []
        assert client_address(request_from("192.0.2.10")) == "192.0.2.10"

    def test_a_forged_header_from_an_untrusted_peer_is_ignored(self, settings):
        settings.UMP_TRUSTED_PROXIES = [PROXY]
        assert client_address(request_from("203.0.113.9", "192.0.2.10")) == "203.0.113.9"

    def test_a_trusted_proxy_names_the_client(self, settings):
        settings.UMP_TRUSTED_PROXIES = ["10.0.0.0/24"]
        assert client_address(request_from(PROXY, "192.0.2.10")) == "192.0.2.10"

    def test_an_address_the_client_put_in_front_is_not_believed(self, settings):
        # The client sent "X-Forwarded-For: 192.0.2.10"; the proxy appended the address it really saw.
        settings.UMP_TRUSTED_PROXIES = [PROXY]
        assert client_address(request_from(PROXY, "192.0.2.10, 203.0.113.9")) == "203.0.113.9"

    def test_a_chain_of_trusted_proxies_is_walked_from_the_right(self, settings):
        settings.UMP_TRUSTED_PROXIES = ["10.0.0.0/8"]
        assert client_address(request_from(PROXY, "203.0.113.9, 10.1.1.1")) == "203.0.113.9"

    def test_a_garbled_hop_stops_at_the_last_trusted_proxy(self, settings):
        settings.UMP_TRUSTED_PROXIES = [PROXY]
        assert client_address(request_from(PROXY, "not-an-address")) == PROXY

    def test_ipv6_clients_and_proxies(self, settings):
        settings.UMP_TRUSTED_PROXIES = ["2001:db8:ffff::/48"]
        assert client_address(request_from("2001:db8:ffff::1", "2001:db8:1::42")) == "2001:db8:1::42"
        assert client_address(request_from("2001:db8:2::1", "2001:db8:1::42")) == "2001:db8:2::1"

    def test_an_ipv4_mapped_ipv6_address_is_the_ipv4_address(self, settings):
        settings.UMP_TRUSTED_PROXIES = []
        assert client_address(request_from("::ffff:192.0.2.10")) == "192.0.2.10"

    def test_outside_a_request_there_is_none(self):
        assert client_address(None) is None


class TrustedNetworkTests:
    def test_ipv4_ranges(self):
        assert address_in_networks("192.0.2.77", ["192.0.2.0/24"])
        assert not address_in_networks("192.0.3.1", ["192.0.2.0/24"])

    def test_ipv6_ranges(self):
        assert address_in_networks("2001:db8:5::9", ["192.0.2.0/24", "2001:db8::/32"])
        assert not address_in_networks("2001:db9::1", ["2001:db8::/32"])

    def test_no_address_or_no_ranges_is_never_trusted(self):
        assert not address_in_networks(None, ["0.0.0.0/0"])
        assert not address_in_networks("192.0.2.1", [])

    def test_ranges_are_normalised_and_bad_ones_named(self):
        assert networks_clean(["192.0.2.9/24", " 2001:DB8::/32 ", "198.51.100.7", "192.0.2.0/24", ""]) == [
            "192.0.2.0/24",
            "2001:db8::/32",
            "198.51.100.7/32",
        ]
        with pytest.raises(ValidationError) as error:
            networks_clean(["192.0.2.0/24", "300.1.1.1", "school"])
        assert len(error.value.messages) == 2 and "300.1.1.1" in error.value.messages[0]

    @pytest.mark.django_db
    def test_a_schools_ranges_cover_its_own_accounts_only(self, settings, wales, teacher, other_teacher):
        settings.UMP_TRUSTED_PROXIES = [PROXY]
        wales.secondary.trusted_networks = ["192.0.2.0/24"]
        wales.secondary.save()
        inside = request_from(PROXY, "192.0.2.50")
        assert on_trusted_network(teacher, inside)
        assert not on_trusted_network(other_teacher, inside)
        assert not on_trusted_network(teacher, request_from("203.0.113.1", "192.0.2.50"))  # forged
