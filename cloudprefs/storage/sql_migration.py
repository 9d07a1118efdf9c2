"""Schema versions of SQL databases (alembic, run in code).

``cloudprefs-manage db_sync`` upgrades to the newest revision; the service
checks the revision at start-up and refuses an empty or older schema,
except for the embedded SQLite database, which upgrades itself.
"""

import os

from alembic import command
from alembic import config as alembic_config
from alembic import migration
from alembic import script

MIGRATIONS = os.path.join(os.path.dirname(__file__), 'sql_migrations')


def _config(connection=None):
    config = alembic_config.Config()
    config.set_main_option('script_location', MIGRATIONS)
    config.attributes['connection'] = connection
    return config


def head_revision():
    return script.ScriptDirectory.from_config(_config()).get_current_head()


def known_revisions():
    directory = script.ScriptDirectory.from_config(_config())
    return {revision.revision for revision in directory.walk_revisions()}


def current_revision(connection):
    """The database's revision, or None for an empty database."""
    return migration.MigrationContext.configure(
        connection).get_current_revision()


def upgrade(connection, revision='head'):
    command.upgrade(_config(connection), revision)
