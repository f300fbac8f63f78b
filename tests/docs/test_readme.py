"""The README's commands, run as written.

Every fenced ``sh`` block in README.md carries a marker in an HTML comment just above it:

- ``<!-- readme-test: run -->``: its lines run in bash, in order;
- ``<!-- readme-test: background -->``: its one command starts in the background (a server),
  and the section goes on once the file it names with ``--url-file`` exists;
- ``<!-- readme-test: file NAME -->`` (above a ``toml`` or ``python`` block): written to NAME first;
- ``<!-- readme-test: tested by PATH -->``: exercised by the test module PATH instead (it must
  exist and mention the block's subcommand);
- ``<!-- readme-test: not run: REASON -->``: deliberately not run (an anti-example).

A line passes when it exits with the code its comment announces (``exits 3``), else 0. Each
``##`` section runs in its own fresh data directory and working directory; variables set in a
section's earlier lines hold for its later ones. In the section on your own tenant, the
fake ``op`` stands in for 1Password and a dev IdP for the Auth0 tenant (serving the client
secrets put into that vault); the placeholders a reader replaces (the tenant's domain and
client ids) are replaced with the stand-in's.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.forkserver import vaultborn_bin_dir
from vaultborn.browser.chromium import find_chromium

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
MARKER = re.compile(
    r"<!-- readme-test: (?P<how>[^>]*?) -->\n```(?P<lang>\w*)\n(?P<body>.*?)\n```", re.S
)
FENCE = re.compile(r"^```(\w*)$", re.M)
EXPECTED = re.compile(r"#.*\bexits? (\d+)\b")
URL_FILE = re.compile(r"--url-file\s+(\S+)")


@dataclass
class Block:
    """One marked fenced block of a README section."""

    how: str
    lang: str
    body: str


@dataclass
class Section:
    """A ``##`` section and its marked blocks, in order."""

    title: str
    blocks: list[Block] = field(default_factory=list)


def sections(text: str) -> list[Section]:
    """The README's sections with their marked blocks."""
    out: list[Section] = []
    for part in re.split(r"^## ", text, flags=re.M)[1:]:
        title = part.splitlines()[0]
        section = Section(title)
        for m in MARKER.finditer(part):
            section.blocks.append(Block(m["how"].strip(), m["lang"], m["body"]))
        out.append(section)
    return out


def commands(body: str) -> list[str]:
    """The block's commands: continuation lines joined, blank and comment-only lines left out."""
    joined = re.sub(r"\\\n\s*", " ", body)
    return [
        line for line in joined.splitlines() if line.strip() and not line.lstrip().startswith("#")
    ]


def test_every_shell_block_is_marked() -> None:
    text = README.read_text()
    fences = [m for m in FENCE.finditer(text) if m.group(1) == "sh"]
    marked = sum(1 for s in sections(text) for b in s.blocks if b.lang == "sh")
    assert fences, "the README has no shell blocks"
    assert marked == len(fences), "a ```sh block of README.md has no readme-test marker"


def test_blocks_tested_elsewhere_name_a_test_that_runs_them() -> None:
    for section in sections(README.read_text()):
        for block in section.blocks:
            if not block.how.startswith("tested by "):
                continue
            path = ROOT / block.how.removeprefix("tested by ").strip()
            assert path.is_file(), f"{section.title}: {path} does not exist"
            source = path.read_text()
            for command in commands(block.body):
                words = shlex.split(command, comments=True)
                sub = next(w for w in words[1:] if not w.startswith("-"))
                assert sub in source, f"{path.name} never mentions {sub!r} ({command})"


