"""``vaultborn item create|get|list|edit|public-key``: op-like item commands on the vault."""

from __future__ import annotations

from typing import Annotated

import typer

from vaultborn.core.errors import UsageError
from vaultborn.render import print_item, print_items, print_json
from vaultborn.runner.wiring import Settings, open_vault
from vaultborn.vault.assignment import Assignment, parse_assignment
from vaultborn.vault.errors import FieldNotFound
from vaultborn.vault.items import ItemEdit, ItemSpec
from vaultborn.vault.keypair import KeyKind
from vaultborn.vault.model import Category, Field, Item
from vaultborn.vault.recipe import parse_recipe
from vaultborn.vault.secret import Secret

__all__ = ["item_app"]

item_app = typer.Typer(
    help="Create, show, list and edit vault items (flags follow 1Password's `op item`).",
    no_args_is_help=True,
)

VaultOpt = Annotated[str | None, typer.Option("--vault", help="Vault name or id.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON (op's item shape).")]
TagsOpt = Annotated[str | None, typer.Option("--tags", help="Comma-separated tags.")]
RecipeOpt = Annotated[
    str | None,
    typer.Option(
        "--generate-password",
        metavar="[=RECIPE]",
        help="Generate the password inside the vault: --generate-password or "
        "--generate-password='letters,digits,symbols,32' (1–64 characters).",
    ),
]
AssignmentsArg = Annotated[
    list[str] | None,
    typer.Argument(
        metavar="[ASSIGNMENT]...",
        help="Fields as [section.]field[[type]]=value, e.g. 'one-time password[otp]=otpauth://…'. "
        "Arguments are visible to other processes: prefer generated passwords.",
    ),
]


def _settings(ctx: typer.Context) -> Settings:
    settings: Settings = ctx.obj
    return settings


def _tags(text: str | None) -> tuple[str, ...] | None:
    return None if text is None else tuple(t for t in (p.strip() for p in text.split(",")) if t)


def _show(item: Item, as_json: bool, *, reveal: bool = False) -> None:
    if as_json:
        print_json(item.to_json(reveal=reveal))
    else:
        print_item(item, reveal=reveal)


@item_app.command("create")
def create(
    ctx: typer.Context,
    title: Annotated[str, typer.Option("--title", help="The item's title.")],
    vault: Annotated[str, typer.Option("--vault", help="Vault name or id.")],
    category: Annotated[
        str,
        typer.Option("--category", help="login, password, api credential, secure note or ssh key."),
    ] = "login",
    username: Annotated[str | None, typer.Option("--username", help="The username.")] = None,
    tags: TagsOpt = None,
    generate_password: RecipeOpt = None,
    key_type: Annotated[
        str | None,
        typer.Option(
            "--ssh-generate-key",
            metavar="TYPE",
            help="For an SSH Key item: the key pair generated inside the vault, rsa (RSA 2048, "
            "RS256; the default) or p256 (ECDSA P-256, ES256).",
        ),
    ] = None,
    as_json: JsonOpt = False,
    assignments: AssignmentsArg = None,
) -> None:
    """Create an item; its password (or key pair) can be generated inside the vault."""
    parsed = [parse_assignment(a) for a in assignments or ()]
    if username is not None:
        parsed.insert(0, Assignment(label="username", value=Secret(username, label="username")))
    spec = ItemSpec(
        title=title,
        category=Category.parse(category),
        tags=_tags(tags) or (),
        assignments=tuple(parsed),
        generate_password=None if generate_password is None else parse_recipe(generate_password),
        generate_key=_key_kind(Category.parse(category), key_type),
    )
    _show(open_vault(_settings(ctx)).create_item(vault, spec), as_json)


def _key_kind(category: Category, text: str | None) -> KeyKind | None:
    if text is None:
        return KeyKind.RSA if category is Category.SSH_KEY else None
    return KeyKind.parse(text)


