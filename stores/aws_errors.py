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

from stores.errors import (
    SecretPendingDeletion,
    StoreAccessDenied,
    StoreConflict,
    StoreError,
    StoreNotConfigured,
    StoreRejected,
    StoreThrottled,
    StoreUnavailable,
)
from stores.target import AwsTarget
from vault.secret import REDACTED, Secret

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
}
_UNAVAILABLE = {"InternalFailure", "InternalServiceError", "ServiceUnavailable"}
_MAX_MESSAGE = 300


def translate_client_error(
    exc: ClientError, target: AwsTarget, secret: Secret | None
) -> StoreError:
    """The store error for an AWS error answer to an operation on ``target``."""
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
        return StoreUnavailable(f"AWS Secrets Manager failed {action} on {target} ({said})")
    if code == "ResourceExistsException" and action == "PutSecretValue":
        return StoreConflict(
            f"{target} already has a version with our version id but a different value ({code})"
        )
    return StoreRejected(f"AWS Secrets Manager refused {action} on {target} ({said})")


def pending_deletion(target: AwsTarget) -> SecretPendingDeletion:
    """The error for a target secret that is scheduled for deletion."""
    return SecretPendingDeletion(
        f"{target} is scheduled for deletion; restore it (aws secretsmanager restore-secret) "
        "or seed another name"
    )


@contextmanager
def aws_errors(target: AwsTarget, secret: Secret | None = None) -> Iterator[None]:
    """Translate any boto3/botocore failure inside the block into a store error."""
    try:
        yield
    except ClientError as exc:
        raise translate_client_error(exc, target, secret) from None
    except NoCredentialsError:
        raise StoreNotConfigured(
            "no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or "
            "AWS_PROFILE, or run 'aws configure'"
        ) from None
    except (PartialCredentialsError, ProfileNotFound, NoRegionError) as exc:
        raise StoreNotConfigured(f"AWS configuration is incomplete: {_line(str(exc))}") from None
    except ConnectionError as exc:
        raise StoreUnavailable(
            f"AWS Secrets Manager for {target} did not answer ({type(exc).__name__})"
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
