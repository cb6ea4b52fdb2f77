"""Settings, read from the environment.

With nothing set the desk runs embedded: SQLite in ./db.sqlite3 and Celery tasks
run in-process (eager). `DATABASE_URL` (Postgres) and `REDIS_URL` switch it to the
full stack: a real Celery worker and beat on Redis.
"""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


DEBUG = env_bool("DJANGO_DEBUG", False)
# The production profile: HTTPS behind a TLS-terminating proxy (see "Production profile" below).
SECURE = env_bool("DJANGO_SECURE", False)
DEVELOPMENT_SECRET_KEY = "riskdesk-insecure-development-key-change-me"
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", DEVELOPMENT_SECRET_KEY)
# Django's own bar for a key (check --deploy, security.W009): 50 characters, 5 distinct ones.
if SECURE and (SECRET_KEY == DEVELOPMENT_SECRET_KEY or len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5):
    raise ImproperlyConfigured("DJANGO_SECURE=true needs a real DJANGO_SECRET_KEY: 50 or more random characters.")
ALLOWED_HOSTS = [h for h in os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",") if h]

INSTALLED_APPS = [
    "riskdesk.core.admin_apps.DeskAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "axes",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "riskdesk.core",
    "riskdesk.lending",
    "riskdesk.collections",
    "riskdesk.riskmodels",
    "riskdesk.dashboards",
    "riskdesk",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes asks: it turns a lockout flagged during the view into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "riskdesk.urls"
WSGI_APPLICATION = "riskdesk.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "riskdesk.core.roles.roles_context",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A database that does not answer fails a request (and /healthz) in seconds, not at the TCP timeout.
    DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = int(
        os.environ.get("DATABASE_CONNECT_TIMEOUT", "5")
    )
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded demo: wait for the writer instead of failing with "database is locked".
    DATABASES["default"]["OPTIONS"] = {"timeout": 30}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Django's default hashers, named so that a test can hold the first one to PBKDF2 (tests/conftest.py
# puts MD5 in front for speed only inside the suite). Older hashes are upgraded at the next login.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
# Checked where a person sets a password (admin forms, changepassword); the demo's documented
# logins are set by the seed with set_password, which does not validate.
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# django-axes sees every login (the web form, the admin's and the API's token endpoint all call
# authenticate(request=...)): AXES_FAILURE_LIMIT failures for one username from one address lock
# that pair out for AXES_COOLOFF_MINUTES; an admin lifts a lockout under Admin > Axes.
AUTHENTICATION_BACKENDS = [
    "riskdesk.lockout.LoginThrottleBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("AXES_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "riskdesk.lockout.lockout_response"
# riskdesk/admin.py registers axes' records under the desk's roles instead.
AXES_ENABLE_ADMIN = False
# The client's address, for the lockout and the token endpoint's rate limit alike: REMOTE_ADDR, or
# behind DJANGO_TRUSTED_PROXIES proxies that each append the address they saw to X-Forwarded-For
# (the production profile's TLS proxy: 1), the entry the outermost of them appended; the entries
# left of it are whatever the client sent (riskdesk.lockout.client_address).
TRUSTED_PROXIES = int(os.environ.get("DJANGO_TRUSTED_PROXIES", "1" if SECURE else "0"))
AXES_CLIENT_IP_CALLABLE = "riskdesk.lockout.client_address"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# The business date is the calendar date in the lender's time zone.
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = os.environ.get("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True
# Pins the business date (ISO) for tests and rehearsals; empty in production.
BUSINESS_DATE_OVERRIDE = os.environ.get("BUSINESS_DATE_OVERRIDE", "")

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # DRF's token, refused once older than API_TOKEN_AGE_SECONDS.
        "riskdesk.core.authentication.ExpiringTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "riskdesk.core.api.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "riskdesk.core.schema.AutoSchema",
    "COERCE_DECIMAL_TO_STRING": True,
    # The token endpoint's per-address rate limit reads the address as the lockout does.
    "NUM_PROXIES": TRUSTED_PROXIES,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "riskdesk API",
    "DESCRIPTION": "The risk-management desk of a consumer-credit lender. Amounts and rates are decimal strings.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema and its docs page name every endpoint and field of the book: signed-in users only.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # One name per shared enum, so the schema has no naming collisions.
    "ENUM_NAME_OVERRIDES": {
        "LoanStatusEnum": "riskdesk.lending.models.Loan.Status",
        "PaymentStatusEnum": "riskdesk.lending.models.Payment.Status",
        "CreditLineStatusEnum": "riskdesk.lending.models.CreditLine.Status",
        "JobRunStatusEnum": "riskdesk.core.models.JobRun.Status",
        "PaymentKindEnum": "riskdesk.lending.models.Payment.Kind",
        "CreditLineEventKindEnum": "riskdesk.lending.models.CreditLineEvent.Kind",
        "MethodEnum": "riskdesk.lending.models.Method",
        "RetentionKindEnum": "riskdesk.core.models.RetentionPolicy.Kind",
    },
}
# Bodies larger than this are refused before any view runs (413 in the error shape).
DATA_UPLOAD_MAX_MEMORY_SIZE = 1_000_000

# Celery: with REDIS_URL a real broker; without it tasks run in-process.
REDIS_URL = os.environ.get("REDIS_URL", "")
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL or env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A worker killed mid-task leaves its message unacknowledged; Redis hands it to another worker
# after the visibility timeout. It must outlast the longest task (a night of catch-up), or a
# task still running is started a second time (harmless for the nights, which workers share,
# but wasted). The kill test sets a few seconds.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", str(6 * 3600))),
    "socket_connect_timeout": 2,
}
# A web request publishing a task (core/outbox.py) waits at most ~2 s for a broker that is
# down, then leaves the task in the outbox: no publish retries on the request's time.
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.5, "interval_max": 0.5}
CELERY_TIMEZONE = TIME_ZONE
# The one place the nightly schedule is declared. 01:00 lender time closes yesterday, and
# the night is asked again every 15 minutes until 06:45: a closed day is a no-op, a night
# running in a live worker answers at once (riskdesk.tasks.close_day), so a tick beat could
# not send while Redis was down, or a worker killed mid-night, costs 15 minutes - not the
# day, nor the visibility timeout. A tick no worker took within its 15 minutes is dropped.
CELERY_BEAT_SCHEDULE = {
    "close-day": {
        "task": "riskdesk.tasks.close_day",
        "schedule": crontab(hour="1-6", minute="*/15"),
        "options": {"expires": 15 * 60},
    },
    # Reminders go out inside each borrower's contact window, so the dispatcher runs all day.
    # It reads the due reminders from the database: a tick lost (Redis down) is the next one's work.
    "dispatch-reminders": {
        "task": "riskdesk.collections.tasks.dispatch_reminders",
        "schedule": crontab(minute="*/5"),
        "options": {"expires": 5 * 60},
    },
    # Tasks the desk asked for while the broker was down (the task outbox, core/outbox.py).
    "relay-pending-tasks": {
        "task": "riskdesk.tasks.relay_pending_tasks",
        "schedule": crontab(minute="*"),
        "options": {"expires": 60},
    },
}
# Channel adapters (dotted paths) over the defaults, which write the outbox table;
# a JSON object in the environment swaps in real gateways.
RISKDESK_CHANNEL_ADAPTERS = {
    "sms": "riskdesk.collections.channels.SmsGateway",
    "push": "riskdesk.collections.channels.PushGateway",
    "email": "riskdesk.collections.channels.EmailAdapter",
    "letter": "riskdesk.collections.channels.LetterAdapter",
    **json.loads(os.environ.get("RISKDESK_CHANNEL_ADAPTERS", "{}")),
}
# Rows of the book one close-of-day chunk covers; workers claim chunks independently.
CLOSE_DAY_CHUNK_LOANS = int(os.environ.get("CLOSE_DAY_CHUNK_LOANS", "250000"))
# Loans one scoring chunk (close of day step 3) covers.
SCORING_CHUNK_LOANS = int(os.environ.get("SCORING_CHUNK_LOANS", "250000"))
# Close of day's dashboards step recounts collections and compliance for this many closed
# days (D and the days before it), so facts keyed after their day closed are counted.
DASHBOARDS_RECOUNT_DAYS = int(os.environ.get("DASHBOARDS_RECOUNT_DAYS", "7"))
# Retention: days a jurisdiction keeps each record kind at least, over the legal minimums in
# riskdesk.core.retention (a JSON object, e.g. {"recording_references": 1096}); it raises them, never lowers.
RISKDESK_RETENTION_MINIMUM_DAYS = json.loads(os.environ.get("RISKDESK_RETENTION_MINIMUM_DAYS", "{}"))
# Scorecard scaling for new model versions (train_model may override): base_score
# points at good:bad odds of base_odds, and every pdo points double the odds.
RISKDESK_SCORECARD_SCALING = {"base_score": "600", "base_odds": "50", "pdo": "20"}
# Risk bands by PD upper bound (E: everything above D's bound). Fixed business cut-offs
# rather than quantiles, so a band means the same under every model version.
RISKDESK_RISK_BANDS = {"A": "0.02", "B": "0.05", "C": "0.12", "D": "0.30"}

