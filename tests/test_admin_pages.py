"""The admin pages under ``/integrations/``, driven through the test client:
list, add, edit, toggle and delete; secrets, escaping and history."""

from __future__ import annotations

import contextlib
import json
import typing as t
from html.parser import HTMLParser

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from jinja2 import ChoiceLoader, DictLoader
from wtforms import PasswordField, StringField
from wtforms.validators import URL, InputRequired, Length

from flask_integrations import (
    Fieldset,
    FlaskIntegrations,
    Integration,
    IntegrationConfigForm,
)

PREFIX = "/integrations"
XSS = "<script>alert(1)</script>"
XSS_ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"

#: For tests of routing and rendering only: one database backend is enough.
sqlite_only = pytest.mark.parametrize("backend", ["sqlite"])

#: A stored secret long enough (16+) to get a "set, ends in …" hint.
STORED_TOKEN = "tok-stored-0123456789-WXYZ"
#: A stored secret too short for a hint with its end.
STORED_KEY = "short-key"


# -- integrations under test --------------------------------------------------


class ChatForm(IntegrationConfigForm):
    webhook_url = StringField(
        "Webhook URL", validators=[InputRequired(), URL(require_tld=False)]
    )
    channel = StringField("Channel", validators=[Length(max=40)])

    fieldsets = (Fieldset("Delivery", ("webhook_url", "channel"), "Where to post."),)


class PagesChat(Integration):
    integration_id = "admin-pages.chat"
    name = "Pages Chat"
    description = "Posts to a chat channel."
    default_settings = {"channel": "#general"}
    config_form_cls = ChatForm
    icon_static_urls = {"1x": "icons/chat.png", "2x": "icons/chat@2x.png"}


class VaultForm(IntegrationConfigForm):
    api_token = PasswordField("API token", validators=[InputRequired()])
    signing_key = StringField("Signing key")
    region = StringField("Region")

    secret_fields = ("signing_key",)


class PagesVault(Integration):
    integration_id = "admin-pages.vault"
    name = "Pages Vault"
    description = "Keeps credentials."
    config_form_cls = VaultForm
    icon_static_urls = {
        "1x": "https://cdn.example.com/vault.png",
        "2x": "/assets/vault@2x.png",
    }


def add_url(integration_id: str) -> str:
    return f"{PREFIX}/{integration_id}/configs/add/"


def edit_url(integration_id: str, config_id: t.Any) -> str:
    return f"{PREFIX}/{integration_id}/configs/{config_id}/"


def toggle_url(integration_id: str, config_id: t.Any) -> str:
    return f"{PREFIX}/{integration_id}/configs/{config_id}/toggle/"


def delete_url(integration_id: str, config_id: t.Any) -> str:
    return f"{PREFIX}/{integration_id}/configs/{config_id}/delete/"


CHAT = PagesChat.integration_id
VAULT = PagesVault.integration_id


@pytest.fixture
def integrations(db: SQLAlchemy) -> FlaskIntegrations:
    """The extension with the pages open, and the two integrations above."""
    extension = FlaskIntegrations(db=db, admin_required=lambda: True)
    extension.register(PagesChat)
    extension.register(PagesVault)
    return extension


# -- helpers ------------------------------------------------------------------


def register(app: Flask, integrations: FlaskIntegrations, cls: type) -> None:
    """Register ``cls`` so that the app's manager has it at once."""
    with app.app_context():
        integrations.register(cls)


def create_config(
    app: Flask,
    integrations: FlaskIntegrations,
    integration_id: str,
    name: str | None,
    enabled: bool = True,
    **settings: t.Any,
) -> int:
    """Store a configuration from code; return its id."""
    with app.app_context():
        integration = integrations.manager.get_integration(integration_id)
        config = integration.create_config(
            save=True, name=name, enabled=enabled, settings=settings
        )
        return t.cast(int, config.id)


def create_orphan(
    app: Flask, db: SQLAlchemy, integrations: FlaskIntegrations, name: str
) -> int:
    """Store a configuration of an integration that is not registered."""
    with app.app_context():
        model = integrations.manager.config_model
        config = model(integration_id="admin-pages.gone", name=name, enabled=True)
        db.session.add(config)
        db.session.commit()
        return t.cast(int, config.id)


def settings_of(config: t.Any) -> dict[str, t.Any]:
    """The stored settings of ``config`` as the integration reads them
    (secrets in clear, however they are kept at rest)."""
    return {name: config.get(name) for name in config.settings}


def stored(
    app: Flask, db: SQLAlchemy, integrations: FlaskIntegrations, config_id: int
) -> dict[str, t.Any] | None:
    """The stored row of a configuration, read with a fresh session."""
    with app.app_context():
        config = db.session.get(integrations.manager.config_model, config_id)
        if config is None:
            return None
        return {
            "integration_id": config.integration_id,
            "name": config.name,
            "enabled": config.enabled,
            "settings": settings_of(config),
        }


def all_stored(
    app: Flask, db: SQLAlchemy, integrations: FlaskIntegrations
) -> list[dict[str, t.Any]]:
    with app.app_context():
        model = integrations.manager.config_model
        configs = db.session.scalars(sa.select(model).order_by(model.id)).all()
        return [
            {
                "id": c.id,
                "integration_id": c.integration_id,
                "name": c.name,
                "enabled": c.enabled,
                "settings": settings_of(c),
            }
            for c in configs
        ]


def history_rows(app: Flask, db: SQLAlchemy) -> list[dict[str, t.Any]]:
    """Every row of ``flask_integrations_history``, oldest first."""
    with app.app_context():
        rows = db.session.execute(
            sa.text(
                "SELECT config_id, config_name, action, actor, changes"
                " FROM flask_integrations_history ORDER BY id"
            )
        ).mappings()
        result = []
        for row in rows:
            entry = dict(row)
            if isinstance(entry["changes"], str):
                entry["changes"] = json.loads(entry["changes"])
            result.append(entry)
        return result


def integration_enabled(
    app: Flask, integrations: FlaskIntegrations, integration_id: str
) -> bool:
    with app.app_context():
        return integrations.manager.get_integration(integration_id).enabled


# -- a small HTML tree, to look at pages the way a user does ------------------

VOID_ELEMENTS = frozenset(
    "area base br col embed hr img input link meta source track wbr".split()
)


