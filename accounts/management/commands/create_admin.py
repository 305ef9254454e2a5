"""Create a Hwb administrator (national by default) who can sign in to the portal and the Django admin.

Rules: the organisation defaults to the national one (created if missing, code NATIONAL); the password is
asked for twice on a terminal, or read from the environment variable UMP_ADMIN_PASSWORD when there is no
terminal; it must meet the password policy. Prints the username that was allocated.
"""

import getpass
import os
import sys

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.models import Account, Organisation
from accounts.services import admin_create


class Command(BaseCommand):
    help = "Create a Hwb administrator (national by default)."

    def add_arguments(self, parser):
        parser.add_argument("--forename", required=True)
        parser.add_argument("--surname", required=True)
        parser.add_argument(
            "--organisation", default="NATIONAL", help="Organisation code (default NATIONAL)."
        )

    def handle(self, *args, forename, surname, organisation, **options):
        if organisation == "NATIONAL":
            org, _ = Organisation.objects.get_or_create(
                code="NATIONAL",
                defaults={"kind": Organisation.Kind.NATIONAL, "name": "Hwb", "name_cy": "Hwb"},
            )
        else:
            org = Organisation.objects.filter(code=organisation).first()
            if org is None:
                raise CommandError(f"No organisation with code {organisation}.")
        password = os.environ.get("UMP_ADMIN_PASSWORD")
        if not password:
            if not sys.stdin.isatty():
                raise CommandError("Set UMP_ADMIN_PASSWORD or run on a terminal.")
            password = getpass.getpass("Password: ")
            if password != getpass.getpass("Password (again): "):
                raise CommandError("The passwords do not match.")
        try:
            validate_password(password, Account(legal_forename=forename, legal_surname=surname, username=""))
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        account = admin_create(forename=forename, surname=surname, password=password, organisation=org)
        self.stdout.write(
            self.style.SUCCESS(f"Created Hwb administrator {account.username} over {org.code}.")
        )
