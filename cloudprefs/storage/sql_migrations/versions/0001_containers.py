"""The containers table.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from alembic import op
import sqlalchemy as sa

from cloudprefs.storage import sql_tables

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'containers',
        sa.Column('user_id', sql_tables.UTF8Bytes(), primary_key=True),
        sa.Column('name', sql_tables.UTF8Bytes(), primary_key=True),
        sa.Column('revision', sa.BigInteger(), nullable=False),
        sa.Column('modified_us', sa.BigInteger(), nullable=False),
        sa.Column('value', sql_tables.json_text_type(), nullable=False),
        mysql_engine='InnoDB',
        mysql_charset='utf8mb4',
    )
