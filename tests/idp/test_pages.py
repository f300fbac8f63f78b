"""The dev IdP's Universal Login pages over real HTTP: enrollment ticket, login, human check."""

from __future__ import annotations

import dataclasses
import html
import logging
import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pyotp
import pytest

from tests.idp.devkit import ENV, PASSWORD, Clock, bearer, create_ticket, create_user, mgmt_token
from vaultborn.idp.devserver.pages_enroll import otpauth_uri, qr_data_uri
from vaultborn.idp.devserver.server import RunningDevIdP, start_dev_idp
from vaultborn.idp.devserver.tenant import demo_tenant
from vaultborn.vault.otp import normalize_base32, parse_otpauth_uri
from vaultborn.vault.secret import Secret

START = 1_800_000_000.0
HUMAN_TENANT = 'Acme <Dev> & "Co"'
QR_DESCRIPTION = (
    "Scan the QR Code below using your preferred authenticator app and then enter the "
    "provided one-time code below."
)
CODE_DESCRIPTION = (
    "Manually enter the following code into your preferred authenticator app and then enter "
    "the provided one-time code below."
)
SEED = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


# --- servers and helpers ------------------------------------------------------------------


@dataclasses.dataclass
class Idp:
    server: RunningDevIdP
    clock: Clock
    http: httpx.Client

    def token(self) -> str:
        # Fresh each time: tests move the clock past a token's lifetime.
        return mgmt_token(self.server)

    def user(self, password: str = PASSWORD) -> dict[str, Any]:
        email = f"pages-{secrets.token_hex(4)}@example.com"
        user: dict[str, Any] = create_user(self.http, self.token(), email, password)
        return user

    def ticket(self, user_id: str) -> tuple[str, str]:
        body = create_ticket(self.http, self.token(), user_id)
        return body["ticket_id"], body["ticket_url"]

    def methods(self, user_id: str) -> list[dict[str, Any]]:
        response = self.http.get(
            f"api/v2/users/{user_id}/authentication-methods", headers=bearer(self.token())
        )
        assert response.status_code == 200, response.text
        found: list[dict[str, Any]] = response.json()
        return found

    def code(self, seed: str, steps: int = 0) -> str:
        return str(pyotp.TOTP(seed).at(self.clock.now + 30 * steps))


def _serve(tmp: Path, *, human: bool) -> Iterator[Idp]:
    clock = Clock(START)
    tenant = demo_tenant()
    if human:
        tenant = dataclasses.replace(tenant, name=HUMAN_TENANT, require_human_check=True)
    with start_dev_idp(tenant, db=tmp / "devidp.db", env=ENV, clock=clock) as server:
        server.set_rate_limit(1_000_000, 1.0)  # the clock stands still: one window for all
        with httpx.Client(base_url=server.base_url, timeout=10) as http:
            yield Idp(server, clock, http)


@pytest.fixture(scope="module")
def idp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Idp]:
    """A dev IdP with a settable clock and no human check."""
    yield from _serve(tmp_path_factory.mktemp("pages"), human=False)


@pytest.fixture(scope="module")
def human_idp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Idp]:
    """A dev IdP whose tenant requires the human check (and has a name that needs escaping)."""
    yield from _serve(tmp_path_factory.mktemp("human"), human=True)


def screen(response: httpx.Response) -> str:
    found = re.search(r'<main id="prompt" data-prompt="[^"]*" data-screen="([^"]+)"', response.text)
    assert found, response.text
    return found.group(1)


def text(response: httpx.Response, element_id: str) -> str:
    found = re.search(rf'id="{element_id}"[^>]*>([^<]*)<', response.text)
    assert found, f"no #{element_id} in {response.text}"
    return html.unescape(found.group(1))


def href(response: httpx.Response, element_id: str) -> str:
    found = re.search(rf'<a id="{element_id}"[^>]*href="([^"]+)"', response.text)
    assert found, f"no link #{element_id}"
    return html.unescape(found.group(1))


def secret_of(response: httpx.Response) -> str:
    assert screen(response) == "mfa-otp-enrollment-code"
    return normalize_base32(text(response, "totp-secret")).reveal()


def submit(idp: Idp, ticket_id: str, code: str, page: str = "code", **kw: Any) -> httpx.Response:
    return idp.http.post(
        "guardian/enroll", data={"ticket": ticket_id, "code": code, "screen": page}, **kw
    )