class Node:
    """An element of a parsed page."""

    def __init__(self, tag: str, attrs: dict[str, str | None], parent: Node | None):
        self.tag = tag
        self.attrs = attrs
        self.parent = parent
        self.children: list[Node | str] = []

    def iter(self) -> t.Iterator[Node]:
        yield self
        for child in self.children:
            if isinstance(child, Node):
                yield from child.iter()

    def find_all(self, tag: str | None = None, **attrs: str) -> list[Node]:
        """Elements under this one with ``tag`` and these attribute values
        (``class_`` matches one of the classes)."""
        found = []
        for node in self.iter():
            if node is self or (tag is not None and node.tag != tag):
                continue
            if all(node.matches(name, value) for name, value in attrs.items()):
                found.append(node)
        return found

    def find(self, tag: str | None = None, **attrs: str) -> Node:
        found = self.find_all(tag, **attrs)
        assert found, f"no <{tag or '*'} {attrs}> in the page"
        return found[0]

    def matches(self, name: str, value: str) -> bool:
        if name == "class_":
            return value in (self.attrs.get("class") or "").split()
        return self.attrs.get(name.replace("_", "-")) == value

    def closest(self, tag: str, class_: str | None = None) -> Node:
        node = self.parent
        while node is not None:
            if node.tag == tag and (class_ is None or node.matches("class_", class_)):
                return node
            node = node.parent
        raise AssertionError(f"<{self.tag}> is not inside a <{tag} class={class_}>")

    @property
    def text(self) -> str:
        parts: list[str] = []
        for child in self.children:
            parts.append(child.text if isinstance(child, Node) else child)
        return " ".join("".join(parts).split())


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {}, None)
        self.current = self.root

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, dict(attrs), self.current)
        self.current.children.append(node)
        if tag not in VOID_ELEMENTS:
            self.current = node

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.current.children.append(Node(tag, dict(attrs), self.current))

    def handle_endtag(self, tag: str) -> None:
        node: Node | None = self.current
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.current = node.parent

    def handle_data(self, data: str) -> None:
        self.current.children.append(data)


def parse(response: t.Any) -> Node:
    builder = _TreeBuilder()
    builder.feed(response.get_data(as_text=True))
    builder.close()
    return builder.root


def field_block(page: Node, field_id: str) -> Node:
    """The block holding a form field with its label, help and errors."""
    return page.find(id=field_id).closest("div", "fi-field")


def headings(page: Node) -> list[str]:
    return [h.text for h in page.find_all("h2")]


def form_values(form: Node) -> dict[str, str]:
    """What a browser would send for ``form`` as it stands."""
    values = {}
    for field in form.find_all("input"):
        name = field.attrs.get("name")
        kind = (field.attrs.get("type") or "text").lower()
        if not name or kind in ("submit", "button", "reset", "image", "file"):
            continue
        if kind in ("checkbox", "radio") and "checked" not in field.attrs:
            continue
        values[name] = field.attrs.get("value") or ""
    return values


def submit(
    client: t.Any,
    url: str,
    changes: t.Mapping[str, str | None],
    query_string: t.Mapping[str, str] | None = None,
) -> t.Any:
    """Open the configuration page at ``url``, change its form like a user
    (``None`` unticks or clears a field away) and send it."""
    page = parse(client.get(url, query_string=query_string))
    form = next(
        f for f in page.find_all("form", method="post") if f.find_all(name="name")
    )
    data = form_values(form)
    for name, value in changes.items():
        if value is None:
            data.pop(name, None)
        else:
            data[name] = value
    action = form.attrs.get("action")
    if action:
        return client.post(action, data=data)
    return client.post(url, query_string=query_string, data=data)


# -- list page ----------------------------------------------------------------


def test_list_shows_integrations_sorted_by_name_and_survives_a_missing_name(
    app: Flask, client: t.Any, integrations: FlaskIntegrations
) -> None:
    class Banana(Integration):
        integration_id = "admin-pages.sort-banana"
        name = "banana"

    class Apple(Integration):
        integration_id = "admin-pages.sort-apple"
        name = "Apple"

    class Nameless(Integration):
        integration_id = "admin-pages.sort-nameless"
        name = None
        icon_static_urls = None  # type: ignore[assignment]

    for cls in (Banana, Nameless, Apple):
        integrations.register(cls)

    response = client.get(f"{PREFIX}/")

    assert response.status_code == 200
    titles = headings(parse(response))
    named = [
        title
        for title in titles
        if title in {"Apple", "banana", "Pages Chat", "Pages Vault"}
    ]
    assert named == ["Apple", "banana", "Pages Chat", "Pages Vault"]
    assert "admin-pages.sort-nameless" in titles


@sqlite_only
def test_list_icon_has_1x_src_and_2x_srcset(app: Flask, client: t.Any) -> None:
    page = parse(client.get(f"{PREFIX}/"))

    chat_icon = page.find("img", src=f"{PREFIX}/{CHAT}/static/icons/chat.png")
    srcset = [part.strip() for part in (chat_icon.attrs["srcset"] or "").split(",")]
    assert f"{PREFIX}/{CHAT}/static/icons/chat@2x.png 2x" in srcset
    assert f"{PREFIX}/{CHAT}/static/icons/chat.png 1x" in srcset

    # URLs (absolute, or starting with "/") are used as they are.
    vault_icon = page.find("img", src="https://cdn.example.com/vault.png")
    assert "/assets/vault@2x.png 2x" in (vault_icon.attrs["srcset"] or "")


@sqlite_only
def test_list_icon_from_a_property(
    app: Flask, client: t.Any, integrations: FlaskIntegrations
) -> None:
    class PropertyIcon(Integration):
        integration_id = "admin-pages.property-icon"
        name = "Property icon"

        @property
        def icon_static_urls(self) -> dict[str, str]:  # type: ignore[override]
            return {"1x": f"logo-{self.integration_id}.svg"}

    integrations.register(PropertyIcon)

    page = parse(client.get(f"{PREFIX}/"))

    page.find(
        "img",
        src=f"{PREFIX}/admin-pages.property-icon/static/"
        "logo-admin-pages.property-icon.svg",
    )


@sqlite_only
def test_list_default_icon_when_none(
    app: Flask, client: t.Any, integrations: FlaskIntegrations
) -> None:
    class NoIcon(Integration):
        integration_id = "admin-pages.no-icon"
        name = "No icon"

    integrations.register(NoIcon)

    page = parse(client.get(f"{PREFIX}/"))

    heading = next(h for h in page.find_all("h2") if h.text == "No icon")
    icon = heading.closest("div", "fi-integration-header").find("img")
    src = icon.attrs["src"] or ""
    assert src.endswith("default-icon.svg")
    # The default icon is served.
    with client.get(src) as served:
        assert served.status_code == 200
        assert b"<svg" in served.data


@sqlite_only
def test_list_without_integrations_shows_the_register_snippet(
    app: Flask, client: t.Any, integrations: FlaskIntegrations
) -> None:
    integrations.unregister(PagesChat)
    integrations.unregister(PagesVault)

    response = client.get(f"{PREFIX}/")

    assert response.status_code == 200
    code = parse(response).find("code").text
    assert "@integrations.register" in code
    assert "(Integration)" in code


@sqlite_only
def test_list_without_configs_explains_and_offers_add(
    app: Flask, client: t.Any
) -> None:
    page = parse(client.get(f"{PREFIX}/"))

    heading = next(h for h in page.find_all("h2") if h.text == "Pages Chat")
    section = heading.closest("section")
    assert "No configurations yet" in section.text
    section.find("a", href=add_url(CHAT))


