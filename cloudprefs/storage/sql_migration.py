"""Schema versions of SQL databases (alembic, run in code).

``cloudprefs-manage db_sync`` upgrades to the newest revision; the service
checks the revision at start-up and refuses an empty or older schema,
except for the embedded SQLite database, which upgrades itself.
"""

import logging
import os

from alembic import command
from alembic import config as alembic_config
from alembic import migration
from alembic import script

from cloudprefs.storage import exceptions

LOG = logging.getLogger(__name__)
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


def needs_upgrade(revision, upgrades_itself):
    """Judge a database's schema ``revision`` at start-up (or first use).

    False: serve as it is (the current revision; or a newer one, with a
    warning: code may be rolled out after the database during an upgrade).
    True: upgrade first, for a database that ``upgrades_itself`` (the
    embedded SQLite file). Otherwise an empty or older schema raises
    SchemaNotReady, whose message says to run db_sync.
    """
    head = head_revision()
    if revision == head:
        return False
    if revision is not None and revision not in known_revisions():
        LOG.warning('The database schema is at revision %s, newer than this '
                    'code knows (%s): starting anyway, as during a rolling '
                    'upgrade.', revision, head)
        return False
    if upgrades_itself:
        return True
    raise exceptions.SchemaNotReady(
        'The database schema is %s; this version of cloudprefs needs '
        'revision %s: run "cloudprefs-manage db_sync".'
        % ('empty' if revision is None else 'at revision ' + revision, head))
