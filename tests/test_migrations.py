"""The package's Alembic migrations, run the way a host app runs them: through
Flask-Migrate, with the package's versions folder in ``version_locations``.

From an empty database ``flask db upgrade heads`` creates the tables
exactly as the models define them (autogenerate finds no difference), the app
works on them, and ``downgrade base`` removes them. An app with its own
configuration model autogenerates its extra columns in its own branch.
"""

from __future__ import annotations

import logging.config
import os
import pathlib
import typing as t

import flask_migrate
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import Mapped, mapped_column

from flask_integrations import FlaskIntegrations, IntegrationConfigMixin
from flask_integrations.migrations import BRANCH_LABEL, VERSIONS_PATH, version_location
from tests.conftest import SimpleIntegration, make_app

pytestmark = pytest.mark.filterwarnings(
    # The env.py that Flask-Migrate 4.1 generates calls db.get_engine() before
    # db.engine, and Flask-SQLAlchemy 3.1 deprecates get_engine(). Every app
    # using Flask-Migrate gets this warning; it is not ours to fix.
    "ignore:'get_engine' is deprecated:DeprecationWarning"
)

TABLES = {
    "flask_integrations_config",
    "flask_integrations_sync",
    "flask_integrations_history",
    "flask_integrations_delivery",
    "flask_integrations_delivery_state",
}

#: Table -> column -> (generic type, nullable), as the models define them.
COLUMNS: dict[str, dict[str, tuple[type[sa.types.TypeEngine[t.Any]], bool]]] = {
    "flask_integrations_config": {
        "id": (sa.Integer, False),
        "integration_id": (sa.String, False),
        "name": (sa.String, True),
        "enabled": (sa.Boolean, False),
        "settings": (sa.JSON, False),
        "extra_data": (sa.JSON, False),
        "time_added": (sa.DateTime, False),
        "last_updated": (sa.DateTime, False),
        "version": (sa.Integer, False),
        "settings_version": (sa.Integer, False),
    },
    "flask_integrations_sync": {
        "name": (sa.String, False),
        "generation": (sa.BigInteger, False),
    },
    "flask_integrations_history": {
        "id": (sa.Integer, False),
        "config_id": (sa.Integer, False),
        "integration_id": (sa.String, False),
        "config_name": (sa.String, True),
        "action": (sa.String, False),
        "actor": (sa.String, True),
        "time": (sa.DateTime, False),
        "changes": (sa.JSON, False),
    },
}

PRIMARY_KEYS = {
    "flask_integrations_config": ["id"],
    "flask_integrations_sync": ["name"],
    "flask_integrations_history": ["id"],
}

INDEXES = {
    "flask_integrations_config": {
        "ix_flask_integrations_config_integration_id": ["integration_id"],
        "ix_flask_integrations_config_enabled": ["enabled"],
    },
    "flask_integrations_sync": {},
    "flask_integrations_history": {
        "ix_flask_integrations_history_config_id": ["config_id"],
    },
}


class MigratedIntegration(SimpleIntegration):
    integration_id = "test_migrations.migrated"
    name = "Migrated"


@pytest.fixture(autouse=True)
def keep_logging_config(monkeypatch: pytest.MonkeyPatch) -> None:
    """Stop the generated env.py from reconfiguring logging for the whole
    test process (``fileConfig`` disables every logger that exists)."""
    monkeypatch.setattr(logging.config, "fileConfig", lambda *a, **k: None)


@pytest.fixture
def migrations_dir(tmp_path: pathlib.Path) -> str:
    """Where the host app's Flask-Migrate environment lives."""
    return str(tmp_path / "migrations")


def make_migrated_app(
    database_url: str, db: SQLAlchemy, integrations: FlaskIntegrations, directory: str
) -> Flask:
    """An app with Flask-Migrate whose environment (``flask db init``) also
    reads the package's revisions, as the deployment docs describe."""
    app = make_app(database_url, db, integrations)
    migrate = Migrate(app, db, directory=directory)

    @migrate.configure
    def add_package_revisions(config: t.Any) -> t.Any:
        config.set_main_option("path_separator", "os")
        config.set_main_option(
            "version_locations",
            os.pathsep.join([os.path.join(directory, "versions"), version_location()]),
        )
        return config

    with app.app_context():
        flask_migrate.init(directory=directory)
    return app


@pytest.fixture
def app(
    shared_database_url: str,
    db: SQLAlchemy,
    integrations: FlaskIntegrations,
    migrations_dir: str,
) -> t.Iterator[Flask]:
    """An app with the default configuration model on an empty database."""
    app = make_migrated_app(shared_database_url, db, integrations, migrations_dir)
    yield app
    dispose(app, db)


def dispose(app: Flask, db: SQLAlchemy) -> None:
    with app.app_context():
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()


def table_names(db: SQLAlchemy) -> set[str]:
    return set(sa.inspect(db.engine).get_table_names())


