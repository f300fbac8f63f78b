"""The third-party sites work, proven with an independent client: plain httpx and pyotp.

Before a failure of vaultborn's browser flow against these sites is trusted, these tests show
the sites themselves behave: sign-up, login, TOTP enrollment with the secret the page shows, the
code prompt at the next login, wrong codes and passwords refused, recovery codes usable.
"""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import httpx
import pyotp
import pytest

from tests.thirdparty.formclient import text
from tests.thirdparty.siteflows import (
    SiteUser,
    messages,
    path_of,
    qr_uri,
    signed_in_as,
    user_for,
)
from tests.thirdparty.webapps import RunningSite, SiteStartError, StartSite, start_site

PASSWORD = "Correct-Horse-7-battery"
WRONG_PASSWORD = "Wrong-Horse-8-battery"
KINDS = ["allauth", "flask_security"]
_numbers = itertools.count()


@pytest.fixture(params=KINDS)
def site(request: pytest.FixtureRequest) -> RunningSite:
    """Each test once per site (the session's server for that site)."""
    running: RunningSite = request.getfixturevalue(f"{request.param}_site")
    return running


@pytest.fixture
def user(site: RunningSite) -> Iterator[SiteUser]:
    """A new person (unique e-mail) with a fresh cookie jar on ``site``."""
    with user_for(site, f"user{next(_numbers)}-{time.time_ns()}@example.com", PASSWORD) as person:
        yield person


def _next_code(secret: str) -> str:
    """A code no earlier step of the test used: the next 30-second step's.

    The session's allauth site accepts one step either side (``MFA_TOTP_TOLERANCE=1``) and
    refuses a code it has seen; Flask-Security accepts ±120 s.
    """
    return str(pyotp.TOTP(secret).at(time.time() + 30))


def _wrong_code(secret: str) -> str:
    """Six digits that no step within ±5 minutes produces."""
    totp, now = pyotp.TOTP(secret), time.time()
    near = {totp.at(now + 30 * step) for step in range(-10, 11)}
    return next(c for c in (f"{n:06d}" for n in range(1_000_000)) if c not in near)


def _enroll(user: SiteUser) -> tuple[str, list[str]]:
    """Sign up and enroll; the secret and the recovery codes. Asserts the success page."""
    assert signed_in_as(user.sign_up()) == user.email
    page = user.open_enrollment()
    secret = user.read_secret(page)
    done = user.confirm_enrollment(pyotp.TOTP(secret).now())
    _assert_enrolled(user, done)
    return secret, user.recovery_codes(done if user.site.kind.name == "allauth" else None)


def _assert_enrolled(user: SiteUser, done: httpx.Response) -> None:
    if user.site.kind.name == "allauth":
        assert path_of(done) == "/" + user.site.kind.recovery_codes, done.url
        assert messages(done) == [
            "Authenticator app activated.",
            "A new set of recovery codes has been generated.",
        ]
    else:
        assert path_of(done) == "/" + user.site.kind.enroll, done.url
        assert messages(done) == ["You successfully changed your two-factor method."]
        assert "Currently setup two-factor method: authenticator" in text(done.text)


# --- Sign-up, login, password -------------------------------------------------------------


def test_sign_up_lands_on_the_home_page_signed_in(user: SiteUser) -> None:
    home = user.sign_up()
    assert path_of(home) == "/"
    assert signed_in_as(home) == user.email


def test_the_enrollment_page_asks_an_anonymous_visitor_to_log_in(site: RunningSite) -> None:
    with user_for(site, "nobody@example.com", PASSWORD) as visitor:
        page = visitor.browser.get(site.enroll_url)
    assert path_of(page) == "/" + site.kind.login
    assert 'type="password"' in page.text
    assert signed_in_as(page) is None


def test_a_wrong_password_is_refused_and_the_right_one_logs_in(user: SiteUser) -> None:
    user.sign_up()
    assert signed_in_as(user.log_out()) is None
    refused = user.log_in(WRONG_PASSWORD)
    assert path_of(refused) == "/" + user.site.kind.login
    wording = {
        "allauth": "The email address and/or password you specified are not correct.",
        "flask_security": "Invalid password",
    }
    assert wording[user.site.kind.name] in text(refused.text)
    assert signed_in_as(user.home()) is None
    welcomed = user.log_in()
    assert path_of(welcomed) == "/"
    assert signed_in_as(welcomed) == user.email


