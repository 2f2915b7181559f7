"""Protobuf messages to the JSON the API answers with: enum names as the coder reads them, no gRPC noise.

Written out by hand rather than with json_format: the code page is the hot path, and its JSON names
(`icd10cm`, `excludes1`, `block`) are not the proto's enum names.
"""

from __future__ import annotations

from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp
from medcode.accounts.v1 import accounts_pb2
from medcode.lookup.v1 import lookup_pb2


def _names(enum, prefix: str) -> dict[int, str]:
    return {
        value: name.removeprefix(prefix).lower()
        for name, value in enum.items()
        if not name.endswith("_UNSPECIFIED")
    }


SYSTEM_NAME = _names(lookup_pb2.CodeSystem, "CODE_SYSTEM_")
SYSTEM_ENUM = {name: value for value, name in SYSTEM_NAME.items()}
KIND_NAME = _names(lookup_pb2.CodeKind, "CODE_KIND_")
NOTE_KIND_NAME = _names(lookup_pb2.NoteKind, "NOTE_KIND_")
VERDICT_NAME = _names(lookup_pb2.PairVerdict, "PAIR_VERDICT_")
FINDING_NAME = _names(lookup_pb2.FindingKind, "FINDING_KIND_")
PRINCIPAL_KIND_NAME = _names(accounts_pb2.PrincipalKind, "PRINCIPAL_KIND_")
VIEW_REASON_NAME = _names(accounts_pb2.ViewReason, "VIEW_REASON_")


def timestamp(stamp: Timestamp) -> str:
    """RFC 3339 in UTC, to the second (`2026-12-01T00:00:00Z`)."""
    return stamp.ToDatetime().strftime("%Y-%m-%dT%H:%M:%SZ")


def summary(code: lookup_pb2.CodeSummary | lookup_pb2.Code) -> dict[str, Any]:
    return {
        "system": SYSTEM_NAME.get(code.system),
        "code": code.code,
        "title": code.title,
        "kind": KIND_NAME.get(code.kind),
        "billable": code.billable,
    }


def note(message: lookup_pb2.Note) -> dict[str, Any]:
    return {
        "kind": NOTE_KIND_NAME.get(message.kind),
        "text": message.text,
        "codes": list(message.codes),
        "source": message.source,
    }


def pcs_character(message: lookup_pb2.PcsCharacter) -> dict[str, Any]:
    return {
        "position": message.position,
        "axis": message.axis,
        "value": message.value,
        "meaning": message.meaning,
        "definition": message.definition,
        "explanation": message.explanation,
        "examples": message.examples,
    }


def clinical_category(message: lookup_pb2.ClinicalCategory) -> dict[str, Any]:
    return {
        "id": message.id,
        "title": message.title,
        "body_system": message.body_system,
        "is_default": message.is_default,
    }


def mapping(message: lookup_pb2.CrosswalkMapping) -> dict[str, Any]:
    return {
        "source": summary(message.source),
        "target": summary(message.target),
        "approximate": message.approximate,
        "no_map": message.no_map,
        "combination": message.combination,
        "scenario": message.scenario,
        "choice_list": message.choice_list,
        "gem": message.gem,
    }


def code_page(code: lookup_pb2.Code, crosswalks: list[lookup_pb2.CrosswalkMapping]) -> dict[str, Any]:
    """Everything a Code has, its crosswalks, and the licence line shown with it."""
    return {
        **summary(code),
        "short_title": code.short_title,
        "lay_description": code.lay_description,
        "parent": code.parent,
        "release": code.release,
        "licence": code.licence,
        "notes": [note(n) for n in code.notes],
        "inherited_notes": [note(n) for n in code.inherited_notes],
        "ancestors": [summary(a) for a in code.ancestors],
        "children": [summary(c) for c in code.children],
        "pcs_characters": [pcs_character(c) for c in code.pcs_characters],
        "clinical_categories": [clinical_category(c) for c in code.clinical_categories],
        "data_warnings": list(code.data_warnings),
        "billable_descendant_count": code.billable_descendant_count,
        "crosswalks": [mapping(m) for m in crosswalks],
    }


def code_system(info: lookup_pb2.CodeSystemInfo) -> dict[str, Any]:
    return {
        "system": SYSTEM_NAME.get(info.system),
        "name": info.name,
        "version": info.version,
        "release": info.release,
        "licence": info.licence,
        "code_count": info.code_count,
        "billable_count": info.billable_count,
        "coverage": info.coverage,
        "source": info.source,
        "loaded": info.loaded,
    }


def pair_check(answer: lookup_pb2.CheckCodePairResponse) -> dict[str, Any]:
    return {
        "verdict": VERDICT_NAME.get(answer.verdict),
        "first": summary(answer.first),
        "second": summary(answer.second),
        "findings": [
            {
                "kind": FINDING_NAME.get(f.kind),
                "on_code": f.on_code,
                "about_code": f.about_code,
                "note": note(f.note) if f.HasField("note") else None,
                "explanation": f.explanation,
            }
            for f in answer.findings
        ],
        "sequence_first": answer.sequence_first,
        "summary": answer.summary,
    }


def guideline(message: lookup_pb2.Guideline) -> dict[str, Any]:
    return {"id": message.id, "section": message.section, "topic": message.topic, "text": message.text}


def account(message: accounts_pb2.Account) -> dict[str, Any]:
    return {
        "id": message.id,
        "email": message.email,
        "plan": message.plan,
        "create_time": timestamp(message.create_time),
    }


def principal(message: accounts_pb2.Principal) -> dict[str, Any]:
    return {
        "kind": PRINCIPAL_KIND_NAME.get(message.kind),
        "id": message.id,
        "email": message.email or None,
        "plan": message.plan,
        "expire_time": timestamp(message.expire_time),
    }


def quota(answer: accounts_pb2.GetQuotaResponse) -> dict[str, Any]:
    return {
        "limit": None if answer.unlimited else answer.limit,
        "used": answer.used,
        "remaining": None if answer.unlimited else answer.remaining,
        "unlimited": answer.unlimited,
        "period_start": timestamp(answer.period_start),
        "period_end": timestamp(answer.period_end),
    }
