"""Chappe settings: one module, every value from the environment (`CHAPPE_*`).

With nothing set, Chappe runs on the embedded default: SQLite in WAL mode under the data
directory, e-mails written to files there, a secret key generated once and kept there.
Production sets at least CHAPPE_DATABASE_URL (PostgreSQL), CHAPPE_SECRET_KEY,
CHAPPE_ALLOWED_HOSTS and CHAPPE_DEBUG=0.
"""

import json
import os
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DATA_DIR = Path(os.environ.get("CHAPPE_DATA_DIR", BASE_DIR / "var")).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)
# The embedded database (sessions, webhook secrets), the secret key, e-mails and uploads
# live here: for the owner only (700; the SQLite files are made 600 below).
DATA_DIR.chmod(0o700)


def _secret_key() -> str:
    """CHAPPE_SECRET_KEY, else a random key generated once and kept in the data dir."""
    if key := os.environ.get("CHAPPE_SECRET_KEY"):
        return key
    path = DATA_DIR / "secret-key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = _env_bool("CHAPPE_DEBUG", False)
ALLOWED_HOSTS = _env_list("CHAPPE_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1],testserver")
CSRF_TRUSTED_ORIGINS = _env_list("CHAPPE_CSRF_TRUSTED_ORIGINS", "")
# The public base URL, used in e-mails (invitations, password resets).
PUBLIC_URL = os.environ.get("CHAPPE_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "axes",
    # django-ninja as an app serves Swagger UI from its own static files (/api/docs
    # works offline), not from a CDN.
    "ninja",
    "chappe.queue",
    "chappe.audit",
    "chappe.accounts",
    "chappe.billing",
    "chappe.carriers",
    "chappe.contacts",
    "chappe.messaging",
    "chappe.campaigns",
    "chappe.webhooks",
    "chappe.privacy",
    "chappe.runtime",
    "chappe.smpp_server",
    "chappe.callcenter",
    "chappe.agents",
    "chappe.dialer",
    "chappe.time2chat",
    "chappe.inbox",
    "chappe.lifecycle",
    "chappe.support",
    "chappe.notices",
    "chappe.web",
    # The compatibility APIs (smsmode HTTP 1.6, smsmode REST v1, Twilio): their
    # callback formats are registered when the app is ready (issue 17).
    "chappe.api.compat",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "chappe.runtime.metrics.RequestMetricsMiddleware",
    "chappe.api.middleware.ApiErrorShapeMiddleware",
    "chappe.web.middleware.RefuseNulMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "chappe.accounts.passwords.RequestContextMiddleware",
    # Last, as django-axes requires: refuses a locked-out login with its own page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "chappe.web.context.current_account",
            ],
        },
    },
]

