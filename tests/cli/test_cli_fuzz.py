"""A fuzz pass over the CLI: every command, valid option names, hostile values.

Whatever the arguments, ``vaultborn`` ends with 0, 1, 2 or 3; never shows a traceback or an
"internal error" (what ``main`` prints for an unexpected exception); and a failure (1, 2) says
why on exactly one stderr line (or, for the commands that report on stdout — ``doctor``,
``plan``, ``audit verify`` — on stdout alone).

Runs in-process through the ``cli`` fixture. Nothing leaves 127.0.0.1 (a guard on
``getaddrinfo``/``connect`` records any attempt), stdin is an empty non-tty, the working
directory and every path that may be written are under ``tmp_path``, and tripwires record
(and stop) a fuzz case that would get as far as starting a setup run, a browser, the dev IdP's
server or a child command: for those commands only argument parsing is fuzzed.
"""

from __future__ import annotations

import io
import os
import socket
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import Run
from vaultborn.core.errors import ConfigurationError

pytestmark = pytest.mark.robustness("hostile input: CLI arguments (fuzz)")

CANARY = "CANARY-5f1d0c9a7be24e63"
"""A stand-in for a secret in a value position (``--env K=…``, an env file line, an item field
assignment): it never reaches stderr. (A stray extra argument is echoed as typed, as usual.)"""

Strategy = st.SearchStrategy[str]
EXAMPLES = int(os.environ.get("VAULTBORN_FUZZ_EXAMPLES", "8"))

# -- hostile values ---------------------------------------------------------------------------

# fmt: off
NASTY = [
    "", " ", "-", "--", "---", "-x", "--help", "=", "==", "\t", "\r", "\n", "a\nb", "\x1b[2J",
    "\x7f", "\x85", "\u2028", "\u202e", "\ufeff", "é", "日本語", "\U0001f600", "x" * 3000, "0",
    "-0", "-1", "1e309", "-1e309", "nan", "inf", "-inf", str(2**64), str(-(2**64)), "9" * 40,
    "0x10", "1_000", "1e-320", "op://", "op:///", "op://a//c", "op://a/b/c", "op://v/t/password",
    "op://a/b/c/d/e", "op://a/b/c?attribute=", "op://a/b/c?x=y",
    "op://v/t/f?attribute=otp&attribute=otp", "op://a/b/\x01", "OP://a/b/c", " op://a/b/c ",
    "otpauth://", "otpauth://totp/?secret=", "otpauth://hotp/x?secret=JBSWY3DPEHPK3PXP",
    "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&digits=99&period=0", "otpauth://totp/%ZZ?secret=%ZZ",
    "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&period=٣٠", "aws-secretsmanager://",
    "aws-secretsmanager://us-east-١/x", "aws-secretsmanager://us-east-1/a//b", "http://[::1",
    "http://127.0.0.1:99999/", "http://a:b/", "file:///etc/passwd", "javascript:x",
    "c2VjcmV0c2VjcmV0c2VjcmV0==",
]
# fmt: on


def mostly(valid: list[str], other: Strategy) -> Strategy:
    """One of ``valid`` two times in three, else ``other``: cases get past lookups to checks."""
    return st.integers(0, 2).flatmap(lambda i: st.sampled_from(valid) if i else other)


