r"""A fake ``op`` (1Password CLI v2) for tests: ``python -m vaultborn.vault.op.fake ARGS…``.

It follows reference/credentials.md §1, not the convenience of ``vault.op.backend``, and
builds items with the project's pure modules (``vault.items``, ``vault.assignment``,
``vault.recipe``, ``vault.otp``) so that 1Password's documented item rules live in one place.

Documented behaviour it reproduces:

- §1.1: failures are exit status 1 and ``[ERROR] YYYY/MM/DD HH:MM:SS <message>`` on stderr,
  with the recorded texts: ``"X" isn't an item[ in the "V" vault]. Specify the item with its
  UUID, name, or domain.``, ``"V" isn't a vault in this account. …``, ``More than one item
  matches "X". …`` followed by ``\t* for the item "X" in vault V: <id>`` lines,
  ``account is not signed in`` (whoami), the ``could not read secret '…': …`` family of
  ``read`` (item missing, field missing, not signed in), ``found no accounts for filter``,
  ``DecodeSACredentials`` and ``unrecognized auth type``. ``--version`` prints a version.
- §1.2: references are case-insensitive; names may hold only letters, digits, ``-``, ``_``,
  ``.`` and whitespace; ids work in place of names; ``?attribute=otp`` gives the current code.
- §1.3: ``read`` prints the value and a newline unless ``-n``/``--no-newline``.
- §1.4: ``item create`` takes ``--vault --category --title --tags``, assignment statements,
  ``--generate-password[=recipe]`` (only with ``=``) and a JSON template on stdin after ``-``;
  the flag is applied on top of the template.
- §1.5: ``item edit`` takes the same flags and assignments and, since 2.23, the full item
  JSON on stdin: read when stdin is a pipe or file (not a terminal, not /dev/null) with data.
- §1.6: ``item get`` JSON shape; without ``--reveal`` CONCEALED and OTP values are left out
  (op ≥ 2.30); ``--otp`` prints the code; ``--fields label=x`` gives one field object,
  several labels or ``type=`` an array. ``item list`` and ``vault list`` shapes.
- §1.8: ``OP_SERVICE_ACCOUNT_TOKEN`` starting ``ops_`` signs a service account in; it cannot
  see Private/Personal/Employee/Shared vaults, and ``item list``/``item create`` without
  ``--vault`` fail when it sees more than one vault. Otherwise a desktop-app session is
  assumed, unless ``FAKE_OP_SIGNED_OUT`` is set; ``--account``/``OP_ACCOUNT`` must name an
  account in ``FAKE_OP_ACCOUNTS`` (default ``my``).

Assumptions (undocumented, chosen to be plausible): the error for an unsupported character in
a reference, for ``?attribute=otp`` on a non-OTP field, for ``--otp`` on an item without an
OTP field, for vault ambiguity and for "not signed in" outside ``read``/``whoami``; the exact
service-account wording ``you must specify a vault with the --vault flag``; ``whoami`` JSON
(``user_type`` ``HUMAN`` or ``SERVICE_ACCOUNT``); ``--tags`` on ``item list`` matching any
tag; ``item create`` output concealed; created items going to the first Private/Personal
vault when a person gives no ``--vault``; server-assigned ids for template fields.

Not reproduced, because credentials.md does not document it: generating an SSH key
(``--ssh-generate-key`` is an unknown flag here, and an SSH Key item without a generated key
is refused), and the fields of an SSH Key item.

Modules: ``fake_cli`` (op's flag syntax), ``fake_commands`` (the commands), ``fake_state``
(the state file, sign-in, lookups with op's error texts); this one runs a call.

Test controls (environment): ``FAKE_OP_STATE`` (state file, required), ``FAKE_OP_ARGV_LOG``
(JSON lines, one argv per call), ``FAKE_OP_VAULTS`` (vaults created with the state, default
``Private``), ``FAKE_OP_VERSION`` (default 2.30.0), ``FAKE_OP_SIGNED_OUT``,
``FAKE_OP_HANG=SECONDS`` (sleep before answering, like an unanswered biometric prompt),
``FAKE_OP_FAIL=<message>`` (fail with that ``[ERROR]``), optionally only
``FAKE_OP_FAIL_TIMES=N`` times and only for commands starting ``FAKE_OP_FAIL_ON`` (e.g.
``item edit``). ``--version`` is exempt from every control.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from vaultborn.core.errors import VaultbornError
from vaultborn.vault.op.fake_cli import parse_args
from vaultborn.vault.op.fake_commands import COMMANDS
from vaultborn.vault.op.fake_state import NOT_SIGNED_IN, OpFailure, Store, sign_in

__all__ = ["DEFAULT_VERSION", "install_fake_op", "main"]

DEFAULT_VERSION = "2.30.0"


def install_fake_op(bin_dir: Path, *, state: Path, argv_log: Path) -> Path:
    """Write an executable ``op`` wrapper into ``bin_dir`` that runs this fake; return its path.

    The wrapper sets ``FAKE_OP_STATE`` and ``FAKE_OP_ARGV_LOG`` unless they are already set.
    """
    bin_dir.mkdir(parents=True, exist_ok=True)
    lines = ["#!/bin/sh"]
    for name, value in (("FAKE_OP_STATE", state), ("FAKE_OP_ARGV_LOG", argv_log)):
        quoted = shlex.quote(str(Path(value).absolute()))
        lines.append(f'if [ -z "${{{name}:-}}" ]; then {name}={quoted}; export {name}; fi')
    lines.append(f'exec {shlex.quote(sys.executable)} -m vaultborn.vault.op.fake "$@"')
    path = bin_dir / "op"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    path.chmod(0o755)
    return path


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] = os.environ) -> int:
    """Run one op command; returns the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    _log(env, args)
    if args == ["--version"]:
        sys.stdout.write(env.get("FAKE_OP_VERSION", DEFAULT_VERSION) + "\n")
        return 0
    try:
        parsed = parse_args(args)
        hang = env.get("FAKE_OP_HANG")
        if hang:
            time.sleep(float(hang))
        state = env.get("FAKE_OP_STATE")
        if not state:
            raise OpFailure("fake op: FAKE_OP_STATE is not set")
        with Store.open(Path(state), env) as store:
            _injected_failure(env, parsed.command, store)
            try:
                store.session = sign_in(env, parsed.value("--account"))
            except OpFailure as exc:
                raise _signed_out_variant(exc, parsed.command, parsed.positionals) from None
            out = COMMANDS[parsed.command](store, parsed, env)
    except OpFailure as exc:
        _error(exc.message, exc.detail)
        return 1
    except VaultbornError as exc:  # the pure modules' messages never hold values
        _error(str(exc))
        return 1
    sys.stdout.write(out)
    return 0


