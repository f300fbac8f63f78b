"""What a user does on each third-party site, step by step, with plain httpx (``formclient``).

One class per site with the same steps: ``sign_up``, ``open_enrollment`` (re-entering the
password if the site asks), ``read_secret``, ``confirm_enrollment``, ``recovery_codes``,
``log_out``, ``log_in``, ``submit_code``. The steps return the page they end on and assert only
that the site answered (no 4xx/5xx); tests assert the outcomes. ``record(name, response)``, if
given, sees every page in order (``capture_screens`` saves them as HTML).

The secret is read as the page shows it to a person (allauth: the disabled
``#authenticator_secret`` input; Flask-Security: the ``<div>`` of dash-separated groups under
the QR code), and :func:`qr_uri` decodes the QR image into its ``otpauth://`` URI independently.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from html import unescape
from urllib.parse import urlsplit

import httpx

from tests.thirdparty.formclient import Form, FormClient, form_with, forms
from tests.thirdparty.webapps import RunningSite

Record = Callable[[str, httpx.Response], None]

_SECRET_GROUPS = re.compile(r"<div>\s*([A-Z2-7]{4}(?:-[A-Z2-7]{1,4})+)\s*</div>")
_QR_DATA_URI = re.compile(r'<img[^>]*src="data:image/svg\+xml;base64,([^"]+)"', re.S)


def path_of(response: httpx.Response) -> str:
    """The path of the URL a response ended on (after redirects)."""
    return urlsplit(str(response.url)).path


def signed_in_as(response: httpx.Response) -> str | None:
    """The e-mail the home page says is signed in, or None (not the home page, or anonymous)."""
    found = re.search(r'<p id="signed-in-as">Signed in as ([^<]+)</p>', response.text)
    return unescape(found.group(1)) if found else None


def messages(response: httpx.Response) -> list[str]:
    """The flash messages of a page (allauth's "Messages:" list, Flask-Security's flashes)."""
    found = re.search(r"<strong>Messages:</strong>\s*<ul>(.*?)</ul>", response.text, re.S)
    if found is None:
        found = re.search(r'<ul class="flashes">(.*?)</ul>', response.text, re.S)
    if found is None:
        return []
    items = re.findall(r"<li[^>]*>(.*?)</li>", found.group(1), re.S)
    return [" ".join(unescape(item).split()) for item in items]


def qr_uri(page: str) -> str:
    """Decode the page's QR code (an SVG data URI of unit squares) into the text it holds."""
    import zxingcpp
    from PIL import Image, ImageDraw

    found = _QR_DATA_URI.search(page)
    assert found, "no SVG data-URI <img> on the page"
    svg = base64.b64decode(found.group(1)).decode("utf-8")
    squares = [
        (int(x), int(y), int(x2) - int(x), int(y2) - int(y))
        for x, y, x2, y2 in re.findall(r"M(\d+),(\d+)H(\d+)V(\d+)H\d+z", svg)  # allauth: a path
    ] + [
        (int(x), int(y), int(w), int(h))  # Flask-Security: one <svg:rect> per module, in mm
        for x, y, w, h in re.findall(
            r'rect x="(\d+)mm" y="(\d+)mm" width="(\d+)mm" height="(\d+)mm"', svg
        )
    ]
    assert squares, f"no QR modules in the SVG: {svg[:200]!r}"
    scale, size = 6, max(x + w for x, _, w, _ in squares) + 4
    image = Image.new("L", (size * scale, size * scale), 255)
    draw = ImageDraw.Draw(image)
    for x, y, w, h in squares:
        draw.rectangle([x * scale, y * scale, (x + w) * scale - 1, (y + h) * scale - 1], fill=0)
    decoded = zxingcpp.read_barcodes(image)
    assert decoded, "the QR code did not decode"
    return str(decoded[0].text)


