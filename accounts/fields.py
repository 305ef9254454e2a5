"""A model field for values sealed with accounts.sealing; `manage.py rotate_keys` finds every one."""

from django.db import models


class SealedTextField(models.TextField):
    """Holds a token from `accounts.sealing.seal`, never plaintext."""
