"""Code systems and code input: the names, the proto enum, and how a typed code is matched."""

from __future__ import annotations

import re

from medcode.lookup.v1 import lookup_pb2

from services.lookup.records import SYSTEMS

SYSTEM_TO_ENUM = {name: lookup_pb2.CodeSystem.Value(f"CODE_SYSTEM_{name.upper()}") for name in SYSTEMS}
ENUM_TO_SYSTEM = {value: name for name, value in SYSTEM_TO_ENUM.items()}

SYSTEM_NAMES = {
    "icd10cm": "ICD-10-CM",
    "icd10pcs": "ICD-10-PCS",
    "cpt": "CPT",
    "hcpcs": "HCPCS Level II",
    "icd9cm": "ICD-9-CM",
    "icd9pcs": "ICD-9-CM Volume 3 (procedures)",
}

# The longest code of any system is an ICD-10-CM 7-character code with its dot (8) or a block
# range such as `V00-X58`; anything past 16 characters is not a code.
MAX_CODE_LENGTH = 16
_CODE_CHARS = re.compile(r"^[A-Za-z0-9.\-]+$")


class InvalidCode(ValueError):
    """The text cannot be a code of any system: wrong characters or length."""


def code_key(code: str) -> str:
    """How codes are matched: upper case, without dots or surrounding spaces (`e11.65` -> `E1165`)."""
    return code.strip().upper().replace(".", "")


def validate_code_text(code: str) -> str:
    """The trimmed code, or InvalidCode with what is wrong with it."""
    text = code.strip()
    if not text:
        raise InvalidCode("the code is empty")
    if len(text) > MAX_CODE_LENGTH:
        raise InvalidCode(f"a code has at most {MAX_CODE_LENGTH} characters; got {len(text)}")
    if not _CODE_CHARS.match(text):
        raise InvalidCode(f"{text!r} has characters no code uses: only letters, digits, '.' and '-'")
    return text
