"""A browser-less client for the third-party sites: plain httpx plus stdlib HTML parsing.

Independent of vaultborn's browser code on purpose: it proves the harness (the sites come up,
their pages work) so that a failure of the Playwright flow can be blamed on the flow. Forms are
submitted as a browser would: every ``<input>`` with a name (hidden CSRF tokens included) keeps
its value unless the test fills it, and the clicked button's ``name=value`` goes along.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin

import httpx


@dataclass
class Field:
    """One ``<input>``, ``<button>``, ``<select>`` or ``<textarea>`` of a form."""

    tag: str
    attrs: dict[str, str]

    @property
    def name(self) -> str:
        return self.attrs.get("name", "")

    @property
    def type(self) -> str:
        default = "submit" if self.tag == "button" else "text"
        return self.attrs.get("type", default).lower()

    @property
    def is_button(self) -> bool:
        return (self.tag == "button" and self.type == "submit") or (
            self.tag == "input" and self.type in ("submit", "image")
        )


@dataclass
class Form:
    """A ``<form>``: its attributes and fields, in document order."""

    attrs: dict[str, str]
    fields: list[Field] = field(default_factory=list)
    buttons_text: list[str] = field(default_factory=list)

    @property
    def action(self) -> str:
        return self.attrs.get("action", "")

    @property
    def method(self) -> str:
        return self.attrs.get("method", "get").lower()

    def names(self) -> set[str]:
        return {f.name for f in self.fields if f.name}

    def field(self, name: str) -> Field:
        """The field named ``name`` (AssertionError when absent)."""
        for candidate in self.fields:
            if candidate.name == name:
                return candidate
        raise AssertionError(f"form {self.attrs} has no field {name!r}: {sorted(self.names())}")

    def data(self, values: dict[str, str], button: str | None = None) -> dict[str, str]:
        """What a browser would send: defaults of named fields, ``values`` over them."""
        out: dict[str, str] = {}
        for f in self.fields:
            if not f.name or f.is_button or "disabled" in f.attrs:
                continue
            if f.type in ("checkbox", "radio") and "checked" not in f.attrs:
                continue
            out[f.name] = f.attrs.get("value", "on" if f.type == "checkbox" else "")
        buttons = [f for f in self.fields if f.is_button and f.name]
        if button is not None:
            chosen = [f for f in buttons if f.name == button]
            assert chosen, f"no button {button!r} in form {self.attrs}"
            out[button] = chosen[0].attrs.get("value", "")
        elif buttons:
            out[buttons[0].name] = buttons[0].attrs.get("value", "")
        out.update(values)
        return out


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self._current: Form | None = None
        self._button: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v if v is not None else "" for k, v in attrs}
        if tag == "form":
            self._current = Form(values)
            self.forms.append(self._current)
        elif self._current is not None and tag in ("input", "button", "select", "textarea"):
            self._current.fields.append(Field(tag, values))
            if tag == "button":
                self._button = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._current = None
        elif tag == "button" and self._button is not None and self._current is not None:
            self._current.buttons_text.append(" ".join("".join(self._button).split()))
            self._button = None

    def handle_data(self, data: str) -> None:
        if self._button is not None:
            self._button.append(data)


def forms(page: str) -> list[Form]:
    """Every form of an HTML page."""
    parser = _FormParser()
    parser.feed(page)
    parser.close()
    return parser.forms


def form_with(page: str, *names: str) -> Form:
    """The first form that has fields with all of ``names``."""
    found = [f for f in forms(page) if set(names) <= f.names()]
    assert found, f"no form with fields {names}: {[sorted(f.names()) for f in forms(page)]}"
    return found[0]


class _TextParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "title"):
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "title") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.chunks.append(data)


def text(page: str) -> str:
    """The visible text of a page, whitespace collapsed (no title, scripts or styles)."""
    parser = _TextParser()
    parser.feed(page)
    parser.close()
    return " ".join(" ".join(parser.chunks).split())


class FormClient:
    """An httpx client with a cookie jar that follows redirects and submits forms."""

    def __init__(self, base_url: str) -> None:
        self.http = httpx.Client(
            base_url=base_url,
            follow_redirects=True,
            timeout=15,
            verify=False,  # noqa: S501  (plain HTTP on loopback; skips loading CA certificates)
        )
        self.last: httpx.Response | None = None

    def __enter__(self) -> FormClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.http.close()

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        """GET (redirects followed); the response is also kept as ``last``."""
        self.last = self.http.get(url, **kwargs)
        return self.last

    def peek(self, url: str, **kwargs: Any) -> httpx.Response:
        """GET in the same session without moving ``last`` (as if in another tab)."""
        return self.http.get(url, **kwargs)

    def submit(
        self,
        form: Form,
        values: dict[str, str] | None = None,
        *,
        button: str | None = None,
        page_url: str | httpx.URL | None = None,
    ) -> httpx.Response:
        """Submit ``form`` from the page at ``page_url`` (default: the last page)."""
        origin = str(page_url or (self.last.url if self.last is not None else self.http.base_url))
        target = urljoin(origin, form.action or origin)
        data = form.data(values or {}, button)
        headers = {"Referer": origin}
        if form.method == "post":
            self.last = self.http.post(target, data=data, headers=headers)
        else:
            self.last = self.http.get(target, params=data, headers=headers)
        return self.last

    def fill(
        self, values: dict[str, str], *, fields: tuple[str, ...] = (), button: str | None = None
    ) -> httpx.Response:
        """Submit the last page's first form that has ``fields`` (default: ``values``' keys)."""
        assert self.last is not None, "no page loaded"
        form = form_with(self.last.text, *(fields or tuple(values)))
        return self.submit(form, values, button=button)
