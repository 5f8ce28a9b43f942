"""Discovering integrations that installed packages provide through the
``flask_integrations.integrations`` entry-point group.

Each test installs a small distribution into ``tmp_path`` (a module and its
``.dist-info`` folder) and puts ``tmp_path`` on ``sys.path``, where
:mod:`importlib.metadata` finds it like any installed package.
"""

from __future__ import annotations

import importlib.metadata
import logging
import sys
import textwrap
import typing as t
import uuid
from pathlib import Path

import pytest
from flask import Flask
from flask_sqlalchemy import SQLAlchemy

from flask_integrations import (
    FlaskIntegrations,
    IntegrationManager,
    IntegrationNotRegisteredError,
)
from tests.conftest import make_app

#: For tests that do no database work of their own: one backend is enough.
sqlite_only = pytest.mark.parametrize("backend", ["sqlite"])

GROUP = "flask_integrations.integrations"

GOOD_MODULE = """
from flask_integrations import Integration


class DiscoveredIntegration(Integration):
    integration_id = "discovered.{token}"
    name = "Discovered"
"""


class Distribution:
    """Writes modules and a distribution's metadata into a folder on
    ``sys.path``; remembers the module names so they can be forgotten."""

    def __init__(self, root: Path, name: str) -> None:
        self.root = root
        self.name = name
        self.modules: list[str] = []

    def add_module(self, name: str, source: str) -> None:
        (self.root / f"{name}.py").write_text(textwrap.dedent(source))
        self.modules.append(name)

    def install(self, entry_points: dict[str, str]) -> None:
        info = self.root / f"{self.name}-1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {self.name}\nVersion: 1.0\n"
        )
        lines = [f"[{GROUP}]"] + [f"{k} = {v}" for k, v in entry_points.items()]
        (info / "entry_points.txt").write_text("\n".join(lines) + "\n")


@pytest.fixture
def token() -> str:
    """A unique suffix for module, distribution and integration names."""
    return uuid.uuid4().hex[:12]


@pytest.fixture
def distribution(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, token: str
) -> t.Iterator[Distribution]:
    """A distribution named after ``token``, installed on ``sys.path``."""
    dist = Distribution(tmp_path, f"fi_discovery_dist_{token}")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield dist
    for name in dist.modules:
        sys.modules.pop(name, None)


@pytest.fixture
def build_app(database_url: str, db: SQLAlchemy) -> t.Iterator[t.Callable[..., Flask]]:
    """``build_app(extension, name, **config)``, with the tables dropped and
    the engines disposed afterwards."""
    apps: list[Flask] = []

    def build(
        extension: FlaskIntegrations, name: str = "discovery_app", **config: t.Any
    ) -> Flask:
        app = make_app(database_url, db, extension, name=name, **config)
        apps.append(app)
        with app.app_context():
            db.create_all()
        return app

    yield build
    for app in apps:
        with app.app_context():
            db.session.remove()
            db.drop_all()
            for engine in db.engines.values():
                engine.dispose()


def manager_of(app: Flask) -> IntegrationManager:
    return t.cast(IntegrationManager, app.extensions["integrations"].manager)


def registered_ids(app: Flask) -> list[str]:
    return [c.integration_id or "" for c in manager_of(app).get_integration_classes()]


def test_the_test_distribution_is_seen_as_installed(
    distribution: Distribution, token: str
) -> None:
    module = f"fi_discovery_good_{token}"
    distribution.add_module(module, GOOD_MODULE.format(token=token))
    distribution.install({"good": f"{module}:DiscoveredIntegration"})

    found = [
        ep for ep in importlib.metadata.entry_points(group=GROUP) if ep.module == module
    ]

    assert [ep.name for ep in found] == ["good"]
    assert found[0].dist is not None
    assert found[0].dist.name == distribution.name


def test_discover_registers_installed_integrations(
    distribution: Distribution,
    token: str,
    integrations: FlaskIntegrations,
    build_app: t.Callable[..., Flask],
) -> None:
    module = f"fi_discovery_good_{token}"
    distribution.add_module(module, GOOD_MODULE.format(token=token))
    distribution.install({"good": f"{module}:DiscoveredIntegration"})

    app = build_app(integrations, INTEGRATIONS_DISCOVER=True)

    assert f"discovered.{token}" in registered_ids(app)
    with app.app_context():
        integration = integrations.manager.get_integration(f"discovered.{token}")
        assert type(integration).__module__ == module
        assert integration.name == "Discovered"
        integration.create_config(name="c", enabled=True, save=True)
        assert integration.enabled


