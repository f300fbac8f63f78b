"""Plans for many runs at once: the embedded demo, one break-glass account per plan."""

from __future__ import annotations

from pathlib import Path

__all__ = ["demo_plan_text", "write_demo_plans"]


def demo_plan_text(number: int) -> str:
    """The embedded demo plan for account ``agent-NN@example.com``, seeding its own secret."""
    email = f"agent-{number:02d}@example.com"
    return f"""\
[vault]
name = "ACL"
[idp]
management_client_id = "mgmt"
management_secret = "op://ACL/vaultborn dev — Auth0 Management/password"
[break_glass]
email = "{email}"
item = "Auth0 — {email}"
[agent]
client_id = "agent"
secret = "op://ACL/vaultborn dev — Auth0 M2M agent/password"
[[seed]]
from = "op://ACL/vaultborn dev — Some API/password"
to = "aws-secretsmanager://us-east-1/vaultborn-fleet/agent-{number:02d}"
"""


def write_demo_plans(folder: Path, count: int) -> list[Path]:
    """``count`` plans in ``folder`` (created), named ``agent-NN.toml``."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for number in range(1, count + 1):
        path = folder / f"agent-{number:02d}.toml"
        path.write_text(demo_plan_text(number), encoding="utf-8")
        paths.append(path)
    return paths
