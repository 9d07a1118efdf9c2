"""The per-user change feed.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02

Existing containers enter the feed in name order, at positions 1..n of
their user, so that a reader starting from the beginning sees them all.
"""

from alembic import op
import sqlalchemy as sa

from cloudprefs.storage import sql_tables

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'user_feed',
        sa.Column('user_id', sql_tables.UTF8Bytes(), primary_key=True),
        sa.Column('seq', sa.BigInteger(), nullable=False),
        sa.Column('expired', sa.BigInteger(), nullable=False,
                  server_default=sa.text('0')),
        mysql_engine='InnoDB',
        mysql_charset='utf8mb4',
    )
    op.create_table(
        'container_changes',
        sa.Column('user_id', sql_tables.UTF8Bytes(), primary_key=True),
        sa.Column('name', sql_tables.UTF8Bytes(), primary_key=True),
        sa.Column('seq', sa.BigInteger(), nullable=False),
        sa.Column('revision', sa.BigInteger(), nullable=True),
        sa.Column('changed_us', sa.BigInteger(), nullable=False),
        mysql_engine='InnoDB',
        mysql_charset='utf8mb4',
    )
    op.create_index('container_changes_by_seq', 'container_changes',
                    ['user_id', 'seq'], unique=True)
    # Window functions: PostgreSQL, MariaDB 10.2+, SQLite 3.25+.
    op.execute(
        'INSERT INTO container_changes (user_id, name, seq, revision, '
        'changed_us) SELECT user_id, name, ROW_NUMBER() OVER ('
        'PARTITION BY user_id ORDER BY name), revision, modified_us '
        'FROM containers')
    op.execute(
        'INSERT INTO user_feed (user_id, seq, expired) '
        'SELECT user_id, COUNT(*), 0 FROM containers GROUP BY user_id')