def test_list_shows_configs_with_actions(
    app: Flask, client: t.Any, integrations: FlaskIntegrations
) -> None:
    on = create_config(app, integrations, CHAT, "ops", webhook_url="http://x")
    off = create_config(app, integrations, CHAT, "dev", enabled=False)

    page = parse(client.get(f"{PREFIX}/"))

    ops_row = page.find("a", href=edit_url(CHAT, on)).closest("tr")
    assert "ops" in ops_row.text and "Enabled" in ops_row.text
    toggle = ops_row.find("form", method="post")
    assert (toggle.attrs["action"] or "").startswith(toggle_url(CHAT, on))
    assert "Disable" in toggle.text
    ops_row.find("a", href=delete_url(CHAT, on))

    dev_row = page.find("a", href=edit_url(CHAT, off)).closest("tr")
    assert "Disabled" in dev_row.text
    assert "Enable" in dev_row.find("form").text


def test_list_filter_is_server_side(
    app: Flask, client: t.Any, integrations: FlaskIntegrations
) -> None:
    create_config(app, integrations, CHAT, "Ops alerts")
    create_config(app, integrations, CHAT, "dev")
    create_config(app, integrations, VAULT, "ops vault")
    create_config(app, integrations, VAULT, "50% off")
    create_config(app, integrations, VAULT, "500 errors")

    response = client.get(f"{PREFIX}/", query_string={"q": "OPS"})
    text = response.get_data(as_text=True)
    page = parse(response)

    assert "Ops alerts" in text and "ops vault" in text
    assert "dev" not in [a.text for a in page.find_all("a")]
    assert page.find("input", name="q").attrs["value"] == "OPS"

    # "%" is a character, not a wildcard.
    text = client.get(f"{PREFIX}/", query_string={"q": "50%"}).get_data(as_text=True)
    assert "50% off" in text
    assert "500 errors" not in text

    # An integration id matches too; integrations without a match are hidden.
    page = parse(client.get(f"{PREFIX}/", query_string={"q": "vault"}))
    assert headings(page) == ["Pages Vault"]


def test_list_paginates_with_the_page_size(
    app: Flask, client: t.Any, integrations: FlaskIntegrations
) -> None:
    app.config["INTEGRATIONS_PAGE_SIZE"] = 5
    for number in range(1, 13):
        create_config(app, integrations, CHAT, f"cfg-{number:02}")

    def shown(page_number: t.Any) -> list[str]:
        response = client.get(f"{PREFIX}/", query_string={"page": page_number})
        assert response.status_code == 200
        return [
            a.text for a in parse(response).find_all("a") if a.text.startswith("cfg-")
        ]

    assert shown(1) == [f"cfg-{n:02}" for n in range(1, 6)]
    assert shown(2) == [f"cfg-{n:02}" for n in range(6, 11)]
    assert shown(3) == ["cfg-11", "cfg-12"]
    assert shown(99) == ["cfg-11", "cfg-12"]
    assert shown("nonsense") == shown(1)

    page = parse(client.get(f"{PREFIX}/", query_string={"page": 2}))
    assert page.find("a", rel="next").attrs["href"].endswith("page=3")  # type: ignore[union-attr]
    assert page.find("a", rel="prev").attrs["href"].endswith("page=1")  # type: ignore[union-attr]
    assert "Page 2 of 3" in page.find("nav", class_="fi-pagination").text


def test_list_pagination_keeps_the_filter(
    app: Flask, client: t.Any, integrations: FlaskIntegrations
) -> None:
    app.config["INTEGRATIONS_PAGE_SIZE"] = 2
    for number in range(1, 6):
        create_config(app, integrations, CHAT, f"match-{number}")
        create_config(app, integrations, CHAT, f"other-{number}")

    page = parse(client.get(f"{PREFIX}/", query_string={"q": "match"}))

    assert "Page 1 of 3" in page.find("nav", class_="fi-pagination").text
    next_href = page.find("a", rel="next").attrs["href"] or ""
    page_2 = parse(client.get(next_href))
    names = [
        a.text for a in page_2.find_all("a") if a.text.startswith(("match-", "other-"))
    ]
    assert names == ["match-3", "match-4"]


def test_list_shows_a_failed_integration_with_its_error(
    app: Flask, client: t.Any, integrations: FlaskIntegrations
) -> None:
    class Broken(Integration):
        integration_id = "admin-pages.broken"
        name = "Broken"

        def initialize(self) -> None:
            raise RuntimeError("cannot reach <b>the server</b>")

    register(app, integrations, Broken)
    create_config(app, integrations, Broken.integration_id, "doomed")
    create_config(app, integrations, CHAT, "healthy")

    response = client.get(f"{PREFIX}/")

    assert response.status_code == 200
    page = parse(response)
    heading = next(h for h in page.find_all("h2") if h.text == "Broken")
    section = heading.closest("section")
    assert "RuntimeError: cannot reach <b>the server</b>" in section.text
    assert "<b>the server</b>" not in response.get_data(as_text=True)
    # The other integrations keep working.
    assert "healthy" in response.get_data(as_text=True)
    assert integration_enabled(app, integrations, CHAT)


def test_orphan_configs_are_listed_as_unavailable_and_deletable(
    app: Flask, client: t.Any, db: SQLAlchemy, integrations: FlaskIntegrations
) -> None:
    orphan = create_orphan(app, db, integrations, "left behind")

    page = parse(client.get(f"{PREFIX}/"))
    heading = next(h for h in page.find_all("h2") if h.text == "Unavailable")
    section = heading.closest("section")
    assert "left behind" in section.text
    assert "admin-pages.gone" in section.text
    link = section.find("a", href=delete_url("admin-pages.gone", orphan))

    confirm = client.get(link.attrs["href"])
    assert confirm.status_code == 200
    assert "left behind" in confirm.get_data(as_text=True)

    response = client.post(link.attrs["href"])
    assert response.status_code == 302
    assert stored(app, db, integrations, orphan) is None
    page = parse(client.get(f"{PREFIX}/"))
    assert "Unavailable" not in headings(page)
    assert not page.find_all("a", href=link.attrs["href"])


def test_configs_of_an_unregistered_integration_become_unavailable(
    app: Flask, client: t.Any, db: SQLAlchemy, integrations: FlaskIntegrations
) -> None:
    config_id = create_config(app, integrations, VAULT, "kept", api_token="x")

    integrations.unregister(PagesVault)

    page = parse(client.get(f"{PREFIX}/"))
    assert "Pages Vault" not in headings(page)
    heading = next(h for h in page.find_all("h2") if h.text == "Unavailable")
    assert "kept" in heading.closest("section").text
    assert client.get(edit_url(VAULT, config_id)).status_code == 404
    assert client.post(delete_url(VAULT, config_id)).status_code == 302
    assert stored(app, db, integrations, config_id) is None


