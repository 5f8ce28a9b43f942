"""The :class:`~flask_integrations.Integration` base class: ids, lifecycle,
failure isolation, ``create_config`` and the enabled/disabled signals."""

from __future__ import annotations

import logging
import typing as t

import pytest
import sqlalchemy as sa
from blinker import Signal
from flask import Flask
from flask_sqlalchemy import SQLAlchemy

from flask_integrations import (
    Integration,
    IntegrationAlreadyRegisteredError,
    IntegrationManager,
    IntegrationRegistrationError,
    SignalHook,
    integration_disabled,
    integration_enabled,
)

#: For tests that do no database work of their own: one backend is enough.
sqlite_only = pytest.mark.parametrize("backend", ["sqlite"])


class Recorder(Integration):
    """Records the lifecycle calls it receives in ``calls``."""

    def __init__(self, integration_mgr: IntegrationManager) -> None:
        super().__init__(integration_mgr)
        self.calls: list[str] = []

    def initialize(self) -> None:
        self.calls.append("initialize")

    def shutdown(self) -> None:
        self.calls.append("shutdown")


def count_configs(db: SQLAlchemy, model: type[t.Any]) -> int:
    """Count the stored configurations, reading through a fresh statement."""
    return t.cast(int, db.session.scalar(sa.select(sa.func.count()).select_from(model)))


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


# -- ids -----------------------------------------------------------------------


@sqlite_only
def test_automatic_id_is_set_at_registration(manager: IntegrationManager) -> None:
    class AutoIdPlain(Integration):
        pass

    assert AutoIdPlain.integration_id is None
    instance = manager.register_integration_class(AutoIdPlain)

    expected = f"{__name__}.AutoIdPlain"
    assert AutoIdPlain.integration_id == expected
    assert instance.integration_id == expected
    assert instance.id == expected
    assert manager.get_integration(expected) is instance


@sqlite_only
def test_explicit_id_is_inherited(manager: IntegrationManager) -> None:
    class ExplicitParent(Integration):
        integration_id = "test_integration.explicit-parent"

    class ExplicitChild(ExplicitParent):
        pass

    child = manager.register_integration_class(ExplicitChild)

    assert child.id == "test_integration.explicit-parent"
    with pytest.raises(IntegrationAlreadyRegisteredError):
        manager.register_integration_class(ExplicitParent)


@sqlite_only
def test_automatic_id_is_not_inherited(manager: IntegrationManager) -> None:
    class AutoParent(Integration):
        pass

    class AutoChild(AutoParent):
        pass

    parent = manager.register_integration_class(AutoParent)
    child = manager.register_integration_class(AutoChild)

    assert parent.id == f"{__name__}.AutoParent"
    assert child.id == f"{__name__}.AutoChild"
    assert manager.get_integration(f"{__name__}.AutoParent") is parent
    assert manager.get_integration(f"{__name__}.AutoChild") is child


@sqlite_only
def test_subclass_registered_first_does_not_take_the_parent_id(
    manager: IntegrationManager,
) -> None:
    class LaterParent(Integration):
        pass

    class EarlierChild(LaterParent):
        pass

    child = manager.register_integration_class(EarlierChild)
    parent = manager.register_integration_class(LaterParent)

    assert child.id == f"{__name__}.EarlierChild"
    assert parent.id == f"{__name__}.LaterParent"


@sqlite_only
def test_explicit_id_below_an_automatic_one_wins(manager: IntegrationManager) -> None:
    class AutoBase(Integration):
        pass

    class ExplicitMiddle(AutoBase):
        integration_id = "test_integration.explicit-middle"

    class Leaf(ExplicitMiddle):
        pass

    manager.register_integration_class(AutoBase)
    leaf = manager.register_integration_class(Leaf)

    assert leaf.id == "test_integration.explicit-middle"


@sqlite_only
def test_id_is_an_alias_of_integration_id(manager: IntegrationManager) -> None:
    class AliasIntegration(Integration):
        integration_id = "test_integration.alias"

    instance = manager.register_integration_class(AliasIntegration)

    assert instance.id == instance.integration_id == "test_integration.alias"


@pytest.mark.parametrize(
    "integration_id",
    ["acme-chat", "acme.chat-v2_beta", "-leading-dash", "A1.b_2-C3"],
)
@sqlite_only
def test_ids_with_dashes_dots_and_underscores_are_accepted(
    manager: IntegrationManager, integration_id: str
) -> None:
    cls = type("DashedIntegration", (Integration,), {"integration_id": integration_id})

    instance = manager.register_integration_class(cls)

    assert manager.get_integration(integration_id) is instance


@pytest.mark.parametrize(
    "integration_id",
    ["has space", "a/b", "", "café", "line\n", "tab\tid", "semi;colon", 42, b"bytes"],
)
@sqlite_only
def test_invalid_ids_are_refused(
    manager: IntegrationManager, integration_id: object
) -> None:
    cls = type("BadIdIntegration", (Integration,), {"integration_id": integration_id})

    with pytest.raises(IntegrationRegistrationError):
        manager.register_integration_class(cls)

    assert manager.get_integration_classes() == []
    assert manager.get_integrations() == []


