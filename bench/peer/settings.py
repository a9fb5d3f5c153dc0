"""Django settings of the peer ticket system (django-helpdesk) for the benchmark harness.

Our own minimal production-style project around the `helpdesk` app: PostgreSQL with persistent
connections, DEBUG off, no e-mail delivery (the dummy backend: messages are still rendered, as
Linli still writes its notification rows), DRF with session + token authentication.
Everything that differs between runs comes from PEER_* environment variables set by
bench/peer_helpdesk.py.
"""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
STATE_DIR = Path(os.environ.get("PEER_STATE_DIR", BASE_DIR.parent / ".peer"))

SECRET_KEY = "bench-peer-not-a-secret-0123456789-abcdefghijklmnopqrstuvwxyz"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sites",  # helpdesk builds e-mail links from the current Site
    "django.contrib.humanize",  # helpdesk templates use it
    "rest_framework",
    "rest_framework.authtoken",
    "helpdesk",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "urls"
WSGI_APPLICATION = "wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.environ.get("PEER_DB_NAME", "linli_bench_peer"),
        "USER": os.environ.get("PEER_DB_USER", "postgres"),
        "PASSWORD": os.environ.get("PEER_DB_PASSWORD", ""),
        "HOST": os.environ.get("PEER_DB_HOST", "127.0.0.1"),
        "PORT": os.environ.get("PEER_DB_PORT", "5432"),
        # Persistent connections (one per worker thread), as a production deployment would run.
        "CONN_MAX_AGE": None,
    }
}

DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
SITE_ID = 1

LANGUAGE_CODE = "en-us"
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = STATE_DIR / "static"
MEDIA_URL = "/media/"
MEDIA_ROOT = STATE_DIR / "media"

LOGIN_URL = "helpdesk:login"
LOGIN_REDIRECT_URL = "helpdesk:home"

# No mail server: helpdesk still renders every notification e-mail, the backend drops it.
EMAIL_BACKEND = "django.core.mail.backends.dummy.EmailBackend"
DEFAULT_FROM_EMAIL = "helpdesk@example.com"

# Teams need pinax-teams (an optional extra); the bench does not use them.
HELPDESK_TEAMS_MODE_ENABLED = False

REST_FRAMEWORK = {
    # Session: the staff UI (datatables list, an @api_view); token: API clients (ticket create).
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
