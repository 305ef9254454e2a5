"""The sync: reconcile schools' accounts with their MIS extracts.

`plan` decides every change against one reading of a school's accounts, `apply` writes a batch of schools' plans
in one transaction, `rows` is the SQL both use, `changes` what a plan keeps of the accounts it changes, and
`report` what a run returns.
"""

from provisioning.sync.apply import Item, extract_apply, extracts_apply
from provisioning.sync.report import ProvisioningError, Report

__all__ = ["Item", "ProvisioningError", "Report", "extract_apply", "extracts_apply"]
