"""Sealing secrets with authenticated encryption, and keyed hashing of identifiers.

A sealed token is `v1.<key id>.<base64 nonce+ciphertext>`, AES-256-GCM under the first key of
UMP_SEAL_KEYS; older keys in the ring still open tokens until `manage.py rotate_keys` re-seals them.
Identifiers such as the UPN are hashed with HMAC-SHA256 under UMP_HASH_KEY, never SECRET_KEY.

A sealed file (an MIS extract waiting to be read) is written and read in chunks, so that a large file is never
held whole: a header (`UMPSF1`, the key id, an 8-byte random nonce prefix), then each chunk of FILE_CHUNK bytes
AES-256-GCM sealed with the nonce prefix + the chunk's 3-byte number + 1 if it is the last chunk, else 0, and the
header as associated data. Reordered, dropped, added or cut-off chunks and a changed header all fail to open.
Feature apps register their folders of sealed files (`sealed_store_register`) so that `rotate_keys` re-seals
them without the core importing a feature.
"""

import base64
import hashlib
import hmac
import io
import os
import uuid
from collections.abc import Callable, Iterable, Iterator
from functools import lru_cache
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

VERSION = "v1"
_AAD = b"ump-sealed-v1"
FILE_MAGIC = b"UMPSF1"
FILE_CHUNK = 256 * 1024
_FILE_HEADER = len(FILE_MAGIC) + 8 + 8  # magic, key id, nonce prefix
_TAG = 16
_MAX_CHUNKS = 1 << 24  # the chunk number's three bytes


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


# ---------------------------------------------------------------- sealed files


class SealedFileWriter:
    """Seal what is written to a binary file, chunk by chunk; `close` seals the last chunk (see the module doc)."""

    def __init__(self, fh):
        kid, self._cipher = ring()[0]
        self._fh = fh
        self._header = FILE_MAGIC + kid.encode() + os.urandom(8)
        self._buffer = bytearray()
        self._number = 0
        self.size = 0
        fh.write(self._header)

    def write(self, data) -> int:
        self._buffer += data
        self.size += len(data)
        # the chunk that ends the file is sealed as the last one, so a full chunk waits until more follows
        while len(self._buffer) > FILE_CHUNK:
            self._seal(bytes(self._buffer[:FILE_CHUNK]), last=False)
            del self._buffer[:FILE_CHUNK]
        return len(data)

    def close(self) -> None:
        self._seal(bytes(self._buffer), last=True)
        self._buffer.clear()

    def _seal(self, chunk: bytes, *, last: bool) -> None:
        if self._number >= _MAX_CHUNKS:
            raise SealError("file too large to seal")
        self._fh.write(
            self._cipher.encrypt(_file_nonce(self._header, self._number, last), chunk, self._header)
        )
        self._number += 1


def sealed_file_chunks(path: Path) -> Iterator[bytes]:
    """The plaintext of a sealed file, chunk by chunk; SealError if it is not sealed, or changed, or cut short."""
    with open(path, "rb") as fh:
        header = fh.read(_FILE_HEADER)
        cipher = _file_cipher(header)
        number = 0
        block = fh.read(FILE_CHUNK + _TAG)
        while True:
            following = fh.read(FILE_CHUNK + _TAG) if len(block) == FILE_CHUNK + _TAG else b""
            last = not following
            try:
                yield cipher.decrypt(_file_nonce(header, number, last), block, header)
            except InvalidTag as exc:
                raise SealError("sealed file failed authentication") from exc
            if last:
                return
            block, number = following, number + 1


def sealed_file_open(path: Path) -> io.BufferedReader:
    """A sealed file as a binary stream, opened chunk by chunk as it is read (for readers that stream).

    The stream can seek (a zip is read from its end first): each chunk is opened where it is read, and the one that
    ends the file as the last, so that a file cut short or changed fails to open wherever it is read.
    """
    return io.BufferedReader(_SealedFileStream(path), buffer_size=FILE_CHUNK)


def sealed_file_read(path: Path) -> bytes:
    """The whole plaintext of a sealed file, for a reader that needs it whole."""
    return b"".join(sealed_file_chunks(path))


