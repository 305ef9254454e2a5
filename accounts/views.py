"""Signing in, the home page, My Profile and View Users."""

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.utils.module_loading import import_string
from django.views.decorators.http import require_GET

from accounts.audit import AuditAction, audit_count
from accounts.backends import find_account
from accounts.forms import SignInForm, UserFilterForm
from accounts.guard import address_check, address_failure_record
from accounts.models import Account
from accounts.paging import page_of
from accounts.permissions import Action, Scope, can
from accounts.selectors import (
    SECTIONS,
    SORTS,
    account_list,
    list_filter_choices,
    organisation_from_request,
    section_organisation_ids,
    section_organisations,
    user_list_rows,
)
from accounts.services import signin_complete, signin_failure_record

PAGE_SIZE = 50
# What the Manage User and Print menus of View Details offer.
MANAGE_ACTIONS = (
    Action.RESET_PASSWORD,
    Action.RENAME,
    Action.DEACTIVATE,
    Action.REACTIVATE,
    Action.REACTIVATE_EXPIRED,
    Action.MFA_TOGGLE,
    Action.MFA_RESET,
    Action.MFA_SETUP_CODE,
)
PRINT_ACTIONS = (Action.PRINT_DETAILS, Action.PRINT_WITH_PASSWORD)


class SignInView(auth_views.LoginView):
    """Django's login view, with every success and failure in the audit trail.

    A right password is not yet a sign-in: each of the callables named in UMP_SIGNIN_STEPS (a feature app's,
    such as the second step of multi-factor sign-in) may answer instead, and then the session starts only
    when that step is passed. Otherwise the person is signed in with the password alone (amr ["pwd"]).
    """

    form_class = SignInForm
    template_name = "accounts/login.html"
    redirect_authenticated_user = True
    # FormView would hand a PUT to post(): a sign-in is a GET for the form and a POST for the attempt, no more.
    http_method_names = ["get", "post", "options"]

    def dispatch(self, request, *args, **kwargs):
        # ?reauth=1: a service the person is going to (OpenID Connect prompt=login, max_age) wants a fresh
        # sign-in, so the form is shown to someone signed in already, not skipped.
        self.redirect_authenticated_user = "reauth" not in request.GET
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["again"] = "reauth" in self.request.GET
        return context

    def form_valid(self, form):
        account = form.get_user()
        for step in settings.UMP_SIGNIN_STEPS:
            response = import_string(step)(
                request=self.request, account=account, next_url=self.get_redirect_url()
            )
            if response is not None:
                return response
        signin_complete(request=self.request, account=account, methods=["pwd"])
        return HttpResponseRedirect(self.get_success_url())

    def post(self, request, *args, **kwargs):
        verdict = address_check(request)
        if not verdict.allowed:
            return address_held(request, verdict)
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        identifier = form.data.get("username", "")
        account = find_account(identifier, self.request)
        address_failure_record(request=self.request, account=account, identifier=identifier)
        signin_failure_record(account=account, request=self.request)
        return super().form_invalid(form)


def address_held(request, verdict):
    """The page for an attempt the spraying guard refuses (before any password is checked); counted, not logged."""
    audit_count(action=AuditAction.SIGNIN_ADDRESS_HELD, request=request)
    response = render(
        request,
        "accounts/address_held.html",
        {
            "held": verdict.held,
            "minutes": max(1, (verdict.retry_after + 59) // 60),
            "seconds": verdict.retry_after,
        },
        status=429,
    )
    response["Retry-After"] = str(verdict.retry_after)
    return response


@login_required
@require_GET
def home(request):
    """The home page; for school staff, the School Administrator Dashboard."""
    return render(request, "accounts/home.html", {"organisation": request.user.organisation})


@login_required
@require_GET
def profile(request):
    return render(request, "accounts/profile.html", {"account": request.user})


@login_required
@require_GET
def user_list(request, section):
    if section not in SECTIONS:
        raise Http404
    title, kinds, org_kinds = SECTIONS[section]
    organisation = organisation_from_request(request, Action.VIEW, kinds=kinds, org_kinds=org_kinds)
    # The organisation picker is drawn only when there is more than one to pick: most people have one.
    organisations = (
        list(section_organisations(request.user, section))
        if len(section_organisation_ids(request.user, section)) > 1
        else []
    )
    choices = (
        list_filter_choices(organisation=organisation)
        if section == "learners"
        else {"years": [], "reg_groups": []}
    )
    form = UserFilterForm(
        request.GET or None, years=choices["years"], reg_groups=choices["reg_groups"], section=section
    )
    filters = form.cleaned_data if form.is_valid() else {}
    sort = request.GET.get("sort", "surname")
    if sort.lstrip("-") not in SORTS:
        sort = "surname"
    queryset = account_list(
        actor=request.user,
        section=section,
        organisation=organisation,
        search=filters.get("q", ""),
        active=filters.get("active", ""),
        year=filters.get("year", ""),
        reg_group=filters.get("reg", ""),
        sort=sort,
    )
    page = page_of(queryset, request.GET.get("page"), PAGE_SIZE)
    rows = user_list_rows(actor=request.user, organisation=organisation, accounts=page.object_list)
    query = request.GET.copy()
    query.pop("page", None)
    sort_query = query.copy()
    sort_query.pop("sort", None)
    scope = Scope(organisation, kinds[0])
    can_print_group = section == "learners" and can(request.user, Action.PRINT_GROUP, scope)
    return render(
        request,
        "accounts/user_list.html",
        {
            "section": section,
            "title": title,
            "organisation": organisation,
            "organisations": organisations,
            "form": form,
            "filters": {
                "active": filters.get("active", ""),
                "year": filters.get("year", ""),
                "reg": filters.get("reg", ""),
            },
            "page": page,
            "rows": rows,
            "sort": sort,
            "query": query.urlencode(),
            "sort_query": sort_query.urlencode(),
            "scope": scope,
            "can_create": can(request.user, Action.CREATE_ACCOUNT, scope),
            "can_group": section == "learners" and can(request.user, Action.RESET_GROUP, scope),
            "can_print_group": can_print_group,
            "selectable": can_print_group,
            "kinds": kinds,
        },
    )


@login_required
@require_GET
def account_detail(request, pk):
    account = get_object_or_404(
        Account.objects.restrict(request.user, Action.VIEW).select_related("organisation"), pk=pk
    )
    may = {action: can(request.user, action, account) for action in MANAGE_ACTIONS + PRINT_ACTIONS}
    return render(
        request,
        "accounts/account_detail.html",
        {
            "account": account,
            "aliases": list(account.email_aliases.values_list("email", flat=True)),
            "can_show": can(request.user, Action.SHOW_PASSWORD, account),
            "can_reset": may[Action.RESET_PASSWORD],
            "can_print": may[Action.PRINT_DETAILS],
            "can_print_password": may[Action.PRINT_WITH_PASSWORD],
            "can_rename": may[Action.RENAME],
            "can_deactivate": may[Action.DEACTIVATE],
            # The Manage User and Print menus are drawn only when they hold something.
            "can_manage": any(may[action] for action in MANAGE_ACTIONS),
            "can_print_any": any(may[action] for action in PRINT_ACTIONS),
        },
    )
