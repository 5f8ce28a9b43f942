"""User-facing strings go through Flask-Babel when it is set up."""

from __future__ import annotations

import re

import pytest
from flask import Flask

from flask_integrations.i18n import gettext, lazy_gettext


def test_without_babel_strings_are_used_as_written(app: Flask) -> None:
    with app.app_context():
        assert gettext("Page %(page)s of %(pages)s", page=1, pages=2) == "Page 1 of 2"
        lazy = lazy_gettext("Name")
        assert str(lazy) == "Name" and lazy == "Name" and len(lazy) == 4
    page = app.test_client().get("/integrations/")
    assert "<h1>Integrations</h1>" in page.text


class Shouting:
    """Translations that upper-case every message."""

    def ugettext(self, string: str) -> str:
        # Upper-case the text, not the %(name)s placeholders.
        parts = re.split(r"(%\(\w+\)s)", string)
        return "".join(p if p.startswith("%(") else p.upper() for p in parts)

    gettext = ugettext

    def ungettext(self, singular: str, plural: str, n: int) -> str:
        return self.ugettext(singular if n == 1 else plural)

    ngettext = ungettext


@pytest.fixture
def babel_app(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Flask:
    flask_babel = pytest.importorskip("flask_babel")
    flask_babel.Babel(app)
    monkeypatch.setattr(flask_babel.Domain, "get_translations", lambda self: Shouting())
    return app


def test_with_babel_pages_and_messages_are_translated(babel_app: Flask) -> None:
    with babel_app.app_context():
        assert gettext("Name") == "NAME"
        assert gettext("Page %(page)s", page=3) == "PAGE 3"
    page = babel_app.test_client().get("/integrations/")
    assert "<h1>INTEGRATIONS</h1>" in page.text
    assert "NO INTEGRATIONS ARE REGISTERED" in page.text
    assert '<html lang="en">' in page.text


def test_form_labels_are_translated_when_rendered(babel_app: Flask) -> None:
    from flask_integrations import Integration

    class Translated(Integration):
        integration_id = "tests.i18n"
        name = "Translated"

    with babel_app.app_context():
        babel_app.extensions["integrations"].manager.register_integration_class(
            Translated
        )
    page = babel_app.test_client().get("/integrations/tests.i18n/configs/add/")
    assert ">NAME</label>" in page.text
    assert "BASIC INFORMATION" in page.text


def test_lazy_strings_escape_as_html(app: Flask) -> None:
    with app.app_context():
        assert lazy_gettext("<b>").__html__() == "&lt;b&gt;"
        assert "x" + lazy_gettext("y") == "xy" and lazy_gettext("y") + "x" == "yx"
        assert repr(lazy_gettext("z")) == "lazy_gettext('z')"
        assert hash(lazy_gettext("z")) == hash("z")
