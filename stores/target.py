"""Secrets Manager targets: ``aws-secretsmanager://REGION/NAME``, parsed strictly.

NAME may contain ``/`` (``prod/app/api-key``). Names follow Secrets Manager's rules: 1–512
characters from letters, digits and ``/_+=.@-``. Nothing else is accepted (no query, port,
user, percent-escape or empty path segment), so a typo fails here instead of creating a
secret with a surprising name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from vaultborn.stores.errors import InvalidTarget

__all__ = ["AWS_SCHEME", "REGION_PATTERN", "AwsTarget", "parse_aws_target", "shown"]

AWS_SCHEME = "aws-secretsmanager"
# ASCII digits only: ``\d`` would also take ``١`` (ARABIC-INDIC ONE) and the like.
REGION_PATTERN = re.compile(r"[a-z]{2}(-[a-z]+)+-[0-9]{1,2}")
"""An AWS region name such as ``eu-west-1`` or ``us-gov-west-1``."""
_NAME = re.compile(r"[A-Za-z0-9/_+=.@-]{1,512}")
_FORM = f"the form is {AWS_SCHEME}://REGION/NAME, e.g. {AWS_SCHEME}://us-east-1/prod/api-key"


@dataclass(frozen=True)
class AwsTarget:
    """A secret in AWS Secrets Manager: its region and its name."""

    region: str
    name: str

    def __str__(self) -> str:
        return f"{AWS_SCHEME}://{self.region}/{self.name}"


def parse_aws_target(text: str) -> AwsTarget:
    """Parse ``aws-secretsmanager://REGION/NAME`` or raise ``InvalidTarget`` saying why."""
    prefix = AWS_SCHEME + "://"
    if not text.startswith(prefix):
        scheme = text.partition("://")[0] if "://" in text else ""
        got = f"scheme {shown(scheme)}" if scheme else "no scheme"
        raise InvalidTarget(f"unsupported store target ({got}); {_FORM}")
    region, slash, name = text[len(prefix) :].partition("/")
    quoted = shown(text)
    if not slash or not name:
        raise InvalidTarget(f"store target {quoted} names no secret; {_FORM}")
    if not REGION_PATTERN.fullmatch(region):
        raise InvalidTarget(f"store target {quoted}: {shown(region)} is not an AWS region name")
    if not _NAME.fullmatch(name):
        raise InvalidTarget(
            f"store target {quoted}: a secret name has 1-512 characters from letters, "
            "digits and /_+=.@-"
        )
    if "" in name.split("/"):
        raise InvalidTarget(f"store target {quoted}: the secret name has an empty '/' segment")
    return AwsTarget(region=region, name=name)


def shown(text: str, limit: int = 80) -> str:
    """``text`` quoted for an error message, cut to ``limit`` characters (it may be huge)."""
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")
