from django.contrib import admin
from django.urls import include, path

from accounts import urls as accounts_urls
from managing import urls as managing_urls
from sso import urls as sso_urls

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("django-admin/", admin.site.urls),
    path("", include("passwords.urls")),
    path("", include("printing.urls")),
    path("", include("provisioning.urls")),
    # OpenID Connect: django-oauth-toolkit's views reverse their own namespace, so it keeps that name.
    path("", include((sso_urls.provider_patterns, "oauth2_provider"))),
    path("", include("sso.urls")),
    path("", include("mfa.urls")),
    # Managing users' pages keep the names they had inside accounts (accounts:manage_add, accounts:audit).
    path("", include((accounts_urls.urlpatterns + managing_urls.urlpatterns, "accounts"))),
]
