"""Where the members of a large container lie in its text.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02

Both columns start empty: existing containers are read whole until their
next write builds the index (see cloudprefs.storage.path_index).
"""

from alembic import op
import sqlalchemy as sa

from cloudprefs.storage import sql_tables

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('containers') as batch:
        batch.add_column(sa.Column('path_index',
                                   sql_tables.path_index_type(),
                                   nullable=True))
        batch.add_column(sa.Column('path_index_revision', sa.BigInteger(),
                                   nullable=True))