# Every handler masks phone, national-ID and card numbers in what it writes (issue 6), Django's own
# included: they are declared here, as django.utils.log.DEFAULT_LOGGING has them, with the filter
# (runserver's request lines carry query strings, /loans/?q=<national id>). Celery's worker and beat
# put the filter on the handlers they set up themselves (riskdesk.celery).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "pii": {"()": "riskdesk.core.masking.PiiLogFilter"},
        "require_debug_false": {"()": "django.utils.log.RequireDebugFalse"},
    },
    "formatters": {
        "django.server": {"()": "django.utils.log.ServerFormatter", "format": "[{server_time}] {message}", "style": "{"}
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["pii"]},
        "django.server": {"class": "logging.StreamHandler", "formatter": "django.server", "filters": ["pii"]},
        "mail_admins": {
            "level": "ERROR",
            "class": "riskdesk.core.masking.PiiAdminEmailHandler",
            "filters": ["require_debug_false", "pii"],
        },
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django": {"handlers": ["mail_admins"], "level": "INFO"},
        "django.server": {"handlers": ["django.server"], "level": "INFO", "propagate": False},
        "django.db.backends": {"level": "WARNING"},
        # redis-py gives this logger an unfiltered handler of its own (RESP3 push messages, e.g. for
        # Celery's control channel) unless it is already configured: configured here, it is ours.
        "push_response": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}

