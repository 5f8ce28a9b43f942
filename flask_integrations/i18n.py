"""Translation helpers that work with or without Flask-Babel.

With Flask-Babel installed and initialised on the app, strings are
translated through it; without it they are returned unchanged.
"""

from __future__ import annotations

import typing as t

from flask.globals import _cv_app

try:  # pragma: no cover - depends on what is installed
    from flask_babel import gettext as _babel_gettext
    from flask_babel import lazy_gettext as _babel_lazy_gettext
except ImportError:  # pragma: no cover
    _babel_gettext = None
    _babel_lazy_gettext = None


def _babel_ready() -> bool:
    if _babel_gettext is None:
        return False
    # Flask's context variable rather than two proxies: pages call this
    # for every string they show.
    ctx = _cv_app.get(None)
    return ctx is not None and "babel" in ctx.app.extensions


def current_language() -> str:
    """The language of the current request, for ``<html lang>``."""
    if _babel_ready():
        from flask_babel import get_locale

        locale = get_locale()
        if locale is not None:
            return str(locale).replace("_", "-")
    return "en"


def gettext(string: str, **variables: t.Any) -> str:
    """Translate ``string`` and interpolate ``variables`` (``%(name)s``).

    Flask-Babel translates when it is installed and set up on the current
    app; otherwise the string is used as written.
    """
    if _babel_ready():
        return str(t.cast(t.Any, _babel_gettext)(string, **variables))
    return string % variables if variables else string


class LazyString:
    """A string translated each time it is rendered."""

    __slots__ = ("_string", "_variables")

    def __init__(self, string: str, **variables: t.Any) -> None:
        self._string = string
        self._variables = variables

    def __str__(self) -> str:
        return gettext(self._string, **self._variables)

    def __html__(self) -> str:
        from markupsafe import escape

        return str(escape(str(self)))

    def __eq__(self, other: object) -> bool:
        return str(self) == other

    def __hash__(self) -> int:
        return hash(str(self))

    def __repr__(self) -> str:
        return f"lazy_gettext({self._string!r})"

    def __len__(self) -> int:
        return len(str(self))

    def __add__(self, other: str) -> str:
        return str(self) + other

    def __radd__(self, other: str) -> str:
        return other + str(self)


def lazy_gettext(string: str, **variables: t.Any) -> LazyString:
    """Mark ``string`` for translation, translated when rendered."""
    return LazyString(string, **variables)


_ = gettext
_l = lazy_gettext