_text = st.text(
    st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=24
)
hostile: Strategy = st.sampled_from(NASTY) | _text
numbers: Strategy = st.one_of(
    st.integers(-(2**70), 2**70).map(str),
    st.floats().map(repr),
    st.sampled_from(["", "nan", "inf", "1e309", "0x1F", "1_0", "٣", " 5", "5 s"]),
)
references: Strategy = st.one_of(
    hostile,
    st.builds("op://{}/{}/{}".format, _text, _text, _text),
    st.sampled_from(["op://v/t/password", "op://v/t/one-time password?attribute=otp"]),
)
otp_values: Strategy = st.one_of(
    st.sampled_from([n for n in NASTY if n.startswith("otpauth")]),
    st.builds("otpauth://totp/{}?secret={}&{}".format, _text, _text, _text),
)
assignments: Strategy = (
    st.builds(
        "{}{}={}".format,
        hostile,
        st.sampled_from(
            ["", "[otp]", "[password]", "[text]", "[url]", "[delete]", "[bogus]", "[", "[otp"]
        ),
        hostile | otp_values | st.just(CANARY),
    )
    | hostile
)
recipes: Strategy = (
    st.sampled_from(
        [
            "",
            "letters",
            "digits,0",
            "digits,65",
            "letters,digits,symbols,٣٢",
            "symbols,-1",
            ",,,",
            "letters,digits,symbols,32",
            "digits," + "9" * 30,
        ]
    )
    | hostile
)
categories: Strategy = st.sampled_from(
    ["login", "LOGIN", "password", "api credential", "ssh key", "SSH_KEY", "nope", ""]
)
key_types: Strategy = st.sampled_from(["rsa", "p256", "ES256", "ed25519", ""])
run_ids: Strategy = hostile | st.builds("run-{}".format, _text)
env_assignments: Strategy = st.one_of(
    hostile,
    st.builds(
        "{}={}".format, st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True), references
    ),
    st.sampled_from([f"K={CANARY}", f"export K='{CANARY}'", f"{CANARY}==", "1A=op://v/t/f"]),
)
targets: Strategy = hostile | st.sampled_from(
    [
        "aws-secretsmanager://us-east-1/x",
        "aws-secretsmanager://us-east-1/" + "x" * 600,
        "aws-secretsmanager://xx-yy-1/a/b",
        "aws-secretsmanager://US-EAST-1/x",
    ]
)
urls: Strategy = hostile | st.sampled_from(
    [
        "http://127.0.0.1:9/enroll?ticket=t",
        "https://127.0.0.1:9/",
        "http://",
        "http:///x",
        "ftp://x/",
    ]
)
domains: Strategy = hostile | st.sampled_from(
    ["http://127.0.0.1:9/", "http://localhost:9", "127.0.0.1:9", "ftp://127.0.0.1/", "http://[::1"]
)
drivers: Strategy = hostile | st.sampled_from(
    ["auto", "auth0", "keycloak", "okta", "generic", "AUTO"]
)
backends: Strategy = hostile | st.sampled_from(
    ["local", "op", "LOCAL", "Local ", "op\n", "keepass"]
)


# -- paths: only ever under tmp_path (the working directory during the fuzz) ------------------


@dataclass(frozen=True)
class Paths:
    """Files and directories the fuzz points options at, all under ``tmp_path``."""

    root: Path

    def make(self) -> None:
        """Create the fixtures: a directory, empty, bad TOML, binary and env files."""
        (self.root / "dir").mkdir()
        (self.root / "empty.toml").write_text("")
        (self.root / "bad.toml").write_text("[[[")
        (self.root / "wrong.toml").write_text('[idp]\ndomain = 5\n[vault]\nbackend = "x"\n')
        (self.root / "binary").write_bytes(b"\xff\xfe\x00\x01")
        (self.root / "bom.env").write_text("\ufeffK=op://a/b/c\n", encoding="utf-8")
        (self.root / "secret.env").write_text(f"K={CANARY}\n{CANARY}==\n")
        (self.root / "noise.env").write_text("# a\x0cb\u2028c\nK=op://a/b/c\n")

    def any(self) -> Strategy:
        """Paths that may be read or written: existing odd files, missing ones, odd names."""
        names = [
            "dir",
            "empty.toml",
            "bad.toml",
            "wrong.toml",
            "binary",
            "bom.env",
            "secret.env",
            "noise.env",
            "missing/x",
            "missing.toml",
            "",
            ".",
            "-",
            "--",
            "new\nline",
            "ctl\x01name",
            "日本.toml",
            "dir/",
            "x" * 300,
        ]
        return st.sampled_from([str(self.root / n) if n else n for n in names])

    def readable(self) -> Strategy:
        """Paths only read: the above, or any text made relative (so it stays under tmp)."""
        return self.any() | _text.map(lambda t: t.lstrip("/") or ".")

    def dbs(self) -> Strategy:
        """``--db`` values: odd URLs and SQLite files that are missing, wrong or not databases."""
        return st.sampled_from(
            [
                "",
                "nonsense",
                "sqlite://",
                "sqlite:///",
                f"sqlite:///{self.root}/state.db",
                f"sqlite:///{self.root}/missing/dir/state.db",
                f"sqlite:///{self.root}/bad.toml",
                f"sqlite:///{self.root}/dir",
                "postgresql://127.0.0.1:9/x",
                "mysql://127.0.0.1:9/x",
                "sqlite:///:memory:",
                "relative.db",
            ]
        )