# -- enable / disable ---------------------------------------------------------


@sqlite_only
def test_enable_integration_initializes_once(manager: IntegrationManager) -> None:
    class EnableOnce(Recorder):
        integration_id = "test_integration.enable-once"

    instance = manager.register_integration_class(EnableOnce)
    assert not instance.enabled
    assert instance.calls == []

    instance.enable_integration()
    instance.enable_integration()

    assert instance.enabled
    assert instance.calls == ["initialize"]


@sqlite_only
def test_disable_integration_shuts_down_then_removes_hooks(
    manager: IntegrationManager,
) -> None:
    signal = Signal()
    received: list[object] = []
    hooks_seen_by_shutdown: list[int] = []

    class DisableOrder(Integration):
        integration_id = "test_integration.disable-order"

        def initialize(self) -> None:
            SignalHook(self, signal, lambda sender, **kwargs: received.append(sender))

        def shutdown(self) -> None:
            hooks_seen_by_shutdown.append(len(self.hooks))

    instance = manager.register_integration_class(DisableOrder)
    instance.enable_integration()
    assert len(instance.hooks) == 1

    instance.disable_integration()
    instance.disable_integration()

    assert not instance.enabled
    # shutdown() ran once, while its hooks were still live.
    assert hooks_seen_by_shutdown == [1]
    assert instance.hooks == set()
    signal.send("after disable")
    assert received == []
    assert not signal.receivers


@sqlite_only
def test_disable_before_enable_does_nothing(manager: IntegrationManager) -> None:
    class NeverEnabled(Recorder):
        integration_id = "test_integration.never-enabled"

    instance = manager.register_integration_class(NeverEnabled)
    instance.disable_integration()

    assert instance.calls == []
    assert not instance.enabled


@sqlite_only
def test_enable_after_disable_initializes_again(manager: IntegrationManager) -> None:
    class Cycle(Recorder):
        integration_id = "test_integration.cycle"

    instance = manager.register_integration_class(Cycle)
    instance.enable_integration()
    instance.disable_integration()
    instance.enable_integration()

    assert instance.enabled
    assert instance.calls == ["initialize", "shutdown", "initialize"]


# -- failure isolation ----------------------------------------------------------


