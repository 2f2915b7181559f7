"""Pair questions on CPT/HCPCS codes answered from NCCI edits once an operator has imported them:
the engine over the real lookup (full catalog, no CPT imported) and A2's importer on CMS-layout fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest
from medcode.lookup.v1 import lookup_pb2_grpc

from services.assistant import ncci
from services.assistant.catalog_client import CatalogClient
from services.assistant.engine import Assistant
from services.assistant.migrate import upgrade_to_head
from services.common.db import create_db_engine

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ncci"
PTP = [FIXTURES / "ccipra-v321r0-f1.txt", FIXTURES / "ccipra-v321r0-f2.txt"]


@pytest.fixture
def assistant_db(tmp_path):
    engine = create_db_engine(f"sqlite:///{tmp_path}/assistant.db")
    upgrade_to_head(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def catalog(lookup_channel):
    return CatalogClient(lookup_pb2_grpc.LookupServiceStub(lookup_channel))


async def test_an_imported_ptp_edit_answers_a_pair_of_procedure_codes(catalog, assistant_db):
    ncci.import_ptp(assistant_db, PTP)
    assistant = Assistant(catalog, ncci=ncci.ncci_lookup(assistant_db))

    answer = await assistant.answer("Can I report 29881 with 29880?")

    assert answer.intent == "code_pair"
    assert "**NCCI procedure-to-procedure edits**" in answer.markdown
    assert "column 1 **29881**, column 2 **29880**" in answer.markdown
    assert "modifier indicator 0 — never together" in answer.markdown
    assert answer.citations == []  # CPT is not in the catalog: nothing of it is cited


async def test_a_pair_no_edit_names_is_said_so(catalog, assistant_db):
    ncci.import_ptp(assistant_db, PTP)
    assistant = Assistant(catalog, ncci=ncci.ncci_lookup(assistant_db))

    answer = await assistant.answer("Can 29881 and 99999 be billed together?")

    assert "**NCCI:** no procedure-to-procedure edit pairs 29881 with 99999." in answer.markdown


async def test_without_an_imported_table_procedure_pairs_cannot_be_grounded(catalog, assistant_db):
    assistant = Assistant(catalog, ncci=ncci.ncci_lookup(assistant_db))

    answer = await assistant.answer("Can I report 29881 with 29880?")

    assert answer.intent == "cannot_ground"
    assert "no NCCI procedure-to-procedure table is imported" in answer.markdown
