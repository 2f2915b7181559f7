"""NCCI procedure-to-procedure edits, medically unlikely edits, and the record of their imports

Revision ID: 0002
Revises: 0001
Create Date: 2026-05-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "ncci_ptp_edits",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("setting", sa.String(24), nullable=False),
        sa.Column("column_one", sa.String(5), nullable=False),
        sa.Column("column_two", sa.String(5), nullable=False),
        sa.Column("effective", sa.Date(), nullable=False),
        sa.Column("deleted", sa.Date(), nullable=True),
        sa.Column("modifier_indicator", sa.String(1), nullable=False),
        sa.Column("rationale", sa.String(300), nullable=False),
        sa.Column("before_1996", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ncci_ptp_edits"),
    )
    op.create_index("ix_ncci_ptp_edits_column_one_column_two", "ncci_ptp_edits", ["column_one", "column_two"])
    op.create_index("ix_ncci_ptp_edits_setting", "ncci_ptp_edits", ["setting"])
    op.create_table(
        "ncci_mues",
        sa.Column("setting", sa.String(24), nullable=False),
        sa.Column("code", sa.String(5), nullable=False),
        sa.Column("units", sa.Integer(), nullable=False),
        sa.Column("adjudication", sa.Integer(), nullable=False),
        sa.Column("adjudication_text", sa.String(100), nullable=False),
        sa.Column("rationale", sa.String(300), nullable=False),
        sa.PrimaryKeyConstraint("setting", "code", name="pk_ncci_mues"),
    )
    op.create_table(
        "ncci_imports",
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("setting", sa.String(24), nullable=False),
        sa.Column("version", sa.String(32), nullable=False),
        sa.Column("sources", sa.String(2000), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("row_count", sa.Integer(), nullable=False),
        sa.Column("imported_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("kind", "setting", name="pk_ncci_imports"),
    )


def downgrade() -> None:
    op.drop_table("ncci_imports")
    op.drop_table("ncci_mues")
    op.drop_index("ix_ncci_ptp_edits_setting", table_name="ncci_ptp_edits")
    op.drop_index("ix_ncci_ptp_edits_column_one_column_two", table_name="ncci_ptp_edits")
    op.drop_table("ncci_ptp_edits")
