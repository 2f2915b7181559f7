"""The NCCI tables in the assistant database (on the same MetaData as the consultations).

An import replaces one table (PTP or MUE) of one setting in one transaction, and records itself in
ncci_imports: which files, which version, how many rows, and a fingerprint of the files' bytes.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Date, Index, Integer, String, Table

from services.assistant.consultation_tables import UtcDateTime, metadata

ncci_ptp_edits = Table(
    "ncci_ptp_edits",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("setting", String(24), nullable=False),
    Column("column_one", String(5), nullable=False),
    Column("column_two", String(5), nullable=False),
    Column("effective", Date, nullable=False),
    Column("deleted", Date, nullable=True),
    Column("modifier_indicator", String(1), nullable=False),
    Column("rationale", String(300), nullable=False),
    Column("before_1996", Boolean, nullable=False),
    # A pair is looked up both ways round; this index serves each half of the OR.
    Index("ix_ncci_ptp_edits_column_one_column_two", "column_one", "column_two"),
    Index("ix_ncci_ptp_edits_setting", "setting"),
)

ncci_mues = Table(
    "ncci_mues",
    metadata,
    Column("setting", String(24), primary_key=True),
    Column("code", String(5), primary_key=True),
    Column("units", Integer, nullable=False),
    Column("adjudication", Integer, nullable=False),
    Column("adjudication_text", String(100), nullable=False),
    Column("rationale", String(300), nullable=False),
)

ncci_imports = Table(
    "ncci_imports",
    metadata,
    Column("kind", String(8), primary_key=True),
    Column("setting", String(24), primary_key=True),
    Column("version", String(32), nullable=False),
    Column("sources", String(2000), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("row_count", Integer, nullable=False),
    Column("imported_at", UtcDateTime, nullable=False),
)
