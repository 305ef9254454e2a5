"""Signing in, the home page, My Profile and View Users."""

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_GET

from accounts.backends import find_account
from accounts.forms import SignInForm, UserFilterForm
from accounts.models import Account
from accounts.permissions import Action, Scope, can
from accounts.selectors import (
    SECTIONS,
    SORTS,
    account_list,
    group_choices,
    organisation_from_request,
    section_organisations,
)
from accounts.services import signin_failure_record, signin_success_record

PAGE_SIZE = 50
# What the Manage User and Print menus of View Details offer.
MANAGE_ACTIONS = (
    Action.RESET_PASSWORD,
    Action.RENAME,
    Action.DEACTIVATE,
    Action.REACTIVATE,
    Action.REACTIVATE_EXPIRED,
)
PRINT_ACTIONS = (Action.PRINT_DETAILS, Action.PRINT_WITH_PASSWORD)


class SignInView(auth_views.LoginView):
    """Django's login view, with every success and failure in the audit trail."""

    form_class = SignInForm
    template_name = "accounts/login.html"
    redirect_authenticated_user = True
    # FormView would hand a PUT to post(): a sign-in is a GET for the form and a POST for the attempt, no more.
    http_method_names = ["get", "post", "options"]

    def form_valid(self, form):
        response = super().form_valid(form)
        signin_success_record(account=form.get_user(), request=self.request)
        return response

    def form_invalid(self, form):
        signin_failure_record(account=find_account(form.data.get("username", "")), request=self.request)
        return super().form_invalid(form)


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
    organisations = list(section_organisations(request.user, section))
    choices = (
        group_choices(organisation=organisation) if section == "learners" else {"years": [], "reg_groups": []}
    )
    form = UserFilterForm(request.GET or None, years=choices["years"], reg_groups=choices["reg_groups"])
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
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    # What each row shows, worked out here once rather than by template tags per row (the page's main cost).
    detail_url = reverse("accounts:account_detail", args=[0]).removesuffix("0/")
    rows = [
        {
            "account": account,
            "name": account.get_full_name(),
            "url": f"{detail_url}{account.pk}/",
            "can_show": can(request.user, Action.SHOW_PASSWORD, account),
        }
        for account in page.object_list
    ]
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
            "organisations": organisations if len(organisations) > 1 else [],
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
