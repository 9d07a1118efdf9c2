"""Record each container's size, for usage accounting without a scan.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26

Existing rows get the byte length of their stored compact JSON, which is
exactly the size the driver records on every write.
"""

from alembic import op
import sqlalchemy as sa

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('containers') as batch:
        batch.add_column(sa.Column('size', sa.BigInteger(), nullable=False,
                                   server_default=sa.text('0')))
    dialect = op.get_bind().dialect.name
    byte_length = {
        'sqlite': 'length(CAST(value AS BLOB))',
        'postgresql': 'octet_length(value)',
    }.get(dialect, 'LENGTH(value)')     # MySQL/MariaDB: LENGTH is bytes
    op.execute('UPDATE containers SET size = %s' % byte_length)
