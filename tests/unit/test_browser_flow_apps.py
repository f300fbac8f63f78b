"""The flow's decisions on application pages: sign-up, re-authentication, method choice, success.

What django-allauth and Flask-Security-Too showed (tests/thirdparty/screens/) as pure decisions;
tests/browser/test_thirdparty_screens.py classifies those pages in Chromium, and the
tests/thirdparty/ suites run whole flows against the live applications.
"""

from __future__ import annotations

import pytest

from vaultborn.browser.errors import CodeRefused, LoginRefused, PageError, SignUpRefused
from vaultborn.browser.flow import (
    Capture,
    ChooseMethod,
    EnterCode,
    Finish,
    Goal,
    HandOff,
    KeepRecoveryCodes,
    LogIn,
    Progress,
    SignUp,
    Stop,
    decide,
)
from vaultborn.browser.recovery import pick_recovery_codes
from vaultborn.browser.screens import Screen, ScreenKind

APP = "http://127.0.0.1:8000/"


def page(kind: ScreenKind, path: str, name: str, error: str = "", codes: bool = False) -> Screen:
    return Screen(kind, "generic", name, APP + path, error=error, recovery_codes=codes)


LOGIN = page(ScreenKind.LOGIN, "accounts/login/", "Sign In")
REAUTH = page(ScreenKind.LOGIN, "accounts/reauthenticate/", "Confirm Access")
ACTIVATE = page(ScreenKind.MANUAL, "accounts/2fa/totp/activate/", "Activate Authenticator App")
CODES = page(ScreenKind.SUCCESS, "accounts/2fa/recovery-codes/", "Recovery Codes", codes=True)
CREDS = Progress(can_log_in=True)


def test_allauth_login_then_confirm_access_is_two_steps_not_a_refusal() -> None:
    first = decide(Goal.ENROLL, LOGIN, CREDS)
    assert first == LogIn(LOGIN.key)
    second = decide(Goal.ENROLL, REAUTH, CREDS.after(first))
    assert second == LogIn(REAUTH.key)


def test_the_same_login_page_again_with_an_error_is_a_refused_password() -> None:
    done = CREDS.after(LogIn(LOGIN.key))
    wrong = page(ScreenKind.LOGIN, "accounts/login/", "Sign In", "The password is not correct.")
    move = decide(Goal.ENROLL, wrong, done)
    assert isinstance(move, Stop) and isinstance(move.error, LoginRefused)
    assert "The password is not correct." in str(move.error)


def test_a_notice_on_the_next_login_page_is_not_a_refusal() -> None:
    # Flask-Security's re-authentication page flashes "You must reauthenticate" as an error.
    verify = page(ScreenKind.LOGIN, "verify", "Reauthenticate", "You must reauthenticate")
    assert decide(Goal.ENROLL, verify, CREDS.after(LogIn(LOGIN.key))) == LogIn(verify.key)


def test_recovery_codes_after_a_confirmed_code_are_kept_then_the_flow_finishes() -> None:
    confirmed = Progress(captures=1, codes_sent=1)
    assert decide(Goal.ENROLL, CODES, confirmed) == KeepRecoveryCodes()
    kept = confirmed.after(KeepRecoveryCodes())
    assert decide(Goal.ENROLL, CODES, kept) == Finish("success-screen")


@pytest.mark.parametrize(
    "where",
    [
        page(ScreenKind.UNKNOWN, "", "Home"),
        page(ScreenKind.METHOD, "tf-setup", "Two-Factor"),  # Flask-Security, now enrolled
        page(ScreenKind.SUCCESS, "tf-setup", "Two-Factor"),
    ],
)
def test_any_page_without_an_error_after_a_code_is_the_end_of_enrollment(where: Screen) -> None:
    move = decide(Goal.ENROLL, where, Progress(captures=1, codes_sent=1))
    assert isinstance(move, Finish)


def test_flask_security_method_choice_then_a_wrong_code_restarts_with_a_new_secret() -> None:
    method = page(ScreenKind.METHOD, "tf-setup", "Two-Factor")
    assert decide(Goal.ENROLL, method, Progress()) == ChooseMethod()
    back = page(ScreenKind.METHOD, "tf-setup", "Two-Factor", "Invalid code")
    after_code = Progress(captures=1, codes_sent=1, methods_chosen=1)
    assert decide(Goal.ENROLL, back, after_code) == ChooseMethod()
    qr = page(ScreenKind.QR, "tf-setup", "Two-Factor")
    again = after_code.after(ChooseMethod())
    assert decide(Goal.ENROLL, qr, again) == Capture()  # the page drew a new secret
    assert decide(Goal.ENROLL, qr, again.after(Capture())) == EnterCode(next_step=True)
    twice = again.after(Capture()).after(EnterCode(next_step=True))
    move = decide(Goal.ENROLL, back, twice)
    assert isinstance(move, Stop) and isinstance(move.error, CodeRefused)


def test_a_login_challenge_in_an_enrollment_is_answered_with_a_seed_stored_before() -> None:
    challenge = page(ScreenKind.CODE, "accounts/2fa/authenticate/", "Two-Factor")
    assert decide(Goal.ENROLL, challenge, Progress(seed_known=True)) == EnterCode()
    move = decide(Goal.ENROLL, challenge, Progress())
    assert isinstance(move, Stop) and "enrolled already" in str(move.error)