OWN_TENANT = "Your own 1Password and Auth0 tenant"
STAND_IN_TENANT = """\
protected_audience = "https://api.example.com"
[[clients]]
client_id = "mgmt"
secret_ref = "op://ACL/Auth0 Management/password"
audiences = ["management"]
scopes = ["read:users", "create:users", "create:guardian_enrollment_tickets",
          "create:authentication_methods", "read:authentication_methods"]
[[clients]]
client_id = "agent"
secret_ref = "op://ACL/Auth0 M2M — my-agent/password"
audiences = ["https://api.example.com"]
scopes = ["read:whoami"]
"""
STAND_IN = [
    # What the reader did by hand: the client secrets in 1Password (the fake op here), and a
    # tenant that holds them (the dev IdP, reading them from that vault).
    'op_() { vaultborn --vault-backend op "$@"; }',
    "op_ item create --vault ACL --title 'Auth0 Management' --category password"
    " --generate-password=letters,digits,40 >/dev/null",
    "op_ item create --vault ACL --title 'Auth0 M2M — my-agent' --category password"
    " --generate-password=letters,digits,40 >/dev/null",
    f"cat > stand-in.toml <<'EOF'\n{STAND_IN_TENANT}EOF",
    "vaultborn --vault-backend op idp serve --tenant stand-in.toml --db stand-in.db"
    " --url-file stand-in.url"
    " >/dev/null & pids+=($!)",
    "for _ in $(seq 200); do [ -s stand-in.url ] && break; sleep 0.1; done",
]
AFTER_FILE = {
    "vaultborn.toml": "sed -i \"s#https://YOUR-TENANT.us.auth0.com#$(sed 's#/$##' stand-in.url)#;"
    ' s#YOUR-MANAGEMENT-CLIENT-ID#mgmt#; s#YOUR-AGENT-CLIENT-ID#agent#" vaultborn.toml',
}


def _script(section: Section) -> str:
    lines = [
        "set -u",
        "pids=()",
        'trap \'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done\' EXIT',
    ]
    if section.title == OWN_TENANT:
        lines += STAND_IN
    for block in section.blocks:
        body = block.body
        if block.how.startswith("file "):
            name = block.how.removeprefix("file ").strip()
            lines.append(f"cat > {shlex.quote(name)} <<'README_EOF'\n{body}\nREADME_EOF")
            lines += [AFTER_FILE[name]] if name in AFTER_FILE else []
        elif block.how == "background":
            (command,) = commands(body)
            command = re.sub(r"\s+#.*$", "", command)  # or the comment would swallow the '&'
            url_file = URL_FILE.search(command)
            assert url_file, f"a background block must name its --url-file: {command}"
            lines += [
                f"{command} & pids+=($!)",
                f"for _ in $(seq 200); do [ -s {url_file[1]} ] && break; sleep 0.1; done",
                f"[ -s {url_file[1]} ] || {{ echo 'README: no {url_file[1]}' >&2; exit 99; }}",
            ]
        elif block.how == "run":
            for number, command in enumerate(commands(body), 1):
                found = EXPECTED.search(command)
                want = int(found[1]) if found else 0
                where = f"{section.title} / line {number}: {command}"
                failed = f"echo {shlex.quote(where)} exited $rc, expected {want} >&2; exit 99"
                lines += [command, f"rc=$?; [ $rc -eq {want} ] || {{ {failed}; }}"]
    return "\n".join(lines) + "\n"


@pytest.mark.skipif(find_chromium() is None, reason="no Chromium found")
@pytest.mark.parametrize(
    "title",
    [s.title for s in sections(README.read_text()) if any(b.how == "run" for b in s.blocks)],
)
def test_the_section_runs_as_written(title: str, tmp_path: Path) -> None:
    (section,) = [s for s in sections(README.read_text()) if s.title == title]
    work = tmp_path / "work"
    work.mkdir()
    bin_dir = Path(sys.executable).parent
    forked = vaultborn_bin_dir()  # ``vaultborn`` forked from the tests' server of libraries
    shims = f"{forked}:" if forked is not None else ""
    env = {
        "PATH": f"{shims}{bin_dir}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        "HOME": str(tmp_path),
        "VAULTBORN_HOME": str(tmp_path / ".vaultborn"),
        "VAULTBORN_REPO": str(ROOT),
    }
    if title == OWN_TENANT:
        from vaultborn.vault.op.fake import install_fake_op

        op = install_fake_op(
            tmp_path / "bin", state=tmp_path / "op.json", argv_log=tmp_path / "argv"
        )
        env |= {"PATH": f"{op.parent}:{env['PATH']}", "FAKE_OP_VAULTS": "ACL"}
    result = subprocess.run(
        ["/bin/bash", "-c", _script(section)],
        cwd=work, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
        timeout=600, check=False,
    )  # fmt: skip
    assert result.returncode == 0, f"{title}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