def test_list_runs_a_constant_number_of_queries(
    app: Flask,
    client: t.Any,
    db: SQLAlchemy,
    integrations: FlaskIntegrations,
    count_queries: t.Any,
) -> None:
    app.config["INTEGRATIONS_PAGE_SIZE"] = 100

    def queries_for_list() -> int:
        client.get(f"{PREFIX}/")  # catch up with the changes first
        with contextlib.ExitStack() as stack:
            with app.app_context():
                counter = stack.enter_context(count_queries())
            response = client.get(f"{PREFIX}/")
            assert response.status_code == 200
            return len(counter)

    create_config(app, integrations, CHAT, "config-00", webhook_url="http://x")
    with_one = queries_for_list()

    for number in range(1, 30):
        integration_id = CHAT if number % 3 else VAULT
        create_config(app, integrations, integration_id, f"config-{number:02}")
    create_orphan(app, db, integrations, "config-orphan")
    response = client.get(f"{PREFIX}/")
    assert all(f"config-{n:02}" in response.get_data(as_text=True) for n in range(30))
    with_thirty = queries_for_list()

    assert with_one > 0
    assert with_thirty == with_one


# -- add page -----------------------------------------------------------------


@sqlite_only
def test_add_page_shows_fieldsets_defaults_and_enabled(
    app: Flask, client: t.Any
) -> None:
    response = client.get(add_url(CHAT))

    assert response.status_code == 200
    page = parse(response)
    legends = [legend.text for legend in page.find_all("legend")]
    assert legends == ["Basic information", "Delivery"]
    basic, delivery = page.find_all("fieldset")
    assert basic.find_all("input", name="name") and basic.find_all(
        "input", name="enabled"
    )
    assert delivery.find_all("input", name="webhook_url")
    assert "Where to post." in delivery.text
    assert page.find("input", name="channel").attrs["value"] == "#general"
    assert "checked" in page.find("input", name="enabled").attrs
    assert page.find("form", method="post")


def test_add_saves_flashes_and_redirects_to_the_list(
    app: Flask, client: t.Any, db: SQLAlchemy, integrations: FlaskIntegrations
) -> None:
    response = client.post(
        add_url(CHAT),
        data={
            "name": "Ops",
            "enabled": "y",
            "webhook_url": "https://chat.example.com/hook",
            "channel": "#ops",
        },
    )

    assert response.status_code == 302
    assert response.headers["Location"] == f"{PREFIX}/"
    [config] = all_stored(app, db, integrations)
    assert config["integration_id"] == CHAT
    assert config["name"] == "Ops"
    assert config["enabled"] is True
    assert config["settings"] == {
        "webhook_url": "https://chat.example.com/hook",
        "channel": "#ops",
    }
    assert integration_enabled(app, integrations, CHAT)
    flashes = parse(client.get(f"{PREFIX}/")).find_all(class_="fi-flash")
    assert [f.text for f in flashes] == ["Added “Ops”."]


def test_add_disabled_leaves_the_integration_disabled(
    app: Flask, client: t.Any, db: SQLAlchemy, integrations: FlaskIntegrations
) -> None:
    response = client.post(
        add_url(CHAT), data={"name": "Off", "webhook_url": "https://x.example.com"}
    )

    assert response.status_code == 302
    [config] = all_stored(app, db, integrations)
    assert config["enabled"] is False
    assert not integration_enabled(app, integrations, CHAT)


@sqlite_only
@pytest.mark.parametrize("target", ["/dashboard", "/integrations/?q=ops", "/a/b#frag"])
def test_add_redirects_to_a_safe_next(app: Flask, client: t.Any, target: str) -> None:
    data = {"name": "n", "webhook_url": "https://x.example.com"}

    from_query = client.post(add_url(CHAT), query_string={"next": target}, data=data)
    from_form = client.post(add_url(CHAT), data={**data, "next": target})

    assert from_query.status_code == from_form.status_code == 302
    assert from_query.headers["Location"] == target
    assert from_form.headers["Location"] == target


UNSAFE_NEXT = [
    "//evil.com",
    "//evil.com/integrations/",
    "https://evil.com",
    "http://evil.com/",
    "/\\evil.com",
    "\\\\evil.com",
    "javascript:alert(1)",
    "evil.com",
    "/\t/evil.com",
    "///evil.com",
]


@sqlite_only
@pytest.mark.parametrize("target", UNSAFE_NEXT)
def test_add_ignores_an_unsafe_next(
    app: Flask,
    client: t.Any,
    db: SQLAlchemy,
    integrations: FlaskIntegrations,
    target: str,
) -> None:
    data = {"name": "n", "webhook_url": "https://x.example.com"}

    from_query = client.post(add_url(CHAT), query_string={"next": target}, data=data)
    from_form = client.post(add_url(CHAT), data={**data, "next": target})

    assert from_query.headers["Location"] == f"{PREFIX}/"
    assert from_form.headers["Location"] == f"{PREFIX}/"
    assert len(all_stored(app, db, integrations)) == 2


@sqlite_only
@pytest.mark.parametrize("target", UNSAFE_NEXT)
def test_add_page_does_not_carry_an_unsafe_next(
    app: Flask, client: t.Any, target: str
) -> None:
    page = parse(client.get(add_url(CHAT), query_string={"next": target}))

    assert not page.find_all("input", name="next")
    cancel = next(a for a in page.find_all("a") if a.text == "Cancel")
    assert cancel.attrs["href"] == f"{PREFIX}/"


@sqlite_only
def test_add_page_carries_a_safe_next(app: Flask, client: t.Any) -> None:
    page = parse(client.get(add_url(CHAT), query_string={"next": "/dashboard"}))

    assert page.find("input", name="next").attrs["value"] == "/dashboard"


def test_invalid_add_rerenders_with_errors_and_typed_values(
    app: Flask, client: t.Any, db: SQLAlchemy, integrations: FlaskIntegrations
) -> None:
    response = client.post(
        add_url(CHAT),
        data={"name": "", "webhook_url": "not a url", "channel": "#typed-channel"},
    )

    assert response.status_code == 200
    page = parse(response)
    name_errors = field_block(page, "name").find("ul", class_="fi-errors")
    assert name_errors.text
    assert field_block(page, "webhook_url").find("ul", class_="fi-errors").text
    assert not field_block(page, "channel").find_all("ul", class_="fi-errors")
    assert page.find("input", name="webhook_url").attrs["value"] == "not a url"
    assert page.find("input", name="channel").attrs["value"] == "#typed-channel"
    assert page.find("input", name="name").attrs.get("aria-invalid") == "true"
    assert all_stored(app, db, integrations) == []
    assert not integration_enabled(app, integrations, CHAT)


