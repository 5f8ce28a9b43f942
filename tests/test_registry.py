"""Registering integration classes with an :class:`IntegrationManager`."""

from __future__ import annotations

import re
import typing as t

import pytest
from blinker import Signal
from flask_sqlalchemy import SQLAlchemy

import flask_integrations
from flask_integrations import (
    Integration,
    IntegrationAlreadyRegisteredError,
    IntegrationError,
    IntegrationManager,
    IntegrationNotRegisteredError,
    IntegrationRegistrationError,
    SignalHook,
)

#: For tests that do no database work of their own: one backend is enough.
sqlite_only = pytest.mark.parametrize("backend", ["sqlite"])


def make_listener(
    integration_id: str, signal: Signal, received: list[tuple[str, object]]
) -> type[Integration]:
    """Build an integration class that records ``signal`` while enabled."""

    class Listener(Integration):
        def __init__(self, integration_mgr: IntegrationManager) -> None:
            super().__init__(integration_mgr)
            self.shutdown_calls = 0

        def initialize(self) -> None:
            SignalHook(self, signal, self.on_signal)

        def shutdown(self) -> None:
            self.shutdown_calls += 1

        def on_signal(self, sender: t.Any, **kwargs: t.Any) -> None:
            received.append((self.integration_id or "", sender))

    Listener.integration_id = integration_id
    return Listener


@sqlite_only
def test_register_returns_the_instance(manager: IntegrationManager) -> None:
    class Returned(Integration):
        integration_id = "test_registry.returned"

    instance = manager.register_integration_class(Returned)

    assert type(instance) is Returned
    assert instance.integration_mgr is manager
    assert manager.get_integration("test_registry.returned") is instance
    assert not instance.enabled
    assert instance.hooks == set()


@sqlite_only
def test_registering_the_same_class_twice_fails(manager: IntegrationManager) -> None:
    class Twice(Integration):
        integration_id = "test_registry.twice"

    first = manager.register_integration_class(Twice)

    with pytest.raises(
        IntegrationAlreadyRegisteredError, match=r"test_registry\.twice"
    ):
        manager.register_integration_class(Twice)

    assert manager.get_integration_classes() == [Twice]
    assert manager.get_integration("test_registry.twice") is first


@sqlite_only
def test_registering_the_same_auto_id_class_twice_fails(
    manager: IntegrationManager,
) -> None:
    class AutoTwice(Integration):
        pass

    manager.register_integration_class(AutoTwice)

    with pytest.raises(IntegrationAlreadyRegisteredError):
        manager.register_integration_class(AutoTwice)

    assert manager.get_integration_classes() == [AutoTwice]


@sqlite_only
def test_another_class_with_a_taken_id_fails(manager: IntegrationManager) -> None:
    class Original(Integration):
        integration_id = "test_registry.taken"

    class Impostor(Integration):
        integration_id = "test_registry.taken"

    original = manager.register_integration_class(Original)

    with pytest.raises(
        IntegrationAlreadyRegisteredError, match=re.escape("'test_registry.taken'")
    ) as exc_info:
        manager.register_integration_class(Impostor)

    assert exc_info.value.integration_id == "test_registry.taken"
    assert manager.get_integration_classes() == [Original]
    assert manager.get_integration("test_registry.taken") is original


def _a_function() -> None:
    """Not an integration."""


class PlainClass:
    """Looks like an integration, but is not one."""

    integration_id = "test_registry.plain"


@pytest.mark.parametrize(
    "candidate",
    [_a_function, PlainClass, PlainClass(), None, "test_registry.by-name"],
    ids=["function", "plain-class", "plain-instance", "none", "string"],
)
@sqlite_only
def test_non_integrations_are_refused(
    manager: IntegrationManager, candidate: t.Any
) -> None:
    with pytest.raises(IntegrationRegistrationError):
        manager.register_integration_class(candidate)

    assert manager.get_integration_classes() == []


