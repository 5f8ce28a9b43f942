"""The test kit's admin client: passes the admin check, fills in forms."""

from __future__ import annotations

import dataclasses
import secrets
import typing as t
from html.parser import HTMLParser
from urllib.parse import urljoin

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.datastructures import MultiDict
from werkzeug.test import TestResponse

from ..admin import TEST_ADMIN_ENVIRON_KEY, get_state

__all__ = ["AdminClientMixin", "HTMLForm", "find_form", "make_admin_client"]

#: Field values of :meth:`AdminClientMixin.submit_form`'s ``data``.
FormValue = str | int | float | bool | None | t.Sequence[str]

_SKIPPED_INPUTS = frozenset({"submit", "button", "image", "reset", "file"})


@dataclasses.dataclass
class HTMLForm:
    """A ``<form>`` of a page, as a browser would submit it untouched.

    :param action: The ``action`` attribute (``""`` for the page itself).
    :param method: ``"get"`` or ``"post"``.
    :param values: The values of its fields (of checkboxes, only the ticked
        ones).
    :param buttons: The texts of its submit buttons.
    :param checkbox_values: The ``value`` of each checkbox, by name.
    """

    action: str
    method: str
    values: MultiDict[str, str] = dataclasses.field(default_factory=MultiDict)
    buttons: list[str] = dataclasses.field(default_factory=list)
    checkbox_values: dict[str, str] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class _Select:
    name: str
    multiple: bool
    options: list[tuple[str, bool]] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class _Option:
    value: str | None
    selected: bool
    text: list[str] = dataclasses.field(default_factory=list)


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[HTMLForm] = []
        self._form: HTMLForm | None = None
        self._select: _Select | None = None
        self._option: _Option | None = None
        self._textarea: tuple[str, list[str]] | None = None
        self._button: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._form = HTMLForm(a.get("action", ""), a.get("method", "get").lower())
            self.forms.append(self._form)
        elif self._form is None:
            return
        elif tag == "input":
            self._input(a)
        elif tag == "select" and "name" in a:
            self._select = _Select(a["name"], "multiple" in a)
        elif tag == "option" and self._select is not None:
            self._option = _Option(a.get("value"), "selected" in a)
        elif tag == "textarea" and "name" in a:
            self._textarea = (a["name"], [])
        elif tag == "button" and a.get("type", "submit") == "submit":
            self._button = []

    def _input(self, a: dict[str, str]) -> None:
        form = self._form
        if form is None:
            return
        kind = a.get("type", "text").lower()
        name = a.get("name")
        if kind == "submit" and a.get("value"):
            form.buttons.append(a["value"])
        if not name or kind in _SKIPPED_INPUTS or "disabled" in a:
            return
        if kind in ("checkbox", "radio"):
            form.checkbox_values.setdefault(name, a.get("value", "on"))
            if "checked" in a:
                form.values.add(name, a.get("value", "on"))
            return
        form.values.add(name, a.get("value", ""))

    def handle_data(self, data: str) -> None:
        if self._option is not None:
            self._option.text.append(data)
        if self._textarea is not None:
            self._textarea[1].append(data)
        if self._button is not None:
            self._button.append(data)

    def handle_endtag(self, tag: str) -> None:
        form = self._form
        if tag == "form":
            self._form = None
        elif form is None:
            return
        elif tag == "option" and self._option is not None and self._select:
            option = self._option
            value = (
                "".join(option.text).strip() if option.value is None else option.value
            )
            self._select.options.append((value, option.selected))
            self._option = None
        elif tag == "select" and self._select is not None:
            select = self._select
            chosen = [v for v, selected in select.options if selected]
            if not chosen and not select.multiple:
                # A single select with nothing marked sends its first option.
                chosen = [v for v, _ in select.options[:1]]
            for value in chosen:
                form.values.add(select.name, value)
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            name, text = self._textarea
            form.values.add(name, "".join(text).removeprefix("\n"))
            self._textarea = None
        elif tag == "button" and self._button is not None:
            form.buttons.append(" ".join("".join(self._button).split()))
            self._button = None


def find_form(html: str, button: str | None = None) -> HTMLForm:
    """Return the form of ``html`` that has a submit button whose text starts
    with ``button``; without ``button``, the first form posted with ``POST``.

    :raises AssertionError: No such form.
    """
    parser = _FormParser()
    parser.feed(html)
    parser.close()
    for form in parser.forms:
        if button is None and form.method == "post":
            return form
        if button is not None and any(b.startswith(button) for b in form.buttons):
            return form
    found = [b for form in parser.forms for b in form.buttons]
    wanted = f"with a '{button}' button" if button else "posted with POST"
    raise AssertionError(f"The page has no form {wanted}; its buttons: {found}.")


class AdminClientMixin:
    """What the admin client adds to the app's test client class."""

    def submit_form(
        self,
        url: str,
        data: t.Mapping[str, FormValue] | None = None,
        *,
        button: str | None = None,
        follow_redirects: bool = False,
    ) -> TestResponse:
        """Open the page at ``url`` and submit one of its forms, like a
        browser: every field keeps the value the page gave it (the CSRF
        token included) unless ``data`` says otherwise.

        ::

            client.submit_form(
                "/integrations/acme.chat/configs/add/",
                {"name": "Ops", "webhook_url": receiver.url},
            )

        :param data: Field values to type in. ``True`` and ``False`` tick and
            untick a checkbox; a list gives every value of a multiple field
            (e.g. the ``events`` checkboxes); ``None`` leaves the field out.
        :param button: Submit the form with the button whose text starts
            with this (e.g. ``"Delete"``); by default the page's first form
            sent with ``POST``.
        :raises AssertionError: The page is not a 200, or has no such form.
        """
        client = t.cast(FlaskClient, self)
        page = client.get(url)
        if page.status_code != 200:
            raise AssertionError(
                f"'GET {url}' answered {page.status_code}, so it has no form to submit."
            )
        form = find_form(page.get_data(as_text=True), button)
        values = MultiDict(form.values)
        for name, value in (data or {}).items():
            if value is None or value is False:
                values.poplist(name)
            elif value is True:
                values.setlist(name, [form.checkbox_values.get(name, "y")])
            elif isinstance(value, (list, tuple)):
                values.setlist(name, [str(v) for v in value])
            else:
                values.setlist(name, [str(value)])
        action = urljoin(url, form.action) if form.action else url
        return client.post(action, data=values, follow_redirects=follow_redirects)


_client_classes: dict[type[FlaskClient], type[FlaskClient]] = {}


def make_admin_client(app: Flask) -> FlaskClient:
    """Return a test client of ``app`` whose requests pass the admin check.

    The client is an instance of the app's own ``test_client_class`` (so
    anything the host app adds to it keeps working) with
    :meth:`AdminClientMixin.submit_form`. Its requests carry a per-app
    secret in a WSGI environ key that no HTTP request can set; other clients
    of the same app still get the normal check.

    :raises IntegrationError: flask-integrations is not set up on ``app``.
    """
    state = get_state(app)
    if state.test_admin_token is None:
        state.test_admin_token = secrets.token_urlsafe(32)
    base = app.test_client_class or FlaskClient
    cls = _client_classes.get(base)
    if cls is None:
        cls = type(f"IntegrationsAdmin{base.__name__}", (AdminClientMixin, base), {})
        _client_classes[base] = cls
    client = cls(app, app.response_class, use_cookies=True)
    client.environ_base[TEST_ADMIN_ENVIRON_KEY] = state.test_admin_token
    return client
