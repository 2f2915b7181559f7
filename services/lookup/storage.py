"""The catalog's tables (SQLAlchemy 2 Core). SQLite by default, PostgreSQL at scale.

The catalog is derived data, rebuilt from the packaged code sets, so it is created with
`metadata.create_all` and replaced per code system; `SCHEMA_VERSION` bumps force a rebuild.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

# Bump when the tables or the stored payloads change shape: a rebuild then replaces everything.
SCHEMA_VERSION = 3

metadata = MetaData()

code_systems = Table(
    "code_systems",
    metadata,
    Column("system", String(16), primary_key=True),
    Column("name", String(64), nullable=False),
    Column("version", String(32), nullable=False),
    Column("release", String(128), nullable=False),
    Column("licence", Text, nullable=False),
    Column("coverage", Text, nullable=False),
    Column("source", Text, nullable=False),
    Column("code_count", Integer, nullable=False),
    Column("billable_count", Integer, nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("schema_version", Integer, nullable=False),
    Column("built_at", DateTime(timezone=True), nullable=False),
)

codes = Table(
    "codes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("system", String(16), nullable=False),
    Column("code", String(32), nullable=False),  # as the publisher writes it
    # Upper case, no dot: how input is matched. Byte order on PostgreSQL too, so that prefix ranges
    # on the index mean "starts with".
    Column("code_key", String(32).with_variant(String(32, collation="C"), "postgresql"), nullable=False),
    Column("title", Text, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("billable", Boolean, nullable=False),
    Column("parent", String(32)),
    Column("position", Integer, nullable=False),  # order within the system, as published
    # What search matches besides code and title: inclusion terms and the loader's search terms,
    # one per line.
    Column("terms", Text, nullable=False),
    Column("payload", LargeBinary, nullable=False),  # the serialized medcode.lookup.v1.Code, FULL view
    UniqueConstraint("system", "code_key", name="uq_codes_system_code_key"),
)
# Children in publication order straight from the index (with (system, parent) alone the planner
# preferred walking the whole system by position: 1.8 s for the children of E11).
Index("ix_codes_system_parent_position", codes.c.system, codes.c.parent, codes.c.position)
Index("ix_codes_system_position", codes.c.system, codes.c.position)

crosswalks = Table(
    "crosswalks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("owner", String(16), nullable=False),  # the code system whose build wrote the row
    Column("source_system", String(16), nullable=False),
    Column("source_code", String(32), nullable=False),
    Column("target_system", String(16), nullable=False),
    Column("target_code", String(32), nullable=False),
    Column("approximate", Boolean, nullable=False),
    Column("no_map", Boolean, nullable=False),
    Column("combination", Boolean, nullable=False),
    Column("scenario", Integer, nullable=False),
    Column("choice_list", Integer, nullable=False),
    Column("gem", String(128), nullable=False),
)
Index("ix_crosswalks_source", crosswalks.c.source_system, crosswalks.c.source_code)
Index("ix_crosswalks_target", crosswalks.c.target_system, crosswalks.c.target_code)
Index("ix_crosswalks_owner", crosswalks.c.owner)

clinical_categories = Table(
    "clinical_categories",
    metadata,
    Column("id", String(16), primary_key=True),
    Column("owner", String(16), nullable=False),
    Column("title", Text, nullable=False),
    Column("body_system", String(8), nullable=False),
)

category_members = Table(
    "category_members",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("owner", String(16), nullable=False),
    Column("category_id", String(16), nullable=False),
    Column("system", String(16), nullable=False),
    Column("code", String(32), nullable=False),
    Column("is_default", Boolean, nullable=False),
)
Index("ix_category_members_category", category_members.c.category_id)

guidelines = Table(
    "guidelines",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("owner", String(16), nullable=False),
    Column("system", String(16), nullable=False),
    Column("guideline_id", String(32), nullable=False),
    Column("section", Text, nullable=False),
    Column("topic", Text, nullable=False),
    Column("text", Text, nullable=False),
)

# Derived artifacts the service loads at start (the search index), stored beside the data they
# come from so that a PostgreSQL catalog needs no local files.
artifacts = Table(
    "artifacts",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("content_hash", String(64), nullable=False),
    Column("payload", LargeBinary, nullable=False),
)

# Tables whose rows belong to one code system's build (column `owner`, or `system` for codes).
OWNED_TABLES = (crosswalks, clinical_categories, category_members, guidelines)
