"""UMP settings: one file, read from the environment (and a local .env) through django-environ."""

import base64
import ipaddress
from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def _oidc_key_pem(value):
    """One UMP_OIDC_KEYS entry: an RSA private key in PEM, base64-encoded onto one line."""
    try:
        pem = base64.b64decode(value.strip(), validate=True).decode("ascii")
    except (ValueError, UnicodeDecodeError):
        pem = ""
    if "PRIVATE KEY-----" not in pem:
        raise ImproperlyConfigured("Each UMP_OIDC_KEYS entry must be a base64-encoded PEM RSA private key.")
    return pem


env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set (see .env.example).")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.forms",  # the built-in widget templates, for FORM_RENDERER's TemplatesSetting
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "django_otp_webauthn",
    "accounts",
    "passwords",
    "printing",
    "provisioning",
    "managing",
    "oauth2_provider",
    "sso",
    "mfa",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "accounts.middleware.ActiveAccountMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "accounts.middleware.NoStoreMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "ump.urls"
WSGI_APPLICATION = "ump.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.portal",
            ],
        },
    },
]

# No DATABASE_URL: a local SQLite file, so README command 1 needs no external service.
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=60))

REDIS_URL = env.str("REDIS_URL", default="")
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# One field template for every form: GOV.UK Frontend's markup (templates/forms/field.html).
FORM_RENDERER = "accounts.rendering.FormRenderer"

AUTH_USER_MODEL = "accounts.Account"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "passwords.backends.SealedCopyBackend",
    "accounts.backends.UsernameOrEmailBackend",
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "accounts:home"
LOGOUT_REDIRECT_URL = "accounts:login"

# argon2id at m=19 MiB, t=2, p=1 (OWASP); PBKDF2 kept so older hashes upgrade at sign-in.
PASSWORD_HASHERS = [
    "accounts.hashers.Argon2idHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "passwords.validators.HwbComplexityValidator"},
    {"NAME": "passwords.validators.BlocklistValidator"},
    {"NAME": "passwords.validators.PersonalDataValidator"},
]

# Lockout per account, never per address: 30 children at one school share one address.
AXES_ENABLED = env.bool("AXES_ENABLED", default=True)
# axes' database handler, without its reset and sweep on a sign-in whose check found no failures (see there).
AXES_HANDLER = "accounts.lockout.LockoutHandler"
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=10)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_USERNAME_CALLABLE = "accounts.backends.axes_username"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_VERBOSE = False
# Axes keeps the POST of a failed attempt: never a second-step or set-up code.
AXES_SENSITIVE_PARAMETERS = ["code", "setup_code"]
AXES_CLIENT_IP_CALLABLE = "accounts.network.client_address"
# The spraying guard (accounts.guard): an address's failures across many accounts, unexplained by a later
# success, in a sliding window. From SLOW_* one attempt per SLOW_SECONDS; from HOLD_* none until failures age
# out. A class of 30 with three typos each stays below (90 failures, 30 accounts) even before anyone gets in.
UMP_SIGNIN_GUARD = env.bool("UMP_SIGNIN_GUARD", default=True)
UMP_SIGNIN_WINDOW_MINUTES = env.int("UMP_SIGNIN_WINDOW_MINUTES", default=60)
UMP_SIGNIN_SLOW_ACCOUNTS = env.int("UMP_SIGNIN_SLOW_ACCOUNTS", default=40)
UMP_SIGNIN_SLOW_FAILURES = env.int("UMP_SIGNIN_SLOW_FAILURES", default=100)
UMP_SIGNIN_SLOW_SECONDS = env.int("UMP_SIGNIN_SLOW_SECONDS", default=60)
UMP_SIGNIN_HOLD_ACCOUNTS = env.int("UMP_SIGNIN_HOLD_ACCOUNTS", default=60)
UMP_SIGNIN_HOLD_FAILURES = env.int("UMP_SIGNIN_HOLD_FAILURES", default=150)
if not (
    0 < UMP_SIGNIN_SLOW_ACCOUNTS <= UMP_SIGNIN_HOLD_ACCOUNTS
    and 0 < UMP_SIGNIN_SLOW_FAILURES <= UMP_SIGNIN_HOLD_FAILURES
):
    raise ImproperlyConfigured("UMP_SIGNIN_SLOW_* must be positive and no more than UMP_SIGNIN_HOLD_*.")
