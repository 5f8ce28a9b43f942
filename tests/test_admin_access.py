"""Who may use the admin pages, CSRF, configurations scoped to tenants, and the
routes, templates and static files an integration serves itself."""

from __future__ import annotations

import importlib
import sys
import types
import typing as t
import uuid
from urllib.parse import parse_qsl, urlsplit

import pytest
import sqlalchemy as sa
from flask import Flask, abort, g, redirect, request
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.wrappers import Response

from flask_integrations import FlaskIntegrations, Integration, IntegrationConfigMixin
from tests.test_admin_pages import (
    PREFIX,
    add_url,
    all_stored,
    create_config,
    create_orphan,
    delete_url,
    edit_url,
    form_values,
    parse,
    stored,
    submit,
    toggle_url,
)


class AccessChat(Integration):
    integration_id = "admin-access.chat"
    name = "Access Chat"


class AccessMail(Integration):
    integration_id = "admin-access.mail"
    name = "Access Mail"


CHAT = AccessChat.integration_id
MAIL = AccessMail.integration_id

#: For tests of routing and rendering only: one database backend is enough.
sqlite_only = pytest.mark.parametrize("backend", ["sqlite"])


# -- admin checks (also imported by name, as "module:attr") -------------------


def allow() -> bool:
    return True


def deny() -> bool:
    return False


def header_check() -> bool:
    """Lets in requests that carry ``X-Admin: yes``."""
    return request.headers.get("X-Admin") == "yes"


def redirect_to_login() -> Response:
    return redirect(f"/login?next={request.path}")


def abort_401() -> None:
    abort(401)


@pytest.fixture
def admin_required() -> t.Callable[[], t.Any] | None:
    """The ``admin_required`` keyword of the extension (parametrize to change)."""
    return allow


@pytest.fixture
def integrations(
    db: SQLAlchemy, admin_required: t.Callable[[], t.Any] | None
) -> FlaskIntegrations:
    extension = FlaskIntegrations(db=db, admin_required=admin_required)
    extension.register(AccessChat)
    extension.register(AccessMail)
    return extension


@pytest.fixture
def config_id(app: Flask, integrations: FlaskIntegrations) -> int:
    """An enabled configuration of the chat integration."""
    return create_config(app, integrations, CHAT, "Ops")


#: Every admin request, with ``{id}`` standing for an existing configuration.
ADMIN_REQUESTS = [
    ("get", f"{PREFIX}/"),
    ("get", add_url(CHAT)),
    ("post", add_url(CHAT)),
    ("get", edit_url(CHAT, "{id}")),
    ("post", edit_url(CHAT, "{id}")),
    ("post", toggle_url(CHAT, "{id}")),
    ("get", delete_url(CHAT, "{id}")),
    ("post", delete_url(CHAT, "{id}")),
]

ADMIN_REQUEST_IDS = [f"{method} {url}" for method, url in ADMIN_REQUESTS]


def send(
    client: t.Any, method: str, url: str, config_id: int, **kwargs: t.Any
) -> t.Any:
    return getattr(client, method)(
        url.replace("{id}", str(config_id)),
        data={"name": "Changed", "_version": "1"},
        **kwargs,
    )


# -- no admin check -----------------------------------------------------------


@pytest.mark.parametrize("admin_required", [None])
@pytest.mark.parametrize(("method", "url"), ADMIN_REQUESTS, ids=ADMIN_REQUEST_IDS)
def test_without_an_admin_check_every_page_is_403_and_says_how_to_open_it(
    app: Flask,
    client: t.Any,
    db: SQLAlchemy,
    integrations: FlaskIntegrations,
    config_id: int,
    method: str,
    url: str,
) -> None:
    before = all_stored(app, db, integrations)

    response = send(client, method, url, config_id)

    assert response.status_code == 403
    text = response.get_data(as_text=True)
    assert "admin_required" in text
    assert "INTEGRATIONS_ADMIN_CHECK" in text
    assert all_stored(app, db, integrations) == before


