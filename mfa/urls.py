from django.urls import path

from mfa import views

app_name = "mfa"

urlpatterns = [
    path("login/verify/", views.verify, name="verify"),
    path("profile/security/", views.security, name="security"),
    path("profile/security/authenticator/", views.totp_add, name="totp_add"),
    path("profile/security/authenticator/<int:pk>/", views.totp_confirm, name="totp_confirm"),
    path("profile/security/authenticator/<int:pk>/remove/", views.totp_remove, name="totp_remove"),
    path("profile/security/recovery-codes/", views.recovery_codes, name="recovery_codes"),
    path("security/networks/", views.networks, name="networks"),
]
