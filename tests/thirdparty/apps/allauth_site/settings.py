"""Django settings: allauth sign-up/login by e-mail, TOTP and recovery codes, stock templates.

Read from the environment, which ``__main__`` fills from its command line:

- ``ALLAUTH_SITE_DATA_DIR``: where the SQLite database lives (required).
- ``ALLAUTH_SITE_REAUTH_TIMEOUT``: seconds a password re-entry counts as recent
  (``ACCOUNT_REAUTHENTICATION_TIMEOUT``, allauth's default 300).
- ``ALLAUTH_SITE_TOTP_TOLERANCE``: ``MFA_TOTP_TOLERANCE``, how many 30-second steps before and
  after the current one a code may come from (allauth's default 0).
- ``ALLAUTH_SITE_RATE_LIMITS``: ``1`` keeps allauth's rate limits (20 sign-ups a minute per
  IP, 10 failed logins a minute per IP …); anything else turns them off, so a test run that signs
  up many users on one server from 127.0.0.1 is not throttled.
- ``ALLAUTH_SITE_SECRET_KEY``: Django's secret key (random per process when unset).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

DATA_DIR = Path(os.environ["ALLAUTH_SITE_DATA_DIR"])

SECRET_KEY = os.environ.get("ALLAUTH_SITE_SECRET_KEY") or secrets.token_urlsafe(48)
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "allauth",
    "allauth.account",
    "allauth.mfa",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
]

ROOT_URLCONF = "tests.thirdparty.apps.allauth_site.urls"
WSGI_APPLICATION = "tests.thirdparty.apps.allauth_site.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [Path(__file__).resolve().parent / "templates"],
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
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": DATA_DIR / "allauth_site.sqlite3",
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# What `django-admin startproject` writes, so sign-up refuses weak passwords as a real site does.
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# allauth's pages load a few scripts (recovery codes, onload); __main__ serves them here.
STATIC_URL = "/static/"

LOGIN_REDIRECT_URL = "/"
ACCOUNT_LOGOUT_REDIRECT_URL = "/"

# Sign up and log in by e-mail address and password; no e-mail verification.
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "none"
# Re-authentication ("Confirm Access", password again) before activating TOTP stays on, as
# allauth ships it (MFA_REAUTHENTICATION_REQUIRED defaults to True). A login itself does not
# count as a re-authentication; a password re-entry counts for this many seconds.
ACCOUNT_REAUTHENTICATION_TIMEOUT = int(os.environ.get("ALLAUTH_SITE_REAUTH_TIMEOUT", "300"))

if os.environ.get("ALLAUTH_SITE_RATE_LIMITS") != "1":
    ACCOUNT_RATE_LIMITS = False

MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Allauth Test Site"
# Whatever the tolerance, allauth refuses a code it has accepted before (a cache entry per code).
MFA_TOTP_TOLERANCE = int(os.environ.get("ALLAUTH_SITE_TOTP_TOLERANCE", "0"))
# allauth refuses to add an authenticator while the account has an unverified e-mail address;
# with verification off every address is unverified, so without this TOTP could never be added.
MFA_ALLOW_UNVERIFIED_EMAIL = True

# Nothing here sends mail; if something did, it would land in the server's stderr.
EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"

# With DEBUG off, Django sends 500 tracebacks to ADMINS only: log them to stderr instead.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "loggers": {
        "django.request": {"handlers": ["stderr"], "level": "WARNING", "propagate": False},
        "django.security": {"handlers": ["stderr"], "level": "WARNING", "propagate": False},
    },
}
