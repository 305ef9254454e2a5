from django.urls import path

from mfa import passkeys, views

app_name = "mfa"

urlpatterns = [
    path("login/verify/", views.verify, name="verify"),
    path("profile/security/", views.security, name="security"),
    path("profile/security/authenticator/", views.totp_add, name="totp_add"),
    path("profile/security/authenticator/<int:pk>/", views.totp_confirm, name="totp_confirm"),
    path("profile/security/authenticator/<int:pk>/remove/", views.totp_remove, name="totp_remove"),
    path("profile/security/recovery-codes/", views.recovery_codes, name="recovery_codes"),
    path("profile/security/passkey/<int:pk>/remove/", views.passkey_remove, name="passkey_remove"),
    # django-otp-webauthn's JSON endpoints, fitted to the two-step sign-in (mfa.passkeys)
    path("passkeys/register/begin/", passkeys.PasskeyRegisterBegin.as_view(), name="passkey_register_begin"),
    path(
        "passkeys/register/complete/",
        passkeys.PasskeyRegisterComplete.as_view(),
        name="passkey_register_complete",
    ),
    path("passkeys/sign-in/begin/", passkeys.PasskeySignInBegin.as_view(), name="passkey_sign_in_begin"),
    path(
        "passkeys/sign-in/complete/",
        passkeys.PasskeySignInComplete.as_view(),
        name="passkey_sign_in_complete",
    ),
    path(
        "passkeys/jsi18n/",
        passkeys.PasskeyCatalog.as_view(packages=["django_otp_webauthn"]),
        name="passkey_jsi18n",
    ),
    path("login/setup-code/", views.setup_code, name="setup_code"),
    path("security/networks/", views.networks, name="networks"),
    path("security/mfa/", views.status, name="status"),
    path("users/account/<int:pk>/mfa/", views.switch, name="switch"),
    path("users/account/<int:pk>/mfa/reset/", views.reset, name="reset"),
    path("users/account/<int:pk>/mfa/setup-code/", views.setup_code_print, name="setup_code_print"),
]
