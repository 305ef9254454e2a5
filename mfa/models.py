"""Multi-factor sign-in's own table: one-time set-up codes (the factors themselves are django-otp's devices)."""

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone


def _expiry():
    return timezone.now() + timedelta(days=7)


class SetupCode(models.Model):
    """A one-time code a Digital Champion prints so a person can set up a factor away from school (7 days).

    Only a keyed hash of the code is kept; the code itself is shown once, on the printed page.
    """

    account = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    code_hash = models.CharField(max_length=64)
    created_by_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(default=_expiry)

    def __str__(self):
        return f"set-up code for account {self.account_id}"

    @property
    def is_live(self):
        return timezone.now() < self.expires_at
