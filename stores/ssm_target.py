"""SSM Parameter Store targets: ``aws-ssm://REGION/PATH``, parsed strictly.

The parameter's name is the URI's path, leading slash included: ``aws-ssm://eu-west-1/prod/app/
api-key`` is the parameter ``/prod/app/api-key``, the fully qualified form AWS requires of a
name in a hierarchy (a bare top-level name like ``api-key`` cannot be a target). Names follow
Parameter Store's rules: letters, digits and ``_.-`` in at most 15 segments, no segment
starting with ``aws`` or ``ssm``, at most 1011 characters together with the parameter's ARN.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from vaultborn.stores.errors import InvalidTarget
from vaultborn.stores.target import REGION_PATTERN, shown

__all__ = ["SSM_SCHEME", "SsmTarget", "parse_ssm_target"]

SSM_SCHEME = "aws-ssm"
_SEGMENT = re.compile(r"[A-Za-z0-9_.-]+")
_MAX_LEVELS = 15
_MAX_WITH_ARN = 1011
_FORM = f"the form is {SSM_SCHEME}://REGION/PATH, e.g. {SSM_SCHEME}://us-east-1/prod/api-key"


@dataclass(frozen=True)
class SsmTarget:
    """A ``SecureString`` parameter: its region and its fully qualified name (``/a/b``)."""

    region: str
    name: str

    def __str__(self) -> str:
        return f"{SSM_SCHEME}://{self.region}{self.name}"


def parse_ssm_target(text: str) -> SsmTarget:
    """Parse ``aws-ssm://REGION/PATH`` or raise ``InvalidTarget`` saying why."""
    prefix = SSM_SCHEME + "://"
    if not text.startswith(prefix):
        raise InvalidTarget(f"not a Parameter Store target: {shown(text)}; {_FORM}")
    region, slash, path = text[len(prefix) :].partition("/")
    where = f"store target {shown(text)}"
    if not slash or not path:
        raise InvalidTarget(f"{where} names no parameter; {_FORM}")
    if not REGION_PATTERN.fullmatch(region):
        raise InvalidTarget(f"{where}: {shown(region)} is not an AWS region name")
    segments = path.split("/")
    if "" in segments:
        raise InvalidTarget(f"{where}: the parameter name has an empty '/' segment")
    if not all(_SEGMENT.fullmatch(s) for s in segments):
        raise InvalidTarget(
            f"{where}: a parameter name has letters, digits and _.- between its slashes"
        )
    if len(segments) > _MAX_LEVELS:
        raise InvalidTarget(f"{where}: a parameter name has at most {_MAX_LEVELS} levels")
    if segments[0][:3].lower() in ("aws", "ssm"):
        raise InvalidTarget(f"{where}: AWS reserves names that begin with 'aws' or 'ssm'")
    name = "/" + path
    if len(f"arn:aws:ssm:{region}:000000000000:parameter{name}") > _MAX_WITH_ARN:
        raise InvalidTarget(f"{where}: the parameter name is too long for Parameter Store")
    return SsmTarget(region=region, name=name)
