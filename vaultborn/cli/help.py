"""The help a person reads: a setup's order, metavars that say what a value is, an example each.

Typer names a value by its type (``TEXT``, ``INTEGER RANGE``, ``PATH``, or 0.29's ``<str>``);
here a flag shows none, a value is named by what it is (``FILE``, ``URL``, ``N``, ``RUN``), and
each command's help ends with a line to copy. Applied to the click command that Typer builds,
so the commands' own modules keep only their options and docstrings.
"""

from __future__ import annotations

import copy
import re
from typing import Any

__all__ = ["EXAMPLES", "ORDER", "polish"]

ORDER = (
    "setup", "plan", "resume", "enroll", "worker",
    "drift", "rotate", "revoke", "schedule",
    "approve", "reject", "edit", "cancel", "inbox",
    "runs", "approvals", "show", "audit", "doctor",
    "read", "otp", "inject", "item", "resolve",
    "token", "call", "seed", "run",
    "mcp", "idp", "db",
)  # fmt: skip
"""Commands in the order a person meets them: set up, keep up, decide, look, vault, agent side,
servers."""

EXAMPLES = {
    "setup": "vaultborn setup --plan vaultborn.toml",
    "plan": "vaultborn plan --plan vaultborn.toml",
    "resume": "vaultborn resume run-1a2b3c4d5e6f",
    "enroll": 'vaultborn enroll https://app.example.com/2fa/totp/ --item "App — admin@example.com"',
    "worker": "vaultborn worker --auto-approve --concurrency 4",
    "drift": "vaultborn drift run-1a2b3c4d5e6f --json",
    "rotate": "vaultborn rotate run-1a2b3c4d5e6f --what client-secret",
    "revoke": "vaultborn revoke run-1a2b3c4d5e6f --dry-run",
    "schedule": "vaultborn schedule --json",
    "approve": "vaultborn approve run-1a2b3c4d5e6f",
    "reject": 'vaultborn reject run-1a2b3c4d5e6f --reason "wrong tenant"',
    "edit": 'vaultborn edit run-1a2b3c4d5e6f "title=Auth0 — ops@example.com"',
    "cancel": 'vaultborn cancel run-1a2b3c4d5e6f --reason "started by mistake"',
    "inbox": "vaultborn inbox --url-file inbox.url",
    "runs": "vaultborn runs --json",
    "approvals": "vaultborn approvals",
    "show": "vaultborn show run-1a2b3c4d5e6f --history",
    "audit verify": "vaultborn audit verify",
    "doctor": "vaultborn doctor",
    "read": 'vaultborn read "op://ACL/Auth0 M2M — my-agent/password"',
    "otp": 'vaultborn otp "Auth0 — admin@example.com" --vault ACL',
    "inject": "vaultborn inject -i config.tpl -o config.env",
    "item create": "vaultborn item create --vault ACL --title api-key --category password "
    "--generate-password",
    "item get": 'vaultborn item get "Auth0 — admin@example.com" --vault ACL '
    "--fields label=username",
    "item list": "vaultborn item list --vault ACL --format json",
    "item edit": "vaultborn item edit api-key --vault ACL --generate-password",
    "item public-key": "vaultborn item public-key devidp-agent-key --vault ACL --format pem",
    "resolve": 'vaultborn resolve "op://ACL/Auth0 — admin@example.com/password"',
    "token": "vaultborn token --domain https://acme.eu.auth0.com/ --audience "
    'https://api.example.com --client "op://ACL/Auth0 M2M — my-agent/password"',
    "call": "vaultborn call https://api.example.com/whoami --domain https://acme.eu.auth0.com/ "
    '--audience https://api.example.com --client "op://ACL/Auth0 M2M — my-agent/password"',
    "seed": 'vaultborn seed "op://ACL/Some API/password" aws-secretsmanager://eu-west-1/app/api-key',
    "run": 'vaultborn run --env "API_KEY=op://ACL/Some API/password" -- ./my-agent',
    "mcp": "vaultborn mcp --http --port 8765",
    "idp serve": "vaultborn idp serve --tenant tenant.toml --url-file idp.url",
    "idp rotate-keys": "vaultborn idp rotate-keys",
    "db migrate": "vaultborn db migrate --db postgresql://vaultborn@db.internal/vaultborn",
}
"""A line to copy, per command path."""

