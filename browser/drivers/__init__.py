"""Screen-driven drivers: Auth0 Universal Login, Keycloak, Okta and a generic one.

A driver classifies a ``PageSnapshot`` into a ``Screen`` (a pure function) and knows how to
fill that IdP's code and login fields. ``pick_driver`` chooses per page, so a flow that moves
from one IdP's page to another (a redirect to the application) is still classified.
"""

from __future__ import annotations

from vaultborn.browser.drivers.auth0 import Auth0Driver
from vaultborn.browser.drivers.base import Driver
from vaultborn.browser.drivers.generic import GenericDriver
from vaultborn.browser.drivers.keycloak import KeycloakDriver
from vaultborn.browser.drivers.okta import OktaDriver
from vaultborn.browser.snapshot import PageSnapshot
from vaultborn.core.errors import UsageError

__all__ = ["DRIVER_NAMES", "Driver", "driver_named", "pick_driver"]

_DRIVERS: tuple[Driver, ...] = (Auth0Driver(), KeycloakDriver(), OktaDriver(), GenericDriver())
DRIVER_NAMES = ("auto", *(d.name for d in _DRIVERS))


def driver_named(name: str) -> Driver | None:
    """The driver called ``name``; None for ``auto`` (pick per page).

    Raises:
        UsageError: No driver has that name.
    """
    if name == "auto":
        return None
    for driver in _DRIVERS:
        if driver.name == name:
            return driver
    raise UsageError(f"unknown driver {name!r} (choose {', '.join(DRIVER_NAMES)})")


def pick_driver(snap: PageSnapshot) -> Driver:
    """The first driver that recognizes the page (the generic one always does)."""
    return next(d for d in _DRIVERS if d.recognizes(snap))
