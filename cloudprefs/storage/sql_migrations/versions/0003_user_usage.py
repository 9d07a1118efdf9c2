"""Per-user usage records, for quotas held under concurrent writers.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26

Starts empty: each user's record is counted from their containers by the
first write that needs it.
"""

from alembic import op
import sqlalchemy as sa

from cloudprefs.storage import sql_tables

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'user_usage',
        sa.Column('user_id', sql_tables.UTF8Bytes(), primary_key=True),
        sa.Column('containers', sa.BigInteger(), nullable=False),
        sa.Column('bytes', sa.BigInteger(), nullable=False),
        mysql_engine='InnoDB',
        mysql_charset='utf8mb4',
    )