class SiteUser:
    """One person with one browser (cookie jar) on one site."""

    def __init__(
        self, site: RunningSite, email: str, password: str, record: Record | None = None
    ) -> None:
        self.site = site
        self.email = email
        self.password = password
        self.browser = FormClient(site.base_url)
        self._record = record

    def close(self) -> None:
        self.browser.close()

    def __enter__(self) -> SiteUser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def saw(self, name: str, response: httpx.Response) -> httpx.Response:
        """Note a page: recorded, and checked to be an answer rather than an error."""
        if self._record is not None:
            self._record(name, response)
        assert response.status_code < 400, (
            f"{name}: {response.request.method} {response.url} → {response.status_code}\n"
            + self.site.diagnostics()
        )
        return response

    def home(self) -> httpx.Response:
        return self.saw("home", self.browser.get(self.site.home_url))

    # The steps each site implements.
    def sign_up(self) -> httpx.Response:
        raise NotImplementedError

    def open_enrollment(self) -> httpx.Response:
        raise NotImplementedError

    def read_secret(self, page: httpx.Response) -> str:
        raise NotImplementedError

    def confirm_enrollment(self, code: str) -> httpx.Response:
        raise NotImplementedError

    def recovery_codes(self, page: httpx.Response | None = None) -> list[str]:
        raise NotImplementedError

    def log_out(self) -> httpx.Response:
        raise NotImplementedError

    def log_in(self, password: str | None = None) -> httpx.Response:
        raise NotImplementedError

    def submit_code(self, code: str) -> httpx.Response:
        raise NotImplementedError

    def submit_recovery_code(self, code: str) -> httpx.Response:
        raise NotImplementedError


class AllauthUser(SiteUser):
    """django-allauth: /accounts/signup/, /accounts/login/, /accounts/2fa/totp/activate/ …"""

    def sign_up(self) -> httpx.Response:
        self.saw("signup", self.browser.get(self.site.signup_url))
        values = {"email": self.email, "password1": self.password, "password2": self.password}
        return self.saw("signup-submitted", self.browser.fill(values))

    def open_enrollment(self) -> httpx.Response:
        page = self.saw("totp-activate-requested", self.browser.get(self.site.enroll_url))
        if path_of(page) == "/" + self.site.kind.reauthenticate:
            page = self.reauthenticate(self.password)
        return page

    def reauthenticate(self, password: str) -> httpx.Response:
        """Fill allauth's "Confirm Access" page (the last page) with ``password``."""
        return self.saw("reauthenticate-submitted", self.browser.fill({"password": password}))

    def read_secret(self, page: httpx.Response) -> str:
        field = form_with(page.text, "code")
        secret = [f for f in field.fields if f.attrs.get("id") == "authenticator_secret"]
        assert secret, "no #authenticator_secret input on the activation page"
        return secret[0].attrs["value"]

    def confirm_enrollment(self, code: str) -> httpx.Response:
        return self.saw("totp-activate-submitted", self.browser.fill({"code": code}))

    def recovery_codes(self, page: httpx.Response | None = None) -> list[str]:
        if page is None:
            page = self.saw("recovery-codes", self.browser.get(self.site.recovery_codes_url))
        found = re.search(
            r'<textarea[^>]*id="recovery_codes"[^>]*>(.*?)</textarea>', page.text, re.S
        )
        assert found, "no <textarea id=recovery_codes> on the page"
        return unescape(found.group(1)).split()

    def log_out(self) -> httpx.Response:
        page = self.saw("logout-confirm", self.browser.get(self.site.logout_url))
        logout = [f for f in forms(page.text) if f.action == "/" + self.site.kind.logout]
        assert logout, "no sign-out form"
        return self.saw("logout-submitted", self.browser.submit(logout[0]))

    def log_in(self, password: str | None = None) -> httpx.Response:
        self.saw("login", self.browser.get(self.site.login_url))
        values = {"login": self.email, "password": password or self.password}
        return self.saw("login-submitted", self.browser.fill(values))

    def submit_code(self, code: str) -> httpx.Response:
        return self.saw("login-code-submitted", self.browser.fill({"code": code}))

    def submit_recovery_code(self, code: str) -> httpx.Response:
        # allauth takes a recovery code in the same field as an authenticator code.
        return self.saw("login-recovery-code-submitted", self.browser.fill({"code": code}))


