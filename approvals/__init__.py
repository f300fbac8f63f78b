"""Approvals: actions and their digests, the policy, the gates, and the audit log.

- ``approvals.action`` — ``Action`` (name, args as references, effects, summary) and its
  ``sha256:`` digest over the canonical JSON of name, args and effects; ``with_args`` edits.
- ``approvals.request`` — the interrupt payloads (``ApprovalRequest``, ``VaultSessionRequest``,
  ``HumanStepRequest``), the decisions (``Approved``, ``Rejected``, ``Edited``) and the strict
  ``parse_decision`` / ``parse_ack`` of resume values.
- ``approvals.policy`` — ``Policy``: allow, ask or deny per action, from TOML.
- ``approvals.gate`` — ``request_approval``, ``request_vault_session``, ``request_human_step``:
  called inside a LangGraph node, they interrupt (unless the policy decides) and parse.
- ``approvals.audit`` — ``AuditLog``: a hash-chained ``audit_events`` table that ``verify``
  checks for edited, deleted and reordered rows.
- ``approvals.errors`` — ``ApprovalError`` (a ``UsageError``) and one subclass per check.

Nothing here carries a ``Secret``: one passed anywhere is refused with ``TypeError``.
"""