# Database: CHAPPE_DATABASE_URL (postgres://… in production), else embedded SQLite.
DATABASE_URL = os.environ.get("CHAPPE_DATABASE_URL", f"sqlite:///{DATA_DIR / 'chappe.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A bounded pool per process (psycopg_pool through Django): a request borrows a
    # connection and gives it back when it ends, so a web process never holds more than
    # CHAPPE_DB_POOL_SIZE connections however many clients wait, and a burst of clients
    # queues for a connection (up to CHAPPE_DB_POOL_TIMEOUT seconds) instead of failing.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1,
        "max_size": int(os.environ.get("CHAPPE_DB_POOL_SIZE", "8")),
        "timeout": float(os.environ.get("CHAPPE_DB_POOL_TIMEOUT", "30")),
        "max_idle": 60,
    }
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    _sqlite = Path(DATABASES["default"]["NAME"])
    if _sqlite.parent.is_dir():
        # SQLite gives its -wal and -shm files the database file's mode: 600 for all three.
        for _path in (_sqlite, _sqlite.with_name(_sqlite.name + "-wal"),
                      _sqlite.with_name(_sqlite.name + "-shm")):
            if _path.exists() or _path == _sqlite:
                _path.touch(mode=0o600)
                _path.chmod(0o600)
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets readers run beside the one writer; IMMEDIATE takes the write lock at
        # BEGIN so two writers queue on busy_timeout instead of failing mid-transaction.
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    # Tests on a file, not Django's default shared-cache memory database: there a
    # second thread's write (a group commit, an SMPP server, a voice engine's desk) meets
    # "database table is locked" at once, which no busy timeout waits out.
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
# Logins (web app and back-office) are throttled by django-axes: after
# CHAPPE_LOGIN_FAILURE_LIMIT failed attempts for one e-mail from one address, that pair is
# refused (HTTP 429) for CHAPPE_LOGIN_LOCKOUT_MINUTES; a success resets the count.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = int(os.environ.get("CHAPPE_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("CHAPPE_LOGIN_LOCKOUT_MINUTES", "15")))
# The e-mail as logins compare it (any case): varying the case gets no fresh attempts.
AXES_USERNAME_CALLABLE = "chappe.accounts.sign_in_signals.login_email"
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "chappe.web.views.public.login_locked"
AXES_CLIENT_IP_CALLABLE = "chappe.accounts.sign_in_signals.client_ip"
AXES_VERBOSE = False
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "web:login"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = _env_bool("CHAPPE_SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("fr", _("French"))]
LOCALE_PATHS = [BASE_DIR / "chappe" / "locale"]
# English dates read day first (chappe/formats/en), as Chappe's European clients write them.
FORMAT_MODULE_PATH = ["chappe.formats"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
# Business rules run in the account's zone; this is the default for new accounts.
CHAPPE_DEFAULT_TIMEZONE = "Europe/Paris"
CHAPPE_DEFAULT_COUNTRY = "FR"
# Where clients bind over SMPP (`chappe smpp-server` listens there; the web app shows it).
CHAPPE_SMPP_PORT = int(os.environ.get("CHAPPE_SMPP_PORT", "2775"))
# Where the built-in voice carrier simulator listens (`chappe sip-sim`; the demo trunk
# points there).
CHAPPE_SIP_SIM_PORT = int(os.environ.get("CHAPPE_SIP_SIM_PORT", "5070"))
# The voice engine's control port on loopback: the web role relays agents' browser
# softphones to it (chappe.voice.browser, decision 0040). Never exposed outside.
# Retention of recorded audio (M-13, C-10): call recordings, six months by default (the
# CNIL's longest for quality and training); voicemails, 0 = for the contract's duration.
CHAPPE_RECORDING_KEEP_DAYS = int(os.environ.get("CHAPPE_RECORDING_KEEP_DAYS", "183"))
CHAPPE_VOICEMAIL_KEEP_DAYS = int(os.environ.get("CHAPPE_VOICEMAIL_KEEP_DAYS", "0"))
CHAPPE_VOICE_CONTROL_HOST = os.environ.get("CHAPPE_VOICE_CONTROL_HOST", "127.0.0.1")
CHAPPE_VOICE_CONTROL_PORT = int(os.environ.get("CHAPPE_VOICE_CONTROL_PORT", "5079"))
# STUN/TURN servers of the browser softphones (JSON list of {urls, username?, credential?},
# as RTCPeerConnection takes them), given to the browsers and to the engine's WebRTC
# peers alike; none: host candidates only (browsers and engine on one network).
CHAPPE_WEBRTC_ICE_SERVERS = json.loads(os.environ.get("CHAPPE_WEBRTC_ICE_SERVERS", "[]"))

# Carrier connector types: slug → class (docs/decisions/0030-connector-registry.md). A
# connector row names its type by slug; CHAPPE_CONNECTOR_TYPES (JSON) adds more types.
CHAPPE_CONNECTOR_TYPES = {
    "simulator": "chappe.carriers.simulator.connector.SimulatorConnector",
    "smpp": "chappe.carriers.smpp.connector.SmppConnector",
    "rcs_simulator": "chappe.carriers.rcs_simulator.connector.RcsSimulatorConnector",
    "rbm": "chappe.carriers.rbm.connector.RbmConnector",
    **json.loads(os.environ.get("CHAPPE_CONNECTOR_TYPES", "{}")),
}

# RCS (issue 19, decision 0049): the carriers that validate each RCS agent, and the
# months without a send after which an agent is deactivated (a notice goes a month before).
CHAPPE_RCS_CARRIERS = [c for c in os.environ.get(
    "CHAPPE_RCS_CARRIERS", "orange,sfr,bouygues,free").split(",") if c]
CHAPPE_RCS_IDLE_MONTHS = int(os.environ.get("CHAPPE_RCS_IDLE_MONTHS", "6"))
# Time2Chat (decision 0050): days an ended 09 number waits before it can be reassigned.
CHAPPE_T2C_QUARANTINE_DAYS = int(os.environ.get("CHAPPE_T2C_QUARANTINE_DAYS", "90"))

# Messaging rules the operator sets per platform.
# The STOP mention appended to marketing SMS (M-10): the operator's STOP short code.
CHAPPE_STOP_MENTION = os.environ.get("CHAPPE_STOP_MENTION", "STOP au 36034")
# A message without a final status this long after its send time expires (M-7).
CHAPPE_SMS_VALIDITY_HOURS = int(os.environ.get("CHAPPE_SMS_VALIDITY_HOURS", "24"))
# Sender (OADC) rules per destination country (M-2), as JSON of SenderRule fields
# (chappe/messaging/senders.py); "*" applies to countries not listed.
CHAPPE_SENDER_RULES = json.loads(os.environ.get("CHAPPE_SENDER_RULES", "null")) or {
    "FR": {},
    "*": {"short_code_pattern": r"\d{3,8}", "long_number_allowed": True},
}
# Content policy (M-11, docs/decisions/0051): an account caught by the same rule with this
# many different texts or senders within this many hours is flagged to the operator as
# trying to get round it.
CHAPPE_POLICY_BYPASS_ATTEMPTS = int(os.environ.get("CHAPPE_POLICY_BYPASS_ATTEMPTS", "3"))
CHAPPE_POLICY_BYPASS_HOURS = int(os.environ.get("CHAPPE_POLICY_BYPASS_HOURS", "24"))
# History retention (M-13, C-10, docs/decisions/0052): messages stay in the active tables
# this many months, then in the archive (compressed monthly files under the data dir)
# this many more, then are deleted; call records are kept this many years from the date
# of the invoice that billed them (never deleted while no invoice references them).
CHAPPE_MESSAGES_ACTIVE_MONTHS = int(os.environ.get("CHAPPE_MESSAGES_ACTIVE_MONTHS", "6"))
CHAPPE_MESSAGES_ARCHIVE_MONTHS = int(os.environ.get("CHAPPE_MESSAGES_ARCHIVE_MONTHS", "12"))
CHAPPE_CALLS_KEEP_YEARS = int(os.environ.get("CHAPPE_CALLS_KEEP_YEARS", "10"))
# Marketing sending windows per destination country (M-12), as JSON: {"FR": {"start":
# "08:00", "end": "21:30", "weekdays": [0, 1, 2, 3, 4, 5], "public_holidays_allowed":
# false}}. Countries not listed have no window. Default: France, AF2M 2026 charter.
CHAPPE_SENDING_WINDOWS = json.loads(os.environ.get("CHAPPE_SENDING_WINDOWS", "null")) or {
    "FR": {"start": "08:00", "end": "21:30", "weekdays": [0, 1, 2, 3, 4, 5],
           "public_holidays_allowed": False},
}

# Bulk campaigns (docs/decisions/0021-campaigns.md). Recipients accepted per transaction
# at launch; messages a campaign releases to the dispatch queue per second, in waves every
# TICK seconds (a transactional message waits behind at most one wave); how often its
# progress is counted (less often when counting is slow).
CHAPPE_CAMPAIGN_CHUNK = int(os.environ.get("CHAPPE_CAMPAIGN_CHUNK", "10000"))
# Lanes of a campaign launch accepted side by side (decision 0044): SQLite has one writer.
CHAPPE_LAUNCH_LANES = int(os.environ.get(
    "CHAPPE_LAUNCH_LANES",
    "2" if DATABASES["default"]["ENGINE"].endswith("postgresql") else "1"))
CHAPPE_CAMPAIGN_RATE = float(os.environ.get("CHAPPE_CAMPAIGN_RATE", "200"))
CHAPPE_CAMPAIGN_TICK_SECONDS = float(os.environ.get("CHAPPE_CAMPAIGN_TICK_SECONDS", "2"))
CHAPPE_CAMPAIGN_SAMPLE_SECONDS = float(os.environ.get("CHAPPE_CAMPAIGN_SAMPLE_SECONDS", "5"))
# Operator-skew check of bulk sends (M-9), as JSON: what happens to a skewed campaign
# ("hold" for review, or "price" at the operator-specific price), how many points above
# its usual share an operator must be, the smallest audience per country worth checking,
# and the usual mix per country: operator name (phonenumbers' carrier name) -> its share
# and MCC+MNC (the `operator` of its specific price rows). The default mix is
# illustrative (French original range holders); set your own.
CHAPPE_OPERATOR_SKEW = json.loads(os.environ.get("CHAPPE_OPERATOR_SKEW", "null")) or {
    "action": "hold",
    "threshold": 0.30,
    "min_recipients": 500,
    "mix": {
        "FR": {
            "Orange France": {"share": 0.38, "code": "20801"},
            "SFR": {"share": 0.25, "code": "20810"},
            "Bouygues": {"share": 0.20, "code": "20820"},
            "Free Mobile": {"share": 0.17, "code": "20815"},
        },
    },
}

# Networks that webhooks and other client-chosen URLs may reach although they are
# loopback/private/link-local/reserved (comma-separated CIDRs; chappe/common/outbound_http.py).
# Empty by default: set "127.0.0.0/8" for a receiver on the developer's machine.
CHAPPE_WEBHOOK_ALLOW_NETWORKS = os.environ.get("CHAPPE_WEBHOOK_ALLOW_NETWORKS", "")

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
MEDIA_ROOT = DATA_DIR / "media"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# E-mail: SMTP when CHAPPE_EMAIL_HOST is set, else files under <data dir>/mail.
if email_host := os.environ.get("CHAPPE_EMAIL_HOST"):
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": email_host,
                "port": int(os.environ.get("CHAPPE_EMAIL_PORT", "587")),
                "username": os.environ.get("CHAPPE_EMAIL_USER", ""),
                "password": os.environ.get("CHAPPE_EMAIL_PASSWORD", ""),
                "use_tls": _env_bool("CHAPPE_EMAIL_TLS", True),
            },
        }
    }