def sealed_file_key(path: Path) -> str:
    """The id of the key a sealed file is sealed under."""
    with open(path, "rb") as fh:
        header = fh.read(_FILE_HEADER)
    if len(header) != _FILE_HEADER or not header.startswith(FILE_MAGIC):
        raise SealError("not a sealed file")
    return header[len(FILE_MAGIC) : len(FILE_MAGIC) + 8].decode("ascii", "replace")


def sealed_file_reseal(path: Path) -> bool:
    """Re-seal a file under the newest key (through a copy that replaces it); False when it already is."""
    if sealed_file_key(path) == ring()[0][0]:
        return False
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.reseal")
    try:
        with open(temporary, "xb") as fh:
            temporary.chmod(0o600)
            writer = SealedFileWriter(fh)
            for chunk in sealed_file_chunks(path):
                writer.write(chunk)
            writer.close()
        if not path.exists():
            return False  # deleted meanwhile (its run finished): never bring it back
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return True


class _SealedFileStream(io.RawIOBase):
    """The raw stream under sealed_file_open: a read opens the chunk that holds its position (one kept open)."""

    def __init__(self, path: Path):
        self._fh = open(path, "rb")  # noqa: SIM115 - closed with the stream
        try:
            self._header = self._fh.read(_FILE_HEADER)
            self._cipher = _file_cipher(self._header)
            body = os.fstat(self._fh.fileno()).st_size - _FILE_HEADER
            block = FILE_CHUNK + _TAG
            self._count = max(1, -(-body // block))  # an empty file is one empty last chunk
            last = body - (self._count - 1) * block - _TAG
            if last < 0:
                raise SealError("sealed file cut short")
        except BaseException:
            self._fh.close()
            raise
        self._size = (self._count - 1) * FILE_CHUNK + last
        self._position = 0
        self._open: tuple[int, bytes] = (-1, b"")

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}[whence]
        if base + offset < 0:
            raise ValueError("negative seek position")
        self._position = base + offset
        return self._position

    def readinto(self, buffer) -> int:
        if self._position >= self._size:
            return 0
        number, offset = divmod(self._position, FILE_CHUNK)
        plain = self._chunk(number)
        n = min(len(buffer), len(plain) - offset)
        buffer[:n] = plain[offset : offset + n]
        self._position += n
        return n

    def close(self) -> None:
        fh = getattr(
            self, "_fh", None
        )  # absent when the file could not be opened (close runs from __del__ too)
        if fh is not None:
            fh.close()
        self._open = (-1, b"")
        super().close()

    def _chunk(self, number: int) -> bytes:
        if self._open[0] != number:
            self._fh.seek(_FILE_HEADER + number * (FILE_CHUNK + _TAG))
            block = self._fh.read(FILE_CHUNK + _TAG)
            last = number == self._count - 1
            try:
                plain = self._cipher.decrypt(_file_nonce(self._header, number, last), block, self._header)
            except InvalidTag as exc:
                raise SealError("sealed file failed authentication") from exc
            self._open = (number, plain)
        return self._open[1]


def _file_cipher(header: bytes) -> AESGCM:
    if len(header) != _FILE_HEADER or not header.startswith(FILE_MAGIC):
        raise SealError("not a sealed file")
    kid = header[len(FILE_MAGIC) : len(FILE_MAGIC) + 8].decode("ascii", "replace")
    for candidate, cipher in ring():
        if candidate == kid:
            return cipher
    raise SealError("file sealed under a key no longer in the ring")


def _file_nonce(header: bytes, number: int, last: bool) -> bytes:
    return header[-8:] + number.to_bytes(3, "big") + (b"\x01" if last else b"\x00")


# ---------------------------------------------------------------- sealed stores

_SEALED_STORES: dict[str, Callable[[], Iterable[Path]]] = {}


def sealed_store_register(name: str, paths: Callable[[], Iterable[Path]]) -> None:
    """Name a feature's sealed files for `rotate_keys`: `paths()` lists them when called (AppConfig.ready)."""
    _SEALED_STORES[name] = paths


def sealed_stores() -> dict[str, Callable[[], Iterable[Path]]]:
    """Every registered store of sealed files, by name."""
    return dict(_SEALED_STORES)