@sqlite_only
def test_add_unticked_enabled_is_kept_on_rerender(app: Flask, client: t.Any) -> None:
    page = parse(client.post(add_url(CHAT), data={"name": "", "webhook_url": "x"}))

    assert "checked" not in page.find("input", name="enabled").attrs


# -- edit page ----------------------------------------------------------------


def test_edit_page_loads_the_stored_values(
    app: Flask, client: t.Any, integrations: FlaskIntegrations
) -> None:
    config_id = create_config(
        app,
        integrations,
        CHAT,
        "Ops",
        enabled=False,
        webhook_url="https://chat.example.com/1",
        channel="#ops",
    )

    response = client.get(edit_url(CHAT, config_id))

    assert response.status_code == 200
    page = parse(response)
    assert [legend.text for legend in page.find_all("legend")] == [
        "Basic information",
        "Delivery",
    ]
    assert page.find("input", name="name").attrs["value"] == "Ops"
    assert "checked" not in page.find("input", name="enabled").attrs
    assert page.find("input", name="webhook_url").attrs["value"] == (
        "https://chat.example.com/1"
    )
    assert page.find("input", name="channel").attrs["value"] == "#ops"


def test_edit_saves_changes(
    app: Flask, client: t.Any, db: SQLAlchemy, integrations: FlaskIntegrations
) -> None:
    config_id = create_config(
        app,
        integrations,
        CHAT,
        "Ops",
        webhook_url="https://a.example.com",
        channel="#ops",
    )

    response = submit(
        client,
        edit_url(CHAT, config_id),
        {
            "name": "Ops 2",
            "enabled": None,
            "webhook_url": "https://b.example.com",
            "channel": "",
        },
    )

    assert response.status_code == 302
    assert response.headers["Location"] == f"{PREFIX}/"
    assert stored(app, db, integrations, config_id) == {
        "integration_id": CHAT,
        "name": "Ops 2",
        "enabled": False,
        "settings": {"webhook_url": "https://b.example.com", "channel": ""},
    }
    assert not integration_enabled(app, integrations, CHAT)
    flashes = parse(client.get(f"{PREFIX}/")).find_all(class_="fi-flash")
    assert [f.text for f in flashes] == ["Saved “Ops 2”."]


def test_edit_honours_a_safe_next_only(
    app: Flask, client: t.Any, integrations: FlaskIntegrations
) -> None:
    config_id = create_config(app, integrations, CHAT, "Ops", webhook_url="http://x")
    change = {"webhook_url": "https://b.example.com"}

    safe = submit(client, edit_url(CHAT, config_id), change, {"next": "/home"})
    unsafe = submit(
        client, edit_url(CHAT, config_id), change, {"next": "https://evil.com"}
    )
    forged = submit(client, edit_url(CHAT, config_id), {**change, "next": "//evil.com"})

    assert safe.headers["Location"] == "/home"
    assert unsafe.headers["Location"] == f"{PREFIX}/"
    assert forged.headers["Location"] == f"{PREFIX}/"


def test_invalid_edit_changes_nothing_stored(
    app: Flask, client: t.Any, db: SQLAlchemy, integrations: FlaskIntegrations
) -> None:
    config_id = create_config(
        app,
        integrations,
        CHAT,
        "Ops",
        webhook_url="https://a.example.com",
        channel="#ops",
    )
    before = stored(app, db, integrations, config_id)
    history_before = history_rows(app, db)

    response = submit(
        client,
        edit_url(CHAT, config_id),
        {"name": "Renamed", "webhook_url": "nope", "channel": "#new"},
    )

    assert response.status_code == 200
    page = parse(response)
    assert field_block(page, "webhook_url").find("ul", class_="fi-errors").text
    assert page.find("input", name="name").attrs["value"] == "Renamed"
    assert page.find("input", name="channel").attrs["value"] == "#new"
    assert stored(app, db, integrations, config_id) == before
    assert history_rows(app, db) == history_before
    assert integration_enabled(app, integrations, CHAT)


class StandaloneTemplatePage(Integration):
    integration_id = "admin-pages.standalone-template"
    name = "Standalone template"
    config_template_name = "admin_pages_tests/standalone_config.html"


class ExtendedTemplatePage(Integration):
    integration_id = "admin-pages.extended-template"
    name = "Extended template"
    config_template_name = "admin_pages_tests/extended_config.html"


#: A page replacing the default one with what docs/guides/authoring.rst says it
#: gets.
STANDALONE_TEMPLATE = (
    '<p id="custom-marker">Custom form of {{ integration.name }}'
    "{% if config %} for {{ config.name }}{% endif %}</p>"
    '<form method="post">{{ form.hidden_tag() }}'
    "{{ form.name() }}{{ form.enabled() }}<button>Save</button></form>"
)

#: A page extending the default one and overriding its ``fields`` block.
EXTENDED_TEMPLATE = (
    '{% extends "flask_integrations/config.html" %}'
    '{% block fields %}<p id="custom-marker">Extended form</p>'
    "{{ super() }}{% endblock %}"
)


@pytest.fixture
def custom_templates(app: Flask, integrations: FlaskIntegrations) -> None:
    """Templates the app provides, and integrations that use them."""
    app.jinja_env.loader = ChoiceLoader(
        [
            DictLoader(
                {
                    "admin_pages_tests/standalone_config.html": STANDALONE_TEMPLATE,
                    "admin_pages_tests/extended_config.html": EXTENDED_TEMPLATE,
                }
            ),
            t.cast(t.Any, app.jinja_env.loader),
        ]
    )
    register(app, integrations, StandaloneTemplatePage)
    register(app, integrations, ExtendedTemplatePage)


def test_config_template_name_replaces_the_default_template(
    app: Flask,
    client: t.Any,
    db: SQLAlchemy,
    integrations: FlaskIntegrations,
    custom_templates: None,
) -> None:
    integration_id = StandaloneTemplatePage.integration_id

    add_page = parse(client.get(add_url(integration_id)))
    assert add_page.find(id="custom-marker").text == (
        "Custom form of Standalone template"
    )
    assert not add_page.find_all("legend")

    response = submit(client, add_url(integration_id), {"name": "mine"})
    assert response.status_code == 302
    [config] = all_stored(app, db, integrations)
    assert (config["name"], config["enabled"]) == ("mine", True)

    edit_page = parse(client.get(edit_url(integration_id, config["id"])))
    assert edit_page.find(id="custom-marker").text == (
        "Custom form of Standalone template for mine"
    )
    assert not edit_page.find_all("legend")


def test_config_template_name_page_saves_edits(
    app: Flask,
    client: t.Any,
    db: SQLAlchemy,
    integrations: FlaskIntegrations,
    custom_templates: None,
) -> None:
    integration_id = StandaloneTemplatePage.integration_id
    config_id = create_config(app, integrations, integration_id, "mine")

    response = submit(client, edit_url(integration_id, config_id), {"name": "yours"})

    assert response.status_code == 302
    assert stored(app, db, integrations, config_id)["name"] == "yours"  # type: ignore[index]