def test_initialize_error_is_logged_and_isolated(
    app: Flask,
    manager: IntegrationManager,
    db: SQLAlchemy,
    client: t.Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    signal = Signal()
    received: list[object] = []

    class BrokenInit(Integration):
        integration_id = "test_integration.broken-init"

        def initialize(self) -> None:
            SignalHook(self, signal, lambda sender, **kwargs: received.append(sender))
            raise RuntimeError("cannot reach the service")

    class HealthyAfterBroken(Recorder):
        integration_id = "test_integration.healthy"

    app.add_url_rule("/ping", "ping", lambda: "pong")
    broken = manager.register_integration_class(BrokenInit)
    healthy = manager.register_integration_class(HealthyAfterBroken)

    with caplog.at_level(logging.ERROR, logger="flask_integrations"):
        # One commit: both are evaluated in the same pass, the broken one first.
        db.session.add_all(
            [
                broken.create_config(name="broken", enabled=True),
                healthy.create_config(name="healthy", enabled=True),
            ]
        )
        db.session.commit()

    assert not broken.enabled
    assert broken.hooks == set()
    signal.send("after the failure")
    assert received == []
    assert not signal.receivers

    assert broken.failure is not None
    assert "cannot reach the service" in broken.failure.summary
    assert "RuntimeError" in broken.failure.traceback

    records = error_records(caplog, "test_integration.broken-init")
    assert records, caplog.text
    assert all(r.exc_info is not None for r in records)
    assert "Traceback" in caplog.text
    assert "cannot reach the service" in caplog.text

    assert healthy.enabled
    assert healthy.calls == ["initialize"]
    assert healthy.failure is None

    response = client.get("/ping")
    assert response.status_code == 200
    assert response.get_data(as_text=True) == "pong"


@sqlite_only
def test_failure_is_cleared_when_initialize_later_succeeds(
    manager: IntegrationManager,
) -> None:
    attempts: list[int] = []

    class FlakyInit(Integration):
        integration_id = "test_integration.flaky-init"

        def initialize(self) -> None:
            attempts.append(1)
            if len(attempts) == 1:
                raise ValueError("first attempt fails")

    instance = manager.register_integration_class(FlakyInit)
    instance.enable_integration()
    assert not instance.enabled
    assert instance.failure is not None

    instance.enable_integration()

    assert instance.enabled
    assert instance.failure is None
    assert len(attempts) == 2


@sqlite_only
def test_shutdown_error_is_logged_and_hooks_still_shut_down(
    manager: IntegrationManager, caplog: pytest.LogCaptureFixture
) -> None:
    signal = Signal()
    received: list[object] = []

    class BrokenShutdown(Integration):
        integration_id = "test_integration.broken-shutdown"

        def initialize(self) -> None:
            SignalHook(self, signal, lambda sender, **kwargs: received.append(sender))

        def shutdown(self) -> None:
            raise RuntimeError("shutdown exploded")

    instance = manager.register_integration_class(BrokenShutdown)
    instance.enable_integration()

    with caplog.at_level(logging.ERROR, logger="flask_integrations"):
        instance.disable_integration()

    assert not instance.enabled
    assert instance.hooks == set()
    signal.send("after disable")
    assert received == []
    records = error_records(caplog, "test_integration.broken-shutdown")
    assert records, caplog.text
    assert records[0].exc_info is not None
    assert "shutdown exploded" in caplog.text


# -- create_config ----------------------------------------------------------------


def test_create_config_without_save_builds_an_unsaved_config(
    manager: IntegrationManager, db: SQLAlchemy
) -> None:
    class Unsaved(Recorder):
        integration_id = "test_integration.unsaved"

    instance = manager.register_integration_class(Unsaved)

    config = instance.create_config(name="draft", enabled=True, settings={"a": 1})

    assert type(config) is manager.config_model
    assert config.integration_id == "test_integration.unsaved"
    assert config.name == "draft"
    assert config.enabled is True
    assert config.settings == {"a": 1}
    assert config.id is None
    assert config not in db.session
    db.session.commit()
    assert count_configs(db, manager.config_model) == 0
    assert not instance.enabled
    assert instance.calls == []


def test_create_config_with_save_commits_it(
    manager: IntegrationManager, db: SQLAlchemy
) -> None:
    class Saved(Recorder):
        integration_id = "test_integration.saved"

    instance = manager.register_integration_class(Saved)

    config = instance.create_config(name="live", enabled=True, save=True)
    # A rollback cannot undo what was committed.
    db.session.rollback()

    assert isinstance(config, manager.config_model)
    assert config.id is not None
    stored = db.session.get(manager.config_model, config.id)
    assert stored is not None
    assert stored.integration_id == "test_integration.saved"
    assert stored.name == "live"
    assert count_configs(db, manager.config_model) == 1
    assert [c.name for c in instance.get_configs()] == ["live"]
    assert instance.enabled
    assert instance.calls == ["initialize"]


# -- signals ---------------------------------------------------------------------


@sqlite_only
def test_enabled_and_disabled_signals_have_the_integration_as_sender(
    manager: IntegrationManager,
) -> None:
    class Signalling(Integration):
        integration_id = "test_integration.signalling"

    instance = manager.register_integration_class(Signalling)
    events: list[tuple[str, object, bool]] = []

    def on_enabled(sender: t.Any, **kwargs: t.Any) -> None:
        events.append(("enabled", sender, sender.enabled))

    def on_disabled(sender: t.Any, **kwargs: t.Any) -> None:
        events.append(("disabled", sender, sender.enabled))

    with (
        integration_enabled.connected_to(on_enabled),
        integration_disabled.connected_to(on_disabled),
    ):
        instance.enable_integration()
        instance.enable_integration()
        instance.disable_integration()
        instance.disable_integration()

    mine = [e for e in events if e[1] is instance]
    assert mine == [("enabled", instance, True), ("disabled", instance, False)]


def test_enabled_signal_follows_configuration_changes(
    manager: IntegrationManager, db: SQLAlchemy
) -> None:
    class SignalledByConfig(Integration):
        integration_id = "test_integration.signalled-by-config"

    instance = manager.register_integration_class(SignalledByConfig)
    events: list[str] = []

    def on_enabled(sender: t.Any, **kwargs: t.Any) -> None:
        if sender is instance:
            events.append("enabled")

    def on_disabled(sender: t.Any, **kwargs: t.Any) -> None:
        if sender is instance:
            events.append("disabled")

    with (
        integration_enabled.connected_to(on_enabled),
        integration_disabled.connected_to(on_disabled),
    ):
        config = instance.create_config(name="c", enabled=True, save=True)
        config.enabled = False
        db.session.commit()

    assert events == ["enabled", "disabled"]


@sqlite_only
def test_no_enabled_signal_when_initialize_fails(
    manager: IntegrationManager, caplog: pytest.LogCaptureFixture
) -> None:
    class FailsToStart(Integration):
        integration_id = "test_integration.fails-to-start"

        def initialize(self) -> None:
            raise RuntimeError("no")

    instance = manager.register_integration_class(FailsToStart)
    senders: list[object] = []

    def on_enabled(sender: t.Any, **kwargs: t.Any) -> None:
        senders.append(sender)

    with (
        caplog.at_level(logging.ERROR, logger="flask_integrations"),
        integration_enabled.connected_to(on_enabled),
    ):
        instance.enable_integration()

    assert instance not in senders
    assert not instance.enabled
