"""The Provisioning page for Digital Champions and Hwb administrators, and the Provisioning Client's API."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import Organisation
from accounts.permissions import Action, Scope, require
from accounts.selectors import organisation_from_request
from provisioning.models import ProvisioningRun
from provisioning.readers import Problem
from provisioning.records import refusal_message
from provisioning.runs import (
    MAX_EXTRACT_BYTES,
    ExtractTooLarge,
    UploadLimitReached,
    run_approve,
    run_create,
    run_reject,
    upload_refuse,
)
from provisioning.selectors import (
    chart_series,
    notices_pending,
    provisioning_schools,
    runs_visible,
    upload_retry_after,
)
from provisioning.services import notice_decide, token_authenticate, token_refuse
from provisioning.sync import ProvisioningError

RECENT = 20


@require_GET
@login_required
def page(request):
    """Recent runs with counts, held runs to decide, pending name-change notices, a chart."""
    schools = _schools_or_403(request.user)
    # without ?org= the page is for all their schools (or the only one)
    school = organisation_from_request(
        request, Action.MANAGE_PROVISIONING, org_kinds=(Organisation.Kind.SCHOOL,), fallback=False
    )
    if school is None and schools.count() == 1:
        school = schools.first()
    runs = runs_visible(request.user)
    if school is not None:
        runs = runs.filter(organisation=school)
    recent = list(runs[:RECENT])
    held = list(runs.filter(status=ProvisioningRun.Status.HELD)[:RECENT])
    notices = list(notices_pending(request.user, school)[:100])
    return render(
        request,
        "provisioning/page.html",
        {
            "schools": schools if schools.count() > 1 else None,
            "school": school,
            "runs": recent,
            "held": held,
            "notices": notices,
            "chart": chart_series([r for r in recent if r.status == ProvisioningRun.Status.APPLIED][:10]),
        },
    )


@require_GET
@login_required
def run_detail(request, pk):
    run = _visible_run(request, pk)
    refused = _refused_rows(run)
    context = {
        "run": run,
        "refused_rows": refused,
        "refused_fields": any(r.get("field") for r in refused),
        "held_days": settings.UMP_PROVISIONING_HELD_DAYS,
    }
    return render(request, "provisioning/run_detail.html", context)


@require_http_methods(["GET", "POST"])
@login_required
def run_approve_view(request, pk):
    """Confirm, then apply a held run."""
    return _decide_held_run(request, pk, approve=True)


@require_http_methods(["GET", "POST"])
@login_required
def run_reject_view(request, pk):
    """Confirm, then discard a held run."""
    return _decide_held_run(request, pk, approve=False)


@require_POST
@login_required
def notice_accept(request, pk):
    notice = _visible_notice(request, pk)
    notice_decide(notice=notice, actor=request.user, accept=True)
    messages.success(request, _("The legal names now match the MIS. The username is unchanged."))
    return redirect(reverse("provisioning:page") + f"?org={notice.organisation.code}")


@require_POST
@login_required
def notice_dismiss(request, pk):
    notice = _visible_notice(request, pk)
    notice_decide(notice=notice, actor=request.user, accept=False)
    messages.success(request, _("The notice was dismissed."))
    return redirect(reverse("provisioning:page") + f"?org={notice.organisation.code}")


# ---------------------------------------------------------------- API


@csrf_exempt  # a bearer token, never a cookie: there is no session to forge
@require_POST
def api_extract_upload(request):
    """Queue an extract for the token's school; the response gives the run and where to read its status."""
    school = _bearer(request)
    if school is None:
        return _unauthorised(request)  # before the limit: a wrong token never counts against a school
    # before the body is read: a school over its limit costs the portal one query
    if retry_after := upload_retry_after(school):
        return _rate_limited(request, school, retry_after)
    fmt = request.GET.get("format", "auto")
    if fmt not in ("auto", "mis-csv", "oneroster"):
        return JsonResponse({"error": "bad_format"}, status=400)
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_EXTRACT_BYTES:
        return _too_large()
    if request.content_type == "multipart/form-data":
        upload = request.FILES.get("file")
        if upload is None:
            return JsonResponse({"error": "no_file"}, status=400)
        data, empty = upload, not upload.size
    else:
        # the request itself is the file: read as a stream, never whole, so no in-memory limit applies
        data, empty = request, not length
    if empty:
        return JsonResponse({"error": "empty"}, status=400)
    try:
        run = run_create(
            organisation=school,
            data=data,
            source=ProvisioningRun.Source.API,
            fmt=fmt,
            max_bytes=MAX_EXTRACT_BYTES,
            limit_uploads=True,
            request=request,
        )
    except ExtractTooLarge:
        return _too_large()
    except UploadLimitReached as exc:  # another upload for the school was recorded while this one arrived
        return _rate_limited(request, school, exc.retry_after)
    return JsonResponse(_run_json(request, run), status=202)


