"""The WSGI application (``DJANGO_SETTINGS_MODULE`` must be set before importing this)."""

from __future__ import annotations

from django.core.wsgi import get_wsgi_application

application = get_wsgi_application()
