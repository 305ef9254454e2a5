"""Which extract of a school comes after which: provisioning never goes back in time.

A run is applied only if no newer extract of its school, of the kinds it lists, has been applied; otherwise it is
superseded and changes nothing. "Newer" is judged by upload time (`created_at`, then id), except for a OneRoster
delta whose rows carry their change times: an applied extract whose latest change (`changed_at`, the latest
dateLastModified of its rows) is as late as the delta's holds every change the delta makes, so the delta is
superseded even if it was uploaded later. A full list is always judged by upload time: a person deleted from it
leaves no row and no time behind, so its latest dateLastModified can be older than the list is. An MIS CSV export
and a OneRoster 1.1 manifest carry no time of their own.

A delta applies in order after the extract it follows. Its **predecessor** is the school's run received just
before it (by upload time, then id), leaving out superseded runs (a newer extract replaced them) and MIS CSV
exports (one kind, not part of a OneRoster chain). The delta applies when its predecessor has been applied; waits
(stays queued) while its predecessor is queued or running; and is held, not guessed, when there is a gap: no
predecessor at all (a delta with no bulk before it), or one held, failed, rejected or expired. A Digital Champion
may approve a held delta regardless; it is still superseded if a newer extract was applied meanwhile.

The newer-extract check is made when a run's extract has been read, and again inside the apply transaction once
the school is locked (provisioning.runs._run_gate), so that a run overtaken in between is superseded too.
"""

from dataclasses import dataclass

from django.db.models import Q

from provisioning.models import ProvisioningRun

Status = ProvisioningRun.Status


@dataclass(frozen=True)
class Decision:
    """What to do with a read run: apply it, or supersede it, let it wait, or hold it for a gap."""

    superseded_by: ProvisioningRun | None = None
    wait: bool = False
    gap: bool = False


APPLY = Decision()


def run_decide(run: ProvisioningRun, *, approve: bool = False) -> Decision:
    """Decide a run whose extract has been read (its kinds, full and changed_at set, not yet saved)."""
    if newer := run_newer_applied(run):
        return Decision(superseded_by=newer)
    if run.full or approve:
        return APPLY
    previous = delta_predecessor(run)
    if previous is not None and previous.status == Status.APPLIED:
        return APPLY
    if previous is not None and previous.status in (Status.QUEUED, Status.RUNNING):
        return Decision(wait=True)
    return Decision(gap=True)


def run_newer_applied(run: ProvisioningRun) -> ProvisioningRun | None:
    """The newest applied run of the school that lists every kind this one does and is newer than it, if any."""
    if not run.kinds:
        return None
    applied = ProvisioningRun.objects.filter(
        organisation_id=run.organisation_id, status=Status.APPLIED
    ).exclude(pk=run.pk)
    for kind in run.kinds.split(","):
        applied = applied.filter(kinds__contains=kind)
    return applied.filter(_newer_than(run)).order_by("-created_at", "-id").first()


def delta_predecessor(run: ProvisioningRun) -> ProvisioningRun | None:
    """The run a delta follows (see the module's docstring)."""
    return (
        ProvisioningRun.objects.filter(organisation_id=run.organisation_id)
        .filter(Q(created_at__lt=run.created_at) | Q(created_at=run.created_at, pk__lt=run.pk))
        .exclude(status=Status.SUPERSEDED)
        .exclude(format="mis-csv")
        .order_by("-created_at", "-id")
        .first()
    )


def _newer_than(run: ProvisioningRun) -> Q:
    uploaded_later = Q(created_at__gt=run.created_at) | Q(created_at=run.created_at, pk__gt=run.pk)
    if run.full or run.changed_at is None:
        return uploaded_later
    return Q(changed_at__gte=run.changed_at) | (Q(changed_at__isnull=True) & uploaded_later)