@sqlite_only
def test_discovery_is_off_by_default(
    distribution: Distribution,
    token: str,
    integrations: FlaskIntegrations,
    build_app: t.Callable[..., Flask],
) -> None:
    module = f"fi_discovery_good_{token}"
    distribution.add_module(module, GOOD_MODULE.format(token=token))
    distribution.install({"good": f"{module}:DiscoveredIntegration"})

    app = build_app(integrations)
    # Not even at the first request.
    assert app.test_client().get("/nothing-here").status_code == 404

    assert app.config["INTEGRATIONS_DISCOVER"] is False
    assert registered_ids(app) == []
    assert module not in sys.modules
    with app.app_context(), pytest.raises(IntegrationNotRegisteredError):
        integrations.manager.get_integration(f"discovered.{token}")


@sqlite_only
def test_discovery_is_per_app(
    distribution: Distribution,
    token: str,
    integrations: FlaskIntegrations,
    build_app: t.Callable[..., Flask],
) -> None:
    module = f"fi_discovery_good_{token}"
    distribution.add_module(module, GOOD_MODULE.format(token=token))
    distribution.install({"good": f"{module}:DiscoveredIntegration"})

    discovering = build_app(
        integrations, name="discovering", INTEGRATIONS_DISCOVER=True
    )
    plain = build_app(integrations, name="plain")
    plain.test_client().get("/nothing-here")

    assert f"discovered.{token}" in registered_ids(discovering)
    assert registered_ids(plain) == []


@sqlite_only
def test_broken_entry_points_are_logged_and_skipped(
    distribution: Distribution,
    token: str,
    integrations: FlaskIntegrations,
    build_app: t.Callable[..., Flask],
    caplog: pytest.LogCaptureFixture,
) -> None:
    good = f"fi_discovery_good_{token}"
    broken = f"fi_discovery_broken_{token}"
    distribution.add_module(good, GOOD_MODULE.format(token=token))
    distribution.add_module(broken, 'raise RuntimeError("broken at import")\n')
    # The broken ones come first: they must not stop the good one.
    distribution.install(
        {
            "broken-import": f"{broken}:Whatever",
            "missing-attribute": f"{good}:NoSuchIntegration",
            "missing-module": f"fi_discovery_absent_{token}:Integration",
            "not-an-integration": f"{good}:Integration.__init__",
            "good": f"{good}:DiscoveredIntegration",
        }
    )

    with caplog.at_level(logging.ERROR, logger="flask_integrations"):
        app = build_app(integrations, INTEGRATIONS_DISCOVER=True)

    assert registered_ids(app) == [f"discovered.{token}"]
    messages = [
        r.getMessage()
        for r in caplog.records
        if r.name == "flask_integrations" and r.levelno >= logging.ERROR
    ]
    for name in (
        "broken-import",
        "missing-attribute",
        "missing-module",
        "not-an-integration",
    ):
        assert any(name in m for m in messages), (name, messages)
    assert "broken at import" in caplog.text
    assert "NoSuchIntegration" in caplog.text
    assert all(
        r.exc_info is not None
        for r in caplog.records
        if r.name == "flask_integrations" and r.levelno >= logging.ERROR
    )
    # The app serves requests.
    app.add_url_rule("/ping", "ping", lambda: "pong")
    assert app.test_client().get("/ping").status_code == 200


@sqlite_only
def test_entry_point_that_fails_to_register_is_skipped(
    distribution: Distribution,
    token: str,
    integrations: FlaskIntegrations,
    build_app: t.Callable[..., Flask],
    caplog: pytest.LogCaptureFixture,
) -> None:
    good = f"fi_discovery_good_{token}"
    exploding = f"fi_discovery_exploding_{token}"
    distribution.add_module(good, GOOD_MODULE.format(token=token))
    distribution.add_module(
        exploding,
        f"""
        from flask_integrations import Integration


        class ExplodingIntegration(Integration):
            integration_id = "discovered.exploding-{token}"

            def __init__(self, integration_mgr):
                raise RuntimeError("cannot construct")
        """,
    )
    distribution.install(
        {
            "exploding": f"{exploding}:ExplodingIntegration",
            "good": f"{good}:DiscoveredIntegration",
        }
    )

    with caplog.at_level(logging.ERROR, logger="flask_integrations"):
        app = build_app(integrations, INTEGRATIONS_DISCOVER=True)

    assert "cannot construct" in caplog.text
    assert registered_ids(app) == [f"discovered.{token}"]
