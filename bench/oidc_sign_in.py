#!/usr/bin/env python
"""Single sign-on, step by step: what each request of a relying party's sign-in costs the portal.

Each sample runs the authorization code flow through the full Django stack (test client, a signed-in teacher):
the authorization request of a trusted client (straight to a code), the code exchange of a confidential client
(its secret checked against its argon2 hash, the ID token signed RS256, both tokens stored as checksums, the
issue audited), userinfo, and a refresh (the secret checked again). The signing key is generated for the run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ump_oidc REDIS_URL=redis://127.0.0.1:6379/6 \
        .venv/bin/python bench/oidc_sign_in.py [--samples 50]
"""

import argparse
import base64
import hashlib
import os
import secrets
import statistics
import time
from urllib.parse import parse_qs, urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

_pem = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
)
os.environ["UMP_OIDC_ENABLED"] = "true"
os.environ["UMP_OIDC_KEYS"] = base64.b64encode(_pem).decode()

from _common import drop, percentile, test_database  # noqa: E402

DB = "ump_oidc_bench_sign_in"


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--samples", type=int, default=50)
    args = parser.parse_args()
    test_database(DB)
    try:
        run(args.samples)
    finally:
        drop(DB)


def run(samples):
    from django.test import Client

    from accounts.models import Account, Organisation
    from accounts.services import account_create
    from sso.services import client_register

    school = Organisation.objects.create(code="6614001", kind="school", name="Ysgol", phase="secondary")
    teacher = account_create(
        actor=None,
        organisation=school,
        kind=Account.Kind.STAFF,
        source=Account.Source.MIS,
        legal_forename="Huw",
        legal_surname="Pritchard",
    )
    redirect = "https://moodle.example.org/cb"
    app = client_register(
        name="Moodle", redirect_uris=[redirect], trusted=True, scopes=["openid", "profile", "ump"]
    )
    basic = "Basic " + base64.b64encode(f"{app.client.client_id}:{app.secret}".encode()).decode()
    browser, rp = Client(), Client()
    browser.force_login(teacher, backend="accounts.backends.UsernameOrEmailBackend")
    steps = {"authorize": [], "token": [], "userinfo": [], "refresh": []}
    for i in range(samples + 1):
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        params = {
            "response_type": "code", "client_id": app.client.client_id, "redirect_uri": redirect,
            "scope": "openid profile ump", "code_challenge": challenge, "code_challenge_method": "S256",
            "state": "s", "nonce": "n",
        }  # fmt: skip
        timings = {}
        start = time.perf_counter()
        response = browser.get("/oidc/authorize/", params)
        timings["authorize"] = time.perf_counter() - start
        code = parse_qs(urlsplit(response["Location"]).query)["code"][0]
        data = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect,
            "code_verifier": verifier,
        }
        start = time.perf_counter()
        tokens = rp.post("/oidc/token/", data, headers={"authorization": basic}).json()
        timings["token"] = time.perf_counter() - start
        start = time.perf_counter()
        assert (
            rp.get(
                "/oidc/userinfo/", headers={"authorization": f"Bearer {tokens['access_token']}"}
            ).status_code
            == 200
        )
        timings["userinfo"] = time.perf_counter() - start
        start = time.perf_counter()
        refreshed = rp.post(
            "/oidc/token/", {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
            headers={"authorization": basic},
        )  # fmt: skip
        timings["refresh"] = time.perf_counter() - start
        assert refreshed.status_code == 200
        if i:  # the first sample warms caches and the argon2 parameters
            for step, seconds in timings.items():
                steps[step].append(seconds)
    print(f"{samples} sign-ins ({settings_summary()}):")
    for step, values in steps.items():
        print(
            f"  {step:<10} median {statistics.median(values) * 1000:6.1f} ms   "
            f"p95 {percentile(values, 0.95) * 1000:6.1f} ms   max {max(values) * 1000:6.1f} ms"
        )


def settings_summary():
    from django.db import connection

    return connection.vendor


if __name__ == "__main__":
    main()