def test_config_template_extending_the_default_saves_edits(
    app: Flask,
    client: t.Any,
    db: SQLAlchemy,
    integrations: FlaskIntegrations,
    custom_templates: None,
) -> None:
    integration_id = ExtendedTemplatePage.integration_id
    config_id = create_config(app, integrations, integration_id, "mine")

    page = parse(client.get(edit_url(integration_id, config_id)))
    assert page.find(id="custom-marker").text == "Extended form"
    assert [legend.text for legend in page.find_all("legend")] == ["Basic information"]
    response = submit(client, edit_url(integration_id, config_id), {"name": "yours"})

    assert response.status_code == 302
    assert stored(app, db, integrations, config_id)["name"] == "yours"  # type: ignore[index]


# -- toggle -------------------------------------------------------------------


def test_toggle_flips_enabled_and_the_integration(
    app: Flask, client: t.Any, db: SQLAlchemy, integrations: FlaskIntegrations
) -> None:
    config_id = create_config(app, integrations, CHAT, "Ops", webhook_url="http://x")
    assert integration_enabled(app, integrations, CHAT)

    response = client.post(toggle_url(CHAT, config_id))

    assert response.status_code == 302
    assert response.headers["Location"] == f"{PREFIX}/"
    assert stored(app, db, integrations, config_id)["enabled"] is False  # type: ignore[index]
    assert not integration_enabled(app, integrations, CHAT)
    flashes = parse(client.get(f"{PREFIX}/")).find_all(class_="fi-flash")
    assert [f.text for f in flashes] == ["Disabled “Ops”."]

    response = client.post(toggle_url(CHAT, config_id))

    assert response.status_code == 302
    assert stored(app, db, integrations, config_id)["enabled"] is True  # type: ignore[index]
    assert integration_enabled(app, integrations, CHAT)


def test_toggle_button_on_the_list_comes_back_to_the_list(
    app: Flask, client: t.Any, db: SQLAlchemy, integrations: FlaskIntegrations
) -> None:
    create_config(app, integrations, CHAT, "ops")
    create_config(app, integrations, CHAT, "dev")

    page = parse(client.get(f"{PREFIX}/", query_string={"q": "ops"}))
    forms = [
        f
        for f in page.find_all("form", method="post")
        if "toggle" in (f.attrs.get("action") or "")
    ]
    assert len(forms) == 1
    response = client.post(forms[0].attrs["action"])

    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith(f"{PREFIX}/") and "q=ops" in location


def test_toggle_by_get_is_405(
    app: Flask, client: t.Any, db: SQLAlchemy, integrations: FlaskIntegrations
) -> None:
    config_id = create_config(app, integrations, CHAT, "Ops")

    response = client.get(toggle_url(CHAT, config_id))

    assert response.status_code == 405
    assert stored(app, db, integrations, config_id)["enabled"] is True  # type: ignore[index]


@sqlite_only
@pytest.mark.parametrize(
    "method, url",
    [
        ("put", delete_url(CHAT, "{id}")),
        ("delete", edit_url(CHAT, "{id}")),
        ("put", add_url(CHAT)),
        ("delete", toggle_url(CHAT, "{id}")),
        ("post", f"{PREFIX}/"),
    ],
)
def test_wrong_method_is_405(
    app: Flask, client: t.Any, integrations: FlaskIntegrations, method: str, url: str
) -> None:
    config_id = create_config(app, integrations, CHAT, "Ops")

    response = getattr(client, method)(url.replace("{id}", str(config_id)))

    assert response.status_code == 405


# -- delete -------------------------------------------------------------------


def test_delete_asks_for_confirmation_then_deletes(
    app: Flask, client: t.Any, db: SQLAlchemy, integrations: FlaskIntegrations
) -> None:
    config_id = create_config(app, integrations, CHAT, "Ops")
    other_id = create_config(app, integrations, CHAT, "Dev")

    confirm = client.get(delete_url(CHAT, config_id))

    assert confirm.status_code == 200
    page = parse(confirm)
    assert "Ops" in page.find("h1").text
    form = page.find("form", method="post")
    action = form.attrs.get("action") or delete_url(CHAT, config_id)
    assert action == delete_url(CHAT, config_id)
    assert form.find("button", type="submit").text == "Delete"
    assert stored(app, db, integrations, config_id) is not None

    response = client.post(action)

    assert response.status_code == 302
    assert response.headers["Location"] == f"{PREFIX}/"
    assert stored(app, db, integrations, config_id) is None
    assert stored(app, db, integrations, other_id) is not None
    flashes = parse(client.get(f"{PREFIX}/")).find_all(class_="fi-flash")
    assert [f.text for f in flashes] == ["Deleted “Ops”."]


def test_deleting_the_last_enabled_config_disables_the_integration(
    app: Flask, client: t.Any, integrations: FlaskIntegrations
) -> None:
    config_id = create_config(app, integrations, CHAT, "Ops")
    assert integration_enabled(app, integrations, CHAT)

    client.post(delete_url(CHAT, config_id))

    assert not integration_enabled(app, integrations, CHAT)


# -- 404s and ids -------------------------------------------------------------


@sqlite_only
@pytest.mark.parametrize(
    "method, url",
    [
        ("get", add_url("admin-pages.unknown")),
        ("post", add_url("admin-pages.unknown")),
        ("get", edit_url("admin-pages.unknown", "{id}")),
        ("post", edit_url("admin-pages.unknown", "{id}")),
        ("post", toggle_url("admin-pages.unknown", "{id}")),
        ("get", delete_url("admin-pages.unknown", "{id}")),
        ("post", delete_url("admin-pages.unknown", "{id}")),
    ],
)
def test_unknown_integration_is_404(
    app: Flask,
    client: t.Any,
    db: SQLAlchemy,
    integrations: FlaskIntegrations,
    method: str,
    url: str,
) -> None:
    config_id = create_config(app, integrations, CHAT, "Ops")
    before = all_stored(app, db, integrations)

    response = getattr(client, method)(
        url.replace("{id}", str(config_id)), data={"name": "x", "enabled": "y"}
    )

    assert response.status_code == 404
    assert all_stored(app, db, integrations) == before


@pytest.mark.parametrize(
    "method, make_url",
    [
        ("get", edit_url),
        ("post", edit_url),
        ("post", toggle_url),
        ("get", delete_url),
        ("post", delete_url),
    ],
)
def test_config_of_another_integration_is_404(
    app: Flask,
    client: t.Any,
    db: SQLAlchemy,
    integrations: FlaskIntegrations,
    method: str,
    make_url: t.Callable[[str, t.Any], str],
) -> None:
    chat_config = create_config(app, integrations, CHAT, "Ops", webhook_url="http://x")
    before = all_stored(app, db, integrations)

    response = getattr(client, method)(
        make_url(VAULT, chat_config),
        data={"name": "x", "enabled": "", "api_token": "t"},
    )

    assert response.status_code == 404
    assert all_stored(app, db, integrations) == before


