"""Errors of approvals: each check of an answer has its own, all one line and value-free.

::

    UsageError
    └── ApprovalError
        ├── InvalidDecision   not the answer's shape (keys, types, unknown decision), or a
        │                     payload that is not a request's
        ├── DigestMismatch    the answer is for another action (or other arguments)
        ├── RequestMismatch   the answer is for another run, or an earlier request of this one
        ├── ApprovalExpired   the request's time to answer has passed
        └── EditRefused       an edit that would add arguments or set a non-scalar value

A ``Secret`` passed to anything in approvals is a programming error: ``TypeError``.
"""

from __future__ import annotations

from vaultborn.core.errors import UsageError

__all__ = [
    "ApprovalError",
    "ApprovalExpired",
    "DigestMismatch",
    "EditRefused",
    "InvalidDecision",
    "RequestMismatch",
]


class ApprovalError(UsageError):
    """An answer at a gate was refused."""


class InvalidDecision(ApprovalError):
    """The answer does not have the decision's shape."""


class DigestMismatch(ApprovalError):
    """The answer names another action's digest."""


class RequestMismatch(ApprovalError):
    """The answer names another run, or a request of this run that no longer waits."""


class ApprovalExpired(ApprovalError):
    """The request was answered after its expiry."""


class EditRefused(ApprovalError):
    """An edit tried to add arguments, change effects, or carry a non-plain value."""
