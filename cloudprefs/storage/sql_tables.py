"""The SQL schema, as the current migration leaves it.

``containers`` is keyed by ``(user_id, name)``: the user leads the primary
key, so every query of the driver is a lookup or a range scan on one
user's rows. Names and user ids are stored as their UTF-8 bytes
(BLOB/BYTEA/VARBINARY): byte order of UTF-8 is code-point order, and no
collation folds case or pads trailing spaces, on every dialect. ``value``
is the container's compact JSON text, which keeps every key (U+0000
included) and number exact on every dialect; ``size`` is its length in
bytes, kept for usage accounting. A large container also keeps
``path_index``, where each member lies in ``value`` (see
:mod:`cloudprefs.storage.path_index`), valid only while
``path_index_revision`` is the row's ``revision``. ``expires_at`` is the
Unix second from which the container is gone for every read (NULL:
never); the sweep deletes it then.

Changes to these tables go with an alembic migration in
``sql_migrations/versions``.
"""

import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlalchemy.dialects import postgresql

NAME_BYTES = 255


class UTF8Bytes(sa.types.TypeDecorator):
    """A ``str`` stored as its UTF-8 bytes, compared byte by byte."""

    impl = sa.LargeBinary
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name in ('mysql', 'mariadb'):
            return dialect.type_descriptor(mysql.VARBINARY(NAME_BYTES))
        return dialect.type_descriptor(sa.LargeBinary())

    def process_bind_param(self, value, dialect):
        return None if value is None else value.encode('utf-8')

    def process_result_value(self, value, dialect):
        return None if value is None else bytes(value).decode('utf-8')


def json_text_type():
    # MEDIUMTEXT would cap at 16 MiB; LONGTEXT leaves the limit to
    # [api] max_container_size. utf8mb4_bin: 4-byte characters, no folding.
    return sa.Text().with_variant(
        mysql.LONGTEXT(charset='utf8mb4', collation='utf8mb4_bin'),
        'mysql', 'mariadb')


def path_index_type():
    # PostgreSQL looks keys up in jsonb without parsing it; elsewhere the
    # database's JSON functions read the text.
    return sa.Text().with_variant(postgresql.JSONB(), 'postgresql') \
        .with_variant(mysql.LONGTEXT(charset='utf8mb4',
                                     collation='utf8mb4_bin'),
                      'mysql', 'mariadb')


metadata = sa.MetaData()

containers = sa.Table(
    'containers', metadata,
    sa.Column('user_id', UTF8Bytes(), primary_key=True),
    sa.Column('name', UTF8Bytes(), primary_key=True),
    sa.Column('revision', sa.BigInteger(), nullable=False),
    sa.Column('modified_us', sa.BigInteger(), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False,
              server_default=sa.text('0')),
    sa.Column('value', json_text_type(), nullable=False),
    sa.Column('path_index', path_index_type(), nullable=True),
    sa.Column('path_index_revision', sa.BigInteger(), nullable=True),
    # Unix second from which the container is gone; NULL: never.
    sa.Column('expires_at', sa.BigInteger(), nullable=True),
    sa.Index('containers_by_expiry', 'expires_at'),
    mysql_engine='InnoDB',
    mysql_charset='utf8mb4',
)

# Usage recorded for quota enforcement only (reads of usage sum ``size``
# over the user's containers). A missing row is recounted from the
# containers inside the first write that needs it.
user_usage = sa.Table(
    'user_usage', metadata,
    sa.Column('user_id', UTF8Bytes(), primary_key=True),
    sa.Column('containers', sa.BigInteger(), nullable=False),
    sa.Column('bytes', sa.BigInteger(), nullable=False),
    mysql_engine='InnoDB',
    mysql_charset='utf8mb4',
)

# The change feed. ``user_feed`` holds each user's last feed position
# (``seq``) and the newest position whose tombstone was dropped
# (``expired``); every write bumps ``seq`` in its own transaction, and
# the row lock that takes orders the user's writers, so positions commit
# in order. ``container_changes`` holds each container's latest change:
# its position and revision (NULL: a tombstone, the container is gone).
user_feed = sa.Table(
    'user_feed', metadata,
    sa.Column('user_id', UTF8Bytes(), primary_key=True),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('expired', sa.BigInteger(), nullable=False,
              server_default=sa.text('0')),
    mysql_engine='InnoDB',
    mysql_charset='utf8mb4',
)

container_changes = sa.Table(
    'container_changes', metadata,
    sa.Column('user_id', UTF8Bytes(), primary_key=True),
    sa.Column('name', UTF8Bytes(), primary_key=True),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('revision', sa.BigInteger(), nullable=True),
    sa.Column('changed_us', sa.BigInteger(), nullable=False),
    sa.Index('container_changes_by_seq', 'user_id', 'seq', unique=True),
    mysql_engine='InnoDB',
    mysql_charset='utf8mb4',
)
