"""The Flask-Security-Too application, as its quick-start builds it, with stock templates.

Features on: registration without confirmation (``SECURITY_REGISTERABLE``), login by e-mail and
password, two-factor with the authenticator method only (``/tf-setup``, ``/tf-validate``) and
multi-factor recovery codes (``/mf-recovery-codes``, ``/mf-recovery``). Everything else is off.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask, render_template_string
from flask_security import Security, SQLAlchemyUserDatastore, current_user
from flask_security.models import fsqla_v3 as fsqla
from flask_sqlalchemy import SQLAlchemy

db = SQLAlchemy()
fsqla.FsModels.set_db_info(db)


class Role(db.Model, fsqla.FsRoleMixin):  # type: ignore[name-defined,misc]
    """A role (unused, but the datastore needs the model)."""


class User(db.Model, fsqla.FsUserMixin):  # type: ignore[name-defined,misc]
    """A user: e-mail, password hash, TOTP secret, recovery codes."""


class WebAuthn(db.Model, fsqla.FsWebAuthnMixin):  # type: ignore[name-defined,misc]
    """Required by the v3 user model once ``webauthn`` is importable (passkeys stay off)."""


HOME = """{% extends "security/base.html" %}
{% set title = "Home" %}
{% block content %}
  {% include "security/_messages.html" %}
  <h1>Home</h1>
  {% if current_user.is_authenticated %}
    <p id="signed-in-as">Signed in as {{ current_user.email }}</p>
  {% else %}
    <p id="not-signed-in">You are not signed in.</p>
  {% endif %}
  {% include "security/_menu.html" %}
{% endblock content %}
"""


def create_app(data_dir: Path, *, freshness: timedelta = timedelta(hours=24)) -> Flask:
    """The app on a SQLite database in ``data_dir``; tables created.

    ``freshness`` is ``SECURITY_FRESHNESS``: how long after the last password entry
    ``/tf-setup`` may change the second factor without asking for the password again
    (``/verify``). Flask-Security's default is 24 hours; ``timedelta(0)`` asks every time.
    """
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=secrets.token_urlsafe(32),
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{data_dir / 'flask_security_site.sqlite3'}",
        SECURITY_PASSWORD_SALT=secrets.token_urlsafe(16),
        # argon2 (the default) needs argon2-cffi, which only the [common] extra brings.
        SECURITY_PASSWORD_HASH="pbkdf2_sha512",
        # email-validator's deliverability check asks DNS for the domain's MX records: this
        # site lives on loopback with no network, so check the syntax only.
        SECURITY_EMAIL_VALIDATOR_ARGS={"check_deliverability": False},
        SECURITY_REGISTERABLE=True,
        SECURITY_SEND_REGISTER_EMAIL=False,
        SECURITY_CONFIRMABLE=False,
        SECURITY_TWO_FACTOR=True,
        SECURITY_TWO_FACTOR_ENABLED_METHODS=["authenticator"],
        # No mail is configured, so no "email me a code" rescue option.
        SECURITY_TWO_FACTOR_RESCUE_EMAIL=False,
        SECURITY_TOTP_SECRETS={"1": secrets.token_urlsafe(32)},
        SECURITY_TOTP_ISSUER="Flask-Security Test Site",
        SECURITY_MULTI_FACTOR_RECOVERY_CODES=True,
        SECURITY_FRESHNESS=freshness,
    )
    db.init_app(app)
    datastore = SQLAlchemyUserDatastore(db, User, Role)
    app.security = Security(app, datastore)  # type: ignore[attr-defined]

    @app.route("/")
    def home() -> Any:
        return render_template_string(HOME, current_user=current_user)

    with app.app_context():
        db.create_all()
    return app
