"""Save every screen a browser user meets on each third-party site, in order, as HTML.

``.venv/bin/python -m tests.thirdparty.capture_screens [--out tests/thirdparty/screens]`` starts
each site on loopback, walks it with the httpx client of ``siteflows`` (sign-up, enrollment with
re-authentication, a wrong code, recovery codes, logout, login with a wrong password, the code
prompt, a wrong code, the right code, a recovery code instead) and writes
``<out>/<site>/NN-name.html``. Secrets, codes and CSRF tokens in them are throwaway values of a
throwaway server. For writing and checking a screen classifier; the test suite does not run it.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import httpx
import pyotp

from tests.thirdparty.formclient import forms
from tests.thirdparty.siteflows import AllauthUser, FlaskSecurityUser
from tests.thirdparty.webapps import start_site

PASSWORD = "Correct-Horse-7-battery"
WRONG = "Wrong-Horse-8-battery"
EMAIL = "alice@example.com"


class Shots:
    """Numbered HTML files in one directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        for old in directory.glob("*.html"):
            old.unlink()
        self.count = 0

    def __call__(self, name: str, response: httpx.Response | None) -> None:
        assert response is not None
        self.count += 1
        path = self.directory / f"{self.count:02d}-{name}.html"
        path.write_text(response.text, encoding="utf-8")
        print(f"{path}  ← {response.request.method} {response.url} {response.status_code}")


def _wrong_code(secret: str) -> str:
    near = {pyotp.TOTP(secret).at(time.time() + 30 * step) for step in range(-10, 11)}
    return next(c for c in ("123456", "654321", "111111") if c not in near)


def capture_allauth(out: Path, tmp: Path) -> None:
    """django-allauth: every screen from sign-up to a login with the code."""
    shot = Shots(out / "allauth")
    with start_site("allauth", tmp, totp_tolerance=1) as site:
        user = AllauthUser(site, EMAIL, PASSWORD)
        b = user.browser
        shot("home-anonymous", b.get(site.home_url))
        shot("signup", b.get(site.signup_url))
        weak = {"email": EMAIL, "password1": "password", "password2": "password"}
        shot("signup-error-weak-password", b.fill(weak))
        values = {"email": EMAIL, "password1": PASSWORD, "password2": PASSWORD}
        shot("home-after-signup", b.fill(values))
        shot("mfa-index-not-enrolled", b.get(site.url("accounts/2fa/")))
        shot("reauthenticate", b.get(site.enroll_url))
        shot("reauthenticate-error-wrong-password", user.reauthenticate(WRONG))
        page = user.reauthenticate(PASSWORD)
        shot("totp-activate", page)
        secret = user.read_secret(page)
        shot("totp-activate-error-wrong-code", user.confirm_enrollment(_wrong_code(secret)))
        done = user.confirm_enrollment(pyotp.TOTP(secret).now())
        shot("recovery-codes-after-activation", done)
        shot("mfa-index-enrolled", b.get(site.url("accounts/2fa/")))
        shot("logout-confirm", b.get(site.logout_url))
        shot("home-after-logout", b.fill({}, fields=()))
        shot("login", b.get(site.login_url))
        shot("login-error-wrong-password", b.fill({"login": EMAIL, "password": WRONG}))
        shot("login-code-prompt", b.fill({"login": EMAIL, "password": PASSWORD}))
        shot("login-code-prompt-error-wrong-code", user.submit_code(_wrong_code(secret)))
        next_code = pyotp.TOTP(secret).at(time.time() + 30)
        shot("home-after-login-with-code", user.submit_code(next_code))
        shot("totp-activate-when-enrolled-asks-reauthentication", b.get(site.enroll_url))
        codes = user.recovery_codes(done)
        user.log_out()
        user.log_in()
        shot("home-after-login-with-recovery-code", user.submit_recovery_code(codes[0]))
        shot("recovery-codes-view-asks-reauthentication", b.get(site.recovery_codes_url))
        user.close()


def capture_flask_security(out: Path, tmp: Path) -> None:
    """Flask-Security-Too: every screen from registration to a login with the code.

    Started with a one-second freshness so that /tf-setup asks for the password (/verify).
    """
    shot = Shots(out / "flask_security")
    with start_site("flask_security", tmp, reauth_window=1) as site:
        user = FlaskSecurityUser(site, EMAIL, PASSWORD)
        b = user.browser
        shot("home-anonymous", b.get(site.home_url))
        shot("tf-setup-anonymous-redirects-to-login", b.get(site.enroll_url))
        shot("register", b.get(site.signup_url))
        values = {"email": EMAIL, "password": PASSWORD, "password_confirm": WRONG}
        shot("register-error-passwords-differ", b.fill(values))
        values["password_confirm"] = PASSWORD
        shot("home-after-register", b.fill(values))
        time.sleep(1.2)  # the registration's login is no longer fresh
        shot("verify", b.get(site.enroll_url))
        shot("verify-error-wrong-password", user.reauthenticate(WRONG))
        shot("tf-setup", user.reauthenticate(PASSWORD))
        page = user.choose_authenticator()
        shot("tf-setup-authenticator-chosen", page)
        secret = user.read_secret(page)
        shot("tf-setup-error-wrong-code", user.confirm_enrollment(_wrong_code(secret)))
        page = user.choose_authenticator()
        shot("tf-setup-authenticator-chosen-again-new-secret", page)
        secret = user.read_secret(page)
        shot("tf-setup-done", user.confirm_enrollment(pyotp.TOTP(secret).now()))
        shot("mf-recovery-codes", b.get(site.recovery_codes_url))
        shot("mf-recovery-codes-show-none-yet", b.fill({}, fields=("show_codes",)))
        generated = b.fill({}, fields=("generate_new_codes",), button="generate_new_codes")
        shot("mf-recovery-codes-generated", generated)
        codes = user.recovery_codes(generated)
        shot("home-signed-in", b.get(site.home_url))
        shot("home-after-logout", user.log_out())
        shot("login", b.get(site.login_url))
        values = {"email": EMAIL, "password": WRONG}
        shot("login-error-wrong-password", b.fill(values, button="submit"))
        values["password"] = PASSWORD
        shot("tf-validate-code-prompt", b.fill(values, button="submit"))
        shot("tf-validate-error-wrong-code", user.submit_code(_wrong_code(secret)))
        shot("home-after-login-with-code", user.submit_code(pyotp.TOTP(secret).now()))
        shot("tf-setup-when-enrolled", b.get(site.enroll_url))
        user.log_out()
        user.log_in()
        rescue = [f for f in forms(b.last.text) if f.attrs.get("name") == "two_factor_rescue_form"]
        shot("mf-recovery", b.submit(rescue[0], {"help_setup": "recovery_code"}))
        shot("home-after-login-with-recovery-code", b.fill({"code": codes[0]}))
        user.close()


def main() -> None:
    """Capture both sites."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "screens")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        capture_allauth(args.out, Path(tmp) / "allauth")
        capture_flask_security(args.out, Path(tmp) / "flask_security")


if __name__ == "__main__":
    main()