@sqlite_only
@pytest.mark.parametrize("admin_required", [None])
def test_without_an_admin_check_unknown_ids_are_403_too(
    app: Flask, client: t.Any
) -> None:
    assert client.get(add_url("admin-access.unknown")).status_code == 403
    assert client.get(edit_url(CHAT, 999)).status_code == 403


@sqlite_only
@pytest.mark.parametrize("admin_required", [None, deny])
def test_the_access_denied_page_gets_its_stylesheet(app: Flask, client: t.Any) -> None:
    page = parse(client.get(f"{PREFIX}/"))
    [stylesheet] = page.find_all("link", rel="stylesheet")

    with client.get(stylesheet.attrs["href"]) as response:
        assert response.status_code == 200


# -- ways to name the admin check ---------------------------------------------


@sqlite_only
@pytest.mark.parametrize("admin_required", [None])
@pytest.mark.parametrize(
    "app_config",
    [
        {"INTEGRATIONS_ADMIN_CHECK": header_check},
        {"INTEGRATIONS_ADMIN_CHECK": "tests.test_admin_access:header_check"},
    ],
    ids=["callable", "module:attr"],
)
def test_admin_check_from_the_config(app: Flask, client: t.Any, config_id: int) -> None:
    admin = {"X-Admin": "yes"}

    assert client.get(f"{PREFIX}/", headers=admin).status_code == 200
    assert client.get(edit_url(CHAT, config_id), headers=admin).status_code == 200
    denied = client.get(f"{PREFIX}/")
    assert denied.status_code == 403
    assert client.get(edit_url(CHAT, config_id)).status_code == 403


@sqlite_only
@pytest.mark.parametrize("admin_required", [deny])
@pytest.mark.parametrize("app_config", [{"INTEGRATIONS_ADMIN_CHECK": allow}])
def test_the_keyword_wins_over_the_config_key_when_denying(
    app: Flask, client: t.Any
) -> None:
    assert client.get(f"{PREFIX}/").status_code == 403


@sqlite_only
@pytest.mark.parametrize("admin_required", [allow])
@pytest.mark.parametrize("app_config", [{"INTEGRATIONS_ADMIN_CHECK": deny}])
def test_the_keyword_wins_over_the_config_key_when_allowing(
    app: Flask, client: t.Any
) -> None:
    assert client.get(f"{PREFIX}/").status_code == 200


@sqlite_only
@pytest.mark.parametrize("admin_required", [deny])
@pytest.mark.parametrize(("method", "url"), ADMIN_REQUESTS, ids=ADMIN_REQUEST_IDS)
def test_a_check_returning_false_is_403(
    app: Flask,
    client: t.Any,
    db: SQLAlchemy,
    integrations: FlaskIntegrations,
    config_id: int,
    method: str,
    url: str,
) -> None:
    before = all_stored(app, db, integrations)

    response = send(client, method, url, config_id)

    assert response.status_code == 403
    assert all_stored(app, db, integrations) == before


@sqlite_only
@pytest.mark.parametrize("admin_required", [redirect_to_login])
@pytest.mark.parametrize(("method", "url"), ADMIN_REQUESTS, ids=ADMIN_REQUEST_IDS)
def test_a_check_returning_a_redirect_sends_it(
    app: Flask,
    client: t.Any,
    db: SQLAlchemy,
    integrations: FlaskIntegrations,
    config_id: int,
    method: str,
    url: str,
) -> None:
    before = all_stored(app, db, integrations)

    response = send(client, method, url, config_id)

    assert response.status_code == 302
    path = url.replace("{id}", str(config_id))
    assert response.headers["Location"] == f"/login?next={path}"
    assert all_stored(app, db, integrations) == before