class FlaskSecurityUser(SiteUser):
    """Flask-Security-Too: /register, /login, /tf-setup, /tf-validate, /mf-recovery-codes …"""

    def sign_up(self) -> httpx.Response:
        self.saw("register", self.browser.get(self.site.signup_url))
        values = {"email": self.email, "password": self.password, "password_confirm": self.password}
        return self.saw("register-submitted", self.browser.fill(values))

    def open_enrollment(self) -> httpx.Response:
        page = self.saw("tf-setup", self.browser.get(self.site.enroll_url))
        if path_of(page) == "/" + self.site.kind.reauthenticate:
            page = self.reauthenticate(self.password)
        return self.choose_authenticator()

    def reauthenticate(self, password: str) -> httpx.Response:
        """Fill Flask-Security's /verify page (the last page) with ``password``."""
        return self.saw("verify-submitted", self.browser.fill({"password": password}))

    def choose_authenticator(self) -> httpx.Response:
        """On /tf-setup (the last page): tick "authenticator app" and submit."""
        return self.saw(
            "tf-setup-authenticator", self.browser.fill({"setup": "authenticator"}, button="submit")
        )

    def read_secret(self, page: httpx.Response) -> str:
        after_qr = page.text[page.text.index('id="qrcode"') :]
        found = _SECRET_GROUPS.search(after_qr)
        assert found, "no dash-grouped key under the QR code"
        return found.group(1).replace("-", "")

    def confirm_enrollment(self, code: str) -> httpx.Response:
        verify = self._form_named(self.browser.last, "two_factor_verify_code_form")
        return self.saw("tf-setup-code-submitted", self.browser.submit(verify, {"code": code}))

    def recovery_codes(self, page: httpx.Response | None = None) -> list[str]:
        if page is None:
            self.saw("mf-recovery-codes", self.browser.get(self.site.recovery_codes_url))
            page = self.saw(
                "mf-recovery-codes-generated",
                self.browser.fill({}, fields=("generate_new_codes",), button="generate_new_codes"),
            )
        listed = page.text[page.text.index("<h1>Recovery Codes</h1>") :]
        listed = listed[: listed.index("</ul>")] if "</ul>" in listed else ""
        return [
            unescape(code).strip()
            for code in re.findall(r'<li class="fs-div">([^<]+)</li>', listed)
        ]

    def log_out(self) -> httpx.Response:
        page = self.saw("home", self.browser.get(self.site.home_url))
        logout = self._form_named(page, "logout_form")
        return self.saw("logout-submitted", self.browser.submit(logout))

    def log_in(self, password: str | None = None) -> httpx.Response:
        self.saw("login", self.browser.get(self.site.login_url))
        values = {"email": self.email, "password": password or self.password}
        return self.saw("login-submitted", self.browser.fill(values, button="submit"))

    def submit_code(self, code: str) -> httpx.Response:
        verify = self._form_named(self.browser.last, "two_factor_verify_code_form")
        return self.saw("tf-validate-submitted", self.browser.submit(verify, {"code": code}))

    def submit_recovery_code(self, code: str) -> httpx.Response:
        rescue = self._form_named(self.browser.last, "two_factor_rescue_form")
        self.saw(
            "tf-rescue-submitted", self.browser.submit(rescue, {"help_setup": "recovery_code"})
        )
        return self.saw("mf-recovery-submitted", self.browser.fill({"code": code}))

    @staticmethod
    def _form_named(page: httpx.Response | None, name: str) -> Form:
        assert page is not None, "no page loaded"
        found = [f for f in forms(page.text) if f.attrs.get("name") == name]
        assert found, f"no form named {name!r} on {page.url}"
        return found[0]


USERS: dict[str, type[SiteUser]] = {"allauth": AllauthUser, "flask_security": FlaskSecurityUser}


def user_for(
    site: RunningSite, email: str, password: str, record: Record | None = None
) -> SiteUser:
    """The right :class:`SiteUser` for ``site``."""
    return USERS[site.kind.name](site, email, password, record)