@item_app.command("get")
def get(
    ctx: typer.Context,
    item: Annotated[str, typer.Argument(help="Item title or id.")],
    vault: VaultOpt = None,
    reveal: Annotated[bool, typer.Option("--reveal", help="Show secret values.")] = False,
    otp: Annotated[
        bool, typer.Option("--otp", help="Print only the current code of the item's OTP field.")
    ] = False,
    fields: Annotated[
        list[str] | None,
        typer.Option(
            "--fields",
            metavar="label=NAME,…",
            help="Print only these fields' values, comma-separated (label=NAME or type=TYPE, as "
            "op); a concealed value needs --reveal.",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Show an item: metadata, fields and their canonical references."""
    store = open_vault(_settings(ctx))
    if otp:
        code = store.otp_code(vault, item)
        if as_json:
            print_json({"item": item, "code": code.reveal()})
        else:
            typer.echo(code.reveal())
        return
    found = store.get_item(vault, item, reveal=reveal)
    if fields:
        _print_fields(found, select_fields(found, fields), reveal=reveal, as_json=as_json)
        return
    _show(found, as_json, reveal=reveal)


def select_fields(item: Item, specs: list[str]) -> list[Field]:
    """The fields ``--fields`` names, in its order: ``label=NAME`` (or a bare NAME), ``type=TYPE``.

    Raises:
        FieldNotFound: A label that no field has, as op says it.
        UsageError: A selector other than label= or type=.
    """
    chosen: list[Field] = []
    for spec in (s.strip() for text in specs for s in text.split(",")):
        if not spec:
            continue
        kind, sep, name = spec.partition("=")
        if not sep:
            kind, name = "label", spec
        if kind == "type":
            chosen += [f for f in item.fields if f.type.value.casefold() == name.casefold()]
        elif kind == "label":
            match = next((f for f in item.fields if f.matches(name)), None)
            if match is None:
                raise FieldNotFound(f"{name!r} isn't a field in the {item.title!r} item")
            chosen.append(match)
        else:
            raise UsageError(f"--fields takes label=NAME or type=TYPE, got {spec!r}")
    return chosen


def _print_fields(item: Item, chosen: list[Field], *, reveal: bool, as_json: bool) -> None:
    """The chosen fields' values (comma-separated), or their JSON objects, as op prints them."""
    if as_json:
        shown = [f.to_json(str(item.reference(f)), reveal=reveal) for f in chosen]
        print_json(shown[0] if len(shown) == 1 else shown)
        return
    hidden = f"[use 'vaultborn item get {item.id} --reveal' to reveal]"
    values = [
        hidden
        if f.type.is_secret and not reveal
        else (f.value.reveal() if isinstance(f.value, Secret) else (f.value or ""))
        for f in chosen
    ]
    typer.echo(",".join(values))


@item_app.command("list")
def list_(
    ctx: typer.Context,
    vault: VaultOpt = None,
    tags: TagsOpt = None,
    categories: Annotated[
        str | None, typer.Option("--categories", help="Comma-separated categories.")
    ] = None,
    title: Annotated[
        str | None, typer.Option("--title", help="Only items with this title.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """List items (no values)."""
    cats = tuple(Category.parse(c) for c in _tags(categories) or ())
    items = open_vault(_settings(ctx)).find_items(
        vault, title=title, tags=_tags(tags) or (), categories=cats
    )
    if as_json:
        print_json([i.summary_json() for i in items])
    else:
        print_items(items)


@item_app.command("edit")
def edit(
    ctx: typer.Context,
    item: Annotated[str, typer.Argument(help="Item title or id.")],
    vault: VaultOpt = None,
    title: Annotated[str | None, typer.Option("--title", help="A new title.")] = None,
    tags: TagsOpt = None,
    generate_password: RecipeOpt = None,
    as_json: JsonOpt = False,
    assignments: AssignmentsArg = None,
) -> None:
    """Change an item; its version goes up only if something changed."""
    change = ItemEdit(
        title=title,
        tags=_tags(tags),
        assignments=tuple(parse_assignment(a) for a in assignments or ()),
        generate_password=None if generate_password is None else parse_recipe(generate_password),
    )
    _show(open_vault(_settings(ctx)).edit_item(vault, item, change), as_json)


@item_app.command("public-key")
def public_key(
    ctx: typer.Context,
    item: Annotated[str, typer.Argument(help="SSH Key item title or id.")],
    vault: VaultOpt = None,
    form: Annotated[
        str, typer.Option("--format", help="jwk (with its RFC 7638 kid), pem or openssh.")
    ] = "jwk",
) -> None:
    """Print the public half of an SSH Key item's key pair (the private half stays inside)."""
    if form not in ("jwk", "pem", "openssh"):
        raise UsageError(f"unknown --format {form!r} (choose jwk, pem or openssh)")
    key = open_vault(_settings(ctx)).public_key(vault, item)
    if form == "jwk":
        print_json(key.jwk())
    else:
        typer.echo(key.pem().rstrip("\n") if form == "pem" else key.openssh)


def register(app: typer.Typer) -> None:
    """Add ``item`` to the main ``vaultborn`` app."""
    app.add_typer(item_app, name="item", rich_help_panel="Vault")
