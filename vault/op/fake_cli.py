"""The fake op's command line: op's flag syntax (cobra) and its argument checks.

See ``vault.op.fake`` for what is modelled; commands live in ``vault.op.fake_commands``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from vaultborn.vault.op.fake_state import OpFailure

__all__ = ["Parsed", "parse_args"]

VALUE, BOOL, SEPARATOR = "value", "bool", "separator"
"""Flag kinds: takes a value; takes none; takes a value only after ``=`` (§1.4)."""

_GLOBAL = {
    "--account": VALUE,
    "--format": VALUE,
    "--session": VALUE,
    "--config": VALUE,
    "--encoding": VALUE,
    "--cache": BOOL,
    "--debug": BOOL,
    "--iso-timestamps": BOOL,
    "--no-color": BOOL,
}
_ITEM_WRITE = {
    "--vault": VALUE,
    "--title": VALUE,
    "--tags": VALUE,
    "--url": VALUE,
    "--generate-password": SEPARATOR,
}
COMMAND_FLAGS: dict[tuple[str, ...], dict[str, str]] = {
    ("whoami",): {},
    ("read",): {"--no-newline": BOOL},
    ("vault", "list"): {},
    ("item", "list"): {
        "--vault": VALUE,
        "--tags": VALUE,
        "--categories": VALUE,
        "--long": BOOL,
        "--include-archive": BOOL,
    },
    ("item", "get"): {
        "--vault": VALUE,
        "--reveal": BOOL,
        "--otp": BOOL,
        "--fields": VALUE,
        "--include-archive": BOOL,
    },
    ("item", "create"): {**_ITEM_WRITE, "--category": VALUE},
    ("item", "edit"): _ITEM_WRITE,
}
_SHORT = {"-n": "--no-newline"}
_ALL = {**_GLOBAL, **{k: v for flags in COMMAND_FLAGS.values() for k, v in flags.items()}}


@dataclass(frozen=True)
class Parsed:
    """One op invocation: command words, flags (``""`` for booleans) and positionals."""

    command: tuple[str, ...]
    flags: Mapping[str, str] = field(default_factory=dict)
    positionals: tuple[str, ...] = ()

    def has(self, flag: str) -> bool:
        """True if ``flag`` was given."""
        return flag in self.flags

    def value(self, flag: str) -> str | None:
        """The value of ``flag``, or None if it was not given."""
        return self.flags.get(flag)

    def csv(self, flag: str) -> list[str]:
        """A comma-separated flag value as a list (empty if not given)."""
        return [p.strip() for p in (self.flags.get(flag) or "").split(",") if p.strip()]

    def wants_json(self, env: Mapping[str, str]) -> bool:
        """``--format json``, or ``OP_FORMAT=json`` (§1.1)."""
        fmt = self.flags.get("--format") or env.get("OP_FORMAT") or "human-readable"
        return fmt.lower() == "json"

    def only_positional(self) -> str:
        """The one positional argument a command such as ``read`` takes."""
        if len(self.positionals) != 1:
            raise OpFailure(f"accepts 1 arg(s), received {len(self.positionals)}")
        return self.positionals[0]


def parse_args(argv: list[str]) -> Parsed:
    """Split ``argv`` as op's cobra parser does, with its error messages."""
    flags: dict[str, str] = {}
    words: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg.startswith("--") and len(arg) > 2:
            name, eq, value = arg.partition("=")
            kind = _ALL.get(name)
            if kind is None:
                raise OpFailure(f"unknown flag: {name}")
            if kind == VALUE and not eq:
                i += 1
                if i >= len(argv):
                    raise OpFailure(f"flag needs an argument: {name}")
                value = argv[i]
            flags[name] = value if kind != BOOL else ""
        elif arg in _SHORT:
            flags[_SHORT[arg]] = ""
        elif arg.startswith("-") and arg != "-":
            raise OpFailure(f"unknown shorthand flag: {arg[1]!r} in {arg}")
        else:
            words.append(arg)
        i += 1
    command = _command(words)
    allowed = {**_GLOBAL, **COMMAND_FLAGS[command]}
    for name in flags:
        if name not in allowed:
            raise OpFailure(f"unknown flag: {name}")
    return Parsed(command, flags, tuple(words[len(command) :]))


def _command(words: list[str]) -> tuple[str, ...]:
    if not words:
        raise OpFailure('no command given; run "op --help"')
    if words[0] in ("whoami", "read"):
        return (words[0],)
    if words[0] in ("item", "vault") and len(words) > 1:
        if (words[0], words[1]) in COMMAND_FLAGS:
            return (words[0], words[1])
        raise OpFailure(f'unknown command "{words[1]}" for "op {words[0]}"')
    raise OpFailure(f'unknown command "{words[0]}" for "op"')
