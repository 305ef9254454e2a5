"""Model fields: values sealed with accounts.sealing (`manage.py rotate_keys` finds every one), and the
folded name search looks in."""

from django.db import models


class SealedTextField(models.TextField):
    """Holds a token from `accounts.sealing.seal`, never plaintext."""


class SearchName(models.Func):
    """ump_search_name(forename, surname): accounts.text.search_name in the database.

    On PostgreSQL an immutable SQL function over unaccent (migration 0010); on SQLite the Python function
    itself, registered on every connection (accounts.selectors.sqlite_collations). Both make the same text.
    """

    function = "ump_search_name"
    output_field = models.CharField()
