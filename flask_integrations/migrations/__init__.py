"""Alembic migrations for the extension's tables.

The initial revision creates every table of the package
(``flask_integrations_config``, ``_sync``, ``_history``, ``_delivery`` and
``_delivery_state``) on a branch labelled :data:`BRANCH_LABEL`. Apps that use
Flask-Migrate (or Alembic directly) add :func:`version_location` to their
``version_locations`` and run ``flask db upgrade heads``; see the migrations
guide.
"""

from __future__ import annotations

import os

__all__ = ["BRANCH_LABEL", "VERSIONS_PATH", "version_location"]

#: Absolute path of the folder holding the extension's revision files.
VERSIONS_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "versions")

#: Branch label of the extension's revisions. An app's revision that changes
#: the extension's tables (e.g. extra columns of its own configuration model)
#: declares ``depends_on = "flask_integrations"``.
BRANCH_LABEL = "flask_integrations"


def version_location() -> str:
    """Return the folder to add to Alembic's ``version_locations``.

    With Flask-Migrate::

        @migrate.configure
        def configure_alembic(config):
            config.set_main_option("path_separator", "os")
            config.set_main_option(
                "version_locations",
                os.pathsep.join(
                    [os.path.join(migrate.directory, "versions"), version_location()]
                ),
            )
            return config

    :return: The absolute path of the extension's ``versions`` folder.
    """
    return VERSIONS_PATH