# No axes access log: the audit trail already records every sign-in, and a second row per sign-in (address,
# browser) kept for ever is personal data twice over and a write each sign-in at rush hour.
AXES_DISABLE_ACCESS_LOG = True
# Deliberate: axes locks accounts, never an address (a whole school shares one NAT address); addresses are the
# spraying guard's, which a class signing in never trips.
SILENCED_SYSTEM_CHECKS = ["axes.W006"]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("cy", _("Welsh"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if not DEBUG
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
# Files served at the site's root by WhiteNoise (browsers ask for /favicon.ico whatever the page links).
WHITENOISE_ROOT = BASE_DIR / "static" / "root"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Security headers and cookies.
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=8 * 3600)
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "object-src": [CSP.NONE],
}

# Keys: sealed (shown) passwords use AES-GCM under a key ring, newest first; identifiers such as the
# UPN are hashed with their own HMAC key, never SECRET_KEY. No default: the portal refuses to start.
UMP_SEAL_KEYS = env.list("UMP_SEAL_KEYS", default=[])
UMP_HASH_KEY = env.str("UMP_HASH_KEY", default="")
if not UMP_SEAL_KEYS or not UMP_HASH_KEY:
    raise ImproperlyConfigured("UMP_SEAL_KEYS and UMP_HASH_KEY must be set (see .env.example).")

# Proxies (addresses or CIDR ranges) whose X-Forwarded-For header is believed; from anyone else it is ignored,
# so a forged header never makes an address trusted. Empty: the connecting address is the client's.
UMP_TRUSTED_PROXIES = env.list("UMP_TRUSTED_PROXIES", default=[])
try:
    UMP_TRUSTED_PROXIES = [str(ipaddress.ip_network(p.strip(), strict=False)) for p in UMP_TRUSTED_PROXIES]
except ValueError as error:
    raise ImproperlyConfigured(f"UMP_TRUSTED_PROXIES: {error}") from error

# What a right password leads to before the session starts: each callable may answer with a page of its own
# (the second step of multi-factor sign-in) and the person is signed in only once that is passed.
UMP_SIGNIN_STEPS = ["mfa.signin.second_step"]
# Hwb administrators are asked for their second factor on every sign-in, on a trusted network or not.
UMP_MFA_ALWAYS_FOR_ADMINS = env.bool("UMP_MFA_ALWAYS_FOR_ADMINS", default=True)
# Minutes a person has between the right password and the second step.
UMP_MFA_STEP_MINUTES = 10
# The authenticator app shows this name beside the code.
OTP_TOTP_ISSUER = env.str("UMP_MFA_ISSUER", default="Hwb UMP")
# Failed codes count towards the account's lockout (django-axes), exactly like a wrong password; django-otp's own
# growing delay per device would only make a person who mistyped wait on top of that.
OTP_TOTP_THROTTLE_FACTOR = 0
# Passkeys and security keys (mfa.passkeys): the second step only, never a sign-in without a password. The
# relying party is UMP_WEBAUTHN_RP_ID or the host served; origins must be https (a developer's machine may use
# http://localhost, never an IP address: WebAuthn refuses those).
UMP_WEBAUTHN_RP_ID = env.str("UMP_WEBAUTHN_RP_ID", default="")
OTP_WEBAUTHN_ALLOW_PASSWORDLESS_LOGIN = False
OTP_WEBAUTHN_RP_ID_CALLABLE = "mfa.passkeys.rp_id"
OTP_WEBAUTHN_RP_NAME_CALLABLE = "mfa.passkeys.rp_name"
OTP_WEBAUTHN_HELPER_CLASS = "mfa.passkeys.Helper"
OTP_WEBAUTHN_ALLOWED_ORIGINS = env.list("UMP_WEBAUTHN_ORIGINS", default=["http://localhost:8000"])
OTP_STATIC_THROTTLE_FACTOR = 0

