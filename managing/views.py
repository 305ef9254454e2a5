"""Managing users: Add new user (the creation queue), Deactivate/Activate, Edit name, expiring accounts, Audit."""

import csv
import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.audit import COUNTED, action_label
from accounts.caching import never_stored
from accounts.lifecycle import needs_new_expiry
from accounts.models import Account, AccountRequest
from accounts.permissions import Action, organisation_ids_for, require
from accounts.selectors import SECTIONS, by_surname, organisation_from_request
from accounts.services import today
from accounts.spreadsheets import safe_cell
from managing.forms import (
    GENERATE_STYLES,
    ActivateForm,
    AddUserForm,
    AuditFilterForm,
    CloseForm,
    KeepForm,
    RenameForm,
)
from managing.selectors import (
    addable_kinds,
    audit_events,
    audit_rows,
    expiring_accounts,
    expiring_count_forget,
    failure_counts,
    may_manage_expiring,
)
from managing.services import (
    account_activate,
    account_deactivate,
    account_expiry_close,
    account_expiry_keep,
    account_rename,
    account_request_submit,
    audit_export_record,
    expiry_for,
    initial_password,
    reactivation_action,
)

AUDIT_PAGE_SIZE = 50
AUDIT_COUNTS_SHOWN = 100  # the latest minutes of counted refusals; the CSV has them all


def _posted(request):
    """The POST data on a POST (even an empty one, which is falsy), else None for an unbound form."""
    return request.POST if request.method == "POST" else None


def _list_url(section, organisation):
    return f"{reverse('accounts:user_list', args=[section])}?org={organisation.code}"


def _add_target(request, section, source=None):
    """The organisation (404 unless the actor may list it) and the kinds they may add there (else 403)."""
    if section not in SECTIONS:
        raise Http404
    _title, section_kinds, org_kinds = SECTIONS[section]
    organisation = organisation_from_request(
        request, Action.VIEW, kinds=section_kinds, org_kinds=org_kinds, source=source
    )
    kinds = addable_kinds(request.user, section, organisation)
    if not kinds:
        raise PermissionDenied
    return organisation, kinds


@login_required
@require_GET
def add_user_warning(request, section):
    """'Are you sure?' before anyone adds an account that the MIS does not maintain."""
    organisation, _kinds = _add_target(request, section)
    return render(
        request,
        "managing/add_warning.html",
        {
            "section": section,
            "organisation": organisation,
            "warning": ADD_WARNINGS.get(section, ADD_WARNINGS["school"]),
            "form_url": f"{reverse('accounts:manage_add', args=[section])}?org={organisation.code}",
            "back_url": _list_url(section, organisation),
        },
    )


# "Are you sure?": a school's staff and learners come from its MIS; an LA or consortium has no MIS of its own.
ADD_WARNINGS = {
    "school": gettext_lazy(
        "Staff and learner accounts will be automatically created based on the information in your school's MIS. "
        "Please only use this feature for users who are not maintained in your MIS."
    ),
    "organisation": gettext_lazy(
        "Staff and learner accounts are created automatically from each school's MIS. Please only use this "
        "feature for people who need an account for their work with your local authority or consortium and "
        "have none from a school."
    ),
}


def _added_message(pending):
    """What Add User did: the account made already (a worker was quick, or tasks run in-process), or queued."""
    pending.refresh_from_db(fields=["status", "account"])
    name = f"{pending.legal_forename} {pending.legal_surname}"
    if pending.status == AccountRequest.Status.DONE and pending.account_id:
        return _("The account for %(name)s has been created. Its username is %(username)s.") % {
            "name": name,
            "username": pending.account.username,
        }
    return _(
        "An account has been requested for %(name)s. It is listed under Accounts being created until it is ready."
    ) % {"name": name}


def _add_form_page(request, section, organisation, form):
    return render(
        request,
        "managing/add_user.html",
        {
            "section": section,
            "organisation": organisation,
            "form": form,
            "back_url": _list_url(section, organisation),
            "generate_urls": {
                style: reverse("accounts:manage_add_generate", args=[section, style])
                for style in GENERATE_STYLES
            },
        },
    )