@sqlite_only
@pytest.mark.parametrize(
    "method, make_url",
    [
        ("get", edit_url),
        ("post", edit_url),
        ("post", toggle_url),
        ("get", delete_url),
        ("post", delete_url),
    ],
)
@pytest.mark.parametrize("config_id", ["abc", "1x", "-1", "999999"])
def test_bad_or_missing_config_id_is_404(
    app: Flask,
    client: t.Any,
    integrations: FlaskIntegrations,
    method: str,
    make_url: t.Callable[[str, t.Any], str],
    config_id: str,
) -> None:
    create_config(app, integrations, CHAT, "Ops")

    response = getattr(client, method)(make_url(CHAT, config_id))

    assert response.status_code == 404


@pytest.mark.parametrize(
    "integration_id",
    [
        "admin-pages.dashes-and.dots",
        "admin_pages.v1.2-beta",
        "a-b",
        "x.y.z",
        "123",
        "_static",
        "static",
        "configs",
    ],
)
def test_ids_with_dashes_and_dots_are_routable(
    app: Flask,
    client: t.Any,
    db: SQLAlchemy,
    integrations: FlaskIntegrations,
    integration_id: str,
) -> None:
    cls = type(
        "Dotted", (Integration,), {"integration_id": integration_id, "name": "Dotted"}
    )
    register(app, integrations, cls)

    assert client.get(add_url(integration_id)).status_code == 200
    response = client.post(add_url(integration_id), data={"name": "d", "enabled": "y"})
    assert response.status_code == 302
    [config] = all_stored(app, db, integrations)
    assert config["integration_id"] == integration_id
    page = parse(client.get(f"{PREFIX}/"))
    edit_link = page.find("a", href=edit_url(integration_id, config["id"]))

    assert client.get(edit_link.attrs["href"]).status_code == 200
    assert client.post(toggle_url(integration_id, config["id"])).status_code == 302
    assert client.get(delete_url(integration_id, config["id"])).status_code == 200
    assert client.post(delete_url(integration_id, config["id"])).status_code == 302
    assert all_stored(app, db, integrations) == []


# -- secrets ------------------------------------------------------------------


def vault_config(app: Flask, integrations: FlaskIntegrations) -> int:
    return create_config(
        app,
        integrations,
        VAULT,
        "Vault",
        api_token=STORED_TOKEN,
        signing_key=STORED_KEY,
        region="eu",
    )


def assert_no_stored_secret(html: str) -> None:
    assert STORED_TOKEN not in html
    assert STORED_KEY not in html


def test_add_form_saves_secrets_and_the_edit_page_never_shows_them(
    app: Flask, client: t.Any, db: SQLAlchemy, integrations: FlaskIntegrations
) -> None:
    response = client.post(
        add_url(VAULT),
        data={
            "name": "Vault",
            "enabled": "y",
            "api_token": STORED_TOKEN,
            "signing_key": STORED_KEY,
            "region": "eu",
        },
    )
    assert response.status_code == 302
    [config] = all_stored(app, db, integrations)
    assert config["settings"]["api_token"] == STORED_TOKEN
    assert config["settings"]["signing_key"] == STORED_KEY

    for url in (
        f"{PREFIX}/",
        edit_url(VAULT, config["id"]),
        delete_url(VAULT, config["id"]),
    ):
        html = client.get(url).get_data(as_text=True)
        assert_no_stored_secret(html)

    page = parse(client.get(edit_url(VAULT, config["id"])))
    assert page.find("input", name="api_token").attrs.get("value") in (None, "")
    assert page.find("input", name="signing_key").attrs.get("value") in (None, "")
    assert page.find("input", name="region").attrs["value"] == "eu"


def test_secret_hint_shows_the_end_of_long_secrets_only(
    app: Flask, client: t.Any, integrations: FlaskIntegrations
) -> None:
    config_id = vault_config(app, integrations)

    page = parse(client.get(edit_url(VAULT, config_id)))

    token_help = field_block(page, "api_token").find("p", class_="fi-help").text
    assert "set, ends in …WXYZ" in token_help
    key_help = field_block(page, "signing_key").find("p", class_="fi-help").text
    assert "set" in key_help
    assert "ends in" not in key_help
    assert STORED_KEY[-4:] not in key_help


def test_blank_secrets_on_edit_keep_the_stored_values(
    app: Flask, client: t.Any, db: SQLAlchemy, integrations: FlaskIntegrations
) -> None:
    config_id = vault_config(app, integrations)

    response = submit(
        client,
        edit_url(VAULT, config_id),
        {"name": "Vault renamed", "api_token": "", "signing_key": "", "region": "us"},
    )

    assert response.status_code == 302
    assert stored(app, db, integrations, config_id) == {
        "integration_id": VAULT,
        "name": "Vault renamed",
        "enabled": True,
        "settings": {
            "api_token": STORED_TOKEN,
            "signing_key": STORED_KEY,
            "region": "us",
        },
    }


def test_typed_secrets_replace_the_stored_values(
    app: Flask, client: t.Any, db: SQLAlchemy, integrations: FlaskIntegrations
) -> None:
    config_id = vault_config(app, integrations)

    response = submit(
        client,
        edit_url(VAULT, config_id),
        {"api_token": "new-token", "signing_key": "new-key"},
    )

    assert response.status_code == 302

    settings = stored(app, db, integrations, config_id)["settings"]  # type: ignore[index]
    assert settings["api_token"] == "new-token"
    assert settings["signing_key"] == "new-key"


def test_invalid_post_never_echoes_a_typed_secret(
    app: Flask, client: t.Any, db: SQLAlchemy, integrations: FlaskIntegrations
) -> None:
    config_id = vault_config(app, integrations)
    typed_token = "typed-token-value-never-echo-QQQQ"
    typed_key = "typed-signing-key-never-echo"

    on_edit = submit(
        client,
        edit_url(VAULT, config_id),
        {
            "name": "",
            "api_token": typed_token,
            "signing_key": typed_key,
            "region": "typed-region",
        },
    )
    on_add = client.post(
        add_url(VAULT),
        data={"name": "", "api_token": typed_token, "signing_key": typed_key},
    )

    for response in (on_edit, on_add):
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        assert typed_token not in html
        assert typed_key not in html
        assert_no_stored_secret(html)
        assert field_block(parse(response), "name").find("ul", class_="fi-errors")
    assert parse(on_edit).find("input", name="region").attrs["value"] == "typed-region"
    assert stored(app, db, integrations, config_id)["settings"] == {  # type: ignore[index]
        "api_token": STORED_TOKEN,
        "signing_key": STORED_KEY,
        "region": "eu",
    }


