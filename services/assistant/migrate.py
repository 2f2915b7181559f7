"""Schema migrations of the assistant database (Alembic), run at every start: `upgrade head` is idempotent.

Operators can run them by hand: `python -m services.assistant.migrate upgrade` (or `current`);
developers add a revision with `python -m services.assistant.migrate revision "what changes"`.
The database is the assistant's own (MEDCODE_ASSISTANT_DATABASE_URL): it has an `outbox` table
and an `alembic_version` of its own, so it must not share a schema with another service.
"""

from __future__ import annotations

import sys
from pathlib import Path

from services.common.migrations import ServiceMigrations

MIGRATIONS = ServiceMigrations(
    "assistant", Path(__file__).resolve().parent / "migrations", tables="schema.py"
)

alembic_config = MIGRATIONS.alembic_config
upgrade_to_head = MIGRATIONS.upgrade_to_head
current_revision = MIGRATIONS.current_revision
head_revision = MIGRATIONS.head_revision


def main(argv: list[str] | None = None) -> int:
    return MIGRATIONS.main(argv, description=__doc__.splitlines()[0])


if __name__ == "__main__":
    sys.exit(main())
