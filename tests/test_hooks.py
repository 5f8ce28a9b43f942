"""Hooks an integration owns while it is enabled: :class:`SignalHook` and
:class:`TemplateHook`, including apps that share integration classes."""

from __future__ import annotations

import gc
import logging
import typing as t

import pytest
from blinker import Signal
from flask import Flask, render_template_string
from flask_sqlalchemy import SQLAlchemy
from jinja2 import DictLoader

from flask_integrations import (
    FlaskIntegrations,
    Integration,
    IntegrationManager,
    SignalHook,
    TemplateHook,
)
from tests.conftest import make_app

#: For tests that do no database work of their own: one backend is enough.
sqlite_only = pytest.mark.parametrize("backend", ["sqlite"])


def error_records(
    caplog: pytest.LogCaptureFixture, text: str
) -> list[logging.LogRecord]:
    """Error records of the package's logger whose message contains ``text``."""
    return [
        r
        for r in caplog.records
        if r.name == "flask_integrations"
        and r.levelno >= logging.ERROR
        and text in r.getMessage()
    ]


# -- SignalHook ---------------------------------------------------------------


def test_signal_hook_lives_exactly_while_enabled(
    manager: IntegrationManager, db: SQLAlchemy
) -> None:

    signal = Signal()
    received: list[object] = []

    class Listening(Integration):
        integration_id = "test_hooks.listening"

        def initialize(self) -> None:
            SignalHook(self, signal, self.on_signal)

        def on_signal(self, sender: t.Any, **kwargs: t.Any) -> None:
            received.append(sender)

    integration = manager.register_integration_class(Listening)
    signal.send("before enabling")
    assert integration.hooks == set()

    config = integration.create_config(name="c", enabled=True, save=True)
    assert integration.enabled
    assert len(integration.hooks) == 1
    assert all(isinstance(h, SignalHook) for h in integration.hooks)
    signal.send("while enabled")

    config.enabled = False
    db.session.commit()
    assert not integration.enabled
    signal.send("after disabling")

    assert received == ["while enabled"]
    assert integration.hooks == set()
    assert not signal.receivers


@sqlite_only
def test_signal_hook_comes_back_when_enabled_again(
    manager: IntegrationManager,
) -> None:
    signal = Signal()
    received: list[object] = []

    class Returning(Integration):
        integration_id = "test_hooks.returning"

        def initialize(self) -> None:
            SignalHook(self, signal, lambda sender, **kw: received.append(sender))

    integration = manager.register_integration_class(Returning)
    integration.enable_integration()
    integration.disable_integration()
    integration.enable_integration()

    signal.send("once")

    # One hook, not one per enable.
    assert received == ["once"]
    assert len(integration.hooks) == 1


@sqlite_only
def test_callbacks_survive_garbage_collection(manager: IntegrationManager) -> None:
    signal = Signal()
    received: list[tuple[str, object]] = []

    class Helper:
        def handle(self, sender: t.Any, **kwargs: t.Any) -> None:
            received.append(("helper", sender))

    class Collected(Integration):
        integration_id = "test_hooks.collected"

        def initialize(self) -> None:
            SignalHook(self, signal, self.on_signal)
            # Referenced by nothing but the hook.
            SignalHook(self, signal, Helper().handle)
            SignalHook(
                self, signal, lambda sender, **kw: received.append(("lambda", sender))
            )

        def on_signal(self, sender: t.Any, **kwargs: t.Any) -> None:
            received.append(("method", sender))

    integration = manager.register_integration_class(Collected)
    integration.enable_integration()

    gc.collect()
    signal.send("after gc")

    assert sorted(received) == [
        ("helper", "after gc"),
        ("lambda", "after gc"),
        ("method", "after gc"),
    ]


@sqlite_only
def test_callback_is_called_like_a_blinker_receiver(
    manager: IntegrationManager,
) -> None:
    signal = Signal()
    calls: list[tuple[tuple[t.Any, ...], dict[str, t.Any]]] = []
    sender = object()

    def callback(*args: t.Any, **kwargs: t.Any) -> str:
        calls.append((args, kwargs))
        return "answer"

    class Exact(Integration):
        integration_id = "test_hooks.exact"

        def initialize(self) -> None:
            SignalHook(self, signal, callback)

    manager.register_integration_class(Exact).enable_integration()

    results = signal.send(sender, ticket=7, user="ann")
    signal.send()

    assert calls == [((sender,), {"ticket": 7, "user": "ann"}), ((None,), {})]
    assert [value for _, value in results] == ["answer"]