def test_a_required_secret_is_required_when_adding(
    app: Flask, client: t.Any, db: SQLAlchemy, integrations: FlaskIntegrations
) -> None:
    response = client.post(add_url(VAULT), data={"name": "Vault", "api_token": ""})

    assert response.status_code == 200
    assert field_block(parse(response), "api_token").find("ul", class_="fi-errors")
    assert all_stored(app, db, integrations) == []


# -- escaping -----------------------------------------------------------------


class HtmlNamed(Integration):
    integration_id = "admin-pages.html-named"
    name = "<img src=x onerror=alert(2)>Named"
    description = "<b>bold</b> & <i>italic</i>"


def test_html_in_names_and_descriptions_is_escaped(
    app: Flask, client: t.Any, db: SQLAlchemy, integrations: FlaskIntegrations
) -> None:
    register(app, integrations, HtmlNamed)
    config_id = create_config(app, integrations, HtmlNamed.integration_id, XSS)
    orphan_id = create_orphan(app, db, integrations, XSS)

    pages = {
        "list": client.get(f"{PREFIX}/"),
        "filtered list": client.get(f"{PREFIX}/", query_string={"q": XSS}),
        "add": client.get(add_url(HtmlNamed.integration_id)),
        "edit": client.get(edit_url(HtmlNamed.integration_id, config_id)),
        "delete": client.get(delete_url(HtmlNamed.integration_id, config_id)),
        "orphan delete": client.get(delete_url("admin-pages.gone", orphan_id)),
    }

    for label, response in pages.items():
        assert response.status_code == 200, label
        html = response.get_data(as_text=True)
        assert XSS not in html, label
        assert "<img src=x" not in html, label
        assert "<b>bold</b>" not in html, label
        assert not parse(response).find_all("script"), label
    for label in ("list", "edit", "delete", "orphan delete", "filtered list"):
        assert XSS_ESCAPED in pages[label].get_data(as_text=True), label
    for label in ("list", "add", "edit"):
        html = pages[label].get_data(as_text=True)
        assert "&lt;b&gt;bold&lt;/b&gt; &amp; &lt;i&gt;italic&lt;/i&gt;" in html, label


@sqlite_only
def test_flash_after_adding_a_config_named_with_html_is_escaped(
    app: Flask, client: t.Any
) -> None:
    client.post(
        add_url(CHAT),
        data={"name": XSS, "enabled": "y", "webhook_url": "https://x.example.com"},
    )

    response = client.get(f"{PREFIX}/")

    html = response.get_data(as_text=True)
    assert XSS not in html
    assert f"Added “{XSS_ESCAPED}”." in html
    assert not parse(response).find_all("script")


@sqlite_only
def test_invalid_post_with_html_is_escaped(app: Flask, client: t.Any) -> None:
    response = client.post(add_url(CHAT), data={"name": XSS, "webhook_url": XSS})

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert XSS not in html
    assert not parse(response).find_all("script")
    assert parse(response).find("input", name="name").attrs["value"] == XSS


# -- history ------------------------------------------------------------------


@pytest.mark.parametrize(
    "app_config", [{"INTEGRATIONS_ACTOR": lambda: "alice@example.com"}]
)
def test_history_of_page_and_code_changes(
    app: Flask, client: t.Any, db: SQLAlchemy, integrations: FlaskIntegrations
) -> None:
    client.post(
        add_url(VAULT),
        data={
            "name": "Vault",
            "enabled": "y",
            "api_token": STORED_TOKEN,
            "signing_key": STORED_KEY,
            "region": "eu",
        },
    )
    [config] = all_stored(app, db, integrations)
    config_id = config["id"]
    assert (
        submit(client, edit_url(VAULT, config_id), {"region": "us"}).status_code == 302
    )
    client.post(toggle_url(VAULT, config_id))
    with app.app_context():
        live = integrations.manager.get_config(config_id)
        live.set("region", "ap")
        db.session.commit()

    rows = history_rows(app, db)
    assert [(r["config_id"], r["action"]) for r in rows] == [
        (config_id, "created"),
        (config_id, "updated"),
        (config_id, "disabled"),
        (config_id, "updated"),
    ]
    assert {r["actor"] for r in rows} == {"alice@example.com"}
    assert rows[1]["changes"]["settings.region"] == {"old": "eu", "new": "us"}
    assert "settings.api_token" not in rows[1]["changes"]
    assert rows[3]["changes"]["settings.region"] == {"old": "us", "new": "ap"}
    assert "settings.api_token" in rows[0]["changes"]
    assert "settings.signing_key" in rows[0]["changes"]
    assert_no_stored_secret(repr(rows))

    response = client.get(edit_url(VAULT, config_id))
    page = parse(response)
    history = page.find("table", class_="fi-history")
    entries = [row.text for row in history.find("tbody").find_all("tr")]
    assert len(entries) == 4
    assert "created" in entries[-1] and "disabled" in entries[1]
    assert "us → ap" in entries[0]
    assert all("alice@example.com" in entry for entry in entries)
    assert_no_stored_secret(response.get_data(as_text=True))

    client.post(delete_url(VAULT, config_id))
    rows = history_rows(app, db)
    assert (rows[-1]["config_id"], rows[-1]["action"]) == (config_id, "deleted")
    assert rows[-1]["actor"] == "alice@example.com"
    assert_no_stored_secret(repr(rows))


def test_history_redacts_a_changed_secret(
    app: Flask, client: t.Any, db: SQLAlchemy, integrations: FlaskIntegrations
) -> None:
    config_id = vault_config(app, integrations)
    new_token = "another-token-value-1234567890"

    response = submit(
        client,
        edit_url(VAULT, config_id),
        {"api_token": new_token, "signing_key": "another-key"},
    )

    assert response.status_code == 302

    rows = history_rows(app, db)
    assert rows[-1]["action"] == "updated"
    assert set(rows[-1]["changes"]) == {"settings.api_token", "settings.signing_key"}
    html = client.get(edit_url(VAULT, config_id)).get_data(as_text=True)
    for secret in (STORED_TOKEN, STORED_KEY, new_token, "another-key"):
        assert secret not in repr(rows)
        assert secret not in html


def test_an_orphan_with_an_odd_id_is_escaped_and_its_links_are_quoted(
    app: Flask, client: t.Any, db: SQLAlchemy, integrations: FlaskIntegrations
) -> None:
    odd = '"><script>alert(1)</script>#?'
    with app.app_context():
        model = integrations.manager.config_model
        config = model(integration_id=odd, name="<b>odd</b>", enabled=True)
        db.session.add(config)
        db.session.commit()

    text = client.get(f"{PREFIX}/").get_data(as_text=True)

    assert "<script>" not in text
    assert "<b>odd</b>" not in text
    assert "&lt;b&gt;odd&lt;/b&gt;" in text
    assert "%22%3E%3Cscript%3Ealert%281%29%3C%2Fscript%3E%23%3F" in text
