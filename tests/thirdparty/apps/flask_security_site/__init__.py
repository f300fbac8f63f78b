"""A Flask app with Flask-Security-Too: registration, login, authenticator-app two-factor.

Run it from the repository root:
``python -m tests.thirdparty.apps.flask_security_site --data-dir DIR``.
"""
