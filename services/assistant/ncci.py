"""NCCI edits in the assistant database: importing CMS's files, and what they say about codes.

`python -m services.assistant.ncci import-ptp FILE…`, `import-mue FILE`, `status`, `pair A B`,
`mue CODE` (docs/importers.md). An import replaces one table of one setting in one transaction:
a file that does not read cleanly changes nothing. Importing the same version again with the same
bytes changes nothing either, and an older version never replaces a newer one (unless forced).

The engine asks `ncci_edits_for(engine, code_a, code_b)` (either order) and `mues_for(engine,
code)`; both say which tables are imported, so that "no edit" and "no edits imported" differ.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import Engine, and_, delete, insert, or_, select

from services.assistant.ncci_files import (
    PTP_SETTINGS,
    NcciFileError,
    iter_ptp_edits,
    ptp_source,
    read_mue,
    text_files,
)
from services.assistant.ncci_tables import ncci_imports, ncci_mues, ncci_ptp_edits
from services.common.transactions import write_transaction

PTP, MUE = "ptp", "mue"
BATCH = 5_000
_CODE = re.compile(r"^[A-Z0-9]{5}$")

# What the indicators mean, in our words (NCCI Policy Manual for Medicare Services, ch. I).
MODIFIER_MEANINGS = {
    "0": "never together: no modifier lets the column 2 code be paid with the column 1 code",
    "1": "a modifier may allow both (59, XE, XS, XP, XU, or an anatomic modifier) when the services "
    "were truly distinct and the record shows it",
    "9": "not applicable: the edit was deleted with effect from the day it began, so it never applied",
}
ADJUDICATION_MEANINGS = {
    1: "per claim line: more units may be reported on other lines with a modifier that shows they "
    "were separate (such as 76, 77, an anatomic modifier, or 59/X{EPSU})",
    2: "per day, by policy: more units on one date of service are not payable",
    3: "per day, clinical: more units on one date of service need records showing they were necessary",
}
SETTING_NAMES = {
    "practitioner": "practitioner services",
    "outpatient_hospital": "outpatient hospital services",
    "dme_supplier": "DME supplier services",
}


class InvalidNcciCode(ValueError):
    """A code that cannot be a CPT or HCPCS code (NCCI pairs and MUEs are on those only)."""


@dataclass(frozen=True)
class ImportedTable:
    kind: str
    setting: str
    version: str
    sources: str
    row_count: int
    imported_at: datetime


@dataclass(frozen=True)
class PairEdit:
    """One PTP edit: when both codes are reported, the column 2 code is denied unless the indicator allows."""

    setting: str
    column_one: str
    column_two: str
    effective: date
    deleted: date | None
    modifier_indicator: str
    rationale: str
    version: str

    @property
    def meaning(self) -> str:
        return MODIFIER_MEANINGS[self.modifier_indicator]


@dataclass(frozen=True)
class PairEdits:
    """The edits in force between two codes, and the PTP tables that were looked in."""

    edits: list[PairEdit]
    tables: list[ImportedTable]

    @property
    def imported(self) -> bool:
        return bool(self.tables)


@dataclass(frozen=True)
class MueLimit:
    setting: str
    code: str
    units: int
    adjudication: int
    adjudication_text: str
    rationale: str
    version: str

    @property
    def meaning(self) -> str:
        return ADJUDICATION_MEANINGS[self.adjudication]


@dataclass(frozen=True)
class CodeMues:
    limits: list[MueLimit]
    tables: list[ImportedTable]

    @property
    def imported(self) -> bool:
        return bool(self.tables)


@dataclass(frozen=True)
class ImportResult:
    kind: str
    setting: str
    version: str
    # "imported" (nothing before), "replaced", "unchanged" (same version and bytes), "kept-newer".
    outcome: str
    rows: int
    previous_version: str | None = None


def checked_code(code: str) -> str:
    code = code.strip().upper()
    if not _CODE.match(code):
        raise InvalidNcciCode(
            f"{code[:20]!r} is not a CPT or HCPCS code (five letters or digits, such as 29881)"
        )
    return code


def version_key(version: str) -> tuple[int, ...]:
    """Versions compare by their numbers: `32.1r0` < `32.2r0`, `2026-01-01` < `2026-04-01`."""
    return tuple(int(n) for n in re.findall(r"\d+", version))


def imported_tables(engine: Engine, kind: str | None = None) -> list[ImportedTable]:
    c = ncci_imports.c
    query = select(c.kind, c.setting, c.version, c.sources, c.row_count, c.imported_at).order_by(
        c.kind, c.setting
    )
    if kind:
        query = query.where(ncci_imports.c.kind == kind)
    with engine.connect() as conn:
        return [ImportedTable(**row._mapping) for row in conn.execute(query)]


def _decide(engine: Engine, kind: str, setting: str, version: str, fingerprint: str, force: bool):
    with engine.connect() as conn:
        before = conn.execute(
            select(ncci_imports.c.version, ncci_imports.c.fingerprint).where(
                ncci_imports.c.kind == kind, ncci_imports.c.setting == setting
            )
        ).first()
    if before is None:
        return "imported", None
    if force:
        return "replaced", before.version
    if version_key(before.version) > version_key(version):
        return "kept-newer", before.version
    if before.version == version and before.fingerprint == fingerprint:
        return "unchanged", before.version
    return "replaced", before.version


def _record(conn, kind, setting, version, sources, fingerprint, rows) -> None:
    conn.execute(delete(ncci_imports).where(ncci_imports.c.kind == kind, ncci_imports.c.setting == setting))
    conn.execute(
        insert(ncci_imports).values(
            kind=kind,
            setting=setting,
            version=version,
            sources=", ".join(sources)[:2000],
            fingerprint=fingerprint,
            row_count=rows,
            imported_at=datetime.now(UTC),
        )
    )


def import_ptp(
    engine: Engine, paths: list[Path], *, setting: str | None = None, version: str | None = None, force=False
) -> ImportResult:
    """Replace the PTP table of the files' setting with their edits (all parts at once), all or nothing."""
    source = ptp_source(text_files(paths, ".txt"), setting, version)
    outcome, previous = _decide(engine, PTP, source.setting, source.version, source.fingerprint, force)
    if outcome in ("unchanged", "kept-newer"):
        return ImportResult(PTP, source.setting, source.version, outcome, 0, previous)
    problems: list[str] = []
    rows = 0
    with write_transaction(engine) as conn:
        conn.execute(delete(ncci_ptp_edits).where(ncci_ptp_edits.c.setting == source.setting))
        batch: list[dict] = []
        for edit in iter_ptp_edits(source, problems):
            batch.append(
                {
                    "setting": source.setting,
                    "column_one": edit.column_one,
                    "column_two": edit.column_two,
                    "effective": edit.effective,
                    "deleted": edit.deleted,
                    "modifier_indicator": edit.modifier_indicator,
                    "rationale": edit.rationale,
                    "before_1996": edit.before_1996,
                }
            )
            if len(batch) == BATCH:
                if not problems:  # once a line is bad, nothing is kept: only the checking goes on
                    conn.execute(insert(ncci_ptp_edits), batch)
                rows += len(batch)
                batch = []
        if problems:
            raise NcciFileError(problems)  # rolls the transaction back: the old table stays
        if batch:
            conn.execute(insert(ncci_ptp_edits), batch)
            rows += len(batch)
        _record(conn, PTP, source.setting, source.version, source.sources, source.fingerprint, rows)
    return ImportResult(PTP, source.setting, source.version, outcome, rows, previous)


