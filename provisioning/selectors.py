"""Reads the Provisioning page and the API share."""

import math
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from accounts.models import Organisation
from accounts.permissions import Action, organisations_for
from provisioning.models import NameChangeNotice, ProvisioningRun

UPLOAD_WINDOW = timedelta(hours=1)


def provisioning_schools(actor):
    """Schools whose provisioning the actor may see and manage."""
    return (
        organisations_for(actor, Action.MANAGE_PROVISIONING)
        .filter(kind=Organisation.Kind.SCHOOL)
        .order_by("code")
    )


def runs_visible(actor):
    return ProvisioningRun.objects.filter(organisation__in=provisioning_schools(actor)).select_related(
        "organisation"
    )


def notices_pending(actor, organisation=None):
    qs = NameChangeNotice.objects.filter(
        status=NameChangeNotice.Status.PENDING, organisation__in=provisioning_schools(actor)
    ).select_related("account", "organisation")
    if organisation is not None:
        qs = qs.filter(organisation=organisation)
    return qs


CHART_DATE_WIDTH = 110  # the run's date and time, left of the bars
CHART_DIGIT_WIDTH = 7  # an upper bound for one character at the labels' 11 px


def chart_series(runs, *, width=320, bar_height=14, gap=6):
    """Bars for created (and deactivated) per run, oldest first, scaled to the largest: an SVG without script.

    The drawing is wide enough for the longest count's label after the longest bar ("+801" was clipped to "+").
    """
    runs = list(reversed(runs))
    peak = max([max(r.created + r.transferred_in, r.deactivated) for r in runs] + [1])
    label_room = 4 + CHART_DIGIT_WIDTH * (len(str(peak)) + 1) + 4
    rows = []
    y = 0
    for run in runs:
        made = run.created + run.transferred_in
        rows.append(
            {
                "run": run,
                "made": made,
                "made_w": round(width * made / peak, 1),
                "gone_w": round(width * run.deactivated / peak, 1),
                "made_x": CHART_DATE_WIDTH + round(width * made / peak, 1) + 4,
                "gone_x": CHART_DATE_WIDTH + round(width * run.deactivated / peak, 1) + 4,
                "y": y,
                "y2": y + bar_height,
            }
        )
        y += 2 * bar_height + gap
    return {
        "rows": rows,
        "height": max(y, 1),
        "width": CHART_DATE_WIDTH + width + label_room,
        "bar_height": bar_height,
        "label_x": 0,
    }


def upload_retry_after(organisation, *, now=None) -> int:
    """Seconds until the school may upload through the API again; 0 while it is under its hourly limit.

    Counted from the school's API runs of the last hour rather than a cache: exact, and nothing to expire.
    """
    limit = settings.UMP_PROVISIONING_UPLOADS_PER_HOUR
    now = now or timezone.now()
    recent = list(
        ProvisioningRun.objects.filter(
            organisation=organisation, source=ProvisioningRun.Source.API, created_at__gt=now - UPLOAD_WINDOW
        )
        .order_by("-created_at")
        .values_list("created_at", flat=True)[:limit]
    )
    if len(recent) < limit:
        return 0
    # once the limit-th newest upload leaves the window, fewer than `limit` remain in it
    return max(1, math.ceil((recent[-1] + UPLOAD_WINDOW - now).total_seconds()))
