"""Approvals: actions and their digests, the policy, the gates, and the audit log."""

import vaultborn  # noqa: F401  (turns LangGraph's strict msgpack on before LangGraph loads)
