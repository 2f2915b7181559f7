"""Every table of the assistant database on one MetaData, for the migrations and the schema tests."""

from __future__ import annotations

from services.assistant import ncci_tables  # noqa: F401 - registers the NCCI tables on the MetaData
from services.assistant.consultation_tables import metadata

__all__ = ["metadata"]