else:
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "OPTIONS": {"file_path": str(DATA_DIR / "mail")},
        }
    }
DEFAULT_FROM_EMAIL = os.environ.get("CHAPPE_FROM_EMAIL", "Chappe <no-reply@chappe.localhost>")

# The account's lifecycle (P-9, P-10): the terms of sale's values, each replaceable by
# the operator through CHAPPE_LIFECYCLE (JSON, only the keys to change).
CHAPPE_LIFECYCLE = {
    "notice_months": 1,  # termination with notice: one calendar month
    "breach_cure_days": 30,  # a formal notice left unremedied this long ends the contract
    "purge_months": 3,  # the export stays available this long after termination
    "inactivity_months": 24,  # no login, API call, SMPP bind or send for this long…
    "inactivity_notice_days": 15,  # …and the account is deleted this long after the notice
    "activity_touch_minutes": 60,  # last activity written at most this often per account
    **json.loads(os.environ.get("CHAPPE_LIFECYCLE", "{}")),
}
# Support (P-11, C-12): ticket quotas per calendar month in the account's zone, the
# desk's opening hours (closed on French public holidays) and the acknowledgement
# deadlines in working hours. CHAPPE_SUPPORT (JSON) replaces any key.
CHAPPE_SUPPORT = {
    "tickets_per_month": 5,
    "tickets_per_month_subscriber": 30,
    "timezone": "Europe/Paris",
    "hours": [["09:00", "12:00"], ["14:00", "17:00"]],
    "acknowledge_hours": {"blocking": 24, "semi_blocking": 48},
    "phone": os.environ.get("CHAPPE_SUPPORT_PHONE", ""),
    "email": os.environ.get("CHAPPE_SUPPORT_EMAIL", "support@chappe.localhost"),
    # The inbound mailbox the worker polls for tickets sent by e-mail: a maildir path.
    "maildir": os.environ.get("CHAPPE_SUPPORT_MAILDIR", str(DATA_DIR / "support-inbox")),
    # P-19: the back-office shows these models' rows only under the client's grant.
    "access_models": ["messaging.message", "messaging.reply", "callcenter.callrecord",
                      "callcenter.voicemail", "contacts.contactimport"],
    "access_max_hours": 168,  # the longest grant a client gives at once
    **json.loads(os.environ.get("CHAPPE_SUPPORT", "{}")),
}

# Notices and transparency (P-12, P-14, P-16): notice periods and the platform's DPO,
# published on /legal/. CHAPPE_NOTICES (JSON) replaces any key.
CHAPPE_NOTICES = {
    "change_notice_months": 1,  # price and service changes announced a month ahead
    "terms_notice_days": 30,  # new terms notified at least 30 days ahead
    "objection_days": 15,  # to object to a change of sub-processors
    "recipient_request_days": 30,  # a forwarded request unanswered this long is overdue
    "dpo": {"name": os.environ.get("CHAPPE_DPO_NAME", ""),
            "email": os.environ.get("CHAPPE_DPO_EMAIL", "dpo@chappe.localhost"),
            "address": os.environ.get("CHAPPE_DPO_ADDRESS", "")},
    **json.loads(os.environ.get("CHAPPE_NOTICES", "{}")),
}

NINJA_PAGINATION_PER_PAGE = 50
NINJA_PAGINATION_MAX_LIMIT = 500

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("CHAPPE_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"},
                # fpdf2's font subsetting logs every table it keeps at INFO.
                "fontTools": {"level": "WARNING"}},
}