@sqlite_only
@pytest.mark.parametrize("admin_required", [abort_401])
@pytest.mark.parametrize(("method", "url"), ADMIN_REQUESTS, ids=ADMIN_REQUEST_IDS)
def test_a_check_that_aborts_decides_the_status(
    app: Flask,
    client: t.Any,
    db: SQLAlchemy,
    integrations: FlaskIntegrations,
    config_id: int,
    method: str,
    url: str,
) -> None:
    before = all_stored(app, db, integrations)

    response = send(client, method, url, config_id)

    assert response.status_code == 401
    assert all_stored(app, db, integrations) == before


# -- CSRF ---------------------------------------------------------------------


def list_toggle_form(client: t.Any, config_id: int) -> t.Any:
    page = parse(client.get(f"{PREFIX}/"))
    return next(
        form
        for form in page.find_all("form", method="post")
        if (form.attrs.get("action") or "").startswith(toggle_url(CHAT, config_id))
    )


def post_without_token(
    client: t.Any, action: str, config_id: int, token: str | None
) -> t.Any:
    """POST what the page's form would send, but with a missing or forged token."""
    if action == "add":
        changes = {"name": "Added", "csrf_token": token}
        return submit(client, add_url(CHAT), changes)
    if action == "edit":
        changes = {"name": "Changed", "csrf_token": token}
        return submit(client, edit_url(CHAT, config_id), changes)
    if action == "toggle":
        form = list_toggle_form(client, config_id)
        data = {**form_values(form), "csrf_token": token or ""}
        if token is None:
            del data["csrf_token"]
        return client.post(form.attrs["action"], data=data)
    data = {} if token is None else {"csrf_token": token}
    return client.post(delete_url(CHAT, config_id), data=data)


CSRF_ACTIONS = ["add", "edit", "toggle", "delete"]
FORGED_TOKENS = [None, "forged-token"]


class TestCsrf:
    """Flask-WTF's CSRF protection, on as in production."""

    @pytest.fixture
    def app(self, app: Flask) -> Flask:
        app.config["WTF_CSRF_ENABLED"] = True
        return app

    @pytest.mark.parametrize("token", FORGED_TOKENS, ids=["missing", "forged"])
    @pytest.mark.parametrize("action", CSRF_ACTIONS)
    def test_post_without_a_valid_csrf_token_changes_nothing(
        self,
        app: Flask,
        client: t.Any,
        db: SQLAlchemy,
        integrations: FlaskIntegrations,
        config_id: int,
        action: str,
        token: str | None,
    ) -> None:
        before = all_stored(app, db, integrations)

        response = post_without_token(client, action, config_id, token)

        assert response.status_code != 302
        assert all_stored(app, db, integrations) == before

    @pytest.mark.parametrize("token", FORGED_TOKENS, ids=["missing", "forged"])
    @pytest.mark.parametrize(
        "action",
        [action for action in CSRF_ACTIONS],
    )
    def test_post_without_a_valid_csrf_token_is_400(
        self, app: Flask, client: t.Any, config_id: int, action: str, token: str | None
    ) -> None:
        response = post_without_token(client, action, config_id, token)

        assert response.status_code == 400

    def test_posts_with_the_token_of_the_page_succeed(
        self,
        app: Flask,
        client: t.Any,
        db: SQLAlchemy,
        integrations: FlaskIntegrations,
        config_id: int,
    ) -> None:
        added = submit(client, add_url(CHAT), {"name": "Added"})
        assert added.status_code == 302
        assert [c["name"] for c in all_stored(app, db, integrations)] == [
            "Ops",
            "Added",
        ]

        edited = submit(client, edit_url(CHAT, config_id), {"name": "Edited"})
        assert edited.status_code == 302
        assert stored(app, db, integrations, config_id)["name"] == "Edited"  # type: ignore[index]

        form = list_toggle_form(client, config_id)
        assert "csrf_token" in form_values(form)
        toggled = client.post(form.attrs["action"], data=form_values(form))
        assert toggled.status_code == 302
        assert stored(app, db, integrations, config_id)["enabled"] is False  # type: ignore[index]

        page = parse(client.get(delete_url(CHAT, config_id)))
        form = page.find("form", method="post")
        assert "csrf_token" in form_values(form)
        deleted = client.post(
            form.attrs.get("action") or delete_url(CHAT, config_id),
            data=form_values(form),
        )
        assert deleted.status_code == 302
        assert stored(app, db, integrations, config_id) is None


