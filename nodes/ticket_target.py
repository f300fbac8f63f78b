"""``NewTicketTarget``: the OTP field's target for a secret that no earlier flow can have stored.

An enrollment ticket drawn once the IdP holds no pending TOTP authenticator shows a secret the
IdP made for it alone: no earlier flow captured it, so the vault cannot hold it, and reading the
item to compare (what ``VaultTotpTarget.store`` does for a page it knows nothing of) would only
spend a vault call (1Password service accounts have a reads-per-hour budget). A flow run again
on the same ticket shows that secret again: it is compared with what this step wrote, kept in
memory for the one step, and not written a second time.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field

from vaultborn.browser.capture import CapturedTotp
from vaultborn.browser.enroll import VaultTotpTarget
from vaultborn.vault.otp import OtpParameters

__all__ = ["NewTicketTarget", "same_otp"]


def same_otp(a: OtpParameters, b: OtpParameters) -> bool:
    """Whether ``a`` and ``b`` give the same codes (the seed compared in constant time)."""
    same = (a.algorithm, a.digits, a.period) == (b.algorithm, b.digits, b.period)
    return same and hmac.compare_digest(a.seed.reveal(), b.seed.reveal())


@dataclass(frozen=True)
class NewTicketTarget(VaultTotpTarget):
    """A ``VaultTotpTarget`` whose page shows a secret no earlier flow can have stored.

    Attributes:
        written: What this step wrote to the OTP field (in memory; never checkpointed).
    """

    written: list[OtpParameters] = field(default_factory=list, compare=False, repr=False)

    def store(self, captured: CapturedTotp) -> None:
        """Set the item's OTP field, unless this step wrote this secret already."""
        if not any(same_otp(held, captured.params) for held in self.written):
            self.vault.set_otp(self.vault_name, self.item, captured.uri)
            self.written.append(captured.params)
        if self.on_stored is not None:
            self.on_stored()
