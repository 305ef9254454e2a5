"""Register the demo's connected service: scripts/oidc_demo_rp.py on http://127.0.0.1:8001/.

Rules: idempotent (an existing demo client is left as it is, or enabled again if it was disabled). The client
is public (PKCE, no secret to hand over) and not trusted, so a newcomer sees the consent page; it may ask for
every scope. scripts/run calls this after seed_demo.
"""

from django.core.management.base import BaseCommand
from django.db import transaction

from sso.models import Client
from sso.services import client_register

CLIENT_ID = "ump-demo-service"
BASE = "http://127.0.0.1:8001"


class Command(BaseCommand):
    help = __doc__.splitlines()[0]

    @transaction.atomic
    def handle(self, *args, verbosity=1, **options):
        client = Client.objects.filter(client_id=CLIENT_ID).first()
        if client is None:
            client_register(
                name="Demo school service",
                client_id=CLIENT_ID,
                redirect_uris=[f"{BASE}/callback"],
                post_logout_redirect_uris=[f"{BASE}/"],
                public=True,
                scopes=["openid", "profile", "email", "ump"],
            )
        elif client.disabled_at is not None:
            client.disabled_at = None
            client.save(update_fields=["disabled_at", "updated"])
        if verbosity:
            self.stdout.write(
                "Demo connected service: run `.venv/bin/python scripts/oidc_demo_rp.py`, open "
                f"{BASE}/ and sign in with a demo account."
            )