# -- two tenants --------------------------------------------------------------


class TestTwoTenants:
    """A custom configuration model with an ``organization_id`` column, and a
    ``config_scope`` taken from the ``X-Org`` header of the request."""

    @pytest.fixture
    def org_model(self, db: SQLAlchemy) -> type[t.Any]:
        class OrgScopedConfig(IntegrationConfigMixin, db.Model):  # type: ignore[name-defined, misc]
            organization_id: Mapped[int | None] = mapped_column(
                nullable=True, index=True
            )

        return OrgScopedConfig

    @pytest.fixture
    def integrations(self, db: SQLAlchemy, org_model: type[t.Any]) -> FlaskIntegrations:
        extension = FlaskIntegrations(
            db=db,
            config_model=org_model,
            admin_required=allow,
            config_scope=lambda: {"organization_id": g.org},
        )
        extension.register(AccessChat)
        extension.register(AccessMail)
        return extension

    @pytest.fixture
    def app(self, app: Flask) -> Flask:
        @app.before_request
        def set_organization() -> None:
            g.org = int(request.headers.get("X-Org", "0"))

        return app

    @pytest.fixture
    def client(self, app: Flask) -> t.Any:
        """A user of organization 1."""
        client = app.test_client()
        client.environ_base["HTTP_X_ORG"] = "1"
        return client

    @pytest.fixture
    def configs(
        self, app: Flask, db: SQLAlchemy, integrations: FlaskIntegrations
    ) -> dict[str, int]:
        ids = {}
        for org in (1, 2):
            for integration_id, name in (
                (CHAT, f"org{org}-chat"),
                (MAIL, f"org{org}-mail"),
            ):
                config_id = create_config(app, integrations, integration_id, name)
                ids[name] = config_id
            orphan = create_orphan(app, db, integrations, f"org{org}-orphan")
            ids[f"org{org}-orphan"] = orphan
        with app.app_context():
            model = integrations.manager.config_model
            for name, config_id in ids.items():
                db.session.get(model, config_id).organization_id = int(name[3])
            db.session.commit()
        return ids

    def test_the_list_shows_only_the_tenants_configs(
        self, client: t.Any, configs: dict[str, int]
    ) -> None:
        for query in ({}, {"q": "org"}, {"q": "org2"}, {"q": "mail"}):
            html = client.get(f"{PREFIX}/", query_string=query).get_data(as_text=True)
            assert "org2-" not in html, query
        html = client.get(f"{PREFIX}/").get_data(as_text=True)
        assert all(name in html for name in ("org1-chat", "org1-mail", "org1-orphan"))
        other = client.get(f"{PREFIX}/", headers={"X-Org": "2"}).get_data(as_text=True)
        assert "org2-chat" in other and "org1-" not in other

    def test_other_tenants_configs_are_404_at_every_url(
        self,
        app: Flask,
        client: t.Any,
        db: SQLAlchemy,
        integrations: FlaskIntegrations,
        configs: dict[str, int],
    ) -> None:
        before = all_stored(app, db, integrations)
        requests = []
        for name, integration_id in (
            ("org2-chat", CHAT),
            ("org2-mail", MAIL),
            ("org2-orphan", "admin-pages.gone"),
        ):
            config_id = configs[name]
            requests += [
                ("get", edit_url(integration_id, config_id)),
                ("post", edit_url(integration_id, config_id)),
                ("post", toggle_url(integration_id, config_id)),
                ("get", delete_url(integration_id, config_id)),
                ("post", delete_url(integration_id, config_id)),
            ]

        for method, url in requests:
            response = getattr(client, method)(
                url, data={"name": "hijacked", "enabled": "y", "_version": "1"}
            )
            assert response.status_code == 404, (method, url)
            assert "org2-" not in response.get_data(as_text=True)

        assert all_stored(app, db, integrations) == before

    def test_the_tenant_can_use_its_own_configs(
        self,
        app: Flask,
        client: t.Any,
        db: SQLAlchemy,
        integrations: FlaskIntegrations,
        configs: dict[str, int],
    ) -> None:
        own = configs["org1-chat"]

        assert (
            submit(client, edit_url(CHAT, own), {"name": "org1-renamed"}).status_code
            == 302
        )
        assert client.post(toggle_url(CHAT, own)).status_code == 302
        assert stored(app, db, integrations, own) == {
            "integration_id": CHAT,
            "name": "org1-renamed",
            "enabled": False,
            "settings": {},
        }
        orphan = configs["org1-orphan"]
        assert client.post(delete_url("admin-pages.gone", orphan)).status_code == 302
        assert stored(app, db, integrations, orphan) is None
        assert stored(app, db, integrations, configs["org2-chat"])["enabled"] is True  # type: ignore[index]

    def test_added_configs_get_the_tenant(
        self,
        app: Flask,
        client: t.Any,
        db: SQLAlchemy,
        integrations: FlaskIntegrations,
    ) -> None:
        response = client.post(
            add_url(CHAT), data={"name": "new", "enabled": "y", "organization_id": "2"}
        )

        assert response.status_code == 302
        with app.app_context():
            model = integrations.manager.config_model
            [config] = db.session.scalars(sa.select(model)).all()
            assert (config.name, config.organization_id) == ("new", 1)
        other = parse(client.get(f"{PREFIX}/", headers={"X-Org": "2"}))
        assert "new" not in [a.text for a in other.find_all("a")]