_BY_NAME = {
    "--plan": "FILE",
    "--policy": "FILE",
    "--tenant": "FILE",
    "--url-file": "FILE",
    "--token-file": "FILE",
    "--db": "URL",
    "--domain": "URL",
    "--home": "DIR",
    "--plan-dir": "DIR",
    "--debug-dir": "DIR",
    "--vault-backend": "NAME",
    "--vault": "VAULT",
    "--run": "RUN",
    "--reason": "TEXT",
    "--digest": "DIGEST",
    "--title": "TITLE",
    "--tags": "TAGS",
    "--categories": "CATEGORIES",
    "--category": "CATEGORY",
    "--username": "NAME",
    "--format": "FORMAT",
    "--driver": "NAME",
    "--host": "HOST",
}
"""Metavars of options whose name says more than their type."""


_MARKUP_TAG = re.compile(r"(\\*)(\[[a-z#/@][^[]*?])")


def _escape(text: str) -> str:
    """``text`` as rich markup that shows it as written (``[otp]`` stays ``[otp]``).

    ``rich.markup.escape``'s rule: this module runs at every start, and rich is needed only
    when help is shown.
    """
    text = _MARKUP_TAG.sub(lambda m: f"{m[1]}{m[1]}\\{m[2]}", text)
    return text + "\\" if text.endswith("\\") and not text.endswith("\\\\") else text


def _metavar(param: Any) -> str | None:
    """What the option's value is; None keeps Typer's list of choices."""
    named = _BY_NAME.get(param.opts[0])
    if named:
        return named
    # Click names its value types: "text", "int", "int range", "float", "path", "choice" …
    kind = param.type.name
    if kind == "choice":
        return None
    if kind in ("path", "filename"):
        return "FILE"
    return "N" if kind.startswith("int") else "SECONDS" if kind.startswith("float") else "TEXT"


def _polish_params(command: Any) -> None:
    # Typer's click (its own copy): the parameters are told apart by their kind's name.
    original = command.get_help_option

    def help_option(ctx: Any) -> Any:
        option = original(ctx)
        if option is not None:
            option.metavar = ""
        return option

    command.get_help_option = help_option
    command.help = _escape(command.help) if command.help else command.help
    for param in command.params:
        if getattr(param, "help", None):
            param.help = _escape(param.help)  # rich markup would eat "[otp]" in examples
        if param.param_type_name == "option":
            if param.is_flag:
                param.metavar = ""  # a flag takes no value: nothing to name
            elif param.metavar is None:
                param.metavar = _metavar(param)
        elif param.param_type_name == "argument":
            if param.metavar is None:
                param.metavar = (param.name or "value").upper()
            if param.type.name != "choice":
                param.type = _untyped(param.type)


def _untyped(kind: Any) -> Any:
    """A copy of ``kind`` that names no type: the argument's name and help say what it is.

    Typer would add "TEXT". A copy, because Click shares one instance of each type.
    """
    named = copy.copy(kind)
    named.get_metavar = lambda param, ctx=None: ""
    return named


def polish(command: Any, path: str = "") -> None:
    """Metavars, examples and order on ``command`` (Typer's click command) and under it."""
    _polish_params(command)
    example = EXAMPLES.get(path)
    if example is not None and not command.epilog:
        command.epilog = _escape(f"Example: {example}")
    if hasattr(command, "commands"):
        order = {name: number for number, name in enumerate(ORDER)}
        ranked = sorted(command.commands.items(), key=lambda kv: order.get(kv[0], len(ORDER)))
        command.commands = dict(ranked)
        for name, sub in command.commands.items():
            polish(sub, f"{path} {name}".strip())
