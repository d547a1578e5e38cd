"""Django settings, all from the environment (see solidarity.config and README)."""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url

from solidarity import config

BASE_DIR = Path(__file__).resolve().parent.parent
HOME = config.home()

SECRET_KEY = os.environ.get("SECRET_KEY") or config.secret_file("django_secret_key")
DEBUG = config.env_flag("DEBUG")
ALLOWED_HOSTS = [
    h.strip() for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h
]
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]
# The public log's origin is `<LOG_HOST>/<campaign-slug>` (C2SP tlog-checkpoint).
SOLIDARITY_LOG_HOST = os.environ.get("SOLIDARITY_LOG_HOST", "solidarity.localhost")
# How long the sequencer waits for its witnesses' cosignatures per checkpoint, and how many
# times it retries a witness it cannot reach within that time.
SOLIDARITY_WITNESS_TIMEOUT = float(os.environ.get("SOLIDARITY_WITNESS_TIMEOUT", "5"))
SOLIDARITY_WITNESS_RETRIES = int(os.environ.get("SOLIDARITY_WITNESS_RETRIES", "2"))

INSTALLED_APPS = [
    "solidarity.apps.accounts.apps.SolidarityAdminConfig",  # django.contrib.admin, our site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "solidarity.apps.accounts",
    "solidarity.apps.campaigns",
    "solidarity.apps.ledger",
    "solidarity.apps.donations",
    "solidarity.apps.banking",
    "solidarity.apps.transparency",
    "solidarity.apps.public",
    "solidarity.apps.disbursements",
    "solidarity.apps.imports",
    "solidarity.apps.feeds",
    "solidarity.apps.partners",
    "solidarity.apps.office",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "solidarity.apps.workers",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "solidarity.web.replica.PublicReadMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "solidarity.web.framing.FrameAncestorsMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes requires
]

# Login throttling and lockout (django-axes): after AXES_FAILURE_LIMIT failed passwords for
# one username from one address, that pair is locked out for AXES_COOLOFF_TIME hours (HTTP
# 429). `solidarity user unlock USERNAME` (or `manage.py axes_reset_username`) lifts it.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = int(os.environ.get("SOLIDARITY_LOGIN_FAILURES", "5"))
AXES_COOLOFF_TIME = float(os.environ.get("SOLIDARITY_LOCKOUT_HOURS", "1"))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_ENABLE_ACCESS_FAILURE_LOG = True  # each failed login, kept for admins to read
AXES_CLIENT_IP_CALLABLE = "solidarity.apps.accounts.access.axes_client_ip"
AXES_VERBOSE = False
AXES_ENABLE_ADMIN = False  # registered by solidarity.apps.accounts.admin
# Trusted reverse proxies in front of the app (0: use REMOTE_ADDR); see accounts.access.
SOLIDARITY_PROXIES = int(os.environ.get("SOLIDARITY_PROXIES", "0"))
# TOTP devices (django-otp) name the issuer in the otpauth:// URI authenticator apps show.
OTP_TOTP_ISSUER = os.environ.get("SOLIDARITY_OTP_ISSUER", "Solidarity")
# Nobody reads a TOTP secret back from the admin: devices are enrolled with `solidarity user totp`.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True

ROOT_URLCONF = "solidarity.web.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "web" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "solidarity.apps.office.context.office_roles",
            ],
        },
    },
]
WSGI_APPLICATION = "solidarity.web.wsgi.application"

_sqlite_default = f"sqlite:///{HOME / 'solidarity.sqlite3'}"
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or _sqlite_default, conn_max_age=60
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Writers queue on a file lock, not in SQLite's sleeping busy handler (see that module).
    DATABASES["default"]["ENGINE"] = "solidarity.sqlite_gated"
    DATABASES["default"]["TEST"] = {"NAME": ":memory:"}  # as for Django's own SQLite engine
    # Kept open: opening one runs the PRAGMAs below and registers Django's SQL functions.
    DATABASES["default"]["CONN_MAX_AGE"] = 600
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets readers run during an import; IMMEDIATE takes the write lock up front
        # so two writers wait for each other instead of failing with "database is locked".
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
        "PRAGMA foreign_keys=ON; PRAGMA cache_size=-65536; PRAGMA temp_store=MEMORY;"
        # Reads through a memory map of up to this many MB (`serve` sets it for its web
        # workers: 16 threads' connections share the file's pages instead of warming a cache
        # each; measured at 2M gifts, the statement mix from 222-278 to 297-312 searches/s).
        # 0 elsewhere: an import's peak RSS would count the mapped pages it reads.
        f"PRAGMA mmap_size={int(os.environ.get('SOLIDARITY_SQLITE_MMAP_MB') or 0) * 1024 * 1024};",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