# -- the integrations' own routes, templates and static files -----------------

PLUGIN_SOURCE = """\
from flask import render_template, request

from flask_integrations import Integration, route

RECEIVED = []


class PluginIntegration(Integration):
    integration_id = "admin-access.plugin"
    name = "Plugin"
    icon_static_urls = {"1x": "img/icon.svg", "2x": "img/icon@2x.svg"}
    config_template_name = "PACKAGE/config.html"

    @route("/hook", methods=["POST"])
    def hook(self):
        RECEIVED.append(request.get_json())
        return {"received": len(RECEIVED)}

    @route("/echo/<name>")
    def echo(self, name):
        return {"name": name, "args": request.args.to_dict()}

    @route("/pages/<name>")
    def page(self, name):
        return render_template("PACKAGE/page.html", integration=self, name=name)
"""

PLUGIN_PAGE = '<p id="plugin-page">{{ name }} of {{ integration.name }}</p>'
PLUGIN_CONFIG = (
    '{% extends "flask_integrations/config.html" %}'
    '{% block fields %}<p id="plugin-config">Plugin settings</p>{{ super() }}'
    "{% endblock %}"
)
PLUGIN_ICON = '<svg xmlns="http://www.w3.org/2000/svg" id="plugin-icon"></svg>'


@pytest.fixture
def plugin(
    tmp_path: t.Any, monkeypatch: pytest.MonkeyPatch
) -> t.Iterator[types.ModuleType]:
    """A package with an integration and its ``templates/`` and ``static/``."""
    package = f"fi_access_plugin_{uuid.uuid4().hex}"
    root = tmp_path / "plugins" / package
    (root / "templates" / package).mkdir(parents=True)
    (root / "static" / "img").mkdir(parents=True)
    (root / "__init__.py").write_text(PLUGIN_SOURCE.replace("PACKAGE", package))
    (root / "templates" / package / "page.html").write_text(PLUGIN_PAGE)
    (root / "templates" / package / "config.html").write_text(PLUGIN_CONFIG)
    (root / "static" / "img" / "icon.svg").write_text(PLUGIN_ICON)
    monkeypatch.syspath_prepend(str(tmp_path / "plugins"))
    module = importlib.import_module(package)
    yield module
    sys.modules.pop(package, None)