@sensitive_post_parameters("password")
@login_required
@require_http_methods(["GET", "POST"])
@never_stored
def add_user(request, section):
    """Add new user: the request goes on the creation queue and the list shows it as pending."""
    organisation, kinds = _add_target(request, section)
    form = AddUserForm(_posted(request), organisation=organisation, kinds=kinds)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        pending = account_request_submit(
            actor=request.user,
            organisation=organisation,
            kind=form.kind,
            legal_forename=data["legal_forename"],
            legal_surname=data["legal_surname"],
            password=data["password"],
            expires_on=expiry_for(data["duration"]),
            staff_role=form.role,
            request=request,
            **form.optional_fields(),
        )
        messages.success(request, _added_message(pending))
        return redirect(_list_url(section, organisation))
    return _add_form_page(request, section, organisation, form)


@sensitive_post_parameters("password")
@login_required
@require_POST
@never_stored
def add_user_generate(request, section, style):
    """Generate Learner Password / Generate Password: the form again, as filled in, with a new password in it.

    Nothing is saved: the person sees the password, can copy it, and adds the user with Add User.
    """
    if style not in GENERATE_STYLES:
        raise Http404
    organisation, kinds = _add_target(request, section, source=request.POST)  # the form posts its `org`
    skip = ("password", "csrfmiddlewaretoken", "org")
    initial = {name: value for name, value in request.POST.items() if name not in skip}
    initial["password"] = initial_password(
        style=style,
        legal_forename=request.POST.get("legal_forename", ""),
        legal_surname=request.POST.get("legal_surname", ""),
        organisation=organisation,
    )
    form = AddUserForm(initial=initial, organisation=organisation, kinds=kinds)
    return _add_form_page(request, section, organisation, form)


def _account(request, pk):
    """A visible account (else 404)."""
    return get_object_or_404(
        Account.objects.restrict(request.user, Action.VIEW).select_related("organisation"), pk=pk
    )


def _detail(account):
    return redirect("accounts:account_detail", pk=account.pk)


@login_required
@require_http_methods(["GET", "POST"])
def deactivate(request, pk):
    """'Are you sure you wish to deactivate this account?' Yes ends its sessions at once."""
    account = _account(request, pk)
    require(request.user, Action.DEACTIVATE, account)
    if account.pk == request.user.pk:
        raise PermissionDenied
    if request.method == "POST":
        if account.is_active:
            account_deactivate(account=account, actor=request.user, request=request)
            expiring_count_forget(request)
        messages.success(
            request, _("The account %(username)s has been deactivated.") % {"username": account.username}
        )
        return _detail(account)
    return render(request, "managing/deactivate.html", {"account": account})


