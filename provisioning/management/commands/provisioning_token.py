"""Issue, rotate or revoke a school's Provisioning Client token.

Rules: one live token per school; issuing again rotates it (the old one stops working at once); only a keyed
hash is stored, so the token is printed once and cannot be shown again. --revoke stops uploads until a new one.
"""

from django.core.management.base import BaseCommand, CommandError

from accounts.models import Organisation
from provisioning.services import token_issue, token_revoke


class Command(BaseCommand):
    help = __doc__.splitlines()[0]

    def add_arguments(self, parser):
        parser.add_argument("school", help="the school's code")
        parser.add_argument("--revoke", action="store_true")

    def handle(self, *args, school, revoke, verbosity, **options):
        organisation = Organisation.objects.filter(code=school, kind=Organisation.Kind.SCHOOL).first()
        if organisation is None:
            raise CommandError(f"No school with code {school}.")
        if revoke:
            if not token_revoke(organisation=organisation):
                raise CommandError(f"{school} has no live token.")
            if verbosity:
                self.stdout.write(f"Revoked the token of {school}.")
            return
        self.stdout.write(token_issue(organisation=organisation))