PLUGIN = "admin-access.plugin"
HOOK_URL = f"{PREFIX}/{PLUGIN}/hook"
ICON_URL = f"{PREFIX}/{PLUGIN}/static/img/icon.svg"


@pytest.fixture
def protected_app(
    request: pytest.FixtureRequest,
    database_url: str,
    db: SQLAlchemy,
    integrations: FlaskIntegrations,
) -> t.Iterator[Flask]:
    """An app with Flask-WTF's CSRFProtect on every POST, set up before or
    after the extension (``request.param``)."""
    app = Flask("protected_app")
    app.config.update(
        TESTING=True,
        SECRET_KEY="test secret key",
        SQLALCHEMY_DATABASE_URI=database_url,
        WTF_CSRF_ENABLED=True,
    )
    csrf = CSRFProtect()
    if request.param == "before":
        csrf.init_app(app)
    db.init_app(app)
    integrations.init_app(app)
    if request.param == "after":
        csrf.init_app(app)

    @app.post("/app-form")
    def app_form() -> str:
        return "saved"

    with app.app_context():
        db.create_all()
    yield app
    with app.app_context():
        db.session.remove()
        db.drop_all()
        for engine in db.engines.values():
            engine.dispose()


@pytest.mark.parametrize("admin_required", [deny, None])
@pytest.mark.parametrize("protected_app", ["before", "after"], indirect=True)
def test_integration_route_skips_the_admin_check_and_csrf(
    protected_app: Flask, integrations: FlaskIntegrations, plugin: types.ModuleType
) -> None:
    integrations.register(plugin.PluginIntegration)
    client = protected_app.test_client()

    response = client.post(HOOK_URL, json={"event": "push"})

    assert response.status_code == 200
    assert response.get_json() == {"received": 1}
    assert plugin.RECEIVED == [{"event": "push"}]
    # The admin check and CSRF are on for everything else.
    assert client.get(f"{PREFIX}/").status_code == 403
    assert client.post("/app-form").status_code == 400
    # The route keeps its own methods.
    assert client.get(HOOK_URL).status_code == 405
    assert plugin.RECEIVED == [{"event": "push"}]


@sqlite_only
@pytest.mark.parametrize("admin_required", [deny])
def test_integration_static_files_skip_the_admin_check(
    app: Flask,
    client: t.Any,
    integrations: FlaskIntegrations,
    plugin: types.ModuleType,
) -> None:
    integrations.register(plugin.PluginIntegration)

    with client.get(ICON_URL) as response:
        assert response.status_code == 200
        assert b'id="plugin-icon"' in response.data
    with client.get(f"{PREFIX}/{PLUGIN}/static/img/missing.svg") as response:
        assert response.status_code == 404
    with client.get(f"{PREFIX}/{PLUGIN}/static/../__init__.py") as response:
        assert response.status_code == 404


@sqlite_only
def test_url_for_builds_the_integration_urls(
    app: Flask, integrations: FlaskIntegrations, plugin: types.ModuleType
) -> None:
    with app.app_context():
        integrations.register(plugin.PluginIntegration)
    with app.test_request_context():
        integration = integrations.manager.get_integration(PLUGIN)

        assert integration.url_for("hook") == HOOK_URL
        assert integration.url_for("page", name="welcome") == (
            f"{PREFIX}/{PLUGIN}/pages/welcome"
        )
        assert integration.url_for("static", filename="img/icon.svg") == ICON_URL
        assert integration.url_for("hook", _external=True) == (
            f"http://localhost{HOOK_URL}"
        )


