"""The third-party servers, one of each for the whole session (each costs ~0.4 s to start).

Defined in their harness modules (``oidc_op``, ``webapps``) and registered here once, so that
every module of this folder shares the same processes.
"""

from __future__ import annotations

from tests.thirdparty.oidc_op import oidc_op_fixture
from tests.thirdparty.webapps import allauth_site, flask_security_site, start_site_factory

__all__ = ["allauth_site", "flask_security_site", "oidc_op_fixture", "start_site_factory"]
