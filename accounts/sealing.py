"""Sealing secrets with authenticated encryption, and keyed hashing of identifiers.

A sealed token is `v1.<key id>.<base64 nonce+ciphertext>`, AES-256-GCM under the first key of
UMP_SEAL_KEYS; older keys in the ring still open tokens until `manage.py rotate_keys` re-seals them.
Identifiers such as the UPN are hashed with HMAC-SHA256 under UMP_HASH_KEY, never SECRET_KEY.
"""

import base64
import hashlib
import hmac
import os
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

VERSION = "v1"
_AAD = b"ump-sealed-v1"


class SealError(Exception):
    """A token that cannot be opened: unknown key, tampered or malformed."""


def _decode_key(text):
    try:
        raw = base64.urlsafe_b64decode(text.strip() + "=" * (-len(text.strip()) % 4))
    except ValueError as exc:
        raise ImproperlyConfigured("UMP_SEAL_KEYS entries must be base64 (urlsafe) 32-byte keys.") from exc
    if len(raw) != 32:
        raise ImproperlyConfigured("UMP_SEAL_KEYS entries must decode to 32 bytes.")
    return raw


def key_id(raw):
    return hashlib.sha256(raw).hexdigest()[:8]


@lru_cache(maxsize=8)
def _ring(keys):
    ring = [(key_id(raw), AESGCM(raw)) for raw in (_decode_key(k) for k in keys)]
    if not ring:
        raise ImproperlyConfigured("UMP_SEAL_KEYS is empty.")
    return ring


def ring():
    """[(key id, cipher)], newest first, from the current settings."""
    return _ring(tuple(settings.UMP_SEAL_KEYS))


def seal(text):
    """Encrypt and authenticate `text` under the newest key."""
    return seal_many([text])[0]


def seal_many(texts):
    """`seal` each of many texts, with one read of the operating system's randomness for all their nonces."""
    kid, cipher = ring()[0]
    texts = list(texts)
    nonces = os.urandom(12 * len(texts))
    prefix = f"{VERSION}.{kid}."
    sealed = []
    for n, text in enumerate(texts):
        nonce = nonces[12 * n : 12 * n + 12]  # a fresh random 96-bit nonce for every text
        sealed.append(
            prefix + base64.urlsafe_b64encode(nonce + cipher.encrypt(nonce, text.encode(), _AAD)).decode()
        )
    return sealed


def _parse(token):
    try:
        version, kid, payload = token.split(".", 2)
        blob = base64.urlsafe_b64decode(payload)
    except (ValueError, AttributeError) as exc:
        raise SealError("malformed token") from exc
    if version != VERSION or len(blob) < 13:
        raise SealError("malformed token")
    return kid, blob


def unseal(token):
    """Open a token sealed under any key still in the ring."""
    kid, blob = _parse(token)
    for candidate, cipher in ring():
        if candidate == kid:
            try:
                return cipher.decrypt(blob[:12], blob[12:], _AAD).decode()
            except InvalidTag as exc:
                raise SealError("token failed authentication") from exc
    raise SealError("token sealed under a key no longer in the ring")


def reseal(token):
    """The token re-sealed under the newest key, or None when it already is."""
    kid, _blob = _parse(token)
    if kid == ring()[0][0]:
        return None
    return seal(unseal(token))


def keyed_hash(value):
    """HMAC-SHA256 (hex) of an identifier under UMP_HASH_KEY."""
    return hmac.digest(settings.UMP_HASH_KEY.encode(), value.encode(), "sha256").hex()


def normalise_upn(upn):
    return "".join(upn.split()).upper()


def upn_hash(upn):
    """The only form in which a UPN is ever kept."""
    return keyed_hash("upn:" + normalise_upn(upn))


def generate_key():
    return base64.urlsafe_b64encode(os.urandom(32)).decode()