@sqlite_only
@pytest.mark.parametrize(
    ("values", "expected_path", "expected_name", "expected_args"),
    [
        ({"name": "x y"}, "/echo/x%20y", "x y", {}),
        ({"name": "café"}, "/echo/caf%C3%A9", "café", {}),
        ({"name": "x", "q": "a b"}, "/echo/x", "x", {"q": "a b"}),
    ],
    ids=["space", "non-ascii", "query"],
)
def test_url_for_quotes_values_once(
    app: Flask,
    client: t.Any,
    integrations: FlaskIntegrations,
    plugin: types.ModuleType,
    values: dict[str, str],
    expected_path: str,
    expected_name: str,
    expected_args: dict[str, str],
) -> None:
    with app.app_context():
        integrations.register(plugin.PluginIntegration)
    with app.test_request_context():
        integration = integrations.manager.get_integration(PLUGIN)
        url = integration.url_for("echo", **values)

    parts = urlsplit(url)
    assert parts.path == f"{PREFIX}/{PLUGIN}{expected_path}"
    assert dict(parse_qsl(parts.query)) == expected_args
    assert client.get(url).get_json() == {"name": expected_name, "args": expected_args}


@sqlite_only
def test_urls_built_by_url_for_answer(
    app: Flask,
    client: t.Any,
    integrations: FlaskIntegrations,
    plugin: types.ModuleType,
) -> None:
    with app.app_context():
        integrations.register(plugin.PluginIntegration)
    with app.test_request_context():
        integration = integrations.manager.get_integration(PLUGIN)
        page_url = integration.url_for("page", name="welcome")
        hook_url = integration.url_for("hook")

    page = client.get(page_url)
    assert page.status_code == 200
    assert parse(page).find(id="plugin-page").text == "welcome of Plugin"
    assert client.post(hook_url, json={}).status_code == 200
    assert client.get(f"{PREFIX}/{PLUGIN}/nowhere").status_code == 404


def test_integration_registered_after_the_first_request_is_served(
    app: Flask,
    client: t.Any,
    integrations: FlaskIntegrations,
    plugin: types.ModuleType,
) -> None:
    assert client.get(f"{PREFIX}/").status_code == 200
    assert client.post(HOOK_URL, json={}).status_code == 404

    integrations.register(plugin.PluginIntegration)

    assert client.post(HOOK_URL, json={"n": 1}).status_code == 200
    assert plugin.RECEIVED == [{"n": 1}]
    with client.get(ICON_URL) as response:
        assert response.status_code == 200
    assert client.get(add_url(PLUGIN)).status_code == 200
    page = parse(client.get(f"{PREFIX}/"))
    page.find("img", src=ICON_URL)


def test_unregistered_integration_routes_and_files_are_404(
    app: Flask,
    client: t.Any,
    integrations: FlaskIntegrations,
    plugin: types.ModuleType,
) -> None:
    integrations.register(plugin.PluginIntegration)
    assert client.post(HOOK_URL, json={}).status_code == 200
    with client.get(ICON_URL) as response:
        assert response.status_code == 200

    integrations.unregister(plugin.PluginIntegration)

    assert client.post(HOOK_URL, json={}).status_code == 404
    assert client.get(f"{PREFIX}/{PLUGIN}/pages/welcome").status_code == 404
    with client.get(ICON_URL) as response:
        assert response.status_code == 404
    assert client.get(add_url(PLUGIN)).status_code == 404
    assert plugin.RECEIVED == [{}]


def test_integration_templates_folder_is_searched(
    app: Flask,
    client: t.Any,
    db: SQLAlchemy,
    integrations: FlaskIntegrations,
    plugin: types.ModuleType,
) -> None:
    integrations.register(plugin.PluginIntegration)

    page = parse(client.get(f"{PREFIX}/{PLUGIN}/pages/welcome"))
    assert page.find(id="plugin-page").text == "welcome of Plugin"

    # Its config_template_name lives in its own templates/ folder.
    add_page = parse(client.get(add_url(PLUGIN)))
    assert add_page.find(id="plugin-config").text == "Plugin settings"
    assert submit(client, add_url(PLUGIN), {"name": "p"}).status_code == 302
    [config] = all_stored(app, db, integrations)
    edit_page = parse(client.get(edit_url(PLUGIN, config["id"])))
    assert edit_page.find(id="plugin-config").text == "Plugin settings"
