"""Alembic's entry for the assistant schema; services.assistant.migrate hands it the connection."""

from services.assistant.schema import metadata
from services.common.migrations import run_env

# Any fixed number (not the accounts one): replicas starting together migrate one after the other.
MIGRATION_LOCK_ID = 4_412_270_553

run_env(metadata, MIGRATION_LOCK_ID, "assistant")