# --- enrollment -----------------------------------------------------------------------------


def test_ticket_page_shows_the_qr_code_and_trouble_scanning_reveals_the_secret(idp: Idp) -> None:
    user = idp.user()
    _, url = idp.ticket(user["user_id"])

    qr = idp.http.get(url)
    assert qr.status_code == 200
    assert qr.headers["cache-control"] == "no-store"
    assert screen(qr) == "mfa-otp-enrollment-qr"
    assert text(qr, "title") == "Secure Your Account"
    assert text(qr, "description") == QR_DESCRIPTION
    assert 'placeholder="Enter your one-time code"' in qr.text
    assert ">Continue</button>" in qr.text and ">Try another method</a>" in qr.text
    image = re.search(
        r'<img id="qr-code" alt="QR code" src="(data:image/png;base64,[^"]+)"', qr.text
    )
    assert image, "no inline QR image"
    assert 'src="http' not in qr.text and "<link" not in qr.text
    assert text(qr, "trouble-scanning") == "Trouble Scanning?"

    manual = idp.http.get(href(qr, "trouble-scanning"))
    assert manual.status_code == 200
    assert manual.headers["cache-control"] == "no-store"
    assert text(manual, "description") == CODE_DESCRIPTION
    seed = secret_of(manual)
    assert len(seed) == 32
    assert text(manual, "copy-code") == "Copy code"
    assert text(manual, "go-back") == "Go back"
    assert 'placeholder="Enter your one-time code"' in manual.text
    assert screen(idp.http.get(href(manual, "go-back"))) == "mfa-otp-enrollment-qr"

    # The QR code carries exactly the otpauth URI of that seed (issuer = tenant, account = email).
    uri = otpauth_uri("vaultborn-dev", user["email"], Secret(seed))
    assert html.unescape(image.group(1)) == qr_data_uri(uri)
    params = parse_otpauth_uri(uri)
    assert (params.issuer, params.account) == ("vaultborn-dev", user["email"])
    assert (params.algorithm, params.digits, params.period) == ("SHA1", 6, 30)


def test_every_visit_of_a_ticket_shows_the_same_pending_secret(idp: Idp) -> None:
    user = idp.user()
    _, url = idp.ticket(user["user_id"])
    first = secret_of(idp.http.get(url + "&screen=code"))
    idp.http.get(url)
    second = secret_of(idp.http.get(url + "&screen=code"))
    assert first == second
    methods = idp.methods(user["user_id"])
    assert [(m["type"], m["confirmed"]) for m in methods] == [("totp", False)]
    # Another ticket of the same user enrolls its own authenticator.
    _, other = idp.ticket(user["user_id"])
    assert secret_of(idp.http.get(other + "&screen=code")) != first


def test_a_wrong_code_is_refused_and_the_right_one_confirms_the_enrollment(idp: Idp) -> None:
    user = idp.user()
    ticket_id, url = idp.ticket(user["user_id"])
    seed = secret_of(idp.http.get(url + "&screen=code"))

    wrong = submit(idp, ticket_id, "000000" if idp.code(seed) != "000000" else "111111")
    assert wrong.status_code == 400
    assert screen(wrong) == "mfa-otp-enrollment-code"
    assert text(wrong, "error-element-code") == "The code you entered is invalid"
    assert 'data-error-code="invalid-code"' in wrong.text
    assert secret_of(wrong) == seed

    malformed = submit(idp, ticket_id, "12ab", page="qr")
    assert malformed.status_code == 400
    assert screen(malformed) == "mfa-otp-enrollment-qr"
    assert text(malformed, "error-element-code") == "OTP Code must have 6 numeric characters"

    code = idp.code(seed)
    done = submit(idp, ticket_id, code)
    assert done.status_code == 200, done.text
    assert screen(done) == "mfa-enroll-result"
    assert text(done, "title") == "Enrolled"
    assert text(done, "description") == "You are now enrolled in Multifactor Authentication"

    methods = idp.methods(user["user_id"])
    assert [(m["type"], m["confirmed"]) for m in methods] == [("totp", True)]
    enrollments = idp.http.get(
        f"api/v2/users/{user['user_id']}/enrollments", headers=bearer(idp.token())
    ).json()
    assert [(e["status"], e["type"]) for e in enrollments] == [("confirmed", "authenticator")]

    again = submit(idp, ticket_id, code)
    assert again.status_code == 410
    assert text(again, "title") == "Already used"
    reused = idp.http.get(url)
    assert reused.status_code == 410
    assert "totp-secret" not in reused.text and "qr-code" not in reused.text


