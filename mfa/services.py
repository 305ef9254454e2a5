"""Every write of multi-factor sign-in: trusted networks, factors, recovery codes, set-up codes, on/off, reset."""

from django.db import transaction

from accounts.audit import AuditAction, audit_record
from accounts.network import networks_clean


@transaction.atomic
def organisation_networks_set(*, organisation, networks, actor, request=None):
    """Replace an organisation's trusted address ranges (CIDR); audited with the ranges (they are no secret)."""
    before = list(organisation.trusted_networks or [])
    organisation.trusted_networks = networks_clean(networks)
    organisation.full_clean()
    organisation.save(update_fields=["trusted_networks"])
    audit_record(
        actor=actor,
        action=AuditAction.ORGANISATION_NETWORKS,
        organisation=organisation,
        request=request,
        details={"before": before, "after": organisation.trusted_networks},
    )
    return organisation