@sqlite_only
def test_an_integration_instance_is_refused(manager: IntegrationManager) -> None:
    class InstanceOnly(Integration):
        integration_id = "test_registry.instance-only"

    with pytest.raises(IntegrationRegistrationError):
        manager.register_integration_class(InstanceOnly(manager))  # type: ignore[arg-type]

    assert manager.get_integration_classes() == []
    with pytest.raises(IntegrationNotRegisteredError):
        manager.get_integration("test_registry.instance-only")


@sqlite_only
def test_constructor_error_registers_nothing(manager: IntegrationManager) -> None:
    class Exploding(Integration):
        integration_id = "test_registry.exploding"

        def __init__(self, integration_mgr: IntegrationManager) -> None:
            super().__init__(integration_mgr)
            raise ValueError("bad constructor")

    class Fixed(Integration):
        integration_id = "test_registry.exploding"

    with pytest.raises(IntegrationRegistrationError) as exc_info:
        manager.register_integration_class(Exploding)

    assert isinstance(exc_info.value.__cause__, ValueError)
    assert "Exploding" in str(exc_info.value)
    assert manager.get_integration_classes() == []
    assert manager.get_integrations() == []
    with pytest.raises(IntegrationNotRegisteredError):
        manager.get_integration("test_registry.exploding")
    # The id was not reserved by the failed attempt.
    assert type(manager.register_integration_class(Fixed)) is Fixed


@sqlite_only
def test_unregistering_an_unknown_class_fails(manager: IntegrationManager) -> None:
    class NeverRegistered(Integration):
        integration_id = "test_registry.never-registered"

    with pytest.raises(IntegrationNotRegisteredError):
        manager.unregister_integration_class(NeverRegistered)


@sqlite_only
def test_unregistering_twice_fails(manager: IntegrationManager) -> None:
    class Once(Integration):
        integration_id = "test_registry.once"

    manager.register_integration_class(Once)
    manager.unregister_integration_class(Once)

    with pytest.raises(IntegrationNotRegisteredError):
        manager.unregister_integration_class(Once)


@sqlite_only
def test_unregistering_a_class_with_a_taken_id_leaves_the_owner(
    manager: IntegrationManager,
) -> None:
    class Owner(Integration):
        integration_id = "test_registry.owner"

    class SameId(Integration):
        integration_id = "test_registry.owner"

    owner = manager.register_integration_class(Owner)

    with pytest.raises(IntegrationNotRegisteredError):
        manager.unregister_integration_class(SameId)

    assert manager.get_integration("test_registry.owner") is owner


def test_unregistering_an_enabled_integration_disables_it(
    manager: IntegrationManager, db: SQLAlchemy
) -> None:
    signal = Signal()
    received: list[tuple[str, object]] = []
    cls = make_listener("test_registry.unregistered", signal, received)
    instance = manager.register_integration_class(cls)
    instance.create_config(name="c", enabled=True, save=True)
    assert instance.enabled
    signal.send("while registered")

    manager.unregister_integration_class(cls)

    assert not instance.enabled
    assert instance.shutdown_calls == 1
    assert instance.hooks == set()
    signal.send("after unregistering")
    assert received == [("test_registry.unregistered", "while registered")]
    with pytest.raises(IntegrationNotRegisteredError):
        manager.get_integration("test_registry.unregistered")
    assert cls not in manager.get_integration_classes()

    # Its configuration still exists, but a later sync does not revive it.
    manager.mark_changed()
    manager.check_expired()
    signal.send("after a sync")
    assert not instance.enabled
    assert len(received) == 1


def test_reregistering_after_unregistering_enables_a_new_instance(
    manager: IntegrationManager,
) -> None:
    signal = Signal()
    received: list[tuple[str, object]] = []
    cls = make_listener("test_registry.comeback", signal, received)
    first = manager.register_integration_class(cls)
    first.create_config(name="c", enabled=True, save=True)
    manager.unregister_integration_class(cls)

    second = manager.register_integration_class(cls)
    manager.check_expired()

    assert second is not first
    assert second.enabled
    assert not first.enabled
    signal.send("again")
    assert received == [("test_registry.comeback", "again")]


