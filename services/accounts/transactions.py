"""The accounts' write transactions and conflict-tolerant inserts: those of services.common.transactions."""

from __future__ import annotations

from services.common.transactions import insert_if_absent, write_transaction

__all__ = ["insert_if_absent", "write_transaction"]