UMP_EMAIL_DOMAIN = env.str("UMP_EMAIL_DOMAIN", default="hwbcymru.net")
UMP_SIGNIN_URL = env.str("UMP_SIGNIN_URL", default="https://hwb.gov.wales")
UMP_USERNAME_MAX_LENGTH = 20
UMP_PROVISIONING_BRAKE = env.float("UMP_PROVISIONING_BRAKE", default=0.10)
# Queued runs applied to one transaction by the hourly sweep (shared username claims and COPYs).
UMP_PROVISIONING_BATCH = env.int("UMP_PROVISIONING_BATCH", default=50)
# Extracts one school may upload through the Provisioning Client API in any hour; more get a 429.
UMP_PROVISIONING_UPLOADS_PER_HOUR = env.int("UMP_PROVISIONING_UPLOADS_PER_HOUR", default=12)
if UMP_PROVISIONING_UPLOADS_PER_HOUR < 1:
    raise ImproperlyConfigured("UMP_PROVISIONING_UPLOADS_PER_HOUR must be at least 1.")
# A held run nobody approves or rejects expires after this many days, and its extract is deleted.
UMP_PROVISIONING_HELD_DAYS = env.int("UMP_PROVISIONING_HELD_DAYS", default=14)
if UMP_PROVISIONING_HELD_DAYS < 1:
    raise ImproperlyConfigured("UMP_PROVISIONING_HELD_DAYS must be at least 1.")
UMP_UPLOAD_DIR = env.path("UMP_UPLOAD_DIR", default=BASE_DIR / "media" / "extracts")

