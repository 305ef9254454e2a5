"""What a connected service learns about a person: the claims of each scope, the subject, amr and acr.

- `sub` is a keyed hash of the account's primary key (HMAC-SHA256 under UMP_HASH_KEY, labelled "oidc-sub:"):
  stable for the account's whole life (a rename, a new username or a move to another school change neither),
  never the username, email or UPN, and meaningless outside this portal. It is the same for every client
  ("public" subject type), as a school's services share their people.
- `amr` lists the authentication methods of the sign-in (RFC 8176), as the sign-in stored them in the session
  (`request.session["ump_amr"]`, default ["pwd"]); `acr` names the level they reach: ACR_MFA when they
  include "mfa", else ACR_PASSWORD.
"""

from accounts.models import RoleGrant
from accounts.sealing import keyed_hash

ACR_PASSWORD = "urn:ump:acr:password"  # noqa: S105 - a level of assurance (a password alone), not a password
ACR_MFA = "urn:ump:acr:mfa"  # a password and a second factor (a one-time code or a security key)
ACR_VALUES = (ACR_PASSWORD, ACR_MFA)
DEFAULT_AMR = ("pwd",)
# RFC 8176 values a sign-in may report; anything else in the session is dropped rather than passed on.
KNOWN_AMR = frozenset({"pwd", "otp", "hwk", "swk", "mfa", "sms", "user", "pin"})

# claim -> the scope that releases it
CLAIM_SCOPES = {
    "sub": "openid",
    "name": "profile",
    "given_name": "profile",
    "family_name": "profile",
    "preferred_username": "profile",
    "email": "email",
    "email_verified": "email",
    "ump_previous_emails": "email",
    "ump_kind": "ump",
    "ump_organisation_code": "ump",
    "ump_organisation_name": "ump",
    "ump_organisation_name_cy": "ump",
    "ump_year_group": "ump",
    "ump_registration_group": "ump",
    "ump_roles": "ump",
}


def subject_for(account) -> str:
    """The account's `sub`: a keyed hash of its primary key, stable for its whole life."""
    return keyed_hash(f"oidc-sub:{account.pk}")


def claims_for(account) -> dict:
    """Every claim this portal can release about `account`, before the scopes choose among them."""
    organisation = account.organisation
    return {
        "sub": subject_for(account),
        "name": account.display_name,
        "given_name": account.legal_forename,
        "family_name": account.legal_surname,
        "preferred_username": account.username,
        "email": account.email,
        "email_verified": True,  # the portal issues the address itself
        "ump_previous_emails": sorted(account.email_aliases.values_list("email", flat=True)),
        "ump_kind": account.kind,
        "ump_organisation_code": organisation.code,
        "ump_organisation_name": organisation.name,
        "ump_organisation_name_cy": organisation.name_cy or organisation.name,
        "ump_year_group": account.year_group,
        "ump_registration_group": account.registration_group,
        "ump_roles": [
            {"role": role, "organisation_code": code}
            for role, code in RoleGrant.objects.filter(account=account)
            .order_by("role", "organisation__code")
            .values_list("role", "organisation__code")
        ],
    }


def amr_from_session(session) -> list[str]:
    """The sign-in's authentication methods as the session holds them (the MFA sign-in stores them)."""
    stored = session.get("ump_amr") or list(DEFAULT_AMR)
    amr = [value for value in stored if isinstance(value, str) and value in KNOWN_AMR]
    return amr or list(DEFAULT_AMR)


def acr_for(amr) -> str:
    return ACR_MFA if "mfa" in amr else ACR_PASSWORD
