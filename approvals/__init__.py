"""Approvals: actions and their digests, the policy, the gates, and the audit log."""

import os

# Read by LangGraph when its serializer is first imported: set it before anything does.
os.environ.setdefault("LANGGRAPH_STRICT_MSGPACK", "true")
