"""The documentation says what the code does.

The API reference names every public name, the configuration table lists
every key ``init_app`` sets with its real default, and the quickstart's app
works as the page says. (Sphinx itself runs in ``make docs``, with warnings
as errors.)
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import pathlib
import pkgutil
import re
import sys
import typing as t

import pytest
from flask import Flask
from flask_sqlalchemy import SQLAlchemy

import flask_integrations
from flask_integrations import FlaskIntegrations

DOCS = pathlib.Path(__file__).resolve().parents[1] / "docs"

# -- the API reference ---------------------------------------------------------

REFERENCE_PAGES = ("api.rst", "testing.rst")
_MODULE_DIRECTIVE = re.compile(r"^\.\. (?:module|currentmodule|automodule):: (\S+)")
_AUTO_DIRECTIVE = re.compile(
    r"^\.\. auto(?:class|function|data|exception|attribute|method):: (\S+)"
)


def documented_names() -> set[str]:
    """The full names the reference pages (``api.rst``, and ``testing.rst``
    for the test kit) document with autodoc directives."""
    names = set()
    module = ""
    lines = [
        line
        for page in REFERENCE_PAGES
        for line in (DOCS / page).read_text(encoding="utf-8").splitlines()
    ]
    for line in lines:
        if match := _MODULE_DIRECTIVE.match(line):
            module = match.group(1)
        elif match := _AUTO_DIRECTIVE.match(line):
            target = match.group(1)
            if not target.startswith("flask_integrations"):
                target = f"{module}.{target}"
            names.add(target)
    return names


def import_name(name: str) -> t.Any:
    """The object at a dotted path."""
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attribute in parts[cut:]:
            obj = getattr(obj, attribute)
        return obj
    raise ImportError(name)


def public_modules() -> list[t.Any]:
    """Every module of the package that declares its public names."""
    modules = [flask_integrations]
    for info in pkgutil.walk_packages(
        flask_integrations.__path__, "flask_integrations."
    ):
        if ".migrations.versions" in info.name:
            continue
        module = importlib.import_module(info.name)
        if hasattr(module, "__all__"):
            modules.append(module)
    return modules


def test_the_api_reference_imports() -> None:
    for name in sorted(documented_names()):
        try:
            import_name(name)
        except (ImportError, AttributeError):
            pytest.fail(f"docs/api.rst documents '{name}', which does not exist.")


def test_every_public_name_is_in_the_api_reference() -> None:
    documented = documented_names()
    # Scalars (strings, numbers) can be the same object by chance: they must
    # be documented under their own name.
    by_identity = {
        id(obj)
        for obj in map(import_name, documented)
        if not isinstance(obj, (str, bytes, int, float))
    }
    modules = public_modules()
    missing = []
    for module in modules:
        for name in module.__all__:
            obj = getattr(module, name)
            full_name = f"{module.__name__}.{name}"
            if full_name in documented:
                continue
            if not isinstance(obj, (str, bytes, int, float)) and id(obj) in by_identity:
                continue
            missing.append(full_name)

    assert {m.__name__ for m in modules} >= {
        "flask_integrations",
        "flask_integrations.contrib",
        "flask_integrations.outbound",
        "flask_integrations.signing",
    }
    assert missing == [], (
        "Public names missing from docs/api.rst (add an autodoc directive for"
        f" each): {', '.join(missing)}"
    )


# -- the configuration table ---------------------------------------------------

_KEY_ROW = re.compile(r"^\s*\* - ``(?P<key>[A-Z0-9_]+)``\s*$")
_DEFAULT_CELL = re.compile(r"^\s*- ``(?P<default>.*)``\s*$")


def documented_defaults() -> dict[str, str]:
    """The configuration table of ``configuration.rst``: key to the default
    as written."""
    lines = (DOCS / "configuration.rst").read_text(encoding="utf-8").splitlines()
    table: dict[str, str] = {}
    for index, line in enumerate(lines):
        match = _KEY_ROW.match(line)
        if match is None:
            continue
        key = match.group("key")
        assert key not in table, f"'{key}' is listed twice in configuration.rst."
        cell = _DEFAULT_CELL.match(lines[index + 1])
        assert cell is not None, (
            f"The default of '{key}' in configuration.rst must be one literal,"
            f" such as ``None``, on the line after the key; found"
            f" {lines[index + 1].strip()!r}."
        )
        table[key] = cell.group("default")
    return table


def same_value(left: t.Any, right: t.Any) -> bool:
    """Equal and of the same types (``0`` is not ``False``, ``()`` not ``[]``)."""
    if type(left) is not type(right):
        return False
    if isinstance(left, (list, tuple)):
        return len(left) == len(right) and all(map(same_value, left, right))
    if isinstance(left, dict):
        return left.keys() == right.keys() and all(
            same_value(left[k], right[k]) for k in left
        )
    return bool(left == right)


def defaults_set_by_init_app() -> dict[str, t.Any]:
    """The config keys ``init_app`` adds to a fresh app, with their values."""
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite://"
    db = SQLAlchemy(app)
    before = dict(app.config)
    FlaskIntegrations(app, db=db)
    return {k: v for k, v in app.config.items() if k not in before}


def test_the_configuration_table_lists_every_key_with_its_default() -> None:
    actual = defaults_set_by_init_app()
    documented = documented_defaults()

    assert all(key.startswith("INTEGRATIONS_") for key in actual)
    assert sorted(documented) == sorted(actual), (
        "docs/configuration.rst must list exactly the keys init_app sets."
        f" Missing: {sorted(set(actual) - set(documented))};"
        f" not set by init_app: {sorted(set(documented) - set(actual))}."
    )
    for key, written in documented.items():
        try:
            value = ast.literal_eval(written)
        except (ValueError, SyntaxError):
            pytest.fail(f"The default of '{key}', ``{written}``, is not a literal.")
        assert same_value(value, actual[key]), (
            f"configuration.rst gives '{key}' the default ``{written}``,"
            f" but init_app sets {actual[key]!r}."
        )


# -- the quickstart ------------------------------------------------------------

QUICKSTART_APP = DOCS / "examples" / "quickstart" / "app.py"


@pytest.fixture
def quickstart(tmp_path: pathlib.Path) -> t.Iterator[t.Any]:
    """The quickstart's ``app.py``, saved in an empty folder and imported."""
    path = tmp_path / "app.py"
    path.write_text(QUICKSTART_APP.read_text(encoding="utf-8"), encoding="utf-8")
    spec = importlib.util.spec_from_file_location("docs_quickstart_app", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        del sys.modules[spec.name]


def _csrf_token(page: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert match is not None, "The page has no CSRF token."
    return match.group(1)


def test_the_quickstart_page_shows_the_tested_app() -> None:
    page = (DOCS / "quickstart.rst").read_text(encoding="utf-8")
    assert ".. literalinclude:: examples/quickstart/app.py" in page
    assert "[audit] ops saw a new ticket: Printer" in page


def test_the_quickstart_works_as_the_page_says(
    quickstart: t.Any, capsys: pytest.CaptureFixture[str]
) -> None:
    app = quickstart.create_app()
    client = app.test_client()
    try:
        # 1. The list shows the integration, without configurations.
        listing = client.get("/integrations/")
        assert listing.status_code == 200
        assert "Audit log" in listing.text
        assert "No configurations yet" in listing.text

        # 2. Add a configuration named 'ops'; the prefix starts from its default.
        add_url = "/integrations/acme.audit/configs/add/"
        page = client.get(add_url).text
        assert 'name="prefix" type="text" value="[audit]"' in page
        added = client.post(
            add_url,
            data={
                "csrf_token": _csrf_token(page),
                "name": "ops",
                "enabled": "y",
                "prefix": "[audit]",
            },
        )
        assert added.status_code == 302

        # 3. A new ticket prints a line.
        created = client.post("/tickets", data={"title": "Printer"})
        assert created.text == "Created the ticket 'Printer'.\n"
        assert capsys.readouterr().out == "[audit] ops saw a new ticket: Printer\n"

        # 4. Disabled, it prints nothing.
        listing = client.get("/integrations/").text
        toggle = re.search(
            r'action="(/integrations/acme.audit/configs/\d+/toggle/)', listing
        )
        assert toggle is not None
        disabled = client.post(
            toggle.group(1), data={"csrf_token": _csrf_token(listing)}
        )
        assert disabled.status_code == 302
        client.post("/tickets", data={"title": "Scanner"})
        assert capsys.readouterr().out == ""
    finally:
        with app.app_context():
            quickstart.db.engine.dispose()


# -- the README's quickstart ---------------------------------------------------

README = DOCS.parent / "README.md"


def readme_app_source() -> str:
    """The README's Python example (its first Python code block)."""
    text = README.read_text(encoding="utf-8")
    match = re.search(r"```python\n(.*?)```", text, re.DOTALL)
    assert match is not None, "The README has no Python example."
    return match.group(1)


def test_the_readme_example_works_as_it_says(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "app.py"
    path.write_text(readme_app_source(), encoding="utf-8")
    spec = importlib.util.spec_from_file_location("docs_readme_app", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
        client = module.app.test_client()
        add_url = "/integrations/acme.chat/configs/add/"
        assert "Acme Chat" in client.get("/integrations/").text
        page = client.get(add_url).text
        added = client.post(
            add_url,
            data={"csrf_token": _csrf_token(page), "name": "ops", "enabled": "y"},
        )
        assert added.status_code == 302

        client.post("/tickets", data={"title": "Printer"})

        assert capsys.readouterr().out == "post 'Printer' to ops\n"
        assert "`post 'Printer' to ops`" in README.read_text(encoding="utf-8")
    finally:
        del sys.modules[spec.name]
        with module.app.app_context():
            module.db.engine.dispose()
