"""Schema migrations of the accounts database (Alembic), run at every start: `upgrade head` is idempotent.

Operators can run them by hand: `python -m services.accounts.migrate upgrade` (or `current`);
developers add a revision with `python -m services.accounts.migrate revision "what changes"`.
"""

from __future__ import annotations

import sys
from pathlib import Path

from services.common.migrations import ServiceMigrations

MIGRATIONS = ServiceMigrations("accounts", Path(__file__).resolve().parent / "migrations", tables="tables.py")

alembic_config = MIGRATIONS.alembic_config
upgrade_to_head = MIGRATIONS.upgrade_to_head
current_revision = MIGRATIONS.current_revision
head_revision = MIGRATIONS.head_revision


def main(argv: list[str] | None = None) -> int:
    return MIGRATIONS.main(argv, description=__doc__.splitlines()[0])


if __name__ == "__main__":
    sys.exit(main())
