"""Store targets and env files: any input parses or gets one typed, one-line error, no echo.

Store targets are ``aws-secretsmanager://REGION/NAME`` (``stores.target``); the "env targets"
of ``vaultborn run`` are ``--env NAME=op://…`` flags and env files (``stores.envfile``).
"""

from __future__ import annotations

import base64
import re
import tempfile
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from vaultborn.core.errors import UsageError
from vaultborn.stores.envfile import parse_env_assignment, parse_env_file, parse_env_lines
from vaultborn.stores.errors import InvalidEnvFile, InvalidTarget
from vaultborn.stores.target import AWS_SCHEME, AwsTarget, parse_aws_target
from vaultborn.vault.reference import SecretReference, parse_reference

pytestmark = pytest.mark.robustness("hostile input: store targets and env files (properties)")

PREFIX = AWS_SCHEME + "://"
ASCII_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-[0-9]{1,2}")
ASCII_NAME = re.compile(r"[A-Za-z0-9/_+=.@-]{1,512}")
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _one_line(message: str) -> None:
    assert message.strip(), "an empty error message"
    assert "\n" not in message and len(message.splitlines()) == 1, repr(message)


# -- store targets ---------------------------------------------------------------------------

regions = st.from_regex(r"[a-z]{2}(-[a-z]{1,9}){1,3}-[0-9]{1,2}", fullmatch=True)
_segments = st.text("ABCXYZabcxyz0189_+=.@-", min_size=1, max_size=12)
secret_names = st.lists(_segments, min_size=1, max_size=6).map("/".join)

# fmt: off
_hostile_chars = st.sampled_from([
    "", "/", "//", "%41", "?x=1", ":443", "@", "\n", "\r", "\t", " ", "\x00", "\x7f", "\x85",
    "\u2028", "\u202e", "١", "٣", "é", "Ⅸ", "ｕｓ", "\U0001f600",
])
# fmt: on
_target_texts = st.one_of(
    st.text(max_size=80),
    st.builds(lambda s: PREFIX + s, st.text(max_size=60)),
    st.builds(
        lambda r, a, n, b: PREFIX + r + a + "/" + n + b,
        regions,
        _hostile_chars,
        secret_names,
        _hostile_chars,
    ),
    st.from_regex(r"(aws-secretsmanager|AWS-SECRETSMANAGER|s3|)(:|://|:/)[a-z0-9/-]{0,30}"),
)


@settings(max_examples=150, deadline=None)
@given(region=regions, name=secret_names)
def test_valid_targets_round_trip(region: str, name: str) -> None:
    target = AwsTarget(region, name)
    assert parse_aws_target(str(target)) == target
    assert str(parse_aws_target(str(target))) == str(target)


@settings(max_examples=300, deadline=None)
@given(text=_target_texts)
@example(PREFIX + "us-east-١/x")  # regression: \d took non-ASCII digits as a region's number
@example(PREFIX + "us-east-1/" + "x" * 5000)  # regression: the whole 5 kB target was echoed
@example("s" * 5000 + "://x")  # regression: so was a 5 kB scheme
@example(PREFIX + "us-east-1\n/x")
@example(PREFIX + "us-east-1/a\u2028b")
def test_targets_parse_or_raise_one_short_line(text: str) -> None:
    try:
        target = parse_aws_target(text)
    except InvalidTarget as exc:
        _one_line(str(exc))
        assert len(str(exc)) < 300, "a hostile target is echoed in full"
        return
    # What parses is the documented ASCII grammar, and it prints back as it was given.
    assert ASCII_REGION.fullmatch(target.region) and target.region.isascii()
    assert ASCII_NAME.fullmatch(target.name) and target.name.isascii()
    assert str(target) == text


# -- env assignments (--env NAME=op://…) ------------------------------------------------------

env_names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,24}", fullmatch=True)
_ref_name_chars = st.characters(blacklist_characters="/?\x7f", blacklist_categories=("Cc", "Cs"))
ref_names = st.text(_ref_name_chars, min_size=1, max_size=16).filter(lambda s: s.strip() == s)
references = st.builds(
    SecretReference,
    vault=ref_names,
    item=ref_names,
    field=ref_names,
    section=st.none() | ref_names,
    attribute=st.sampled_from([None, "otp"]),
)
_assignment_forms = st.sampled_from(
    ["{n}={r}", "export {n}={r}", '{n}="{r}"', "{n}='{r}'", "  {n} = {r}  ", "export  {n}='{r}'"]
)