# Public reads may go to a streaming replica, bypassed when it is down or lags (web/replica.py).
if os.environ.get("DATABASE_REPLICA_URL"):
    DATABASES["replica"] = dj_database_url.parse(
        os.environ["DATABASE_REPLICA_URL"], conn_max_age=60
    )
    DATABASES["replica"]["OPTIONS"] = {"connect_timeout": 1}
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
    DATABASE_ROUTERS = ["solidarity.web.replica.ReplicaRouter"]
SOLIDARITY_REPLICA_MAX_LAG = float(os.environ.get("SOLIDARITY_REPLICA_MAX_LAG", "5"))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "vi"
LANGUAGES = [("vi", "Tiếng Việt"), ("en", "English"), ("es", "Español"), ("pt-br", "Português")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Ho_Chi_Minh"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = HOME / "static"
STATICFILES_DIRS = [BASE_DIR / "web" / "static"]
STATIC_ROOT.mkdir(exist_ok=True)
STORAGES = {
    # Evidence files; SOLIDARITY_S3_BUCKET puts them in object storage every node reads
    # (django-storages with boto3, installed with `pip install solidarity[s3]`).
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
if os.environ.get("SOLIDARITY_S3_BUCKET"):
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": os.environ["SOLIDARITY_S3_BUCKET"],
            "endpoint_url": os.environ.get("SOLIDARITY_S3_ENDPOINT") or None,
            "location": os.environ.get("SOLIDARITY_S3_PREFIX", ""),
            "default_acl": None,
            "file_overwrite": False,
            "querystring_auth": False,
        },
    }
if DEBUG or config.env_flag("SOLIDARITY_TESTING"):  # no manifest needed to run
    STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = HOME / "media"
# Only campaign photos are served from here (public.views.campaign_media); tranche evidence
# under MEDIA_ROOT/evidence/ has its own views.
MEDIA_URL = "/media/"

LOGIN_URL = "/admin/login/"
# After logging in, people land on the back office's home (what waits for them).
LOGIN_REDIRECT_URL = "/office/"

# Production defaults; `manage.py check --deploy` is clean when DEBUG is off and the site
# is served over HTTPS (set SOLIDARITY_HTTPS=false for a plain-HTTP LAN or the demo).
TESTING = config.env_flag("SOLIDARITY_TESTING")
_https = config.env_flag("SOLIDARITY_HTTPS", default=not (DEBUG or TESTING))
SESSION_COOKIE_SECURE = _https
CSRF_COOKIE_SECURE = _https
SECURE_SSL_REDIRECT = _https and config.env_flag("SOLIDARITY_SSL_REDIRECT", default=True)
# Load balancers and Prometheus reach a node directly, often over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SECURE_HSTS_SECONDS = 31_536_000 if _https else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = _https
SECURE_HSTS_PRELOAD = _https
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"


# Readiness (/readyz, /metrics, `solidarity status`): past any of these the node answers 503.
# Each has an environment override of the same name (README, "Health and metrics").
def _env_number(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


SOLIDARITY_READY = {
    # a worker whose freshest heartbeat is older than this is down
    "heartbeat_seconds": _env_number("SOLIDARITY_READY_HEARTBEAT_SECONDS", 30),
    # sequencer: entries booked but not yet in a signed checkpoint, and the oldest one's age
    "unpublished_entries": _env_number("SOLIDARITY_READY_UNPUBLISHED_ENTRIES", 100_000),
    "unpublished_seconds": _env_number("SOLIDARITY_READY_UNPUBLISHED_SECONDS", 120),
    # booker: acknowledged notifications not booked yet, the oldest one's age, failed ones
    "waiting_notifications": _env_number("SOLIDARITY_READY_WAITING_NOTIFICATIONS", 20_000),
    "waiting_seconds": _env_number("SOLIDARITY_READY_WAITING_SECONDS", 120),
    "failed_notifications": _env_number("SOLIDARITY_READY_FAILED_NOTIFICATIONS", 100),
    "conflicts": _env_number("SOLIDARITY_READY_CONFLICTS", 100),
    # search indexer: booked gifts not searchable yet, and how long ago the oldest was booked
    "unindexed_seconds": _env_number("SOLIDARITY_READY_UNINDEXED_SECONDS", 0),
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
    # Erasures of donors' private records: one line each, whatever LOG_LEVEL says.
    "loggers": {"solidarity.privacy": {"level": "INFO"}},
}
