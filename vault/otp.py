"""One-time passwords: otpauth URIs (Key Uri Format), base32 seeds and TOTP codes.

Facts: reference/credentials.md §4. Seeds and URIs travel as ``Secret``; error messages name
the problem and never echo the URI or the seed. The clock is always a parameter.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, unquote, urlsplit

import pyotp

from vaultborn.vault.errors import InvalidOtpUri
from vaultborn.vault.secret import Secret

__all__ = [
    "ALGORITHMS",
    "OtpParameters",
    "build_otpauth_uri",
    "normalize_base32",
    "parse_otpauth_uri",
    "totp_code",
]

ALGORITHMS: dict[str, Callable[..., hashlib._Hash]] = {
    "SHA1": hashlib.sha1,
    "SHA256": hashlib.sha256,
    "SHA512": hashlib.sha512,
}
MIN_SEED_BITS = 80
_BASE32 = re.compile(r"[A-Z2-7]+")
_KNOWN_PARAMS = {"secret", "issuer", "algorithm", "digits", "period", "image", "counter"}


class _Totp(pyotp.TOTP):
    # pyotp >= 2.10 refuses seeds under 112 bits; IdPs still issue 80-bit seeds (Google's own
    # Key Uri Format example is one), and normalize_base32 already enforces our 80-bit floor.
    min_secret_length_bits = MIN_SEED_BITS


@dataclass(frozen=True)
class OtpParameters:
    """A TOTP configuration. ``seed`` is the normalized base32 secret."""

    seed: Secret
    issuer: str = ""
    account: str = ""
    algorithm: str = "SHA1"
    digits: int = 6
    period: int = 30

    def uri(self) -> Secret:
        """This configuration as an otpauth URI (itself a secret: it holds the seed)."""
        return build_otpauth_uri(self)

    def code(self, at: float) -> Secret:
        """The code valid at unix time ``at``."""
        return totp_code(self, at)


def normalize_base32(text: str | Secret) -> Secret:
    """Normalize a scraped base32 seed: drop spaces and hyphens, upper-case, drop padding.

    Raises ``InvalidOtpUri`` if what remains is not base32 or is shorter than 80 bits.
    """
    raw = text.reveal() if isinstance(text, Secret) else text
    cleaned = re.sub(r"[\s\-]", "", raw).upper().rstrip("=")
    if not cleaned:
        raise InvalidOtpUri("the TOTP secret is empty")
    if not _BASE32.fullmatch(cleaned):
        raise InvalidOtpUri("the TOTP secret is not base32 (letters A–Z and digits 2–7)")
    bits = len(cleaned) * 5
    if bits < MIN_SEED_BITS:
        raise InvalidOtpUri(
            f"the TOTP secret is {bits} bits; at least {MIN_SEED_BITS} are required"
        )
    try:
        base64.b32decode(cleaned + "=" * (-len(cleaned) % 8))
    except binascii.Error:
        raise InvalidOtpUri("the TOTP secret has an impossible base32 length") from None
    return Secret(cleaned, label="TOTP seed")


def parse_otpauth_uri(uri: str | Secret) -> OtpParameters:
    """Parse and validate an ``otpauth://totp/…`` URI, or raise ``InvalidOtpUri`` saying why."""
    text = (uri.reveal() if isinstance(uri, Secret) else uri).strip()
    if not text.lower().startswith("otpauth://"):
        raise InvalidOtpUri("an OTP URI must start with otpauth://totp/")
    parts = urlsplit(text)
    if parts.netloc.lower() == "hotp":
        raise InvalidOtpUri("HOTP (counter-based) URIs are not supported; use otpauth://totp/")
    if parts.netloc.lower() != "totp":
        raise InvalidOtpUri("an OTP URI must start with otpauth://totp/")
    params: dict[str, str] = {}
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        key = key.lower()
        if key in params:
            raise InvalidOtpUri(f"the OTP URI repeats the parameter {key!r}")
        params[key] = value
    unknown = sorted(set(params) - _KNOWN_PARAMS)
    if unknown:
        raise InvalidOtpUri(f"the OTP URI has unknown parameter(s): {', '.join(unknown)}")
    if "secret" not in params:
        raise InvalidOtpUri("the OTP URI has no secret= parameter")
    seed = normalize_base32(params["secret"])
    label = unquote(parts.path.lstrip("/"))
    label_issuer, sep, account = label.partition(":")
    if not sep:
        label_issuer, account = "", label
    account = account.strip()
    issuer = params.get("issuer", label_issuer).strip()
    if label_issuer and params.get("issuer") and label_issuer.strip() != issuer:
        raise InvalidOtpUri("the OTP URI's label issuer and issuer= parameter differ")
    algorithm = params.get("algorithm", "SHA1").upper()
    if algorithm not in ALGORITHMS:
        raise InvalidOtpUri(f"the OTP algorithm must be SHA1, SHA256 or SHA512, not {algorithm!r}")
    digits = _int_param(params, "digits", 6, allowed=(6, 7, 8))
    period = _int_param(params, "period", 30, allowed=range(1, 3601))
    return OtpParameters(seed, issuer, account, algorithm, digits, period)


def build_otpauth_uri(params: OtpParameters) -> Secret:
    """The Key Uri Format URI for ``params`` (issuer in label and parameter, as advised)."""
    for name, value in (("issuer", params.issuer), ("account", params.account)):
        if ":" in value:
            raise InvalidOtpUri(f"the OTP {name} may not contain ':'")
    label = quote(params.account, safe="@")
    if params.issuer:
        label = f"{quote(params.issuer, safe='')}:{label}"
    query = f"secret={params.seed.reveal()}"
    if params.issuer:
        query += f"&issuer={quote(params.issuer, safe='')}"
    query += f"&algorithm={params.algorithm}&digits={params.digits}&period={params.period}"
    return Secret(f"otpauth://totp/{label}?{query}", label="otpauth URI")


def totp_code(params: OtpParameters, at: float | None = None) -> Secret:
    """The RFC 6238 code for unix time ``at`` (now, if None)."""
    moment = time.time() if at is None else at
    totp = _Totp(
        params.seed.reveal(),
        digits=params.digits,
        digest=ALGORITHMS[params.algorithm],
        interval=params.period,
    )
    return Secret(totp.at(int(moment)), label="TOTP code")


def _int_param(
    params: dict[str, str], name: str, default: int, allowed: range | tuple[int, ...]
) -> int:
    raw = params.get(name)
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit()) or int(raw) not in allowed:
        raise InvalidOtpUri(f"the OTP {name} value {raw!r} is not supported")
    return int(raw)