# -- argument lists ---------------------------------------------------------------------------

Flag = None


@dataclass(frozen=True)
class Spec:
    """A command, its options (None: a flag) and its positionals, as strategies."""

    command: tuple[str, ...]
    options: dict[str, Strategy | None] = field(default_factory=dict)
    positionals: tuple[Strategy, ...] = ()
    tail: st.SearchStrategy[list[str]] | None = None
    """Extra arguments after everything else (``run``'s ``-- CMD``, a subcommand)."""
    required: tuple[tuple[str, Strategy], ...] = ()
    """Options always given, first, so the command can never do more than parse and fail."""
    with_item: bool = False
    """Whether vault ``v`` holds item ``t`` (password + OTP), so fuzz cases get past lookups.

    Never for ``token``/``call``/``run``: with a readable client secret or value they would go
    on to an IdP named by a hostile ``--domain`` or to running CMD.
    """


@st.composite
def argv(draw: st.DrawFn, spec: Spec) -> list[str]:
    """An argument list for ``spec``: some options in some spelling, then positionals."""
    args = list(spec.command)
    for name, values in spec.required:
        args += [name, draw(values)]
    chosen = (
        draw(st.lists(st.sampled_from(sorted(spec.options)), max_size=4)) if spec.options else []
    )
    for name in chosen:
        values = spec.options[name]
        if values is None:
            args.append(name)
            continue
        spelling = draw(st.sampled_from(["apart", "apart", "joined", "joined", "dangling"]))
        if spelling == "apart":
            args += [name, draw(values)]
        elif spelling == "joined":
            args.append(f"{name}={draw(values)}")
        else:
            args.append(name)  # no value: the next argument (or nothing) takes its place
    # Mostly well-formed, so that values get past the parser to the code that checks them.
    positionals = [draw(s) for s in spec.positionals if draw(st.integers(0, 3))]
    trick = draw(st.sampled_from(["none", "none", "none", "dashdash", "unknown", "extra"]))
    if trick == "dashdash":
        args.append("--")
    elif trick == "unknown":
        args.append(draw(st.sampled_from(["--no-such-option", "-Z", "--json=maybe", "--hel"])))
    args += positionals
    if trick == "extra":
        args.append(draw(hostile))
    if spec.tail is not None and draw(st.integers(0, 3)):
        args += draw(spec.tail)
    return args


# -- the guards -------------------------------------------------------------------------------

_LOOPBACK = {"127.0.0.1", "::1", "localhost", "", None}


@dataclass
class Guards:
    """What fuzz cases tried: non-loopback network (a failure), a long-running start (stopped)."""

    attempts: list[str] = field(default_factory=list)
    """Name lookups and connections that were not for loopback: each one fails the case."""
    stops: list[str] = field(default_factory=list)
    """Long-running starts that a tripwire stopped with a one-line error, as a failure would."""

    def trip(self, what: str) -> Callable[..., Any]:
        """A stand-in that records ``what`` and stops the command with a one-line error."""

        def tripwire(*args: Any, **kwargs: Any) -> Any:
            self.stops.append(what)
            raise ConfigurationError(f"fuzz tripwire: {what}")

        return tripwire