def import_mue(engine: Engine, path: Path, *, version: str | None = None, force=False) -> ImportResult:
    """Replace the MUE table of the file's setting (practitioner, outpatient hospital, DME supplier)."""
    files = text_files([path], ".csv")
    if len(files) != 1:
        raise NcciFileError([f"{path.name}: holds {len(files)} CSV files; import one MUE table at a time"])
    table = read_mue(files[0], version)
    outcome, previous = _decide(engine, MUE, table.setting, table.version, table.fingerprint, force)
    if outcome in ("unchanged", "kept-newer"):
        return ImportResult(MUE, table.setting, table.version, outcome, 0, previous)
    with write_transaction(engine) as conn:
        conn.execute(delete(ncci_mues).where(ncci_mues.c.setting == table.setting))
        rows = [
            {
                "setting": table.setting,
                "code": mue.code,
                "units": mue.units,
                "adjudication": mue.adjudication,
                "adjudication_text": mue.adjudication_text[:100],
                "rationale": mue.rationale,
            }
            for mue in table.mues
        ]
        for start in range(0, len(rows), BATCH):
            conn.execute(insert(ncci_mues), rows[start : start + BATCH])
        _record(conn, MUE, table.setting, table.version, table.sources, table.fingerprint, len(rows))
    return ImportResult(MUE, table.setting, table.version, outcome, len(rows), previous)