# Sessions last one working day from the login (server side, whatever the cookie says) and end
# when the browser closes. No sliding idle timeout: SESSION_SAVE_EVERY_REQUEST would write the
# session row on every request, and the operations page's polling would keep it alive anyway.
SESSION_COOKIE_AGE = int(os.environ.get("DJANGO_SESSION_AGE_SECONDS", str(8 * 3600)))
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
# An API token (Authorization: Token ...) lasts as long from its creation; the token endpoint
# hands out a fresh one for an expired one (riskdesk.core.api).
API_TOKEN_AGE_SECONDS = int(os.environ.get("DJANGO_API_TOKEN_AGE_SECONDS", str(SESSION_COOKIE_AGE)))
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# The operations page's script reads the CSRF cookie for its POSTs.
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

# Production profile (DJANGO_SECURE=true): HTTPS only, behind a TLS-terminating proxy that sets
# X-Forwarded-Proto (and overwrites what a client sent). /healthz stays on plain http for the
# container's health check.
SECURE_SSL_REDIRECT = SECURE
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if SECURE else None
SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_HSTS_SECONDS", str(365 * 24 * 3600))) if SECURE else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE
SECURE_HSTS_PRELOAD = SECURE
SESSION_COOKIE_SECURE = SECURE
CSRF_COOKIE_SECURE = SECURE
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("DJANGO_CSRF_TRUSTED_ORIGINS", "").split(",") if o]

# Content security policy (django-csp): the desk's own files only. Scripts are files under
# static/ (and plotly.js, served by the desk); the few inline scripts carry the request's nonce
# (drf-spectacular's Swagger UI init). Charts' data ride in <script type="application/json">
# blocks, which the browser never runs.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "frame-ancestors": [NONE],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
    },
}
