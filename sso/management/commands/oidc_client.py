"""Register and look after the services that sign people in through UMP (OpenID Connect clients).

  oidc_client add NAME --redirect-uri URI [--redirect-uri URI ...] [--public] [--trusted]
                       [--scopes openid profile email ump] [--post-logout-uri URI ...] [--client-id ID]
  oidc_client list
  oidc_client rotate CLIENT_ID
  oidc_client disable CLIENT_ID [--dry-run]

Rules: a confidential client's secret is printed once by `add` and `rotate` and only its hash is kept, so it
can never be shown again (rotate to get a new one; the old one stops working at once). A public client (a
browser or native app) has no secret and proves itself with PKCE alone; every client must use PKCE (S256).
Redirect URIs must be https, or http on the loopback address, and match exactly. A trusted client skips the
consent page. A client gets only the scopes it is registered for (openid always). Disabling stops its
sign-ins and revokes every token it holds. Each change is audited.
"""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from sso.models import Client
from sso.services import client_disable, client_register, client_secret_rotate


class Command(BaseCommand):
    help = __doc__.splitlines()[0]

    def add_arguments(self, parser):
        commands = parser.add_subparsers(dest="subcommand", required=True)
        add = commands.add_parser("add", help="register a client and print its id (and secret, once)")
        add.add_argument("name")
        add.add_argument("--redirect-uri", action="append", required=True, dest="redirect_uris")
        add.add_argument("--post-logout-uri", action="append", default=[], dest="post_logout_uris")
        add.add_argument("--public", action="store_true", help="no secret: a browser or native app (PKCE)")
        add.add_argument("--trusted", action="store_true", help="skip the consent page")
        add.add_argument("--scopes", nargs="+", default=["openid"])
        add.add_argument("--client-id", help="a chosen client id (default: a random one)")
        commands.add_parser("list", help="every client and its state")
        rotate = commands.add_parser("rotate", help="give a confidential client a new secret (printed once)")
        rotate.add_argument("client_id")
        disable = commands.add_parser("disable", help="stop a client's sign-ins and revoke its tokens")
        disable.add_argument("client_id")
        disable.add_argument("--dry-run", action="store_true")

    def handle(self, *args, subcommand, verbosity=1, **options):
        try:
            getattr(self, f"_{subcommand}")(verbosity=verbosity, **options)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error

    def _add(
        self, *, name, redirect_uris, post_logout_uris, public, trusted, scopes, client_id, verbosity, **_
    ):
        if client_id and Client.objects.filter(client_id=client_id).exists():
            raise CommandError(f"A client with id {client_id} exists already.")
        registered = client_register(
            name=name,
            redirect_uris=redirect_uris,
            post_logout_redirect_uris=post_logout_uris,
            public=public,
            trusted=trusted,
            scopes=scopes,
            client_id=client_id,
        )
        self.stdout.write(f"client_id={registered.client.client_id}")
        if registered.secret:
            self.stdout.write(f"client_secret={registered.secret}")
            if verbosity:
                self.stderr.write("The secret is shown only now: only its hash is kept.")

    def _list(self, **_):
        for client in Client.objects.order_by("name"):
            state = f"disabled {client.disabled_at:%Y-%m-%d %H:%M}" if client.disabled_at else "active"
            kind = "public" if client.is_public else "confidential"
            trusted = " trusted" if client.skip_authorization else ""
            self.stdout.write(
                f"{client.client_id}  {client.name}  {kind}{trusted}  {state}  "
                f"scopes={client.allowed_scopes}  redirect={client.redirect_uris}"
            )

    def _rotate(self, *, client_id, verbosity, **_):
        registered = client_secret_rotate(client=self._client(client_id))
        self.stdout.write(f"client_secret={registered.secret}")
        if verbosity:
            self.stderr.write("The old secret no longer works; the new one is shown only now.")

    def _disable(self, *, client_id, dry_run, verbosity, **_):
        client = self._client(client_id)
        if dry_run:
            self.stdout.write(f"Would disable {client.name} ({client.client_id}) and revoke its tokens.")
            return
        client_disable(client=client)
        if verbosity:
            self.stdout.write(f"Disabled {client.name} ({client.client_id}); its tokens are revoked.")

    def _client(self, client_id):
        client = Client.objects.filter(client_id=client_id, disabled_at__isnull=True).first()
        if client is None:
            raise CommandError(f"No active client with id {client_id}.")
        return client