def test_a_code_one_step_away_is_accepted(idp: Idp) -> None:
    user = idp.user()
    ticket_id, url = idp.ticket(user["user_id"])
    seed = secret_of(idp.http.get(url + "&screen=code"))
    assert submit(idp, ticket_id, idp.code(seed, steps=2)).status_code == 400
    assert submit(idp, ticket_id, idp.code(seed, steps=-1), page="qr").status_code == 200


def test_invalid_expired_and_missing_tickets_get_an_error_page(idp: Idp) -> None:
    for query in ("?ticket=" + "x" * 32, "?ticket=%3Cscript%3E", ""):
        response = idp.http.get("guardian/enroll" + query)
        assert response.status_code == 404
        assert screen(response) == "mfa-enroll-result"
        assert text(response, "title") == "Invalid Link"
        assert text(response, "description") == "The link is invalid or has expired."
    assert submit(idp, "y" * 32, "123456").status_code == 404

    user = idp.user()
    ticket_id, url = idp.ticket(user["user_id"])
    idp.clock.advance(5 * 86400 + 1)
    expired = idp.http.get(url)
    assert expired.status_code == 410
    assert text(expired, "title") == "Expired Link"
    assert submit(idp, ticket_id, "123456").status_code == 410


def test_a_user_enrolled_already_is_told_so(idp: Idp) -> None:
    user = idp.user()
    added = idp.http.post(
        f"api/v2/users/{user['user_id']}/authentication-methods",
        json={"type": "totp", "totp_secret": SEED},
        headers=bearer(idp.token()),
    )
    assert added.status_code == 201, added.text
    _, url = idp.ticket(user["user_id"])
    response = idp.http.get(url)
    assert response.status_code == 409
    assert text(response, "title") == "Already enrolled"
    assert len(idp.methods(user["user_id"])) == 1


def test_too_many_wrong_codes_lock_the_ticket(idp: Idp) -> None:
    user = idp.user()
    ticket_id, url = idp.ticket(user["user_id"])
    seed = secret_of(idp.http.get(url + "&screen=code"))
    wrong = "000000" if idp.code(seed) != "000000" else "111111"
    for _ in range(5):
        assert submit(idp, ticket_id, wrong).status_code == 400
    locked = submit(idp, ticket_id, idp.code(seed))
    assert locked.status_code == 429
    assert text(locked, "error-element-code") == (
        "Too many failed codes. Wait for some minutes before retrying."
    )
    idp.clock.advance(301)
    assert submit(idp, ticket_id, idp.code(seed)).status_code == 200


def test_try_another_method_lists_the_authenticator_app(idp: Idp) -> None:
    user = idp.user()
    _, url = idp.ticket(user["user_id"])
    qr = idp.http.get(url)
    options = idp.http.get(href(qr, "try-another-method"))
    assert options.status_code == 200
    assert screen(options) == "mfa-enroll-options"
    assert text(options, "method-otp") == "Google Authenticator or similar"
    assert screen(idp.http.get(href(options, "method-otp"))) == "mfa-otp-enrollment-qr"


