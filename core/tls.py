"""One TLS context per process, shared by vaultborn's HTTP clients.

httpx builds a new ``ssl.SSLContext`` for every client it makes, loading the CA bundle each time
(about 50 ms here), and one command makes several: for the IdP's Management API, its token
endpoint, its JWKS, the protected API. One context, made the way httpx makes its default
(``SSL_CERT_FILE`` and ``SSL_CERT_DIR`` honoured), serves them all: an ``SSLContext`` may be
shared by many connections and threads.
"""

from __future__ import annotations

import functools
import ssl

__all__ = ["tls_context"]


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The process's TLS context for ``verify=``: certificate and host name checks on."""
    import httpx

    return httpx.create_ssl_context()
