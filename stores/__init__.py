"""Runtime stores seeded one way from the vault.

The ``SecretStore`` protocol, AWS Secrets Manager and the process environment. Arrives with
the runtime stores.
"""
