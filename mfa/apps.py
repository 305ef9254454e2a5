from django.apps import AppConfig


class MfaConfig(AppConfig):
    name = "mfa"
    verbose_name = "Multi-factor sign-in"
