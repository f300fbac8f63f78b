"""The embedded Auth0-compatible dev IdP: a real HTTP server on loopback.

A standalone program that shares nothing with the orchestrator but its HTTP API. Start it with
``idp.devserver.server.start_dev_idp`` (or ``vaultborn idp serve``). The parts:

- ``tenant`` / ``tenant_file``: the configuration (clients, lifetimes, rate limit)
- ``store`` over ``db``: one SQLite file; ``keys``, ``clients``, ``users``, ``mfa``; ``records``
- ``hashing``: scrypt hashes of client secrets and passwords (never the values)
- ``context``: ``DevIdPContext``, what every route gets; ``app``: ``build_app(ctx)``
- routes: ``tokens`` (``/oauth/token``), ``management`` + ``mgmt_users`` + ``mgmt_clients``
  (``/api/v2/``), ``protected`` (``/api/protected/whoami``), ``pages`` (Universal Login)
- ``token_check``: the server's own check of its bearer tokens (never the client's verifier)
- ``ratelimit``: the ``x-ratelimit-*`` headers and 429; ``web``: request/response helpers
"""