def test_an_enrollment_that_lands_on_a_sign_up_form_says_the_account_is_missing() -> None:
    signup = page(ScreenKind.SIGNUP, "register", "Register")
    move = decide(Goal.ENROLL, signup, CREDS)
    assert isinstance(move, Stop) and isinstance(move.error, PageError)
    assert "does not exist" in str(move.error)


def test_the_login_drill_ends_on_the_applications_own_page_after_the_code() -> None:
    home = page(ScreenKind.UNKNOWN, "", "Home")
    assert decide(Goal.LOGIN, home, Progress(codes_sent=1)) == Finish("left-login")
    assert isinstance(decide(Goal.LOGIN, home, Progress()), HandOff)


# -- sign-up --------------------------------------------------------------------------------------

SIGNUP = page(ScreenKind.SIGNUP, "accounts/signup/", "Sign Up")


def test_sign_up_fills_the_form_once_then_any_next_page_means_done() -> None:
    assert decide(Goal.SIGNUP, SIGNUP, CREDS) == SignUp()
    sent = CREDS.after(SignUp())
    assert decide(Goal.SIGNUP, page(ScreenKind.SUCCESS, "", "Home"), sent) == Finish("signed-up")
    assert decide(Goal.SIGNUP, page(ScreenKind.UNKNOWN, "", "Home"), sent) == Finish("signed-up")


@pytest.mark.parametrize(
    "said",
    [
        "A user is already registered with this email address.",
        "alice@example.com is already associated with an account.",
    ],
)
def test_an_account_that_exists_is_already_registered(said: str) -> None:
    again = page(ScreenKind.SIGNUP, "accounts/signup/", "Sign Up", said)
    assert decide(Goal.SIGNUP, again, CREDS.after(SignUp())) == Finish("already-registered")


def test_a_refused_sign_up_says_why() -> None:
    weak = page(ScreenKind.SIGNUP, "accounts/signup/", "Sign Up", "This password is too common.")
    move = decide(Goal.SIGNUP, weak, CREDS.after(SignUp()))
    assert isinstance(move, Stop) and isinstance(move.error, SignUpRefused)
    assert "too common" in str(move.error)


def test_a_sign_up_url_that_shows_no_form_is_a_page_error() -> None:
    move = decide(Goal.SIGNUP, LOGIN, CREDS)
    assert isinstance(move, Stop) and isinstance(move.error, PageError)
    assert "shows no sign-up form (it shows a login page)" in str(move.error)


def test_without_credentials_a_person_signs_up() -> None:
    assert isinstance(decide(Goal.SIGNUP, SIGNUP, Progress()), HandOff)


# -- recovery codes -------------------------------------------------------------------------------


def test_recovery_codes_are_the_values_of_one_shape() -> None:
    allauth = ["Menu:", "Unused", "codes", *[f"{n:08d}" for n in range(10)], "2024"]
    assert pick_recovery_codes(allauth) == [f"{n:08d}" for n in range(10)]
    fs = ["b2d5-485f-5343", "a1b2-c3d4-e5f6", "0000-1111-2222", "9f9f-8e8e-7d7d", "x"]
    assert pick_recovery_codes(fs) == fs[:4]


@pytest.mark.parametrize(
    "values",
    [
        ["12345678", "87654321", "11112222"],  # too few to be a list of codes
        ["Download", "codes", "Generate", "new", "codes"],  # words, no digit
        ["12345678", "1234-5678", "abc12345", "99"],  # no common shape
    ],
)
def test_no_list_of_codes_no_recovery_codes(values: list[str]) -> None:
    assert pick_recovery_codes(values) == []


def test_a_login_challenge_the_vaults_code_passes_means_enrolled_already() -> None:
    challenge = page(ScreenKind.CODE, "accounts/2fa/authenticate/", "Two-Factor")
    move = decide(Goal.ENROLL, challenge, Progress(seed_known=True))
    sent = Progress(seed_known=True).after(move)
    assert sent.challenge_codes == 1 and sent.last_code == challenge.key
    # allauth then asks to confirm the password and shows "Deactivate Authenticator App".
    for after in (REAUTH, page(ScreenKind.MANUAL, "accounts/2fa/totp/deactivate/", "Deactivate")):
        assert decide(Goal.ENROLL, after, sent) == Finish("already-enrolled")


def test_a_refused_challenge_is_retried_in_the_next_step_then_stops() -> None:
    challenge = page(ScreenKind.CODE, "accounts/2fa/authenticate/", "Two-Factor")
    again = page(ScreenKind.CODE, "accounts/2fa/authenticate/", "Two-Factor", "Incorrect code.")
    sent = Progress(seed_known=True).after(
        decide(Goal.ENROLL, challenge, Progress(seed_known=True))
    )
    retry = decide(Goal.ENROLL, again, sent)
    assert retry == EnterCode(next_step=True)
    move = decide(Goal.ENROLL, again, sent.after(retry))
    assert isinstance(move, Stop) and isinstance(move.error, CodeRefused)
