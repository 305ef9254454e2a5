"""Joins the two lines of accounts migrations made side by side: multi-factor sign-in (trusted networks, MFA on or
off, the spraying guard's failures) and the help walk (search names, language medium, no end date)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0012_account_request_without_end_date"),
        ("accounts", "0012_signin_failures_for_spraying_guard"),
    ]

    operations = []
