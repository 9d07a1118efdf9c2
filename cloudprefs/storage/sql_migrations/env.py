"""alembic environment: runs on the connection cloudprefs hands over."""

from alembic import context

from cloudprefs.storage import sql_tables

connection = context.config.attributes['connection']
context.configure(connection=connection,
                  target_metadata=sql_tables.metadata,
                  render_as_batch=connection.dialect.name == 'sqlite')
with context.begin_transaction():
    context.run_migrations()
