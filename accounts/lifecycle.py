"""The account lifecycle: which accounts expire, fall idle or are deleted today, and the sweep that does it.

Rules (Hwb's, as the portal applies them; `today` is the local date of the run):
- Expiry: an active non-MIS account (or governor) created by hand is deactivated (reason "expired") once its
  expiry date has passed: `expires_on` is the last day it may be used, so the day after it is closed.
- Inactivity: an active non-MIS account (or governor) with no sign-in for 90 days is deactivated (reason
  "inactive"); it can be reactivated and keeps its expiry date. The clock starts at the latest of its last
  sign-in, its creation and its last (re)activation. Hwb administrators are exempt: they reactivate others.
- Leavers: an MIS account deactivated as a leaver is deleted once 12 calendar months have passed since its
  leaving date (or, without one, since it was deactivated), unless it was reactivated in between. A leaving
  date of 29 February is deleted on 1 March of the next year. Deletion cascades to the sealed password;
  the audit trail keeps only the opaque account id.
"""

import calendar
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db import transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from accounts.audit import AuditAction, audit_record
from accounts.models import NON_MIS_KINDS, Account, ExpiryDecision, Organisation, RoleGrant
from accounts.services import account_sessions_end, today

INACTIVITY_DAYS = 90
LEAVER_RETENTION_MONTHS = 12
EXPIRY_WARNING_DAYS = 56  # the banner's "next 8 weeks"
MANAGED_KINDS = (*NON_MIS_KINDS, Account.Kind.GOVERNOR)


def add_months(day: date, months: int) -> date:
    """The same day `months` calendar months later (or earlier), clamped to the end of a shorter month."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def needs_new_expiry(account, *, on: date | None = None) -> bool:
    """Closed as expired, or past its last day: such an account is active again only with a new expiry date."""
    on = on or today()
    return account.status_reason == Account.StatusReason.EXPIRED or (
        account.expires_on is not None and account.expires_on < on
    )


def managed_accounts():
    """Accounts a school or LA manages by hand (they are not in any MIS)."""
    return Account.objects.filter(source=Account.Source.MANUAL, kind__in=MANAGED_KINDS)


def due_to_expire(on: date):
    return managed_accounts().filter(status=Account.Status.ACTIVE, expires_on__lt=on)


def due_for_inactivity(on: date):
    start_of_day = timezone.make_aware(datetime.combine(on, time.min))
    cutoff = start_of_day - timedelta(days=INACTIVITY_DAYS)
    admins = RoleGrant.objects.filter(role=RoleGrant.Role.HWB_ADMIN).values("account_id")
    return (
        managed_accounts()
        .filter(status=Account.Status.ACTIVE)
        .exclude(pk__in=admins)
        .alias(last_seen=Greatest(Coalesce(F("last_login"), F("created_at")), F("status_changed_at")))
        .filter(last_seen__lt=cutoff)
    )


def due_for_deletion(on: date):
    cutoff = add_months(on, -LEAVER_RETENTION_MONTHS)
    cutoff_end = timezone.make_aware(datetime.combine(cutoff + timedelta(days=1), time.min))
    return Account.objects.filter(
        Q(leaving_date__lte=cutoff) | Q(leaving_date__isnull=True, deactivated_at__lt=cutoff_end),
        source=Account.Source.MIS,
        status=Account.Status.DEACTIVATED,
        status_reason=Account.StatusReason.LEAVER,
    )


def expiring_soon(on: date):
    """Active managed accounts whose expiry falls in the next 8 weeks and nobody has yet decided about."""
    return (
        managed_accounts()
        .filter(
            status=Account.Status.ACTIVE,
            expires_on__gte=on,
            expires_on__lte=on + timedelta(days=EXPIRY_WARNING_DAYS),
        )
        .exclude(pk__in=_closing_at_expiry())
    )


def _closing_at_expiry():
    return ExpiryDecision.objects.filter(account__expires_on=F("expires_on")).values("account_id")


@dataclass
class SweepReport:
    """What a sweep did (or, in a dry run, would do): account ids per rule."""

    on: date
    dry_run: bool
    expired: list[int] = field(default_factory=list)
    inactive: list[int] = field(default_factory=list)
    deleted: list[int] = field(default_factory=list)
    sessions_ended: int = 0

    @property
    def total(self):
        return len(self.expired) + len(self.inactive) + len(self.deleted)


def _by_organisation(rows):
    """(organisation, [account ids]) pairs, so each school's audit page shows its own events."""
    grouped = {}
    for pk, org_id in rows:
        grouped.setdefault(org_id, []).append(pk)
    organisations = Organisation.objects.in_bulk(list(grouped))
    return [(organisations[org_id], ids) for org_id, ids in grouped.items()]


def _deactivate(queryset, *, reason, action):
    rows = list(queryset.order_by("pk").values_list("pk", "organisation_id"))
    if not rows:
        return []
    now = timezone.now()
    ids = [pk for pk, _org in rows]
    Account.objects.filter(pk__in=ids, status=Account.Status.ACTIVE).update(
        status=Account.Status.DEACTIVATED,
        status_reason=reason,
        status_changed_at=now,
        deactivated_at=now,
        updated_at=now,
    )
    for organisation, org_ids in _by_organisation(rows):
        audit_record(actor=None, action=action, targets=org_ids, organisation=organisation)
    return ids


def _delete(queryset):
    rows = list(queryset.order_by("pk").values_list("pk", "organisation_id"))
    if not rows:
        return []
    ids = [pk for pk, _org in rows]
    for organisation, org_ids in _by_organisation(rows):
        # Only ids: once the rows are gone, nothing in the audit trail names these people.
        audit_record(
            actor=None, action=AuditAction.LIFECYCLE_DELETE_LEAVER, targets=org_ids, organisation=organisation
        )
    Account.objects.filter(pk__in=ids).delete()
    return ids


def lifecycle_sweep(*, on: date | None = None, dry_run: bool = False) -> SweepReport:
    """Apply the three rules for `on` (default today); a dry run reports the same ids and changes nothing."""
    on = on or today()
    report = SweepReport(on=on, dry_run=dry_run)
    if dry_run:
        report.expired = list(due_to_expire(on).order_by("pk").values_list("pk", flat=True))
        expired = set(report.expired)
        report.inactive = [
            pk
            for pk in due_for_inactivity(on).order_by("pk").values_list("pk", flat=True)
            if pk not in expired
        ]
        report.deleted = list(due_for_deletion(on).order_by("pk").values_list("pk", flat=True))
        return report
    with transaction.atomic():
        report.expired = _deactivate(
            due_to_expire(on).select_for_update(),
            reason=Account.StatusReason.EXPIRED,
            action=AuditAction.LIFECYCLE_EXPIRE,
        )
        report.inactive = _deactivate(
            due_for_inactivity(on).select_for_update(),
            reason=Account.StatusReason.INACTIVE,
            action=AuditAction.LIFECYCLE_INACTIVE,
        )
        report.deleted = _delete(due_for_deletion(on).select_for_update())
        report.sessions_ended = account_sessions_end(account_ids=report.expired + report.inactive)
    return report