def _log(env: Mapping[str, str], args: list[str]) -> None:
    path = env.get("FAKE_OP_ARGV_LOG")
    if path:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(args) + "\n")


def _error(message: str, detail: Sequence[str] = ()) -> None:
    stamp = time.strftime("%Y/%m/%d %H:%M:%S")
    sys.stderr.write("".join([f"[ERROR] {stamp} {message}\n", *(d + "\n" for d in detail)]))


def _injected_failure(env: Mapping[str, str], command: tuple[str, ...], store: Store) -> None:
    message = env.get("FAKE_OP_FAIL")
    if not message:
        return
    only = env.get("FAKE_OP_FAIL_ON", "").split()
    if only and list(command[: len(only)]) != only:
        return
    times = env.get("FAKE_OP_FAIL_TIMES")
    done = int(store.fake.get("failures", 0))
    if times is not None and done >= int(times):
        return
    store.fake["failures"] = done + 1
    store.dirty = True
    raise OpFailure(message)


def _signed_out_variant(
    exc: OpFailure, command: tuple[str, ...], positionals: Sequence[str]
) -> OpFailure:
    if command == ("whoami",) and NOT_SIGNED_IN in exc.message:
        return OpFailure("account is not signed in")
    if command == ("read",) and positionals:
        return exc.prefixed(f"could not read secret '{positionals[0]}': ")
    return exc


if __name__ == "__main__":
    sys.exit(main())
