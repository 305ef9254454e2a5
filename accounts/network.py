"""Where a request comes from, and whether that is inside an organisation's trusted networks.

The client address is the connecting peer (REMOTE_ADDR) unless that peer is one of the proxies named in
UMP_TRUSTED_PROXIES: only then is X-Forwarded-For read, from the right, skipping the trusted proxies, and the
first address no trusted proxy added is the client. A header sent by anyone else is ignored, so a forged
X-Forwarded-For never makes an address trusted.
"""

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# A school's list stays short enough to read on one page.
MAX_NETWORKS = 50


def client_address(request) -> str | None:
    """The address of the person making `request` (None outside a request or when none is known)."""
    if request is None:
        return None
    peer = _address(request.META.get("REMOTE_ADDR"))
    if peer is None:
        return None
    proxies = _trusted_proxies(tuple(settings.UMP_TRUSTED_PROXIES))
    if not _within(peer, proxies):
        return str(peer)
    hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            break  # a hop no trusted proxy could have written: stop at the last proxy we trust
        if not _within(address, proxies):
            return str(address)
        peer = address
    return str(peer)


def networks_clean(values) -> list[str]:
    """CIDR ranges (IPv4 or IPv6, a bare address meaning itself) normalised, or a ValidationError naming each bad one."""
    cleaned, errors = [], []
    for value in values:
        text = str(value).strip()
        if not text:
            continue
        try:
            network = ipaddress.ip_network(text, strict=False)
        except ValueError:
            errors.append(
                ValidationError(
                    _("%(value)s is not an address range such as 192.0.2.0/24."),
                    code="invalid",
                    params={"value": text},
                )
            )
            continue
        if str(network) not in cleaned:
            cleaned.append(str(network))
    if len(cleaned) > MAX_NETWORKS:
        errors.append(
            ValidationError(_("At most %(limit)s ranges."), code="too_many", params={"limit": MAX_NETWORKS})
        )
    if errors:
        raise ValidationError(errors)
    return cleaned


def validate_networks(value) -> None:
    """Model validator: a list of CIDR strings, each already normalised."""
    if not isinstance(value, list):
        raise ValidationError(_("Enter a list of address ranges."), code="invalid")
    if networks_clean(value) != value:
        raise ValidationError(_("Enter each address range once, in the form 192.0.2.0/24."), code="invalid")


def address_in_networks(address, networks) -> bool:
    """Whether `address` (text) lies in any of `networks` (CIDR strings)."""
    parsed = _address(address)
    return parsed is not None and _within(parsed, _parsed_networks(tuple(networks)))


def on_trusted_network(account, request) -> bool:
    """Whether `request` comes from inside the trusted networks of the account's organisation."""
    return address_in_networks(client_address(request), account.organisation.trusted_networks or [])


def _address(text):
    try:
        address = ipaddress.ip_address((text or "").strip())
    except ValueError:
        return None
    # An IPv4 client reaching an IPv6 socket arrives as ::ffff:a.b.c.d; it is the IPv4 address.
    return address.ipv4_mapped or address if address.version == 6 else address


def _within(address, networks) -> bool:
    return any(address.version == n.version and address in n for n in networks)


@lru_cache(maxsize=1024)
def _parsed_networks(networks):
    return tuple(ipaddress.ip_network(n, strict=False) for n in networks)


@lru_cache(maxsize=8)
def _trusted_proxies(proxies):
    return _parsed_networks(proxies)
