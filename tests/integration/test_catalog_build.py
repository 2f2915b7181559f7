"""The catalog build and the importer command, on small operator files written for these tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import grpc
import pytest
from medcode.lookup.v1 import lookup_pb2 as pb
from medcode.lookup.v1 import lookup_pb2_grpc
from sqlalchemy import select, update

from services.common.db import create_db_engine
from services.lookup import storage
from services.lookup.bootstrap import start_lookup
from services.lookup.build import build_catalog, store_system
from services.lookup.sources.cpt_importer import load_cpt
from services.lookup.sources.hcpcs_importer import load_hcpcs

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"


@pytest.fixture
def engine(tmp_path):
    engine = create_db_engine(f"sqlite:///{tmp_path}/lookup.db")
    yield engine
    engine.dispose()


def test_rebuilding_the_same_data_is_a_no_op(engine):
    first = build_catalog(engine, [load_cpt(FIXTURES / "cpt_sample.csv")])
    again = build_catalog(engine, [load_cpt(FIXTURES / "cpt_sample.csv")])
    assert [r.action for r in first] == ["built"]
    assert [r.action for r in again] == ["unchanged"]


def test_an_older_release_does_not_replace_a_newer_one(engine):
    build_catalog(engine, [load_cpt(FIXTURES / "cpt_sample_ama_headers.csv", version="2027")])
    report = store_system(engine, load_cpt(FIXTURES / "cpt_sample_ama_headers.csv", version="2026"))
    assert report.action == "kept-newer"
    with engine.connect() as conn:
        assert conn.execute(select(storage.code_systems.c.version)).scalar() == "2027"


def test_a_catalog_of_another_schema_version_is_rebuilt(engine):
    build_catalog(engine, [load_cpt(FIXTURES / "cpt_sample.csv")])
    with engine.begin() as conn:
        conn.execute(update(storage.code_systems).values(schema_version=storage.SCHEMA_VERSION - 1))
    reports = build_catalog(engine, [load_cpt(FIXTURES / "cpt_sample.csv")])
    assert [r.action for r in reports] == ["built"]


def run_catalog(data_dir: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "MEDCODE_DATA_DIR": str(data_dir)}
    env.pop("MEDCODE_LOOKUP_DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "services.lookup.catalog", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_imported_cpt_and_hcpcs_are_served_with_their_licence_lines(tmp_path):
    assert run_catalog(tmp_path, "import-cpt", str(FIXTURES / "cpt_sample.csv")).returncode == 0
    imported = run_catalog(tmp_path, "import-hcpcs", str(FIXTURES / "hcpcs_sample.txt"), "--version", "2026")
    assert imported.returncode == 0, imported.stderr
    status = run_catalog(tmp_path, "status")
    assert "CPT" in status.stdout and "HCPCS" in status.stdout

    engine = create_db_engine(f"sqlite:///{tmp_path}/lookup.db")
    running = await start_lookup(engine, "127.0.0.1:0")
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as channel:
            lookup = lookup_pb2_grpc.LookupServiceStub(channel)
            cpt = (await lookup.GetCode(pb.GetCodeRequest(system=pb.CODE_SYSTEM_CPT, code="99213"))).code
            assert "American Medical Association" in cpt.licence
            expected = next(r for r in load_cpt(FIXTURES / "cpt_sample.csv").codes if r.code == "99213")
            assert (cpt.title, cpt.lay_description) == (expected.title, expected.lay_description)
            found = await lookup.SearchCodes(
                pb.SearchCodesRequest(query="99213", systems=[pb.CODE_SYSTEM_CPT])
            )
            assert found.results[0].code.code == "99213"
            hcpcs = load_hcpcs(FIXTURES / "hcpcs_sample.txt", version="2026")
            some_code = next(r for r in hcpcs.codes if r.kind == "code")
            served = await lookup.GetCode(pb.GetCodeRequest(system=pb.CODE_SYSTEM_HCPCS, code=some_code.code))
            assert served.code.title == some_code.title
            assert "public domain" in served.code.licence
    finally:
        await running.stop(grace=1)
        engine.dispose()


def test_a_bad_import_file_is_refused_with_its_problems_and_nothing_imported(tmp_path):
    result = run_catalog(tmp_path, "import-cpt", str(FIXTURES / "cpt_bad_rows.csv"), "--version", "2026")
    assert result.returncode == 2
    assert "nothing imported" in result.stderr and "line" in result.stderr
    assert "Traceback" not in result.stderr
    assert "CPT" not in run_catalog(tmp_path, "status").stdout


def test_a_missing_import_file_is_named(tmp_path):
    result = run_catalog(tmp_path, "import-hcpcs", str(tmp_path / "nope.txt"))
    assert result.returncode == 2 and "no such file" in result.stderr