@pytest.fixture
def guards(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, cli: Run
) -> Iterator[tuple[Guards, Paths, Run]]:
    """Hermetic ground for the fuzz; yields the guards, the path fixtures and ``cli``."""
    import vaultborn.browser.session
    import vaultborn.cli.driving
    import vaultborn.cli.idp
    import vaultborn.cli.stores
    import vaultborn.runner.drive

    found = Guards()
    real_getaddrinfo = socket.getaddrinfo
    real_connect = socket.socket.connect

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(host, bytes):
            host = host.decode("ascii", "replace")
        if host not in _LOOPBACK:
            found.attempts.append(f"name lookup of {host!r}")
            raise socket.gaierror(socket.EAI_NONAME, "blocked by the fuzz: not loopback")
        return real_getaddrinfo(host, *args, **kwargs)

    def connect(sock: socket.socket, address: Any) -> None:
        if isinstance(address, tuple) and address[0] not in _LOOPBACK:
            found.attempts.append(f"connection to {address!r}")
            raise ConnectionRefusedError("blocked by the fuzz: not loopback")
        real_connect(sock, address)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(
        vaultborn.runner.drive, "open_runtime", found.trip("a setup run would start")
    )
    monkeypatch.setattr(vaultborn.cli.idp, "_announce", found.trip("the dev IdP would serve"))
    monkeypatch.setattr(vaultborn.cli.stores, "run_with_secrets", found.trip("CMD would run"))
    monkeypatch.setattr(
        vaultborn.browser.session, "async_playwright", found.trip("a browser would start")
    )

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    for name in (
        "MGMT_SECRET",
        "AGENT_SECRET",
        "VAULTBORN_IDP_DOMAIN",
        "VAULTBORN_DATABASE_URL",
        "VAULTBORN_DEBUG",
        "VAULTBORN_CHECKPOINT_KEY",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("VAULTBORN_CHROMIUM", str(tmp_path / "no-chromium"))
    monkeypatch.setenv("VAULTBORN_OP_BIN", str(tmp_path / "no-op"))
    # An AWS configuration on a closed loopback port: no embedded emulator starts per case.
    for name, value in {
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        "AWS_ACCESS_KEY_ID": "fuzz",
        "AWS_SECRET_ACCESS_KEY": "fuzz",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_MAX_ATTEMPTS": "1",
        "AWS_EC2_METADATA_DISABLED": "true",
    }.items():
        monkeypatch.setenv(name, value)

    paths = Paths(tmp_path)
    paths.make()
    yield found, paths, cli


def _check(result: Any, args: list[str], found: Guards) -> None:
    where = (
        f"vaultborn {args!r} → {result.code}\nstdout: {result.out[:500]!r}\nstderr: {result.err!r}"
    )
    assert not found.attempts, f"{found.attempts}: {where}"
    assert result.code in (0, 1, 2, 3), where
    assert "Traceback" not in result.err + result.out, where
    assert "internal error" not in result.err, where
    assert CANARY not in result.err, where
    if result.code in (1, 2):
        if result.err == "":
            assert result.out.strip(), f"a failure that says nothing: {where}"
        else:
            assert result.err.startswith("vaultborn: "), where
            assert result.err.count("\n") == 1 and result.err.endswith("\n"), where


def _specs(paths: Paths) -> dict[str, Spec]:
    db = paths.dbs()
    json_db: dict[str, Strategy | None] = {"--db": db, "--json": Flag}
    policy = {"--policy": paths.readable(), "--auto-approve": Flag, "--headed": Flag}
    item_opts: dict[str, Strategy | None] = {"--vault": mostly(["v"], hostile), "--json": Flag}
    token_opts: dict[str, Strategy | None] = {
        "--client": references,
        "--key": references,
        "--audience": hostile,
        "--domain": domains,
        "--client-id": hostile,
        "--json": Flag,
    }
    return {
        "root": Spec(
            (),
            {"--vault-backend": backends, "--home": paths.any(), "--version": Flag, "--help": Flag},
            tail=st.sampled_from(
                [
                    ["item", "list"],
                    ["runs"],
                    ["read", "op://a/b/c"],
                    ["item"],
                    ["idp"],
                    ["audit"],
                    ["no-such-command"],
                    ["-"],
                    [],
                ]
            )
            | st.lists(hostile, max_size=2),
        ),
        "item create": Spec(
            ("item", "create"),
            {
                "--title": hostile,
                "--category": categories,
                "--username": hostile,
                "--tags": hostile,
                "--generate-password": recipes,
                "--ssh-generate-key": key_types,
                **item_opts,
            },
            tail=st.lists(assignments, max_size=3),
        ),
        "item public-key": Spec(
            ("item", "public-key"),
            {"--vault": mostly(["v"], hostile), "--format": mostly(["jwk", "pem"], hostile)},
            (mostly(["t"], hostile),),
            with_item=True,
        ),
        "item get": Spec(
            ("item", "get"),
            {**item_opts, "--reveal": Flag},
            (mostly(["t"], hostile),),
            with_item=True,
        ),
        "item list": Spec(
            ("item", "list"),
            {
                "--tags": hostile,
                "--categories": hostile | categories,
                "--title": hostile,
                **item_opts,
            },
        ),
        "item edit": Spec(
            ("item", "edit"),
            {"--title": hostile, "--tags": hostile, "--generate-password": recipes, **item_opts},
            (mostly(["t"], hostile),),
            tail=st.lists(assignments, max_size=3),
            with_item=True,
        ),
        "read": Spec(("read",), {"--no-newline": Flag, "-n": Flag}, (references,), with_item=True),
        "resolve": Spec(("resolve",), {"--json": Flag}, (references,), with_item=True),
        "otp": Spec(
            ("otp",),
            {"--vault": mostly(["v"], hostile), "--at": numbers},
            (mostly(["t", "op://v/t/one-time password"], references),),
            with_item=True,
        ),
        "token": Spec(("token",), {**token_opts, "--raw": Flag}),
        "call": Spec(("call",), token_opts, (urls,)),
        "seed": Spec(
            ("seed",),
            {"--json": Flag},
            (mostly(["op://v/t/password"], references), targets),
            with_item=True,
        ),
        "run": Spec(
            ("run",),
            {"--env": env_assignments, "--env-file": paths.readable(), "--no-masking": Flag},
            tail=st.sampled_from([["--", "true"], ["--", "/nonexistent/tool"], ["true"], ["--"]])
            | st.lists(hostile, max_size=2).map(lambda rest: ["--", *rest]),
        ),
        "enroll": Spec(
            ("enroll",),
            {
                "--item": mostly(["t"], hostile),
                "--vault": mostly(["v"], hostile),
                "--driver": drivers,
                "--headed": Flag,
                "--timeout": numbers,
                "--debug-dir": paths.any(),
                "--json": Flag,
            },
            (urls,),
            with_item=True,
        ),
        "setup --plan": Spec(
            ("setup",), {**policy, **json_db}, required=(("--plan", paths.readable()),)
        ),
        "setup --run": Spec(("setup",), {**policy, **json_db}, required=(("--run", run_ids),)),
        "plan": Spec(("plan",), {"--plan": paths.readable(), "--json": Flag}),
        "resume": Spec(("resume",), {**policy, **json_db}, (run_ids,)),
        "approve": Spec(
            ("approve",), {"--reason": hostile, "--digest": hostile, **json_db}, (run_ids,)
        ),
        "reject": Spec(("reject",), {"--reason": hostile, **json_db}, (run_ids,)),
        "edit": Spec(
            ("edit",),
            {"--reason": hostile, "--digest": hostile, **json_db},
            (run_ids,),
            tail=st.lists(hostile | st.builds("{}={}".format, hostile, hostile), max_size=3),
        ),
        "approvals": Spec(("approvals",), json_db),
        "runs": Spec(("runs",), json_db),
        "show": Spec(("show",), {"--history": Flag, **json_db}, (run_ids,)),
        "audit verify": Spec(("audit", "verify"), json_db),
        "idp serve": Spec(
            ("idp", "serve"),
            {
                "--port": numbers,
                "--tenant": paths.readable(),
                "--db": paths.any(),
                "--url-file": paths.any(),
                "--json": Flag,
                "--host": st.just("127.0.0.1"),
            },
        ),
        "idp rotate-keys": Spec(
            ("idp", "rotate-keys"),
            {
                "--db": paths.any() | st.just(str(paths.root / "devidp.db")),
                "--grace": numbers,
                "--json": Flag,
            },
        ),
    }


COMMANDS = sorted(_specs(Paths(Path("/unused"))))
DEEP = ["enroll", "item create", "item edit", "otp", "run", "seed"]
"""Commands whose values pass several checks after parsing: twice the cases."""
SHALLOW = [c for c in COMMANDS if c not in DEEP]
OTP_ITEM = [
    "item",
    "create",
    "--vault",
    "v",
    "--title",
    "t",
    "--generate-password=digits,12",
    "one-time password[otp]=otpauth://totp/x?secret=JBSWY3DPEHPK3PXP",
]


_FUZZ = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.mark.parametrize("command", SHALLOW)
@settings(_FUZZ, max_examples=EXAMPLES)
@given(data=st.data())
def test_any_arguments_end_in_a_code_and_at_most_one_line(
    guards: tuple[Guards, Paths, Run], command: str, data: st.DataObject
) -> None:
    _fuzz(guards, command, data)


@pytest.mark.parametrize("command", DEEP)
@settings(_FUZZ, max_examples=2 * EXAMPLES)
@given(data=st.data())
def test_any_arguments_to_deep_commands_end_in_a_code_and_at_most_one_line(
    guards: tuple[Guards, Paths, Run], command: str, data: st.DataObject
) -> None:
    _fuzz(guards, command, data)


def _fuzz(guards: tuple[Guards, Paths, Run], command: str, data: st.DataObject) -> None:
    found, paths, cli = guards
    spec = _specs(paths)[command]
    if spec.with_item and not (paths.root / "item-made").exists():  # once per test
        assert cli(*OTP_ITEM).code == 0
        (paths.root / "item-made").touch()
    args = data.draw(argv(spec), label="argv")
    _check(cli(*args), args, found)


# Each bug the fuzz found, as it was first seen; now a usage error (2) saying what is wrong.
REGRESSIONS = [
    # was: internal error (ValueError / OverflowError) from pyotp
    (["otp", "t", "--vault", "v", "--at", "nan"], "Invalid value for '--at'"),
    (["otp", "t", "--vault", "v", "--at", "inf"], "Invalid value for '--at'"),
    (["otp", "t", "--vault", "v", "--at", "-1"], "Invalid value for '--at'"),
    (["otp", "op://v/t/one-time password", "--at", "1e20"], "Invalid value for '--at'"),
    # was: internal error (OverflowError); 70000 served on port 4464; -1: "Servname not supported"
    (["idp", "serve", "--port", "99999999999999999999"], "Invalid value for '--port'"),
    (["idp", "serve", "--port", "70000"], "Invalid value for '--port'"),
    (["idp", "serve", "--port", "-1"], "Invalid value for '--port'"),
    (["idp", "rotate-keys", "--grace", "-1"], "Invalid value for '--grace'"),  # was: accepted
    # was: a browser started; Playwright reads a timeout of 0 as "wait forever"
    (["enroll", "http://127.0.0.1:9/", "--item", "t", "--timeout", "0"], "--timeout must be"),
    (["enroll", "http://127.0.0.1:9/", "--item", "t", "--timeout", "nan"], "--timeout must be"),
    (["enroll", "", "--item", "t"], "the enrollment URL must be an http:// or https:// address"),
    (["enroll", "http://[::1", "--item", "t"], "the enrollment URL must be"),
    # was: accepted, as if ١ were 1
    (["seed", "op://v/t/password", "aws-secretsmanager://us-east-١/x"], "not an AWS region name"),
    # was: "vaultborn: (see 'vaultborn --help')", an empty message
    (["item"], "vaultborn: missing command (see 'vaultborn item --help')"),
    ([], "vaultborn: missing command (see 'vaultborn --help')"),
    # was: "the value of c2VjcmV0c2VjcmV0c2VjcmV0 is …", "'aB3$x9Qz' is not a valid … name"
    (["run", "--env", "c2VjcmV0c2VjcmV0c2VjcmV0==", "--", "true"], "--env: the value is not an"),
    (["run", "--env", "aB3$x9Qz=rest", "--", "true"], "the text before '=' is not a name"),
    # was (on typer 0.28, whose Click range check lets nan through): an inbox and an MCP server
    # that looked every nan seconds
    (["inbox", "--poll", "nan"], "Invalid value for '--poll': nan is not a finite number"),
    (["mcp", "--wait", "nan"], "Invalid value for '--wait': nan is not a finite number"),
]


@pytest.mark.parametrize(
    ("args", "says"), REGRESSIONS, ids=[" ".join(a) or "(no arguments)" for a, _ in REGRESSIONS]
)
def test_regressions_are_one_line_usage_errors(
    guards: tuple[Guards, Paths, Run], args: list[str], says: str
) -> None:
    found, _, cli = guards
    assert cli(*OTP_ITEM).code == 0
    result = cli(*args)
    _check(result, args, found)
    assert result.code == 2 and says in result.err, result
    assert "c2VjcmV0" not in result.err and "aB3$x9Qz" not in result.err


def test_env_files_with_a_bom_or_a_form_feed_in_a_comment_parse(
    guards: tuple[Guards, Paths, Run],
) -> None:
    found, paths, cli = guards
    # was: "'\ufeffK' is not a valid environment variable name" and "noise.env:2: expected …"
    for name in ("bom.env", "noise.env"):
        args = ["run", "--env-file", str(paths.root / name), "--", "true"]
        result = cli(*args)
        _check(result, args, found)
        assert result.code == 1 and result.err == "vaultborn: 'a' isn't a vault in this account\n"


def test_the_guards_catch_what_the_fuzz_must_not_reach(
    guards: tuple[Guards, Paths, Run], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The net the fuzz relies on holds: a setup is stopped, a remote name is never looked up."""
    found, _, cli = guards
    started = cli("setup")  # the embedded demo, as far as its first side effect
    assert found.stops == ["a setup run would start"] and started.code == 1, started
    assert cli(*OTP_ITEM).code == 0
    monkeypatch.setenv("AWS_ENDPOINT_URL", "https://secretsmanager.example.com")
    remote = cli("seed", "op://v/t/password", "aws-secretsmanager://us-east-1/x")
    assert found.attempts, remote
    assert set(found.attempts) == {"name lookup of 'secretsmanager.example.com'"}, remote
    assert remote.code == 1 and remote.err.count("\n") == 1, remote


@pytest.mark.parametrize(
    "args",
    [
        ["setup", "--plan", "{root}/new\nline"],
        ["plan", "--plan", "{root}/new\nline"],
        ["idp", "rotate-keys", "--db", "{root}/new\nline"],
        ["idp", "serve", "--tenant", "{root}/new\nline"],
        ["run", "--env-file", "{root}/new\nline", "--", "true"],
        ["--home", "{root}/binary/new\nline", "item", "list"],
        ["runs", "--db", "sqlite:///{root}/binary/new\nline/x.db"],
    ],
    ids=["setup", "plan", "rotate-keys", "serve", "run", "home", "runs"],
)
def test_a_newline_in_a_path_stays_on_one_line(
    guards: tuple[Guards, Paths, Run], args: list[str]
) -> None:
    """Messages name paths as given; main() keeps whatever they hold on one stderr line."""
    found, paths, cli = guards
    args = [a.format(root=paths.root) for a in args]
    result = cli(*args)
    _check(result, args, found)
    assert result.code in (1, 2), result
    assert "new line" in result.err or "new\\nline" in result.err, result  # collapsed or escaped