_env_texts = st.one_of(
    st.text(max_size=80),
    st.builds(lambda n, v: f"{n}={v}", st.text(max_size=20), st.text(max_size=40)),
    st.builds(lambda n, v: f"{n}=op://{v}", env_names | st.text(max_size=12), st.text(max_size=40)),
    st.builds(
        lambda n, q, v: f"{n}={q}{v}{q}",
        env_names,
        st.sampled_from(["", "'", '"']),
        st.from_regex(r"op://[a-z/ ?=&]{0,20}", fullmatch=True),
    ),
)


@settings(max_examples=150, deadline=None)
@given(name=env_names, ref=references, form=_assignment_forms)
def test_env_assignments_round_trip(name: str, ref: SecretReference, form: str) -> None:
    assert parse_env_assignment(form.format(n=name, r=ref)) == (name, ref)


@settings(max_examples=300, deadline=None)
@given(text=_env_texts)
@example("\ufeffA=op://v/i/f")
@example("A=op://v/i/f\nB=x")
@example("=")
@example("A\nB=op://v/i/f")
def test_env_assignments_parse_or_raise_one_line(text: str) -> None:
    try:
        name, ref = parse_env_assignment(text)
    except InvalidEnvFile as exc:
        _one_line(str(exc))
        assert str(exc).startswith("--env: ")
        return
    assert ENV_NAME.fullmatch(name)
    assert parse_reference(str(ref)) == ref


# A literal where a reference belongs: most likely a secret pasted by mistake.
_printable = st.characters(min_codepoint=0x21, max_codepoint=0x7E)
literal_values = st.text(_printable, min_size=8, max_size=40).filter(
    lambda v: not v.strip("'\"").startswith("op://")
)


@settings(max_examples=200, deadline=None)
@given(name=env_names, value=literal_values, form=_assignment_forms)
def test_a_literal_value_is_refused_and_never_echoed(name: str, value: str, form: str) -> None:
    with pytest.raises(InvalidEnvFile) as raised:
        parse_env_assignment(form.format(n=name, r=value))
    message = str(raised.value)
    _one_line(message)
    # Only a conventional NAME may be named (it says which flag or line); the value never.
    assert value not in message.replace(f" of {name} ", " ")


def _windows(token: str, width: int = 8) -> set[str]:
    return {token[i : i + width] for i in range(max(1, len(token) - width + 1))}


# Secrets that hold '=' are pasted as a whole line: padded base64/base32 (TOTP seeds!).
_encoded_secrets = st.builds(
    lambda encode, raw: encode(raw).decode(),
    st.sampled_from([base64.b64encode, base64.urlsafe_b64encode, base64.b32encode]),
    st.binary(min_size=10, max_size=48).filter(lambda b: len(b) % 3),  # padding: an '='
)


@settings(max_examples=200, deadline=None)
@given(token=_encoded_secrets)
@example("c2VjcmV0c2VjcmV0c2VjcmV0==")  # regression: "the value of c2VjcmV0c2VjcmV0c2VjcmV0 …"
@example("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXPJBSWY3DP===")  # regression: a TOTP seed's name part
@example("aB3$x9Qz=Yq7!pL2w")  # regression: a generated password: "'aB3$x9Qz' is not a …"
@example("hunter2pass=word")  # regression: a lower-case head named as "the value of hunter2pass"
def test_a_pasted_secret_line_is_never_echoed(token: str) -> None:
    with pytest.raises(InvalidEnvFile) as raised:
        parse_env_assignment(token)
    message = str(raised.value).removeprefix("--env: ")
    leaked = {w for w in _windows(token.rstrip("=")) if w in message}
    assert not leaked, f"{message!r} shows part of the pasted secret"


# -- env files --------------------------------------------------------------------------------

# Comment text may hold anything but a newline: form feeds, NEL, U+2028, a lone CR.
_comment_text = st.text(st.characters(blacklist_characters="\n", blacklist_categories=("Cs",)))
_noise = st.one_of(
    st.builds(lambda t: "#" + t, _comment_text),
    st.builds(lambda t: "  # " + t, _comment_text),
    st.sampled_from(["", "   ", "\t", "\r"]),
)


def _write(directory: str, content: str, *, bom: bool = False) -> Path:
    path = Path(directory) / "app.env"
    path.write_bytes(("\ufeff" if bom else "").encode() + content.encode("utf-8"))
    return path


