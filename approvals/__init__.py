"""Approval gates: actions and their digests, policy, the gate and the audit log.

Holds ``Action`` + digest, pure policy rules, the gate (interrupt + strict resume parsing) and
the hash-chained audit log. Arrives with the setup graph.
"""
