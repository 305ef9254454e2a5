from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("django-admin/", admin.site.urls),
    path("", include("passwords.urls")),
    path("", include("printing.urls")),
    path("", include("provisioning.urls")),
    path("", include("accounts.urls")),
]
