"""Alembic's entry for the accounts schema; services.accounts.migrate hands it the connection."""

from services.accounts.tables import metadata
from services.common.migrations import run_env

# Any fixed number: replicas starting together on one PostgreSQL migrate one after the other.
MIGRATION_LOCK_ID = 4_412_270_503

run_env(metadata, MIGRATION_LOCK_ID, "accounts")
