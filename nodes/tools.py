"""The agent toolkit: the setup's operations as tools an LLM can call, behind the same gates.

Each ``ToolSpec`` wraps a function the setup nodes already call (``create_break_glass_item``,
``create_idp_user``, ``seed_target``, ``TokenSource.token``, ``Vault.resolve`` /
``otp_code``) with a typed argument schema (``nodes.tool_args``) and a description, and
declares its side effects: an empty ``effects`` is a read. ``ToolSpec.action`` turns a call
into the same ``Action`` (name, arguments, effects, digest) that a setup gate approves, so one
policy rules both.

Results are references, ids, versions and metadata. A tool that needs a secret (a token for
an API, a value to seed) uses it inside the call: the TOTP code, the token and every value
stay in the vault or in memory, and the model sees that they were produced, never what they
are. Arguments that name a secret take an ``op://`` reference and refuse anything else, so a
value pasted by a model never reaches an ``Action``, an audit row or a checkpoint.

``ToolSpec.as_tool()`` is a langchain-core ``StructuredTool`` for ``bind_tools``; invoking it
outside ``graphs.agent`` is refused, so there is no ungated path to an effect.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from langchain_core.tools import StructuredTool
from pydantic import BaseModel, ValidationError

from vaultborn.approvals.action import Action, plain_json
from vaultborn.core.errors import UsageError, VaultbornError
from vaultborn.core.tls import tls_context
from vaultborn.idp.verify import unverified_claims
from vaultborn.nodes.deps import Deps
from vaultborn.nodes.steps import STEPS
from vaultborn.nodes.tool_args import (
    CallApiArgs,
    CreateItemArgs,
    CreateUserArgs,
    FindItemsArgs,
    OtpArgs,
    ReferenceArgs,
    SeedArgs,
    TokenArgs,
)
from vaultborn.nodes.vault_item import items_titled

__all__ = ["TOOLS", "ToolRefused", "ToolSpec", "checked_args", "toolkit_digest"]

Run = Callable[[dict[str, Any], Deps], Mapping[str, object] | Awaitable[Mapping[str, object]]]


class ToolRefused(VaultbornError):
    """A tool was called outside the gated agent graph, or with arguments its schema refuses."""


@dataclass(frozen=True)
class ToolSpec:
    """One operation as a tool.

    Attributes:
        name: The tool's (and the action's) name; policies match on it.
        description: What it does, for the model.
        schema: The typed arguments (pydantic); aliases are the argument names.
        effects: External side effects; empty for a read (allowed in an approved session).
        summary: One line for the person who approves, from the arguments.
        run: Does it, idempotently (look up before create), returning plain data.
    """

    name: str
    description: str
    schema: type[BaseModel]
    effects: tuple[str, ...]
    summary: Callable[[dict[str, Any]], str]
    run: Run

    def action(self, args: Mapping[str, Any]) -> Action:
        """The ``Action`` a gate approves for a call with ``args`` (already checked)."""
        args = dict(args)
        return Action(self.name, args, self.effects, self.summary(args))

    async def invoke(self, args: Mapping[str, Any], deps: Deps) -> dict[str, Any]:
        """Run the tool; its result checked to be plain data (a ``Secret`` is refused)."""
        result = self.run(dict(args), deps)
        done = await result if inspect.isawaitable(result) else result
        checked: dict[str, Any] = plain_json(done, f"{self.name} result")
        return checked

    def as_tool(self) -> StructuredTool:
        """A langchain-core tool with this schema and description, for ``bind_tools``.

        Calling it directly is refused: effects run only through ``graphs.agent``'s gates.
        """

        def refuse(**_: Any) -> str:
            raise ToolRefused(f"{self.name} runs only through the gated agent graph")

        return StructuredTool.from_function(
            refuse, name=self.name, description=self.description, args_schema=self.schema
        )


def checked_args(spec: ToolSpec, args: object) -> dict[str, Any]:
    """``args`` validated against ``spec.schema``, as the action's arguments (by alias).

    Raises:
        ToolRefused: They do not fit; the message names fields and problems, never values.
    """
    if not isinstance(args, Mapping):
        raise ToolRefused(f"{spec.name} takes an object of arguments")
    try:
        model = spec.schema.model_validate(dict(args))
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'arguments'}: {e['msg']}"
            for e in error.errors(include_input=False, include_url=False)
        )
        raise ToolRefused(f"{spec.name}: {problems}") from None
    return model.model_dump(by_alias=True)


def toolkit_digest(tools: Sequence[ToolSpec]) -> str:
    """What a vault session for these tools approves: their names and effects."""
    return Action("toolkit", {t.name: list(t.effects) for t in tools}).digest


def _resolve(args: dict[str, Any], deps: Deps) -> dict[str, Any]:
    ref = deps.vault.resolve(args["reference"])
    item = deps.vault.get_item(ref.vault, ref.item)
    return {"reference": str(ref), "item": item.title, "item_version": item.version,
            "vault": item.vault.name}  # fmt: skip


def _find(args: dict[str, Any], deps: Deps) -> dict[str, Any]:
    if args["title"] is None:
        found = deps.vault.find_items(args["vault"])
    else:
        found = items_titled(deps.vault, args["vault"], args["title"])
    return {"items": [{"id": i.id, "title": i.title, "version": i.version} for i in found]}


def _otp(args: dict[str, Any], deps: Deps) -> dict[str, Any]:
    now = deps.clock()
    code = deps.vault.otp_code(args["vault"], args["item"], at=now)
    # A receipt, not the code: a live code is a credential for the next 30 seconds.
    return {"item": args["item"], "generated_at": now, "digits": len(code), "code": "withheld"}


_CLAIMS = ("iss", "sub", "aud", "azp", "scope", "exp", "iat")


def _token(args: dict[str, Any], deps: Deps) -> dict[str, Any]:
    token = deps.tokens.token(args["client_id"], args["secret"], args["audience"])
    claims = unverified_claims(token)
    return {"token": "withheld", **{k: claims[k] for k in _CLAIMS if k in claims}}


def _call_api(args: dict[str, Any], deps: Deps) -> dict[str, Any]:
    token = deps.tokens.token(args["client_id"], args["secret"], args["audience"])
    bearer = token.reveal()
    try:
        answer = httpx.get(
            args["url"],
            headers={"Authorization": f"Bearer {bearer}"},
            timeout=10,
            verify=tls_context(),
        )
    except httpx.HTTPError as error:
        why = type(error).__name__
        raise UsageError(f"the API {args['url']} cannot be reached ({why})") from None
    result: dict[str, Any] = {"status": answer.status_code}
    text, kind = answer.text, answer.headers.get("content-type", "")
    if bearer in text:  # an API that echoes the token gets its body withheld
        result["body"] = "withheld: it contains the token"
    elif len(text) <= 4000 and kind.startswith("application/json"):
        result["body"] = answer.json()
    else:
        result["body"] = f"withheld: {len(text)} characters of {kind or 'no content type'}"
    return result


def _from_step(name: str, schema: type[BaseModel], description: str) -> ToolSpec:
    step = STEPS[name]
    return ToolSpec(name, description, schema, step.effects, step.summary, step.effect)


TOOLS: tuple[ToolSpec, ...] = (
    ToolSpec(
        "resolve_reference",
        "Resolve an op:// reference to its canonical id form, with the item's title and "
        "version. Returns metadata only, never the value.",
        ReferenceArgs, (), lambda a: f"Resolve {a['reference']}", _resolve,
    ),
    ToolSpec(
        "find_items",
        "List the items of a vault (optionally only those with a title): ids, titles, "
        "versions. No values.",
        FindItemsArgs, (), lambda a: f"List items of {a['vault']}", _find,
    ),
    ToolSpec(
        "otp_receipt",
        "Generate the item's current TOTP code inside the vault and confirm it works. The "
        "code itself is never returned.",
        OtpArgs, (), lambda a: f"Generate a TOTP code of {a['vault']}/{a['item']}", _otp,
    ),
    ToolSpec(
        "token_info",
        "Acquire an M2M access token (client secret read from the vault) and return its "
        "claims (subject, audience, expiry, scope), never the token.",
        TokenArgs, (), lambda a: f"Token for {a['client_id']} → {a['audience']}", _token,
    ),
    ToolSpec(
        "call_api",
        "Call a protected API (GET) with the client's access token; returns the status and "
        "the JSON answer. The token never leaves the call.",
        CallApiArgs, ("api.call",),
        lambda a: f"GET {a['url']} with the token of {a['client_id']} for {a['audience']}",
        _call_api,
    ),
    _from_step(
        "seed", SeedArgs,
        "Copy a vault value into a runtime store (one way, vault → store; idempotent). "
        "Returns the receipt: target, version id, source reference and version.",
    ),
    _from_step(
        "create_item", CreateItemArgs,
        "Create a login item whose password is generated inside the vault (nothing is "
        "created if one with that title exists). Returns ids, version and the password's "
        "reference.",
    ),
    _from_step(
        "create_user", CreateUserArgs,
        "Create an IdP user with the password read from the vault by reference (nothing is "
        "created if the e-mail exists). Returns the user id.",
    ),
)  # fmt: skip
"""Every tool of the toolkit, reads first."""
