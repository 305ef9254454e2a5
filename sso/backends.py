"""django-oauth-toolkit's bridge to oauthlib, telling the validator who is signed in (for prompt=none)."""

from oauth2_provider.oauth2_backends import OAuthLibCore

# Not an HTTP header: WSGI puts every header a client sends under HTTP_, so nobody can send this one.
SESSION_ACCOUNT = "UMP_SESSION_ACCOUNT"


class UmpOAuthLibCore(OAuthLibCore):
    def extract_headers(self, request):
        headers = super().extract_headers(request)
        user = getattr(request, "user", None)
        headers[SESSION_ACCOUNT] = str(user.pk) if user is not None and user.is_authenticated else ""
        return headers
