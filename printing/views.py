"""Print Details / Print With Password (one account, a group, selected learners) and the credential CSVs."""

import io

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import pgettext, pgettext_lazy
from django.views.decorators.http import require_GET, require_POST

from accounts.caching import no_store
from accounts.models import Account
from accounts.permissions import Action, organisations_for, require
from accounts.selectors import group_choices, organisation_from_request
from passwords.forms import GroupForm
from passwords.services import group_members
from printing import selectors, services
from printing.csv_export import pupils_csv, staff_csv
from printing.slips import slips_pdf

LEARNER = Account.Kind.LEARNER
VARIANTS = {"details": False, "with-password": True}


def _variant(variant):
    if variant not in VARIANTS:
        raise Http404
    return VARIANTS[variant]


def _named_organisation(request, action, kind, source):
    """The organisation a print or download names (`org`): credentials never go to a default one (404)."""
    organisation = organisation_from_request(request, action, kinds=(kind,), source=source, fallback=False)
    if organisation is None:
        raise Http404
    return organisation


def _pdf_response(request, accounts, *, with_passwords, filename, title=""):
    language = translation.get_language() or "en"
    slips = selectors.slips_for(accounts, with_passwords=with_passwords, language=language)
    pdf = slips_pdf(
        slips,
        with_passwords=with_passwords,
        language=language,
        sign_in_url=selectors.sign_in_address(),
        title=title,
    )
    return no_store(
        FileResponse(
            # A download, never a page in place of the portal: the reader stays where they were.
            io.BytesIO(pdf),
            content_type="application/pdf",
            as_attachment=True,
            filename=f"{filename}.pdf",
        )
    )


@login_required
@require_POST
def account(request, pk, variant):
    """View Details -> Print -> Print Details / Print With Password."""
    with_passwords = _variant(variant)
    target = get_object_or_404(
        Account.objects.restrict(request.user, Action.VIEW).select_related("organisation"), pk=pk
    )
    require(request.user, Action.PRINT_WITH_PASSWORD if with_passwords else Action.PRINT_DETAILS, target)
    services.print_record(
        actor=request.user,
        accounts=[target],
        organisation=target.organisation,
        with_passwords=with_passwords,
        request=request,
        what="account",
    )
    return _pdf_response(request, [target], with_passwords=with_passwords, filename=slugify(target.username))


@login_required
@require_GET
def group_choose(request):
    """Group Actions -> Print -> Print Registration Group: choose the group."""
    organisation = organisation_from_request(request, Action.PRINT_GROUP, kinds=(LEARNER,))
    choices = group_choices(organisation=organisation)
    return render(
        request,
        "printing/group_choose.html",
        {"organisation": organisation, "groups": choices["reg_groups"], "can_passwords": True},
    )


@login_required
@require_POST
def group(request, variant):
    """The slips of every active learner in a registration group, class or year."""
    with_passwords = _variant(variant)
    organisation = _named_organisation(request, Action.PRINT_GROUP, LEARNER, request.POST)
    form = GroupForm(request.POST, choices=group_choices(organisation=organisation))
    if not form.is_valid():
        raise Http404
    kind, name = form.cleaned_data["group_kind"], form.cleaned_data["group"]
    members = list(group_members(organisation=organisation, group_kind=kind, group=name))
    services.print_record(
        actor=request.user,
        accounts=members,
        organisation=organisation,
        with_passwords=with_passwords,
        request=request,
        what=f"{kind}:{name}",
    )
    return _pdf_response(
        request,
        members,
        with_passwords=with_passwords,
        filename=slugify(f"{organisation.code}-{name}"),
        title=name,
    )


@login_required
@require_POST
def selected(request, variant):
    """Selected Users -> Print Selected / Print Selected (With Password)."""
    with_passwords = _variant(variant)
    try:
        ids = {int(value) for value in request.POST.getlist("accounts")}
    except ValueError as exc:
        raise Http404 from exc
    if not ids:
        # Nothing ticked: say so on the list they came from, not a 404.
        messages.error(request, _("Tick at least one learner, then choose Print Selected."))
        return redirect(_back_to_list(request))
    accounts = list(
        Account.objects.restrict(request.user, Action.VIEW).filter(pk__in=ids).select_related("organisation")
    )
    if len(accounts) != len(ids):
        raise Http404  # an id the actor may not see: never print a partial list silently
    action = Action.PRINT_WITH_PASSWORD if with_passwords else Action.PRINT_DETAILS
    for target in accounts:
        require(request.user, action, target)
    organisations = {a.organisation for a in accounts}
    services.print_record(
        actor=request.user,
        accounts=accounts,
        organisation=organisations.pop() if len(organisations) == 1 else None,
        with_passwords=with_passwords,
        request=request,
        what="selected",
    )
    return _pdf_response(
        request, accounts, with_passwords=with_passwords, filename=pgettext("file name", "selected-learners")
    )


def _back_to_list(request):
    """The page the form was on (this site's own only), else View Learners."""
    back = request.headers.get("referer", "")
    if url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return back
    return reverse("accounts:user_list", args=["learners"])


# Download Passwords -------------------------------------------------------------------------------------------

# The start of a download's file name, in the reader's language.
FILE_NAMES = {"pupils": pgettext_lazy("file name", "pupils"), "staff": pgettext_lazy("file name", "staff")}
DOWNLOADS = {
    # slug: (action, account kind, rows, writer)
    "pupils": (Action.DOWNLOAD_PUPILS_CSV, Account.Kind.LEARNER, selectors.pupil_rows, pupils_csv),
    "staff": (Action.DOWNLOAD_STAFF_CSV, Account.Kind.STAFF, selectors.staff_rows, staff_csv),
}


@login_required
@require_GET
def downloads(request):
    """Administration -> Download Passwords: the files this person may download, per organisation."""
    entries = []
    for slug, (action, _kind, _rows, _writer) in DOWNLOADS.items():
        for organisation in organisations_for(request.user, action).filter(kind="school"):
            entries.append((slug, organisation))
    if not entries:
        require(request.user, Action.DOWNLOAD_PUPILS_CSV, request.user)  # nothing allowed: a 403
    return render(request, "printing/downloads.html", {"entries": entries})


def _download_scope(request, slug, source):
    if slug not in DOWNLOADS:
        raise Http404
    action, kind, rows, writer = DOWNLOADS[slug]
    return _named_organisation(request, action, kind, source), rows, writer


@login_required
@require_GET
def download_warning(request, slug):
    """ "Please note: ..." with Proceed with download / Go Back."""
    organisation, _rows, _writer = _download_scope(request, slug, request.GET)
    return render(request, "printing/download_warning.html", {"slug": slug, "organisation": organisation})


@login_required
@require_POST
def download(request, slug):
    """The CSV itself, streamed; audited; never cached."""
    organisation, rows, writer = _download_scope(request, slug, request.POST)
    ids, data = rows(organisation)
    services.download_record(
        actor=request.user, organisation=organisation, kind=slug, account_ids=ids, request=request
    )
    response = StreamingHttpResponse(writer(data), content_type="text/csv; charset=utf-8")
    stamp = timezone.localdate().isoformat()
    response["Content-Disposition"] = (
        f'attachment; filename="{FILE_NAMES[slug]}-{organisation.code}-{stamp}.csv"'
    )
    return no_store(response)
