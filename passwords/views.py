"""Show password, resets of one account, of one's own password and of a group of learners."""

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.caching import never_stored
from accounts.models import Account
from accounts.permissions import Action, Scope, can, organisations_for, require
from accounts.selectors import by_surname, group_choices, organisation_from_request
from passwords import selectors, services
from passwords.forms import AccountPasswordForm, GroupForm, OwnPasswordForm
from passwords.generators import random_password
from passwords.models import GroupResetJob

LEARNER = Account.Kind.LEARNER


def _account(request, pk, action):
    account = get_object_or_404(
        Account.objects.restrict(request.user, Action.VIEW).select_related("organisation"), pk=pk
    )
    require(request.user, action, account)
    return account


@login_required
@require_POST
@never_stored
def reveal(request, pk):
    """The account's shown password as JSON, fetched only when asked for; audited."""
    account = _account(request, pk, Action.SHOW_PASSWORD)
    password = selectors.shown_password(account)
    if password is None:
        return JsonResponse({"error": _("No password is available. Reset it to show one.")}, status=404)
    services.password_reveal_record(account=account, actor=request.user, request=request)
    return JsonResponse({"password": password})


@login_required
@require_GET
@never_stored
def reset_page(request, pk):
    """Reset Password: type one, or Generate Password, which shows one here without applying it.

    Generate Password is a GET form back to this page (`?generate=1`): the password is drawn on the server and
    filled in where the person can see and note it; nothing changes until they select Update Password.
    """
    account = _account(request, pk, Action.RESET_PASSWORD)
    suggestion = services.password_generate(account=account) if request.GET.get("generate") else None
    form = AccountPasswordForm(account, suggestion=suggestion)
    return render(
        request, "passwords/reset.html", {"account": account, "form": form, "suggestion": suggestion}
    )


@sensitive_post_parameters("new_password1", "new_password2")
@login_required
@require_POST
def reset_chosen(request, pk):
    """Set the password staff typed for the account."""
    account = _account(request, pk, Action.RESET_PASSWORD)
    form = AccountPasswordForm(account, request.POST)
    if not form.is_valid():
        return render(request, "passwords/reset.html", {"account": account, "form": form}, status=400)
    services.password_reset(
        account=account, actor=request.user, new_password=form.cleaned_data["new_password1"], request=request
    )
    messages.success(request, _("The password has been reset. Use Show password to see it."))
    return redirect("accounts:account_detail", pk=account.pk)


@sensitive_post_parameters("old_password", "new_password1", "new_password2")
@login_required
@require_http_methods(["GET", "POST"])
@never_stored
def own_password(request):
    """My Profile -> Reset password. Not for primary learners. Other sessions of the account end."""
    require(request.user, Action.RESET_OWN_PASSWORD, request.user)
    if request.method == "POST":
        form = OwnPasswordForm(request.user, request.POST)
        if form.is_valid():
            services.password_set(
                account=request.user,
                actor=request.user,
                new_password=form.cleaned_data["new_password1"],
                request=request,
                by_owner=True,
            )
            update_session_auth_hash(request, request.user)
            messages.success(
                request, _("Your password has been changed. You have been signed out everywhere else.")
            )
            return redirect("accounts:profile")
        return render(request, "passwords/own_password.html", {"form": form}, status=400)
    # "Generate Password" is a GET form back to this page (?generate=1): a suggestion, saved only when submitted.
    suggestion = random_password() if request.GET.get("generate") else None
    form = OwnPasswordForm(request.user, suggestion=suggestion)
    return render(request, "passwords/own_password.html", {"form": form, "suggestion": suggestion})


# Group reset -----------------------------------------------------------------------------------------------


def _group_organisation(request, source):
    return organisation_from_request(request, Action.RESET_GROUP, kinds=(LEARNER,), source=source)


@login_required
@require_GET
def group_reset_choose(request):
    """Group Actions -> Reset Passwords: choose a registration group, class or year."""
    organisation = _group_organisation(request, request.GET)
    choices = group_choices(organisation=organisation)
    kinds = GroupResetJob.GroupKind
    options = [
        (kinds.REGISTRATION_GROUP, kinds.REGISTRATION_GROUP.label, choices["reg_groups"]),
        (kinds.CLASS, kinds.CLASS.label, choices["classes"]),
        (kinds.YEAR, kinds.YEAR.label, choices["years"]),
    ]
    # Group Actions -> Reset Passwords -> Registration Group / Class / Year names one kind; else all three.
    chosen = [option for option in options if option[0] == request.GET.get("group_kind")]
    options = chosen or options
    return render(request, "passwords/group_choose.html", {"organisation": organisation, "options": options})


@login_required
@require_http_methods(["GET", "POST"])
def group_reset_confirm(request):
    """Show who will get a new password; on POST, start the job and go to its progress page."""
    source = request.POST if request.method == "POST" else request.GET
    organisation = _group_organisation(request, source)
    form = GroupForm(source, choices=group_choices(organisation=organisation))
    if not form.is_valid():
        raise Http404
    kind, group = form.cleaned_data["group_kind"], form.cleaned_data["group"]
    if request.method == "POST":
        job = services.group_reset_start(
            actor=request.user, organisation=organisation, group_kind=kind, group=group, request=request
        )
        return redirect("passwords:group_reset_job", pk=job.pk)
    members = services.group_members(organisation=organisation, group_kind=kind, group=group).order_by(
        *by_surname()
    )
    return render(
        request,
        "passwords/group_confirm.html",
        {
            "organisation": organisation,
            "group_kind": kind,
            "group_kind_label": GroupResetJob.GroupKind(kind).label,
            "group": group,
            "members": members,
        },
    )


def _job(request, pk):
    job = get_object_or_404(GroupResetJob.objects.select_related("organisation"), pk=pk)
    if not organisations_for(request.user, Action.VIEW).filter(pk=job.organisation_id).exists():
        raise Http404
    if not (job.requested_by_id == request.user.pk or _can_group(request.user, job)):
        raise PermissionDenied
    return job


def _can_group(user, job):
    return can(user, Action.RESET_GROUP, Scope(job.organisation, LEARNER))


@login_required
@require_GET
def group_reset_job(request, pk):
    """Progress of a group reset; when finished, print the group's slips."""
    job = _job(request, pk)
    return render(request, "passwords/group_job.html", {"job": job})


@login_required
@require_GET
def group_reset_status(request, pk):
    """The progress row as JSON, polled by the progress page."""
    job = _job(request, pk)
    return JsonResponse(
        {
            "status": job.status,
            "status_label": job.get_status_display(),
            "done": job.done,
            "total": job.total,
            "percent": job.percent,
            "finished": job.is_finished,
            "url": reverse("passwords:group_reset_job", args=[job.pk]),
        }
    )