@sqlite_only
def test_get_integration_with_an_unknown_id_fails(manager: IntegrationManager) -> None:
    with pytest.raises(
        IntegrationNotRegisteredError, match=re.escape("'test_registry.nothing-here'")
    ) as exc_info:
        manager.get_integration("test_registry.nothing-here")

    assert exc_info.value.integration_id == "test_registry.nothing-here"


@sqlite_only
def test_get_integrations_and_classes_in_registration_order(
    manager: IntegrationManager,
) -> None:
    class First(Integration):
        integration_id = "test_registry.z-first"

    class Second(Integration):
        integration_id = "test_registry.a-second"

    class Third(Integration):
        integration_id = "test_registry.m-third"

    assert manager.get_integration_classes() == []
    assert manager.get_integrations() == []

    instances = [manager.register_integration_class(c) for c in (First, Second, Third)]

    assert manager.get_integration_classes() == [First, Second, Third]
    assert manager.get_integrations() == instances

    manager.unregister_integration_class(Second)

    assert manager.get_integration_classes() == [First, Third]
    assert manager.get_integrations() == [instances[0], instances[2]]


@sqlite_only
def test_returned_lists_are_copies(manager: IntegrationManager) -> None:
    class Listed(Integration):
        integration_id = "test_registry.listed"

    manager.register_integration_class(Listed)

    manager.get_integration_classes().clear()
    manager.get_integrations().clear()

    assert manager.get_integration_classes() == [Listed]
    assert len(manager.get_integrations()) == 1


@pytest.mark.parametrize(
    ("error", "parent"),
    [
        (IntegrationRegistrationError, IntegrationError),
        (IntegrationAlreadyRegisteredError, IntegrationRegistrationError),
        (IntegrationAlreadyRegisteredError, IntegrationError),
        (IntegrationNotRegisteredError, IntegrationError),
        (IntegrationError, Exception),
    ],
)
def test_error_hierarchy(error: type[Exception], parent: type[Exception]) -> None:
    assert issubclass(error, parent)


def test_not_registered_is_not_a_registration_error() -> None:
    assert not issubclass(IntegrationNotRegisteredError, IntegrationRegistrationError)


@pytest.mark.parametrize(
    "name",
    [
        "IntegrationError",
        "IntegrationRegistrationError",
        "IntegrationAlreadyRegisteredError",
        "IntegrationNotRegisteredError",
        "IntegrationManager",
        "Integration",
    ],
)
def test_public_names_are_importable_from_the_package(name: str) -> None:
    assert name in flask_integrations.__all__
    assert getattr(flask_integrations, name).__name__ == name


def test_shutdown_disables_everything_and_empties_the_registry(
    manager: IntegrationManager, db: SQLAlchemy
) -> None:
    signal = Signal()
    received: list[tuple[str, object]] = []
    classes = [
        make_listener("test_registry.shutdown-a", signal, received),
        make_listener("test_registry.shutdown-b", signal, received),
    ]
    instances = [manager.register_integration_class(c) for c in classes]
    db.session.add_all([i.create_config(name="c", enabled=True) for i in instances])
    db.session.commit()
    assert all(i.enabled for i in instances)

    manager.shutdown()

    assert [i.enabled for i in instances] == [False, False]
    assert [i.shutdown_calls for i in instances] == [1, 1]
    assert [i.hooks for i in instances] == [set(), set()]
    assert manager.get_integrations() == []
    assert manager.get_integration_classes() == []
    with pytest.raises(IntegrationNotRegisteredError):
        manager.get_integration("test_registry.shutdown-a")
    signal.send("after shutdown")
    assert received == []
    assert not signal.receivers

    # Nothing comes back to life afterwards.
    manager.check_expired()
    assert not any(i.enabled for i in instances)
