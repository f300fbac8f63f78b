"""Errors of the runtime-store layer, in the tree of ``vaultborn.core.errors``.

The branches::

    UsageError
    ├── InvalidTarget                 a store target URI that does not parse (bad region, name …)
    └── InvalidEnvFile                an env file line that is not NAME=op://… (names file:line)
    ConfigurationError
    └── StoreNotConfigured            AWS configuration present but unusable (no credentials …)
    ServiceError
    └── StoreError
        ├── StoreAccessDenied         the store refused our identity or the action
        ├── SecretPendingDeletion     the target secret is scheduled for deletion
        ├── StoreRejected             the store refused the request (invalid name, limits …)
        ├── StoreConflict             the idempotency key is taken by a different value
        ├── StoreThrottled (transient)    still throttled after the retries
        └── StoreUnavailable (transient)  the endpoint did not answer, or failed inside

Messages name the target, the action and the store's error code; never a value or its hash.
"""

from __future__ import annotations

from vaultborn.core.errors import ConfigurationError, ServiceError, TransientError, UsageError

__all__ = [
    "InvalidEnvFile",
    "InvalidTarget",
    "SecretPendingDeletion",
    "StoreAccessDenied",
    "StoreConflict",
    "StoreError",
    "StoreNotConfigured",
    "StoreRejected",
    "StoreThrottled",
    "StoreUnavailable",
]


class InvalidTarget(UsageError):
    """A target URI such as ``aws-secretsmanager://REGION/NAME`` that does not parse."""


class InvalidEnvFile(UsageError):
    """An env file that does not hold only ``NAME=op://…`` lines; the message names file:line."""


class StoreNotConfigured(ConfigurationError):
    """The store's configuration exists but cannot be used (no credentials, unknown profile)."""


class StoreError(ServiceError):
    """A runtime store refused or failed a request."""


class StoreAccessDenied(StoreError):
    """The store refused our credentials or the action on this target."""


class SecretPendingDeletion(StoreError):
    """The target secret is scheduled for deletion; restore it or pick another name."""


class StoreRejected(StoreError):
    """The store refused the request as invalid (name, parameters, limits)."""


class StoreConflict(StoreError):
    """The version id we derive is already used by a version holding a different value."""


class StoreThrottled(StoreError, TransientError):
    """The store kept throttling us after the configured retries."""


class StoreUnavailable(StoreError, TransientError):
    """The store's endpoint did not answer or failed internally."""
