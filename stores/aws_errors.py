"""Translating boto3/botocore failures into the store errors of ``stores.errors``.

Every message is one line: the action, the target, the AWS error code and AWS's own text
with the value scrubbed out, should AWS ever echo it. The botocore exception is not chained:
its traceback frames hold the request parameters.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
)

from vaultborn.stores.errors import (
    SecretPendingDeletion,
    StoreAccessDenied,
    StoreConflict,
    StoreError,
    StoreNotConfigured,
    StoreRejected,
    StoreThrottled,
    StoreUnavailable,
)
from vaultborn.vault.secret import REDACTED, Secret

__all__ = ["aws_errors", "pending_deletion", "translate_client_error"]

_DENIED = {
    "AccessDenied",
    "AccessDeniedException",
    "AuthFailure",
    "ExpiredTokenException",
    "InvalidClientTokenId",
    "InvalidSignatureException",
    "SignatureDoesNotMatch",
    "UnrecognizedClientException",
}
_THROTTLED = {
    "Throttling",
    "ThrottlingException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "TooManyUpdates",  # SSM: another update of the same parameter is under way
}
_UNAVAILABLE = {
    "InternalFailure",
    "InternalServerError",  # SSM's name for it
    "InternalServiceError",
    "ServiceUnavailable",
}
_MAX_MESSAGE = 300


SECRETS_MANAGER = "AWS Secrets Manager"


def translate_client_error(
    exc: ClientError, target: object, secret: Secret | None, service: str = SECRETS_MANAGER
) -> StoreError:
    """The store error for an AWS error answer to an operation on ``target`` (its URI)."""
    error = exc.response.get("Error", {})
    code = str(error.get("Code", "Unknown"))
    text = _scrub(str(error.get("Message", "")), secret)
    action = exc.operation_name
    said = f"{code}: {text}" if text else code
    if code in _DENIED:
        return StoreAccessDenied(f"AWS denied {action} on {target} ({said})")
    if code == "InvalidRequestException" and "delet" in text.lower():
        return pending_deletion(target)
    if code in _THROTTLED:
        return StoreThrottled(f"AWS kept throttling {action} on {target} after retries ({code})")
    if code in _UNAVAILABLE:
        return StoreUnavailable(f"{service} failed {action} on {target} ({said})")
    if code == "ResourceExistsException" and action == "PutSecretValue":
        return StoreConflict(
            f"{target} already has a version with our version id but a different value ({code})"
        )
    return StoreRejected(f"{service} refused {action} on {target} ({said})")


def pending_deletion(target: object) -> SecretPendingDeletion:
    """The error for a target secret that is scheduled for deletion."""
    return SecretPendingDeletion(
        f"{target} is scheduled for deletion; restore it (aws secretsmanager restore-secret) "
        "or seed another name"
    )


@contextmanager
def aws_errors(
    target: object, secret: Secret | None = None, service: str = SECRETS_MANAGER
) -> Iterator[None]:
    """Translate any boto3/botocore failure inside the block into a store error.

    Args:
        target: The target URI (or a value whose ``str`` is it), for the message.
        secret: The value being written, scrubbed from AWS's text should AWS echo it.
        service: The AWS service's name, for the message.
    """
    try:
        yield
    except ClientError as exc:
        raise translate_client_error(exc, target, secret, service) from None
    except NoCredentialsError:
        raise StoreNotConfigured(
            "no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or "
            "AWS_PROFILE, or run 'aws configure'"
        ) from None
    except (PartialCredentialsError, ProfileNotFound, NoRegionError) as exc:
        raise StoreNotConfigured(f"AWS configuration is incomplete: {_line(str(exc))}") from None
    except ConnectionError as exc:
        raise StoreUnavailable(
            f"{service} for {target} did not answer ({type(exc).__name__})"
        ) from None
    except BotoCoreError as exc:
        raise StoreError(f"AWS request for {target} failed ({type(exc).__name__})") from None


def _scrub(text: str, secret: Secret | None) -> str:
    if secret is not None and secret.reveal():
        text = text.replace(secret.reveal(), REDACTED)
    return _line(text)


def _line(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 3] + "..."
