"""When a container expires.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07

``expires_at`` is the second (Unix time) from which the container is gone
for every read; NULL, as for every existing row, never. The index lets
the sweep find expired containers without scanning the others.
"""

from alembic import op
import sqlalchemy as sa

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('containers') as batch:
        batch.add_column(sa.Column('expires_at', sa.BigInteger(),
                                   nullable=True))
    op.create_index('containers_by_expiry', 'containers', ['expires_at'])
