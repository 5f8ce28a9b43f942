"""Alembic revision files of the extension; Alembic reads them, nobody imports them."""
