"""Request-wide protections: deactivated accounts lose their sessions; personal pages are never cached."""

from django.contrib.auth import SESSION_KEY, logout

from accounts.caching import no_store


class ActiveAccountMiddleware:
    """A deactivated account's open sessions end at its next request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is None:
            return self.get_response(request)
        # The auth backend already refuses a deactivated account (request.user is anonymous); end the
        # session itself too so nothing of it lingers.
        if (user.is_authenticated and not user.is_active) or (
            not user.is_authenticated and SESSION_KEY in request.session
        ):
            logout(request)
        return self.get_response(request)


class NoStoreMiddleware:
    """`Cache-Control: no-store` on every page served to a signed-in person (all of them hold personal data)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if (user is not None and user.is_authenticated) or response.get("Content-Disposition"):
            no_store(response)
        return response