@settings(max_examples=150, deadline=None)
@given(
    assigned=st.dictionaries(env_names, references, max_size=5),
    forms=st.lists(_assignment_forms, min_size=5, max_size=5),
    noise=st.lists(_noise, min_size=6, max_size=6),
    bom=st.booleans(),
    crlf=st.booleans(),
)
@example(  # regression: the BOM of a file saved by Notepad became part of the first name
    assigned={"A": SecretReference("v", "i", "f")},
    forms=["{n}={r}"] * 5,
    noise=[""] * 6,
    bom=True,
    crlf=False,
)
@example(  # regression: splitlines() cut a comment at a form feed; the rest was a bad line
    assigned={"A": SecretReference("v", "i", "f")},
    forms=["{n}={r}"] * 5,
    noise=["# a\x0cb", "# c\u2028d", "# e\x85f", "# g\x1ch", "# i\rj", ""],
    bom=False,
    crlf=False,
)
@example(  # regression: … and cut a reference whose item title holds U+2028
    assigned={"A": SecretReference("v", "line\u2028break", "f")},
    forms=["{n}={r}"] * 5,
    noise=[""] * 6,
    bom=False,
    crlf=True,
)
def test_env_files_round_trip_with_comment_noise(
    assigned: dict[str, SecretReference],
    forms: list[str],
    noise: list[str],
    bom: bool,
    crlf: bool,
) -> None:
    lines = [noise[0]]
    for (name, ref), form, extra in zip(assigned.items(), forms, noise[1:], strict=False):
        lines += [form.format(n=name, r=ref), extra]
    newline = "\r\n" if crlf else "\n"
    with tempfile.TemporaryDirectory() as directory:
        path = _write(directory, newline.join(lines) + newline, bom=bom)
        assert parse_env_file(path) == assigned


@settings(max_examples=150, deadline=None)
@given(
    before=st.lists(
        st.one_of(_noise, st.builds("{}={}".format, env_names, references)), max_size=6
    ),
    bad=st.sampled_from(["A", "A=", "1A=op://v/i/f", "A=op://v", "A=literal-secret", "é=x"]),
)
@example(before=["# one\x0ctwo"], bad="A=literal-secret")  # regression: reported as line 3
def test_env_file_errors_name_the_line_an_editor_shows(before: list[str], bad: str) -> None:
    names = [line.partition("=")[0] for line in before if "=" in line and line.lstrip()[:1] != "#"]
    if len(set(names)) != len(names) or bad.partition("=")[0] in names:
        return  # a duplicate is an error of its own, on another line
    with tempfile.TemporaryDirectory() as directory:
        path = _write(directory, "\n".join([*before, bad]) + "\n")
        with pytest.raises(InvalidEnvFile) as raised:
            parse_env_file(path)
    _one_line(str(raised.value))
    assert str(raised.value).startswith(f"{path}:{len(before) + 1}: ")
    assert "literal-secret" not in str(raised.value)


@settings(max_examples=150, deadline=None)
@given(
    lines=st.lists(_env_texts, max_size=6),
    source=st.text(min_size=1, max_size=20).filter(lambda s: s.isprintable()),
)
def test_env_lines_parse_or_raise_one_line(lines: list[str], source: str) -> None:
    try:
        parsed = parse_env_lines(lines, source)
    except InvalidEnvFile as exc:
        _one_line(str(exc))
        assert str(exc).startswith(f"{source}:")
        return
    assert all(ENV_NAME.fullmatch(name) for name in parsed)


@settings(max_examples=100, deadline=None)
@given(
    content=st.binary(max_size=60),
    name=st.text(
        st.characters(blacklist_characters="/\x00", blacklist_categories=("Cs",)),
        min_size=1,
        max_size=12,
    ).filter(lambda s: s not in (".", "..")),
)
@example(content=b"\xff\xfe\x00A", name="x.env")
@example(content=b"A=op://v/i/f\n", name="two\nlines.env")  # regression: path broke the line
def test_env_files_of_any_bytes_and_name_parse_or_raise_one_line(content: bytes, name: str) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / name
        try:
            path.write_bytes(content)
        except OSError:
            return  # a name this file system refuses (too long in bytes)
        try:
            parse_env_file(path)
        except UsageError as exc:
            assert isinstance(exc, InvalidEnvFile) or "env file" in str(exc)
            _one_line(str(exc))
        missing = Path(directory) / ("gone-" + name)
        with pytest.raises(UsageError) as raised:
            parse_env_file(missing)
        _one_line(str(raised.value))
