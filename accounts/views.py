"""Signing in, the home page, My Profile and View Users."""

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, render
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
        signin_failure_record(
            account=find_account(form.data.get("username", ""), self.request), request=self.request
        )
        return super().form_invalid(form)


@login_required
@require_GET
def home(request):
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
    rows = [
        {
            "account": account,
            "can_show": can(request.user, Action.SHOW_PASSWORD, account),
            "can_print": can(request.user, Action.PRINT_DETAILS, account),
        }
        for account in page.object_list
    ]
    query = request.GET.copy()
    query.pop("page", None)
    sort_query = query.copy()
    sort_query.pop("sort", None)
    scope = Scope(organisation, kinds[0])
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
            "can_print_group": section == "learners" and can(request.user, Action.PRINT_GROUP, scope),
            "kinds": kinds,
        },
    )


@login_required
@require_GET
def account_detail(request, pk):
    account = get_object_or_404(
        Account.objects.restrict(request.user, Action.VIEW).select_related("organisation"), pk=pk
    )
    return render(
        request,
        "accounts/account_detail.html",
        {
            "account": account,
            "aliases": list(account.email_aliases.values_list("email", flat=True)),
            "can_show": can(request.user, Action.SHOW_PASSWORD, account),
            "can_reset": can(request.user, Action.RESET_PASSWORD, account),
            "can_print": can(request.user, Action.PRINT_DETAILS, account),
            "can_print_password": can(request.user, Action.PRINT_WITH_PASSWORD, account),
            "can_rename": can(request.user, Action.RENAME, account),
            "can_deactivate": can(request.user, Action.DEACTIVATE, account),
        },
    )
