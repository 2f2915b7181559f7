"""Alembic's entry for the accounts schema; services.accounts.migrate hands it the connection."""

from alembic import context
from sqlalchemy import text

from services.accounts.tables import metadata

# Any fixed number: replicas starting together on one PostgreSQL migrate one after the other.
MIGRATION_LOCK_ID = 4_412_270_503

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run the accounts migrations with `python -m services.accounts.migrate upgrade`")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_server_default=True,
)
with context.begin_transaction():
    if connection.dialect.name == "postgresql":
        # Held until the caller's transaction ends; the version is read after it is taken.
        connection.execute(text("select pg_advisory_xact_lock(:id)"), {"id": MIGRATION_LOCK_ID})
    context.run_migrations()