# Celery: with no broker configured (README command 1) tasks run in-process.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
# A task is acknowledged as it starts; only idempotent tasks ask for acks_late (each says why), so that a message
# redelivered after a dead worker never does work twice.
CELERY_TASK_ACKS_LATE = False
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# The longest time limit of any task (provisioning.tasks.apply_queued_runs). Redis hands an unacknowledged
# message to another worker after the visibility timeout: shorter than a task may run, and a late-acked task
# still running would be started twice; the default (an hour) was no longer than that limit. Runs and group
# resets a dead worker leaves do not wait for it: the resume sweeps below queue them again within minutes.
CELERY_LONGEST_TASK_SECONDS = 60 * 60
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_LONGEST_TASK_SECONDS + 5 * 60}
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Two queues. Bulk work (the sync of MIS extracts, the sweeps that feed and resume it, the expiry of held runs,
# the nightly lifecycle sweep) goes to UMP_BULK_QUEUE, consumed by a worker of its own with a small share of the
# CPU (docker-compose.yml: cpu_shares), so an hour's sync neither delays a group reset someone is waiting for
# nor takes the web tier's cores. Everything else (group resets, account requests) stays on the default queue.
UMP_BULK_QUEUE = "provisioning"
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_ROUTES = {
    "provisioning.tasks.*": {"queue": UMP_BULK_QUEUE},
    "accounts.tasks.lifecycle_sweep_daily": {"queue": UMP_BULK_QUEUE},
}
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Every periodic task, in one place.
CELERY_BEAT_SCHEDULE = {
    # Apply every queued MIS extract (the Provisioning Client's uploads) each hour.
    "provisioning-apply-queued": {
        "task": "provisioning.tasks.apply_queued_runs",
        "schedule": timedelta(hours=1),
    },
    # Queue again, within minutes, provisioning runs and group resets a dead worker left unfinished.
    "provisioning-resume-runs": {
        "task": "provisioning.tasks.resume_runs",
        "schedule": timedelta(minutes=1),
    },
    "passwords-group-resets-resume": {
        "task": "passwords.tasks.group_resets_resume",
        "schedule": timedelta(minutes=1),
    },
    # Expire held runs nobody decided on within UMP_PROVISIONING_HELD_DAYS, deleting their extracts.
    "provisioning-expire-held": {
        "task": "provisioning.tasks.expire_held_runs",
        "schedule": timedelta(hours=1),
    },
    # Expire, deactivate idle and delete old leaver accounts once a day, early in the morning.
    "accounts-lifecycle-sweep": {
        "task": "accounts.tasks.lifecycle_sweep_daily",
        "schedule": crontab(hour=2, minute=30),
    },
}

# OpenID Connect provider (the sso app, on django-oauth-toolkit): schools' other services sign people in with
# their UMP account. ID tokens are signed RS256 with the first key of UMP_OIDC_KEYS; every key in the list is
# published in the JWKS (by kid), so to rotate put a new key first and drop the old one once the tokens it
# signed have expired (UMP_OIDC_ID_TOKEN_SECONDS, plus the JWKS max-age that clients may cache it for).
UMP_OIDC_ENABLED = env.bool("UMP_OIDC_ENABLED", default=True)
UMP_OIDC_KEYS = [_oidc_key_pem(key) for key in env.list("UMP_OIDC_KEYS", default=[])]
if UMP_OIDC_ENABLED and not UMP_OIDC_KEYS:
    raise ImproperlyConfigured(
        "UMP_OIDC_KEYS must be set while UMP_OIDC_ENABLED is on (see .env.example), or set UMP_OIDC_ENABLED=false."
    )
UMP_OIDC_ACCESS_TOKEN_SECONDS = env.int("UMP_OIDC_ACCESS_TOKEN_SECONDS", default=300)
UMP_OIDC_ID_TOKEN_SECONDS = env.int("UMP_OIDC_ID_TOKEN_SECONDS", default=300)
UMP_OIDC_REFRESH_TOKEN_SECONDS = env.int("UMP_OIDC_REFRESH_TOKEN_SECONDS", default=8 * 3600)
OAUTH2_PROVIDER_APPLICATION_MODEL = "sso.Client"
OAUTH2_PROVIDER_GRANT_MODEL = "sso.Grant"
OAUTH2_PROVIDER = {
    "OIDC_ENABLED": UMP_OIDC_ENABLED,
    "OIDC_RSA_PRIVATE_KEY": UMP_OIDC_KEYS[0] if UMP_OIDC_KEYS else "",
    "OIDC_RSA_PRIVATE_KEYS_INACTIVE": UMP_OIDC_KEYS[1:],
    # unset: the issuer is the origin the request came to (set it behind a proxy that rewrites hosts)
    "OIDC_ISS_ENDPOINT": env.str("UMP_OIDC_ISSUER", default=""),
    "OIDC_RESPONSE_TYPES_SUPPORTED": ["code"],
    "OIDC_TOKEN_ENDPOINT_AUTH_METHODS_SUPPORTED": ["client_secret_basic", "client_secret_post", "none"],
    "OIDC_RP_INITIATED_LOGOUT_ENABLED": True,
    # a valid id_token_hint of the person signed in is proof enough; without one the person confirms
    "OIDC_RP_INITIATED_LOGOUT_ALWAYS_PROMPT": False,
    "OIDC_RP_INITIATED_LOGOUT_STRICT_REDIRECT_URIS": True,
    "OAUTH2_VALIDATOR_CLASS": "sso.validators.UmpValidator",
    "OAUTH2_BACKEND_CLASS": "sso.backends.UmpOAuthLibCore",
    "SCOPES": {
        "openid": _("Sign you in"),
        "profile": _("Your name and username"),
        "email": _("Your email address, and the earlier addresses kept after a change of name"),
        "ump": _("Your account type, school, year group, registration group and roles"),
    },
    "DEFAULT_SCOPES": ["openid"],
    # Authorization code with PKCE (S256) for every client, confidential ones too (RFC 9700 2.1.1): a stolen
    # code is useless without the verifier. No implicit or password grant.
    "PKCE_REQUIRED": True,
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_PKCE_REQUIRED": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_MATCHING": True,
    "COMPLIANT_BCP_RFC9700_REFRESH_TOKEN": True,
    # Access and refresh tokens are stored only as SHA-256 checksums; client secrets as password hashes.
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "AUTHORIZATION_CODE_EXPIRE_SECONDS": 60,
    "ACCESS_TOKEN_EXPIRE_SECONDS": UMP_OIDC_ACCESS_TOKEN_SECONDS,
    "ID_TOKEN_EXPIRE_SECONDS": UMP_OIDC_ID_TOKEN_SECONDS,
    "REFRESH_TOKEN_EXPIRE_SECONDS": UMP_OIDC_REFRESH_TOKEN_SECONDS,
    "ROTATE_REFRESH_TOKEN": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "REFRESH_TOKEN_GRACE_PERIOD_SECONDS": 0,
    # consent is remembered while a token for the same scopes lives; trusted clients never ask
    "REQUEST_APPROVAL_PROMPT": "auto",
    # https, or http on the loopback address only (sso.services checks each redirect URI as it is registered)
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https", "http"],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "axes": {"level": "WARNING"},
        # at DEBUG these log authorization responses (with their codes) and the requests oauthlib validates
        "oauth2_provider": {"level": "WARNING"},
        "oauthlib": {"level": "WARNING"},
    },
}
