"""Template helpers for printing's partials: the Administration menu's Download Passwords links."""

from django import template
from django.urls import reverse

from accounts.models import Organisation
from accounts.permissions import Action, organisation_ids_for

register = template.Library()
SCHOOLS = (Organisation.Kind.SCHOOL,)
FILES = (("pupils", Action.DOWNLOAD_PUPILS_CSV), ("staff", Action.DOWNLOAD_STAFF_CSV))


@register.simple_tag(takes_context=True)
def download_links(context):
    """(slug, url) for All Pupils and All Staff where the signed-in person may download them (no query).

    At their own school the link goes straight to its warning; someone who may download for other schools
    (a national administrator) is sent to the Download Passwords page, which lists the schools.
    """
    user = context["request"].user
    links = []
    for slug, action in FILES:
        ids = organisation_ids_for(user, action, org_kinds=SCHOOLS)
        if not ids:
            continue
        if ids == {user.organisation_id}:
            url = f"{reverse('printing:download_warning', args=[slug])}?org={user.organisation.code}"
        else:
            url = reverse("printing:downloads")
        links.append((slug, url))
    return links
