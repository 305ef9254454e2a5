# shellcheck shell=bash
# Sourced by scripts/run, scripts/test, scripts/lint and scripts/messages:
# puts the shell at the repository root with an up-to-date .venv, and sets $PY.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

VENV="$ROOT/.venv"
PY="$VENV/bin/python"
STAMP="$VENV/.ump-installed"

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

venv_usable() {
    [ -x "$PY" ] && "$PY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1
}

if ! venv_usable; then
    base=$("$ROOT/scripts/find-python") || die "cannot create .venv without Python >= 3.12 (see above)."
    if [ -e "$VENV" ]; then
        say "Existing .venv does not run Python >= 3.12; recreating it with $base"
        rm -rf "$VENV"
    else
        say "Creating .venv with $base"
    fi
    "$base" -m venv "$VENV" || die "python -m venv failed (on Debian: apt-get install python3-venv)."
fi

# Reinstall only when the dependency list changed since the last successful install.
want=$( { sha256sum pyproject.toml; "$PY" -c 'import sys; print(sys.version)'; } | sha256sum | cut -d' ' -f1)
if [ "$(cat "$STAMP" 2>/dev/null)" != "$want" ]; then
    say "Installing dependencies (pip install -e '.[dev]')"
    "$PY" -m pip install -qq --disable-pip-version-check --no-input -e '.[dev]' \
        || die "pip install failed; see the messages above."
    echo "$want" >"$STAMP"
fi

# Every Django command needs these; they print a clear error themselves if gettext is missing.
manage() { "$PY" manage.py "$@"; }

require_gettext() {
    command -v msgfmt >/dev/null 2>&1 \
        || die "msgfmt not found: install gettext (Debian: apt-get install gettext; macOS: brew install gettext)."
}

compile_messages() {
    require_gettext
    manage compilemessages --ignore=.venv --verbosity=0
}

random_env() {
    # Prints SECRET_KEY, UMP_SEAL_KEYS, UMP_HASH_KEY and UMP_OIDC_KEYS lines with fresh random values.
    "$PY" - <<'PYEOF'
import base64
import os
import secrets

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

print(f"SECRET_KEY={secrets.token_urlsafe(50)}")
print(f"UMP_SEAL_KEYS={base64.urlsafe_b64encode(os.urandom(32)).decode()}")
print(f"UMP_HASH_KEY={secrets.token_urlsafe(48)}")
# The OpenID Connect signing key: an RSA private key in PEM, base64-encoded onto one line.
pem = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
)
print(f"UMP_OIDC_KEYS={base64.b64encode(pem).decode()}")
PYEOF
}
