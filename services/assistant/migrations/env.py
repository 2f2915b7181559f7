"""Alembic's entry for the assistant schema; services.assistant.migrate hands it the connection."""

from alembic import context
from sqlalchemy import text

from services.assistant.consultation_tables import metadata

# Any fixed number (not the accounts one): replicas starting together migrate one after the other.
MIGRATION_LOCK_ID = 4_412_270_553

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run the assistant migrations with `python -m services.assistant.migrate upgrade`")

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
