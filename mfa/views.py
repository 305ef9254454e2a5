"""Multi-factor sign-in pages: trusted networks."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from accounts.permissions import Action
from accounts.selectors import organisation_from_request
from mfa.forms import NetworksForm
from mfa.services import organisation_networks_set


@login_required
@require_http_methods(["GET", "POST"])
def networks(request):
    """An organisation's trusted address ranges: its people signing in from inside them are not asked for a code."""
    source = request.POST if request.method == "POST" else request.GET
    organisation = organisation_from_request(request, Action.MANAGE_TRUSTED_NETWORKS, source=source)
    form = NetworksForm(
        request.POST if request.method == "POST" else None,
        initial={"networks": "\n".join(organisation.trusted_networks or [])},
    )
    if request.method == "POST" and form.is_valid():
        organisation_networks_set(
            organisation=organisation,
            networks=form.cleaned_data["networks"],
            actor=request.user,
            request=request,
        )
        messages.success(request, _("The trusted address ranges have been saved."))
        return redirect(f"{reverse('mfa:networks')}?{urlencode({'org': organisation.code})}")
    return render(request, "mfa/networks.html", {"organisation": organisation, "form": form})