@require_GET
def api_run_status(request, pk):
    """A run's status and report, for the school whose token asks."""
    school = _bearer(request)
    if school is None:
        return _unauthorised(request)
    run = ProvisioningRun.objects.filter(organisation=school, pk=pk).select_related("organisation").first()
    if run is None:
        raise Http404
    return JsonResponse(_run_json(request, run), json_dumps_params={"ensure_ascii": False})


# ---------------------------------------------------------------- helpers


def _schools_or_403(user):
    schools = provisioning_schools(user)
    if not schools.exists():
        raise PermissionDenied
    return schools


def _refused_rows(run):
    return [
        {**item, "message": refusal_message(item["reason"], item.get("detail", ""))}
        for item in run.refused_rows
    ]


def _visible_run(request, pk):
    _schools_or_403(request.user)
    return get_object_or_404(runs_visible(request.user), pk=pk)


def _decide_held_run(request, pk, *, approve):
    """Confirm, then apply (approve) or discard (reject) a held run."""
    run = _visible_run(request, pk)
    require(request.user, Action.MANAGE_PROVISIONING, Scope(run.organisation))
    if run.status != ProvisioningRun.Status.HELD:
        messages.error(request, _("This run is no longer waiting for approval."))
        return redirect("provisioning:run_detail", pk=run.pk)
    if request.method == "POST":
        try:
            if approve:
                run_approve(run=run, actor=request.user)
            else:
                run_reject(run=run, actor=request.user)
        except ProvisioningError:
            messages.error(request, _("This run is no longer waiting for approval."))
        else:
            run.refresh_from_db(fields=["status"])
            if run.status == ProvisioningRun.Status.SUPERSEDED:
                messages.error(
                    request,
                    _(
                        "A newer extract of this school has already been applied, so this one was not. Nothing was changed."
                    ),
                )
            else:
                messages.success(
                    request,
                    _("The run was approved and applied.")
                    if approve
                    else _("The run was rejected. Nothing was changed."),
                )
        return redirect("provisioning:run_detail", pk=run.pk)
    return render(request, "provisioning/confirm.html", {"run": run, "approve": approve})


def _visible_notice(request, pk):
    _schools_or_403(request.user)
    notice = get_object_or_404(notices_pending(request.user), pk=pk)
    require(request.user, Action.MANAGE_PROVISIONING, Scope(notice.organisation))
    return notice


def _bearer(request):
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _sep, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token_authenticate(token.strip())


def _unauthorised(request):
    token_refuse(request=request)
    response = JsonResponse({"error": "invalid_token"}, status=401)
    response["WWW-Authenticate"] = 'Bearer realm="ump", error="invalid_token"'
    return response


def _error(code, message, status):
    return JsonResponse(
        {"error": code, "message": message}, status=status, json_dumps_params={"ensure_ascii": False}
    )


def _too_large():
    return _error(
        Problem.ZIP_TOO_LARGE.value,
        _("The extract is larger than %(mb)s MB, the most the portal accepts. It was not kept.")
        % {"mb": MAX_EXTRACT_BYTES // (1024 * 1024)},
        413,
    )


def _rate_limited(request, school, retry_after):
    limit = settings.UMP_PROVISIONING_UPLOADS_PER_HOUR
    minutes = -(-retry_after // 60)
    upload_refuse(organisation=school, request=request, retry_after=retry_after)
    message = ngettext(
        "This school has reached its hourly upload limit (%(limit)s). Try again in %(minutes)s minute.",
        "This school has reached its hourly upload limit (%(limit)s). Try again in %(minutes)s minutes.",
        minutes,
    ) % {"limit": limit, "minutes": minutes}
    response = _error("rate_limited", message, 429)
    response["Retry-After"] = str(retry_after)
    return response


def _run_json(request, run):
    data = {
        "run": run.pk,
        "school": run.organisation.code,
        "status": run.status,
        "hold_reason": run.hold_reason,
        **run.counts,
        "refused_rows": [
            {
                "row": r["row"],
                "reason": r["reason"],
                **({"field": r["field"]} if r.get("field") else {}),
                "message": str(r["message"]),
            }
            for r in _refused_rows(run)
        ],
        "status_url": request.build_absolute_uri(reverse("provisioning:api_run", args=[run.pk])),
    }
    if run.superseded_by_id:
        data["superseded_by"] = run.superseded_by_id
    if run.error_code:
        data["error"] = run.error_code
        data["error_message"] = str(run.error_message)
    return data
