"""UMP settings: one file, read from the environment (and a local .env) through django-environ."""

from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

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
    "axes",
    "accounts",
    "passwords",
    "printing",
    "provisioning",
    "managing",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
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
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=10)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_USERNAME_CALLABLE = "accounts.backends.axes_username"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_VERBOSE = False
# No axes access log: the audit trail already records every sign-in, and a second row per sign-in (address,
# browser) kept for ever is personal data twice over and a write each sign-in at rush hour.
AXES_DISABLE_ACCESS_LOG = True
# Deliberate: an address-based limit would lock out a whole school behind one NAT address.
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

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"axes": {"level": "WARNING"}},
}