# --- TOTP enrollment and login with a code ----------------------------------------------------


def test_enroll_with_the_shown_secret_then_log_in_with_password_and_code(user: SiteUser) -> None:
    assert signed_in_as(user.sign_up()) == user.email
    page = user.open_enrollment()
    secret = user.read_secret(page)
    assert re.fullmatch(r"[A-Z2-7]{32}", secret), secret

    # The QR code holds an otpauth URI with the same secret (decoded from the SVG, not parsed).
    uri = urlsplit(qr_uri(page.text))
    assert (uri.scheme, uri.netloc) == ("otpauth", "totp")
    query = parse_qs(uri.query)
    assert query["secret"] == [secret]
    issuer = {"allauth": "Allauth Test Site", "flask_security": "Flask-Security Test Site"}
    assert query["issuer"] == [issuer[user.site.kind.name]]
    assert unquote(uri.path).endswith(user.email)

    done = user.confirm_enrollment(pyotp.TOTP(secret).now())
    _assert_enrolled(user, done)

    assert signed_in_as(user.log_out()) is None
    prompt = user.log_in()
    assert path_of(prompt) == "/" + user.site.kind.login_code
    assert 'autocomplete="one-time-code"' in prompt.text
    # The password alone does not sign in (home, looked at in another tab, is anonymous).
    assert signed_in_as(user.browser.peek(user.site.home_url)) is None

    refused = user.submit_code(_wrong_code(secret))
    assert path_of(refused) == "/" + user.site.kind.login_code
    wording = {"allauth": "Incorrect code.", "flask_security": "Invalid code"}
    assert wording[user.site.kind.name] in text(refused.text)
    assert signed_in_as(refused) is None

    welcomed = user.submit_code(_next_code(secret))
    assert path_of(welcomed) == "/"
    assert signed_in_as(welcomed) == user.email


def test_a_wrong_code_at_enrollment_is_refused(user: SiteUser) -> None:
    user.sign_up()
    secret = user.read_secret(user.open_enrollment())
    refused = user.confirm_enrollment(_wrong_code(secret))
    if user.site.kind.name == "allauth":
        # The same page again, same secret, with the error under the code field.
        assert path_of(refused) == "/" + user.site.kind.enroll
        assert "Incorrect code." in text(refused.text)
        assert user.read_secret(refused) == secret
        retry = refused
    else:
        # Back to the method choice: choosing "authenticator" again shows a *new* secret.
        assert path_of(refused) == "/" + user.site.kind.enroll
        assert messages(refused) == ["Invalid code"]
        assert "Currently setup two-factor method: none" in text(refused.text)
        retry = user.choose_authenticator()
        assert user.read_secret(retry) != secret
    secret = user.read_secret(retry)
    _assert_enrolled(user, user.confirm_enrollment(pyotp.TOTP(secret).now()))


def test_recovery_codes_are_shown_and_one_logs_in_instead_of_a_code(user: SiteUser) -> None:
    _, codes = _enroll(user)
    if user.site.kind.name == "allauth":
        assert len(codes) == 10 and all(re.fullmatch(r"\d{8}", c) for c in codes), codes
    else:
        assert len(codes) == 5, codes
        assert all(re.fullmatch(r"[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}", c) for c in codes), codes
    user.log_out()
    assert path_of(user.log_in()) == "/" + user.site.kind.login_code
    welcomed = user.submit_recovery_code(codes[0])
    assert path_of(welcomed) == "/"
    assert signed_in_as(welcomed) == user.email


