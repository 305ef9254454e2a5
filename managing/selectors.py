"""Reads the managing-users pages share: what may be added, queued and expiring, and the audit trail."""

from django.core.cache import cache
from django.db.models import Q

from accounts.audit import action_label
from accounts.lifecycle import expiring_soon
from accounts.models import (
    Account,
    AccountRequest,
    AuditEvent,
    AuditEventTarget,
    AuditFailureCount,
    Organisation,
)
from accounts.permissions import Action, Scope, can, organisation_ids_for
from accounts.services import today

K = Account.Kind

# Which account kinds each Add new user page offers, by the kind of organisation it is for.
ADDABLE_KINDS = {
    "governors": {Organisation.Kind.SCHOOL: (K.GOVERNOR,)},
    "non-mis": {
        Organisation.Kind.SCHOOL: (K.SCHOOL_NON_MIS, K.ITE_STUDENT, K.SERVICE),
        Organisation.Kind.ITE_PROVIDER: (K.ITE_STUDENT,),
    },
    "organisation": {
        Organisation.Kind.LOCAL_AUTHORITY: (K.LA_NON_MIS,),
        Organisation.Kind.CONSORTIUM: (K.CONSORTIUM_NON_MIS,),
        Organisation.Kind.NATIONAL: (K.LA_NON_MIS,),
    },
}


def addable_kinds(actor, section, organisation):
    """The kinds of account the actor may ask for on this section's Add new user page."""
    kinds = ADDABLE_KINDS.get(section, {}).get(organisation.kind, ())
    return [kind for kind in kinds if can(actor, Action.CREATE_ACCOUNT, Scope(organisation, kind))]


def likely_duplicates(*, organisation, legal_forename, legal_surname):
    """Active MIS accounts at the organisation with the same legal names (accents and case as typed)."""
    return Account.objects.filter(
        organisation=organisation,
        source=Account.Source.MIS,
        status=Account.Status.ACTIVE,
        legal_forename__iexact=legal_forename.strip(),
        legal_surname__iexact=legal_surname.strip(),
    )


def pending_requests(*, organisation, kinds):
    """Account requests still waiting on the creation queue."""
    return AccountRequest.objects.filter(
        organisation=organisation, kind__in=kinds, status=AccountRequest.Status.QUEUED
    ).order_by("created_at", "pk")


def may_manage_expiring(actor):
    """Whether the actor may keep or close expiring accounts anywhere (no query: roles are cached)."""
    return bool(organisation_ids_for(actor, Action.MANAGE_EXPIRING))


EXPIRING_CACHE_SECONDS = 300  # the banner may lag a new account by this much; Keep and Close refresh it


def expiring_count_cached(request) -> int:
    """expiring_accounts(...).count() for the signed-in person, cached for a few minutes per session.

    In the cache (Redis; the demo's local memory), not the session row: a page that is only read writes nothing.
    """
    on = today()
    key = _expiring_key(request, on)
    count = cache.get(key)
    if count is None:
        count = expiring_accounts(request.user, on=on).count()
        cache.set(key, count, EXPIRING_CACHE_SECONDS)
    return count


def expiring_count_forget(request) -> None:
    """After Keep, Close, Deactivate or Activate the banner counts again on the next page."""
    cache.delete(_expiring_key(request, today()))


def _expiring_key(request, on):
    # Per session (its key is random), so one person's count is never another's, whatever ids a database reuses.
    return f"ump:expiring:{request.session.session_key}:{request.user.pk}:{on.isoformat()}"


def expiring_accounts(actor, *, on):
    """Active non-MIS accounts the actor may keep or close whose expiry falls in the next 8 weeks."""
    return expiring_soon(on).restrict(actor, Action.MANAGE_EXPIRING).exclude(pk=actor.pk)


def audit_events(actor, *, account="", actor_name="", action="", date_from=None, date_to=None):
    """The audit events in the actor's scope, newest first, filtered by account, actor, action and date."""
    events = AuditEvent.objects.filter(organisation_id__in=organisation_ids_for(actor, Action.VIEW_AUDIT))
    if account:
        ids = _account_ids(account)
        events = events.filter(pk__in=AuditEventTarget.objects.filter(account_id__in=ids).values("event_id"))
    if actor_name:
        events = events.filter(actor_id__in=_account_ids(actor_name))
    if action.endswith("."):  # a whole group of actions: "password."
        events = events.filter(action__startswith=action)
    elif action:
        events = events.filter(action=action)
    if date_from:
        events = events.filter(created_at__date__gte=date_from)
    if date_to:
        events = events.filter(created_at__date__lte=date_to)
    return events.select_related("organisation").order_by("-created_at", "-id")


def failure_counts(actor, *, account="", actor_name="", action="", date_from=None, date_to=None):
    """The counted refusals (unauthenticated sources, per action, address and minute), newest first.

    They name no account and no organisation, so they belong to the national audit scope only; a search by
    account or by who did it matches none of them.
    """
    national = organisation_ids_for(actor, Action.VIEW_AUDIT, org_kinds=(Organisation.Kind.NATIONAL,))
    if not national or account or actor_name:
        return AuditFailureCount.objects.none()
    counts = AuditFailureCount.objects.all()
    if action.endswith("."):
        counts = counts.filter(action__startswith=action)
    elif action:
        counts = counts.filter(action=action)
    if date_from:
        counts = counts.filter(minute__date__gte=date_from)
    if date_to:
        counts = counts.filter(minute__date__lte=date_to)
    return counts.order_by("-minute", "action", "client_ip")


def audit_rows(events):
    """Each event with its action's label and its actor's and targets' usernames (ids where gone), in 2 queries."""
    events = list(events)
    targets = {}
    for event_id, account_id in AuditEventTarget.objects.filter(event__in=events).values_list(
        "event_id", "account_id"
    ):
        targets.setdefault(event_id, []).append(account_id)
    ids = {e.actor_id for e in events if e.actor_id} | {pk for pks in targets.values() for pk in pks}
    names = dict(Account.objects.filter(pk__in=ids).values_list("pk", "username"))
    return [
        {
            "event": event,
            "action": action_label(event.action),
            "actor": names.get(event.actor_id, f"#{event.actor_id}") if event.actor_id else "",
            "targets": [names.get(pk, f"#{pk}") for pk in targets.get(event.pk, [])],
        }
        for event in events
    ]


def _account_ids(term):
    """The ids a search term names: an account's username or email, or an opaque id (of a deleted account)."""
    term = term.strip()
    ids = list(
        Account.objects.filter(Q(username__lower_exact=term) | Q(email__lower_exact=term)).values_list(
            "pk", flat=True
        )
    )
    if term.isdigit():
        ids.append(int(term))
    return ids
