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
    path("login/setup-code/", views.setup_code, name="setup_code"),
    path("security/networks/", views.networks, name="networks"),
    path("security/mfa/", views.status, name="status"),
    path("users/account/<int:pk>/mfa/", views.switch, name="switch"),
    path("users/account/<int:pk>/mfa/reset/", views.reset, name="reset"),
    path("users/account/<int:pk>/mfa/setup-code/", views.setup_code_print, name="setup_code_print"),
]