def test_allauth_refuses_a_login_code_twice_but_not_the_enrollment_code(
    allauth_site: RunningSite,
) -> None:
    with user_for(allauth_site, f"reuse{time.time_ns()}@example.com", PASSWORD) as person:
        person.sign_up()
        secret = person.read_secret(person.open_enrollment())
        code = pyotp.TOTP(secret).now()
        _assert_enrolled(person, person.confirm_enrollment(code))
        # Activation does not mark its code used: the first login may use it again.
        person.log_out()
        person.log_in()
        assert signed_in_as(person.submit_code(code)) == person.email
        # A code that signed in once is refused afterwards, though still within the window
        # (tolerance 1: this step and the ones either side).
        person.log_out()
        person.log_in()
        refused = person.submit_code(code)
        assert "Incorrect code." in text(refused.text)
        assert signed_in_as(refused) is None
        assert signed_in_as(person.submit_code(_next_code(secret))) == person.email


# --- Re-authentication before enrollment ------------------------------------------------------


def test_allauth_asks_for_the_password_again_before_activation(
    allauth_site: RunningSite,
) -> None:
    with user_for(allauth_site, f"reauth{time.time_ns()}@example.com", PASSWORD) as person:
        person.sign_up()
        # Right after sign-up (a login): allauth still asks, a login is no re-authentication.
        page = person.browser.get(allauth_site.enroll_url)
        assert path_of(page) == "/" + allauth_site.kind.reauthenticate
        assert parse_qs(urlsplit(str(page.url)).query)["next"] == ["/accounts/2fa/totp/activate/"]
        assert "Confirm Access" in text(page.text)
        refused = person.reauthenticate(WRONG_PASSWORD)
        assert "Incorrect password." in text(refused.text)
        activation = person.reauthenticate(PASSWORD)
        assert path_of(activation) == "/" + allauth_site.kind.enroll
        # Within ACCOUNT_REAUTHENTICATION_TIMEOUT (300 s) the page opens directly.
        again = person.browser.get(allauth_site.enroll_url)
        assert path_of(again) == "/" + allauth_site.kind.enroll


def test_a_short_reauthentication_window_asks_again(start_site_factory: StartSite) -> None:
    allauth = start_site_factory("allauth", reauth_window=1)
    flask = start_site_factory("flask_security", reauth_window=1)
    with (
        user_for(allauth, "a@example.com", PASSWORD) as on_allauth,
        user_for(flask, "f@example.com", PASSWORD) as on_flask,
    ):
        on_allauth.sign_up()
        on_allauth.open_enrollment()  # re-authenticates: fresh for one second
        on_flask.sign_up()  # the sign-up's login is fresh for one second
        time.sleep(1.2)
        page = on_allauth.browser.get(allauth.enroll_url)
        assert path_of(page) == "/" + allauth.kind.reauthenticate
        page = on_flask.browser.get(flask.enroll_url)
        assert path_of(page) == "/" + flask.kind.reauthenticate
        assert messages(page) == ["You must reauthenticate to access this endpoint"]
        assert 'name="password"' in page.text
        refused = on_flask.reauthenticate(WRONG_PASSWORD)
        assert "Invalid password" in text(refused.text)
        setup = on_flask.reauthenticate(PASSWORD)
        assert path_of(setup) == "/" + flask.kind.enroll
        assert messages(setup) == ["Reauthentication successful"]
        secret = on_flask.read_secret(on_flask.choose_authenticator())
        _assert_enrolled(on_flask, on_flask.confirm_enrollment(pyotp.TOTP(secret).now()))


# --- The harness itself -----------------------------------------------------------------------


def test_a_site_that_cannot_start_fails_with_its_stderr(tmp_path: Path) -> None:
    with pytest.raises(SiteStartError, match=r"exited with code 2(.|\n)*freshness-seconds 0"):
        start_site("flask_security", tmp_path, reauth_window=0)


def test_stop_reaps_the_server_and_closing_stdin_alone_stops_it(
    start_site_factory: StartSite,
) -> None:
    first = start_site_factory("flask_security")
    assert first.process.poll() is None
    first.stop()
    assert first.process.returncode is not None
    with pytest.raises(httpx.ConnectError):
        httpx.get(first.base_url, timeout=2)

    # If the test process dies, its end of the stdin pipe closes: the server goes too.
    second = start_site_factory("allauth")
    assert second.process.stdin is not None
    second.process.stdin.close()
    assert second.process.wait(timeout=10) == 0
