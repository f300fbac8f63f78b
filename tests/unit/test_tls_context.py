"""The process's one TLS context: made once, and checking certificates and host names."""

from __future__ import annotations

import ssl

from vaultborn.core.tls import tls_context


def test_one_context_serves_every_client_and_it_verifies() -> None:
    context = tls_context()
    assert tls_context() is context
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname is True
    assert context.cert_store_stats()["x509_ca"] > 0  # a CA bundle is loaded