def ncci_edits_for(engine: Engine, code_a: str, code_b: str, *, on: date | None = None) -> PairEdits:
    """The PTP edits in force on `on` (today, UTC) between two codes, in either column order."""
    a, b = checked_code(code_a), checked_code(code_b)
    day = on or datetime.now(UTC).date()
    t = ncci_ptp_edits.c
    query = (
        select(ncci_ptp_edits, ncci_imports.c.version)
        .join(ncci_imports, and_(ncci_imports.c.kind == PTP, ncci_imports.c.setting == t.setting))
        .where(
            or_(and_(t.column_one == a, t.column_two == b), and_(t.column_one == b, t.column_two == a)),
            t.effective <= day,
            or_(t.deleted.is_(None), t.deleted > day),
        )
        .order_by(t.setting, t.column_one)
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    edits = [
        PairEdit(
            r.setting,
            r.column_one,
            r.column_two,
            r.effective,
            r.deleted,
            r.modifier_indicator,
            r.rationale,
            r.version,
        )
        for r in rows
    ]
    return PairEdits(edits, imported_tables(engine, PTP))


def mues_for(engine: Engine, code: str) -> CodeMues:
    """The MUE of `code` in each imported setting."""
    code = checked_code(code)
    query = (
        select(ncci_mues, ncci_imports.c.version)
        .join(ncci_imports, and_(ncci_imports.c.kind == MUE, ncci_imports.c.setting == ncci_mues.c.setting))
        .where(ncci_mues.c.code == code)
        .order_by(ncci_mues.c.setting)
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    limits = [
        MueLimit(r.setting, r.code, r.units, r.adjudication, r.adjudication_text, r.rationale, r.version)
        for r in rows
    ]
    return CodeMues(limits, imported_tables(engine, MUE))


def ncci_lookup(engine: Engine):
    """The engine's NCCI source (compose_pairs.NcciLookup): (code_a, code_b) -> the edits in force as
    mappings, [] when none, or None when no PTP table is imported."""

    async def lookup(code_a: str, code_b: str) -> list[dict] | None:
        try:
            found = await asyncio.to_thread(ncci_edits_for, engine, code_a, code_b)
        except InvalidNcciCode:
            return []  # not a CPT or HCPCS code: no PTP edit can name it
        if not found.imported:
            return None
        return [
            {
                "column1": e.column_one,
                "column2": e.column_two,
                "modifier_indicator": e.modifier_indicator,
                "meaning": e.meaning,
                "setting": e.setting,
                "rationale": e.rationale,
                "effective": e.effective.isoformat(),
                "version": e.version,
            }
            for e in found.edits
        ]

    return lookup


class Ncci:
    """The same questions for async callers (the engine): database reads off the event loop."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    async def edits_for(self, code_a: str, code_b: str, on: date | None = None) -> PairEdits:
        return await asyncio.to_thread(ncci_edits_for, self.engine, code_a, code_b, on=on)

    async def mues_for(self, code: str) -> CodeMues:
        return await asyncio.to_thread(mues_for, self.engine, code)


def main(argv: list[str] | None = None) -> int:
    from services.assistant.consultation_service import assistant_engine
    from services.assistant.migrate import upgrade_to_head
    from services.common.settings import Settings

    parser = argparse.ArgumentParser(
        prog="python -m services.assistant.ncci", description=__doc__.splitlines()[0]
    )
    sub = parser.add_subparsers(dest="action", required=True)
    ptp = sub.add_parser("import-ptp", help="import a PTP edit table: every part (.txt, or the zip) at once")
    ptp.add_argument("paths", nargs="+", type=Path)
    ptp.add_argument("--setting", choices=PTP_SETTINGS)
    ptp.add_argument("--version", help="the table's version when the file names do not carry it (32.1r0)")
    ptp.add_argument("--force", action="store_true", help="replace even a newer or identical import")
    mue = sub.add_parser("import-mue", help="import one MUE table (.csv, or the zip)")
    mue.add_argument("path", type=Path)
    mue.add_argument("--version", help="the quarter when the file name does not carry it (2026-01-01)")
    mue.add_argument("--force", action="store_true")
    sub.add_parser("status", help="which NCCI tables are imported")
    pair = sub.add_parser("pair", help="the PTP edits in force between two codes today")
    pair.add_argument("code_a")
    pair.add_argument("code_b")
    one = sub.add_parser("mue", help="the MUEs of a code")
    one.add_argument("code")
    args = parser.parse_args(argv)
    engine = assistant_engine(Settings.from_env())
    try:
        upgrade_to_head(engine)
        if args.action == "import-ptp":
            result = import_ptp(
                engine, args.paths, setting=args.setting, version=args.version, force=args.force
            )
        elif args.action == "import-mue":
            result = import_mue(engine, args.path, version=args.version, force=args.force)
        elif args.action == "status":
            tables = imported_tables(engine)
            for t in tables:
                print(f"{t.kind} {t.setting}: version {t.version}, {t.row_count:,} rows, from {t.sources}")
            if not tables:
                print("no NCCI tables imported")
            return 0
        elif args.action == "pair":
            found = ncci_edits_for(engine, args.code_a, args.code_b)
            for e in found.edits:
                print(
                    f"{e.setting} {e.column_one} / {e.column_two} (since {e.effective}): {e.meaning}; {e.rationale}"
                )
            if not found.edits:
                print("no edit in force" if found.imported else "no PTP table imported")
            return 0
        else:
            found = mues_for(engine, args.code)
            for m in found.limits:
                print(f"{m.setting} {m.code}: {m.units} unit(s), {m.meaning}; {m.rationale}")
            if not found.limits:
                print("no MUE" if found.imported else "no MUE table imported")
            return 0
        was = f" (was {result.previous_version})" if result.previous_version else ""
        print(f"{result.kind} {result.setting} {result.version}: {result.outcome}, {result.rows:,} rows{was}")
        return 0
    except (NcciFileError, InvalidNcciCode) as error:
        print(f"nothing changed:\n{error}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()


if __name__ == "__main__":
    sys.exit(main())