def test_no_secret_travels_in_a_url_or_a_log(idp: Idp, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    seen: list[str] = []

    def on_request(request: httpx.Request) -> None:
        seen.append(str(request.url))

    def on_response(response: httpx.Response) -> None:
        seen.append(response.headers.get("location", ""))

    user = idp.user()
    ticket_id, url = idp.ticket(user["user_id"])
    hooks = {"request": [on_request], "response": [on_response]}
    with httpx.Client(base_url=idp.server.base_url, event_hooks=hooks) as http:
        seed = secret_of(http.get(url + "&screen=code"))
        code = idp.code(seed)
        assert http.post(
            "guardian/enroll", data={"ticket": ticket_id, "code": code, "screen": "code"}
        ).is_success
        login = http.post("login", data={"username": user["email"], "password": PASSWORD})
        state = re.search(r'name="state" value="([^"]+)"', login.text)
        assert state
        next_code = idp.code(seed, steps=1)
        assert http.post("login/otp", data={"state": state.group(1), "code": next_code}).is_success
    for value in (seed, code, next_code, PASSWORD):
        assert not any(value in entry for entry in seen)
        assert value not in caplog.text


# --- login ----------------------------------------------------------------------------------


def enrolled_user(idp: Idp) -> dict[str, Any]:
    user = idp.user()
    added = idp.http.post(
        f"api/v2/users/{user['user_id']}/authentication-methods",
        json={"type": "totp", "totp_secret": SEED},
        headers=bearer(idp.token()),
    )
    assert added.status_code == 201, added.text
    return user


def log_in(idp: Idp, email: str, password: str = PASSWORD) -> httpx.Response:
    return idp.http.post("login", data={"username": email, "password": password})


def state_of(response: httpx.Response) -> str:
    assert screen(response) == "mfa-otp-challenge", response.text
    found = re.search(r'name="state" value="([^"]+)"', response.text)
    assert found
    return found.group(1)


def test_the_login_page(idp: Idp) -> None:
    response = idp.http.get("login")
    assert response.status_code == 200
    assert screen(response) == "login"
    assert text(response, "title") == "Welcome"
    assert text(response, "description") == "Log in to vaultborn-dev to continue."
    assert 'type="email" id="username"' in response.text
    assert 'type="password" id="password"' in response.text
    assert ">Continue</button>" in response.text


def test_wrong_password_and_unknown_user_get_one_answer(idp: Idp) -> None:
    user = idp.user()
    for email, password in ((user["email"], "Wrong-Password-1"), ("nobody@example.com", PASSWORD)):
        response = log_in(idp, email, password)
        assert response.status_code == 400
        assert screen(response) == "login"
        assert text(response, "error-element-code") == "Wrong email or password."
        assert password not in response.text


def test_a_user_without_mfa_logs_in_with_the_password(idp: Idp) -> None:
    user = idp.user()
    response = log_in(idp, user["email"])
    assert response.status_code == 200
    assert screen(response) == "login-success"
    assert text(response, "title") == "Login successful"


def test_a_user_with_totp_needs_a_code_that_is_accepted_once(idp: Idp) -> None:
    user = enrolled_user(idp)
    challenge = log_in(idp, user["email"])
    assert challenge.status_code == 200
    state = state_of(challenge)
    assert text(challenge, "title") == "Verify Your Identity"
    assert 'placeholder="Enter your one-time code"' in challenge.text

    wrong = idp.http.post("login/otp", data={"state": state, "code": "12345"})
    assert wrong.status_code == 400
    assert text(wrong, "error-element-code") == "OTP Code must have 6 numeric characters"
    code = idp.code(SEED)
    bad = "000000" if code != "000000" else "111111"
    refused = idp.http.post("login/otp", data={"state": state, "code": bad})
    assert refused.status_code == 400
    assert text(refused, "error-element-code") == "The code you entered is invalid"
    assert state_of(refused) == state

    done = idp.http.post("login/otp", data={"state": state, "code": code})
    assert done.status_code == 200
    assert text(done, "title") == "Login successful"
    # The state served one login; the code serves none after this one.
    assert idp.http.post("login/otp", data={"state": state, "code": code}).status_code == 400
    replay = idp.http.post(
        "login/otp", data={"state": state_of(log_in(idp, user["email"])), "code": code}
    )
    assert replay.status_code == 400
    assert text(replay, "error-element-code") == "The code you entered is invalid"


def test_a_login_state_expires(idp: Idp) -> None:
    user = enrolled_user(idp)
    state = state_of(log_in(idp, user["email"]))
    idp.clock.advance(301)
    response = idp.http.post("login/otp", data={"state": state, "code": idp.code(SEED)})
    assert response.status_code == 400
    assert screen(response) == "login"
    assert 'data-error-code="transaction-not-found"' in response.text


@pytest.mark.robustness("hostile input: guessing codes across a restart")
def test_a_lockout_survives_a_restart_on_the_same_database(tmp_path: Path) -> None:
    clock = Clock(START)

    def serve() -> RunningDevIdP:
        return start_dev_idp(demo_tenant(), db=tmp_path / "devidp.db", env=ENV, clock=clock)

    with serve() as server, httpx.Client(base_url=server.base_url, timeout=10) as http:
        idp = Idp(server, clock, http)
        user = enrolled_user(idp)
        ticket_id, url = idp.ticket(idp.user()["user_id"])
        seed = secret_of(http.get(url + "&screen=code"))
        state = state_of(log_in(idp, user["email"]))
        right = {idp.code(key, steps) for key in (SEED, seed) for steps in (-1, 0, 1)}
        wrong = next(c for c in ("000000", "111111", "222222", "333333") if c not in right)
        for _ in range(5):
            assert http.post("login/otp", data={"state": state, "code": wrong}).status_code == 400
            assert submit(idp, ticket_id, wrong).status_code == 400
        locked = http.post("login/otp", data={"state": state, "code": idp.code(SEED)})
        assert locked.status_code == 429
    with serve() as server, httpx.Client(base_url=server.base_url, timeout=10) as http:
        idp = Idp(server, clock, http)
        state = state_of(log_in(idp, user["email"]))
        assert (
            http.post("login/otp", data={"state": state, "code": idp.code(SEED)}).status_code == 429
        )
        assert submit(idp, ticket_id, idp.code(seed)).status_code == 429
        clock.advance(301)
        state = state_of(log_in(idp, user["email"]))  # the old login state has expired too
        assert http.post("login/otp", data={"state": state, "code": idp.code(SEED)}).is_success
        assert submit(idp, ticket_id, idp.code(seed)).is_success


# --- human check ----------------------------------------------------------------------------


def test_the_human_check_comes_first_and_a_person_passes_it(human_idp: Idp) -> None:
    idp = human_idp
    user = idp.user()
    ticket_id, url = idp.ticket(user["user_id"])
    path = url.removeprefix(idp.server.base_url.rstrip("/"))

    check = idp.http.get(url + "&screen=code")
    assert check.status_code == 200
    assert screen(check) == "human-check"
    assert text(check, "title") == "Verify you are human"
    assert "totp-secret" not in check.text and "qr-code" not in check.text
    assert html.escape(HUMAN_TENANT) in check.text and HUMAN_TENANT not in check.text
    assert screen(submit(idp, ticket_id, "123456")) == "human-check"
    assert submit(idp, ticket_id, "123456").status_code == 403

    unticked = idp.http.post("verify-human", data={"next": path})
    assert unticked.status_code == 400 and screen(unticked) == "human-check"
    assert "set-cookie" not in unticked.headers

    passed = idp.http.post("verify-human", data={"next": path + "&screen=code", "human": "yes"})
    assert passed.status_code == 303
    assert passed.headers["location"] == path + "&screen=code"
    cookie = passed.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    assert screen(idp.http.get(url)) == "mfa-otp-enrollment-qr"
    seed = secret_of(idp.http.get(passed.headers["location"]))
    assert submit(idp, ticket_id, idp.code(seed)).status_code == 200

    # The login needs it too; the pass expires; a forged cookie is no pass.
    assert screen(idp.http.get("login")) == "login"
    assert html.escape(HUMAN_TENANT) in idp.http.get("login").text
    idp.clock.advance(3601)
    assert screen(idp.http.get("login")) == "human-check"
    assert log_in(idp, user["email"]).status_code == 403
    idp.http.cookies.clear()
    idp.http.cookies.set("vb_human", f"{int(idp.clock.now) + 999}.{'0' * 64}")
    assert screen(idp.http.get("login")) == "human-check"
    idp.http.cookies.clear()


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("https://evil.example/login", "/login"),
        ("//evil.example/guardian/enroll?ticket=abc", "/guardian/enroll?ticket=abc"),
        ("/guardian/enroll?ticket=abc&screen=code&x=1", "/guardian/enroll?ticket=abc&screen=code"),
        ("/api/v2/users", "/login"),
    ],
)
def test_the_human_check_returns_only_to_its_own_pages(
    human_idp: Idp, target: str, expected: str
) -> None:
    with httpx.Client(base_url=human_idp.server.base_url) as http:
        response = http.post("verify-human", data={"next": target, "human": "yes"})
    assert response.status_code == 303
    assert response.headers["location"] == expected