@login_required
@require_http_methods(["GET", "POST"])
def activate(request, pk):
    """Activate a deactivated account; an expired one is given a new expiry date."""
    account = _account(request, pk)
    require(request.user, reactivation_action(account), account)
    form = ActivateForm(_posted(request), needs_expiry=needs_new_expiry(account))
    if request.method == "POST" and form.is_valid():
        duration = form.cleaned_data.get("duration")
        try:
            account_activate(
                account=account,
                actor=request.user,
                request=request,
                expires_on=expiry_for(duration) if duration else None,
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            expiring_count_forget(request)
            messages.success(
                request, _("The account %(username)s is active again.") % {"username": account.username}
            )
            return _detail(account)
    return render(request, "managing/activate.html", {"account": account, "form": form})


@login_required
@require_http_methods(["GET", "POST"])
def rename(request, pk):
    """Edit name: names, display name and optionally a new username (new email, old one kept as an alias)."""
    account = _account(request, pk)
    require(request.user, Action.RENAME, account)
    initial = {
        "legal_forename": account.legal_forename,
        "legal_surname": account.legal_surname,
        "display_name": account.display_name,
    }
    form = RenameForm(_posted(request), initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            account_rename(account=account, actor=request.user, request=request, **data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            if data["new_username"]:
                messages.success(
                    request,
                    _(
                        "The new username is %(username)s. A new password has been set: use Show password to read it."
                    )
                    % {"username": account.username},
                )
            else:
                messages.success(request, _("The names have been updated."))
            return _detail(account)
    return render(request, "managing/rename.html", {"account": account, "form": form})


@login_required
@require_GET
def expiring(request):
    """Manage Expiring Accounts: non-MIS accounts whose expiry falls in the next 8 weeks."""
    if not may_manage_expiring(request.user):
        raise PermissionDenied
    accounts = (
        expiring_accounts(request.user, on=today())
        .select_related("organisation")
        .order_by("expires_on", *by_surname())
    )
    return render(
        request,
        "managing/expiring.html",
        {"accounts": accounts, "keep_form": KeepForm(), "close_form": CloseForm()},
    )


def _expiring_account(request, pk):
    account = _account(request, pk)
    require(request.user, Action.MANAGE_EXPIRING, account)
    return account


@login_required
@require_POST
def expiring_keep(request, pk):
    """Keep an expiring account for longer."""
    account = _expiring_account(request, pk)
    form = KeepForm(request.POST)
    if form.is_valid():
        account_expiry_keep(
            account=account, actor=request.user, keep_for=form.cleaned_data["keep_for"], request=request
        )
        expiring_count_forget(request)
        messages.success(
            request,
            _("%(username)s is kept until %(date)s.")
            % {"username": account.username, "date": account.expires_on.strftime("%d/%m/%Y")},
        )
    else:
        messages.error(request, _("Choose how long to keep the account."))
    return redirect("accounts:manage_expiring")


@login_required
@require_POST
def expiring_close(request, pk):
    """Close an expiring account now, or at its expiry date."""
    account = _expiring_account(request, pk)
    form = CloseForm(request.POST)
    if form.is_valid():
        account_expiry_close(
            account=account, actor=request.user, when=form.cleaned_data["when"], request=request
        )
        expiring_count_forget(request)
        messages.success(
            request, _("Your choice for %(username)s has been saved.") % {"username": account.username}
        )
    else:
        messages.error(request, _("Choose when to close the account."))
    return redirect("accounts:manage_expiring")


def _audit_filters(request, data):
    if not organisation_ids_for(request.user, Action.VIEW_AUDIT):
        raise PermissionDenied
    form = AuditFilterForm(data or None)
    filters = form.cleaned_data if form.is_valid() else {}
    events = audit_events(request.user, **_audit_search(filters))
    return form, filters, events


def _audit_search(filters):
    return {
        "account": filters.get("account", ""),
        "actor_name": filters.get("actor", ""),
        "action": filters.get("action", ""),
        "date_from": filters.get("date_from"),
        "date_to": filters.get("date_to"),
    }


@login_required
@require_GET
def audit(request):
    """The audit trail of the actor's organisations: searchable, paginated and read-only.

    Below the events, for a national auditor, the latest counted refusals of unauthenticated sources.
    """
    form, filters, events = _audit_filters(request, request.GET)
    page = Paginator(events, AUDIT_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    counts = failure_counts(request.user, **_audit_search(filters))
    context = {
        "form": form,
        "page": page,
        "rows": audit_rows(page.object_list),
        "query": query.urlencode(),
        "counts": [(c, action_label(c.action)) for c in counts[:AUDIT_COUNTS_SHOWN]],
        "counts_shown": AUDIT_COUNTS_SHOWN,
    }
    return render(request, "managing/audit.html", context)


CSV_COLUMNS = (
    gettext_lazy("Time"),
    gettext_lazy("Action"),
    gettext_lazy("Outcome"),
    gettext_lazy("Done by"),
    gettext_lazy("Accounts"),
    gettext_lazy("Organisation"),
    gettext_lazy("Client address"),
    gettext_lazy("Details"),
    gettext_lazy("Action code"),
)


@login_required
@require_POST
def audit_export(request):
    """The filtered audit trail as CSV (a POST because the download itself is audited)."""
    _form, filters, events = _audit_filters(request, request.POST)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    name = pgettext("file name", "audit")
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    writer = csv.writer(response)
    writer.writerow([str(column) for column in CSV_COLUMNS])
    count = 0
    events = events[:50000]
    for start in range(0, 50000, 2000):
        rows = audit_rows(events[start : start + 2000])
        if not rows:
            break
        for row in rows:
            event = row["event"]
            writer.writerow([safe_cell(value) for value in (
                event.created_at.isoformat(timespec="seconds"), row["action"], event.outcome, row["actor"],
                " ".join(row["targets"]), event.organisation.code if event.organisation else "",
                event.client_ip or "", json.dumps(event.details, ensure_ascii=False, sort_keys=True),
                event.action,
            )])  # fmt: skip
            count += 1
    # then the counted refusals of unauthenticated sources: a row per action, address and minute
    for counted in failure_counts(request.user, **_audit_search(filters))[:50000].iterator(chunk_size=2000):
        writer.writerow([safe_cell(value) for value in (
            counted.minute.isoformat(timespec="seconds"), action_label(counted.action), COUNTED.get(counted.action, ""),
            "", "", "", counted.client_ip, json.dumps({"count": counted.count}), counted.action,
        )])  # fmt: skip
        count += 1
    audit_export_record(actor=request.user, rows=count, filters=filters, request=request)
    return response