def test_raising_callback_is_logged_and_isolated(
    app: Flask,
    manager: IntegrationManager,
    db: SQLAlchemy,
    client: t.Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    signal = Signal("ticket-created")
    received: list[str] = []

    def before(sender: t.Any, **kwargs: t.Any) -> None:
        received.append("before")

    def after(sender: t.Any, **kwargs: t.Any) -> None:
        received.append("after")

    class Raising(Integration):
        integration_id = "test_hooks.raising"

        def initialize(self) -> None:
            SignalHook(self, signal, self.on_signal)

        def on_signal(self, sender: t.Any, **kwargs: t.Any) -> None:
            received.append("raising")
            raise RuntimeError("receiver broke")

    class Sibling(Integration):
        integration_id = "test_hooks.sibling"

        def initialize(self) -> None:
            SignalHook(self, signal, lambda sender, **kw: received.append("sibling"))

    def view() -> str:
        signal.send("view")
        return "sent"

    app.add_url_rule("/send", "send", view)
    signal.connect(before)
    raising = manager.register_integration_class(Raising)
    sibling = manager.register_integration_class(Sibling)
    db.session.add_all(
        [
            raising.create_config(name="r", enabled=True),
            sibling.create_config(name="s", enabled=True),
        ]
    )
    db.session.commit()
    signal.connect(after)

    with caplog.at_level(logging.ERROR, logger="flask_integrations"):
        response = client.get("/send")

    assert response.status_code == 200
    assert response.get_data(as_text=True) == "sent"
    assert sorted(received) == ["after", "before", "raising", "sibling"]
    records = error_records(caplog, "test_hooks.raising")
    assert len(records) == 1
    assert records[0].exc_info is not None
    assert "receiver broke" in caplog.text
    # It stays connected: the next send reaches it again.
    assert raising.enabled
    received.clear()
    with caplog.at_level(logging.ERROR, logger="flask_integrations"):
        signal.send("again")
    assert "raising" in received


@sqlite_only
def test_sender_filter(manager: IntegrationManager) -> None:
    signal = Signal()
    wanted, other = object(), object()
    received: list[object] = []

    class Filtered(Integration):
        integration_id = "test_hooks.filtered"

        def initialize(self) -> None:
            SignalHook(
                self,
                signal,
                lambda sender, **kw: received.append(sender),
                sender=wanted,
            )

    integration = manager.register_integration_class(Filtered)
    integration.enable_integration()

    signal.send(other)
    signal.send(wanted)
    signal.send()

    assert received == [wanted]

    integration.disable_integration()
    signal.send(wanted)
    assert received == [wanted]
    assert integration.hooks == set()


@sqlite_only
def test_sender_filtered_hook_is_fully_disconnected(
    manager: IntegrationManager,
) -> None:
    signal = Signal()
    wanted = object()

    class FilteredLeak(Integration):
        integration_id = "test_hooks.filtered-leak"

        def initialize(self) -> None:
            SignalHook(self, signal, lambda sender, **kw: None, sender=wanted)

    integration = manager.register_integration_class(FilteredLeak)
    for _ in range(3):
        integration.enable_integration()
        integration.disable_integration()

    # The signal keeps no disabled hook (nor, through it, the integration).
    assert len(signal.receivers) == 0


@sqlite_only
def test_hook_shutdown_ends_one_hook_early(manager: IntegrationManager) -> None:
    signal = Signal()
    received: list[str] = []
    created: dict[str, SignalHook] = {}

    class TwoHooks(Integration):
        integration_id = "test_hooks.two-hooks"

        def initialize(self) -> None:
            created["first"] = SignalHook(
                self, signal, lambda sender, **kw: received.append("first")
            )
            created["second"] = SignalHook(
                self, signal, lambda sender, **kw: received.append("second")
            )

    integration = manager.register_integration_class(TwoHooks)
    integration.enable_integration()
    first, second = created["first"], created["second"]
    assert integration.hooks == {first, second}

    first.shutdown()
    first.shutdown()

    assert integration.hooks == {second}
    assert integration.enabled
    signal.send("x")
    assert received == ["second"]

    integration.disable_integration()
    signal.send("y")
    assert received == ["second"]
    assert integration.hooks == set()
    assert not signal.receivers


# -- TemplateHook ---------------------------------------------------------------


@pytest.fixture
def templates(app: Flask) -> dict[str, str]:
    """Templates the app can load by name; add to the dict to add one."""
    mapping: dict[str, str] = {}
    app.jinja_loader = DictLoader(mapping)  # type: ignore[method-assign]
    return mapping


POINT_TEMPLATE = '<main>{{ integration_hooks("footer") }}</main>'


def test_template_hook_renders_its_template_with_the_calling_context(
    manager: IntegrationManager, templates: dict[str, str]
) -> None:
    templates["hooks/footer.html"] = "<b>Hi {{ user }} from {{ integration.name }}</b>"

    class Footer(Integration):
        integration_id = "test_hooks.footer"
        name = "Footer & Co"

        def initialize(self) -> None:
            TemplateHook(self, "footer", "hooks/footer.html")

    manager.register_integration_class(Footer).create_config(
        name="c", enabled=True, save=True
    )

    html = render_template_string(POINT_TEMPLATE, user="<Ann>")

    # The hook's markup is not escaped again; values inside it are.
    assert html == "<main><b>Hi &lt;Ann&gt; from Footer &amp; Co</b></main>"


@sqlite_only
def test_template_hook_with_a_callable(manager: IntegrationManager) -> None:
    seen: list[dict[str, t.Any]] = []

    def render(context: dict[str, t.Any]) -> str:
        seen.append(context)
        return f"<i>{context['integration'].id}:{context['user']}</i>"

    class Callable(Integration):
        integration_id = "test_hooks.callable"

        def initialize(self) -> None:
            TemplateHook(self, "footer", render)

    integration = manager.register_integration_class(Callable)
    integration.enable_integration()

    html = render_template_string(POINT_TEMPLATE, user="ann")

    assert html == "<main><i>test_hooks.callable:ann</i></main>"
    assert seen[0]["integration"] is integration


@sqlite_only
def test_template_hooks_of_other_points_are_not_rendered(
    manager: IntegrationManager,
) -> None:
    class Header(Integration):
        integration_id = "test_hooks.header"

        def initialize(self) -> None:
            TemplateHook(self, "header", lambda context: "HEADER")

    manager.register_integration_class(Header).enable_integration()

    assert render_template_string(POINT_TEMPLATE) == "<main></main>"
    assert render_template_string('{{ integration_hooks("header") }}') == "HEADER"


def test_template_hook_renders_nothing_after_disabling(
    manager: IntegrationManager, db: SQLAlchemy
) -> None:
    class Disappearing(Integration):
        integration_id = "test_hooks.disappearing"

        def initialize(self) -> None:
            TemplateHook(self, "footer", lambda context: "<p>here</p>")

    integration = manager.register_integration_class(Disappearing)
    config = integration.create_config(name="c", enabled=True, save=True)
    assert render_template_string(POINT_TEMPLATE) == "<main><p>here</p></main>"

    config.enabled = False
    db.session.commit()

    assert not integration.enabled
    assert render_template_string(POINT_TEMPLATE) == "<main></main>"


@sqlite_only
def test_template_hook_shutdown_removes_it(manager: IntegrationManager) -> None:
    created: list[TemplateHook] = []

    class EndsEarly(Integration):
        integration_id = "test_hooks.ends-early"

        def initialize(self) -> None:
            created.append(TemplateHook(self, "footer", lambda context: "A"))
            TemplateHook(self, "footer", lambda context: "B")

    manager.register_integration_class(EndsEarly).enable_integration()
    assert render_template_string(POINT_TEMPLATE) == "<main>AB</main>"

    created[0].shutdown()
    created[0].shutdown()

    assert render_template_string(POINT_TEMPLATE) == "<main>B</main>"


@sqlite_only
def test_raising_template_hook_is_logged_and_skipped(
    manager: IntegrationManager,
    templates: dict[str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    templates["hooks/bad.html"] = "{{ 1 // 0 }}"

    def explode(context: dict[str, t.Any]) -> str:
        raise RuntimeError("hook broke")

    class BadTemplate(Integration):
        integration_id = "test_hooks.bad-template"

        def initialize(self) -> None:
            TemplateHook(self, "footer", explode)
            TemplateHook(self, "footer", "hooks/bad.html")
            TemplateHook(self, "footer", "hooks/missing.html")

    class GoodTemplate(Integration):
        integration_id = "test_hooks.good-template"

        def initialize(self) -> None:
            TemplateHook(self, "footer", lambda context: "<p>fine</p>")

    manager.register_integration_class(BadTemplate).enable_integration()
    manager.register_integration_class(GoodTemplate).enable_integration()

    with caplog.at_level(logging.ERROR, logger="flask_integrations"):
        html = render_template_string(POINT_TEMPLATE)

    assert html == "<main><p>fine</p></main>"
    records = error_records(caplog, "test_hooks.bad-template")
    assert len(records) == 3
    assert all(r.exc_info is not None for r in records)
    assert "hook broke" in caplog.text


def test_template_hook_in_a_request(
    app: Flask, manager: IntegrationManager, client: t.Any
) -> None:
    class InPage(Integration):
        integration_id = "test_hooks.in-page"

        def initialize(self) -> None:
            TemplateHook(
                self, "footer", lambda context: f"<p>{context['request'].path}</p>"
            )

    app.add_url_rule("/page", "page", lambda: render_template_string(POINT_TEMPLATE))
    manager.register_integration_class(InPage).create_config(
        name="c", enabled=True, save=True
    )

    response = client.get("/page")

    assert response.status_code == 200
    assert response.get_data(as_text=True) == "<main><p>/page</p></main>"


# -- several apps in one process -----------------------------------------------


@pytest.fixture(params=["one extension", "two extensions"])
def two_apps(
    request: pytest.FixtureRequest, shared_database_url: str, db: SQLAlchemy
) -> t.Iterator[t.Callable[..., tuple[Flask, Flask]]]:
    """Build two apps on one database that share integration classes, served
    by one extension object or by one extension each."""
    made: list[Flask] = []

    def build(*classes: type[Integration]) -> tuple[Flask, Flask]:
        first = FlaskIntegrations(db=db)
        if request.param == "one extension":
            second, extensions = first, [first]
        else:
            second = FlaskIntegrations(db=db)
            extensions = [first, second]
        for extension in extensions:
            for cls in classes:
                extension.register(cls)
        made.append(make_app(shared_database_url, db, first, name="app_one"))
        made.append(make_app(shared_database_url, db, second, name="app_two"))
        with made[0].app_context():
            db.create_all()
        return made[0], made[1]

    yield build
    for app in made:
        with app.app_context():
            db.session.remove()
            db.drop_all()
            for engine in db.engines.values():
                engine.dispose()


def test_each_apps_hooks_fire_only_in_that_apps_context(
    two_apps: t.Callable[..., tuple[Flask, Flask]],
) -> None:
    signal = Signal()
    fired: list[tuple[str, object]] = []

    class Shared(Integration):
        integration_id = "test_hooks.shared"

        def initialize(self) -> None:
            SignalHook(self, signal, self.on_signal)
            TemplateHook(self, "footer", lambda context: self.app_name)

        @property
        def app_name(self) -> str:
            app = self.integration_mgr.app
            assert app is not None
            return app.name

        def on_signal(self, sender: t.Any, **kwargs: t.Any) -> None:
            fired.append((self.app_name, sender))

    def send_from_view() -> str:
        signal.send("request")
        return "sent"

    def shared_in(app: Flask) -> Integration:
        manager = app.extensions["integrations"].manager
        return t.cast(Integration, manager.get_integration("test_hooks.shared"))

    app_one, app_two = two_apps(Shared)
    for app in (app_one, app_two):
        app.add_url_rule("/send", "send", send_from_view)
    with app_one.app_context():
        shared_in(app_one).create_config(name="c", enabled=True, save=True)
    with app_two.app_context():
        # The configuration was committed through the other app.
        app_two.extensions["integrations"].manager.check_expired()

    assert shared_in(app_one) is not shared_in(app_two)
    assert shared_in(app_one).enabled
    assert shared_in(app_two).enabled

    with app_one.app_context():
        signal.send("one")
        assert render_template_string(POINT_TEMPLATE) == "<main>app_one</main>"
    with app_two.app_context():
        signal.send("two")
        assert render_template_string(POINT_TEMPLATE) == "<main>app_two</main>"
    assert fired == [("app_one", "one"), ("app_two", "two")]

    fired.clear()
    assert app_two.test_client().get("/send").status_code == 200
    assert app_one.test_client().get("/send").status_code == 200
    assert fired == [("app_two", "request"), ("app_one", "request")]


def test_hooks_of_a_collected_app_stay_silent(db: t.Any) -> None:
    import gc

    from blinker import Namespace
    from flask import Flask

    from flask_integrations import FlaskIntegrations, Integration, SignalHook

    fired: list[str] = []
    gone_signal = Namespace().signal("collected-app")

    class Leftover(Integration):
        integration_id = "tests.hooks.collected"

        def initialize(self) -> None:
            SignalHook(self, gone_signal, lambda sender: fired.append("fired"))

    ext = FlaskIntegrations(db=db)
    app = Flask("collected")
    app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite://"
    db.init_app(app)
    ext.init_app(app)
    with app.app_context():
        integration = ext.manager.register_integration_class(Leftover)
        integration.enable_integration()
        gone_signal.send(None)
        for engine in db.engines.values():
            engine.dispose()
    assert fired == ["fired"]
    del app
    gc.collect()
    gone_signal.send(None)
    assert fired == ["fired"]