def schema_differences(db: SQLAlchemy) -> list[t.Any]:
    """What ``flask db migrate`` would put in a new revision."""
    with db.engine.connect() as connection:
        return list(
            compare_metadata(MigrationContext.configure(connection), db.metadata)
        )


def test_version_location_is_the_packaged_versions_folder() -> None:
    assert version_location() == VERSIONS_PATH
    assert os.path.isabs(VERSIONS_PATH)
    script = ScriptDirectory(VERSIONS_PATH, version_locations=[VERSIONS_PATH])
    (base,) = script.get_bases()
    assert script.get_revision(BRANCH_LABEL).revision == base


def test_upgrade_from_empty_database_creates_tables_as_models_define_them(
    app: Flask, db: SQLAlchemy, migrations_dir: str
) -> None:
    with app.app_context():
        assert not table_names(db) & TABLES

        flask_migrate.upgrade(directory=migrations_dir, revision="heads")

        inspector = sa.inspect(db.engine)
        assert TABLES <= set(inspector.get_table_names())
        for table, expected in COLUMNS.items():
            columns = {c["name"]: c for c in inspector.get_columns(table)}
            assert set(columns) == set(expected), table
            for name, (type_, nullable) in expected.items():
                assert isinstance(columns[name]["type"], type_), (table, name)
                assert columns[name]["nullable"] is nullable, (table, name)
            indexes = {
                i["name"]: i["column_names"] for i in inspector.get_indexes(table)
            }
            assert indexes == INDEXES[table]
            primary_key = inspector.get_pk_constraint(table)["constrained_columns"]
            assert primary_key == PRIMARY_KEYS[table]
        assert schema_differences(db) == []


def test_app_works_after_upgrade(
    app: Flask, db: SQLAlchemy, integrations: FlaskIntegrations, migrations_dir: str
) -> None:
    with app.app_context():
        flask_migrate.upgrade(directory=migrations_dir, revision="heads")
        integrations.register(MigratedIntegration)
        integration = integrations.manager.get_integration(
            MigratedIntegration.integration_id
        )

        integration.create_config(save=True, name="ops", enabled=True)

        assert [c.name for c in integration.get_configs()] == ["ops"]
        assert integration.enabled
        history = db.metadata.tables["flask_integrations_history"]
        actions = db.session.execute(sa.select(history.c.action)).scalars().all()
        assert actions == ["created"]


def test_downgrade_to_base_removes_the_tables(
    app: Flask, db: SQLAlchemy, migrations_dir: str
) -> None:
    with app.app_context():
        flask_migrate.upgrade(directory=migrations_dir, revision="heads")
        assert TABLES <= table_names(db)

        flask_migrate.downgrade(directory=migrations_dir, revision="base")

        assert not table_names(db) & TABLES


def test_app_config_model_columns_come_from_the_apps_own_revision(
    shared_database_url: str, migrations_dir: str
) -> None:
    db = SQLAlchemy()

    class OrganizationConfig(IntegrationConfigMixin, db.Model):  # type: ignore[name-defined, misc]
        organization_id: Mapped[int | None] = mapped_column(sa.Integer)

    integrations = FlaskIntegrations(
        db=db, config_model=OrganizationConfig, admin_required=lambda: True
    )
    app = make_migrated_app(shared_database_url, db, integrations, migrations_dir)
    app_versions = pathlib.Path(migrations_dir, "versions")
    package_revisions = sorted(pathlib.Path(VERSIONS_PATH).glob("*.py"))
    try:
        with app.app_context():
            flask_migrate.upgrade(directory=migrations_dir, revision="heads")
            # The package's revision made the base table; only the app's
            # column is missing.
            assert [(d[0], d[2], d[3].name) for d in schema_differences(db)] == [
                ("add_column", "flask_integrations_config", "organization_id")
            ]

            # The app's first revision starts its own branch, in its own folder.
            flask_migrate.migrate(
                directory=migrations_dir,
                message="organizations",
                head="base",
                branch_label="app",
                version_path=str(app_versions),
            )
            (revision,) = app_versions.glob("*_organizations.py")
            assert "organization_id" in revision.read_text()
            assert sorted(pathlib.Path(VERSIONS_PATH).glob("*.py")) == package_revisions
            revision.write_text(
                revision.read_text().replace(
                    "depends_on = None", f"depends_on = {BRANCH_LABEL!r}"
                )
            )

            # From an empty database, upgrading the app's branch alone runs the
            # package's revision first: that is what depends_on is for.
            flask_migrate.downgrade(directory=migrations_dir, revision="base")
            assert not table_names(db) & TABLES
            flask_migrate.upgrade(directory=migrations_dir, revision="app@head")
            assert schema_differences(db) == []

            flask_migrate.downgrade(directory=migrations_dir, revision="base")
            assert not table_names(db) & TABLES
    finally:
        dispose(app, db)
