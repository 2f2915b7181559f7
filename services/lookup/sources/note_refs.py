"""The codes an ICD-10-CM instructional note refers to, and whether such a reference covers a code.

Notes write codes the way the tabular list does: single codes (`Z79.4`, `E11.A`), codes that stand
for everything below them (`E08.-`, `O24.4-`) and ranges (`E08-E13`, `O00-O9A`, `P28.3- - P28.4-`,
`S06.1- to S06.6-`). References are returned in the dotted form the publisher uses; ranges are
returned as `FIRST-LAST` without the endpoints' dash markers, since an endpoint of a range already
stands for everything below it.
"""

from __future__ import annotations

import re

# A category is a letter, a digit and a digit or letter (E11, O9A), or a letter, "A" and a digit
# (QA0); a wider "letter, letter, digit" would take gene and protein names (GM2, GH1) for codes.
# Subcategories and codes add a dot and up to four characters (E11.9, T36.0X1A).
_CATEGORY = r"[A-Z](?:\d[0-9A-Z]|A\d)"
_CODE = rf"{_CATEGORY}(?:\.[0-9A-Z]{{1,4}})?"
_MARK = r"\.?-"  # "E08.-", "O24.4-": the code and everything below it
# Between the two ends of a range the tabular writes "-", " - ", " -", "- - ", "- -", "- to ", " to "
# and once "- " (I69.81- I69.91-). ".- " is left out: it ends one code of a list (E08.- E09.-).
_RANGE_SEPARATOR = r"(?:\.?-\s*-\s*|\.?-\s+to\s+|\s+to\s+|\s+-\s*|-\s+|\.?-)"
_BEFORE = r"(?<![A-Za-z0-9.\-])"
_RANGE = re.compile(
    rf"{_BEFORE}(?P<first>{_CODE}){_RANGE_SEPARATOR}(?P<last>{_CODE})(?:{_MARK})?(?![A-Za-z0-9])"
)
_SINGLE = re.compile(rf"{_BEFORE}(?P<code>{_CODE})(?:(?P<mark>{_MARK})|(?![A-Za-z0-9]))")
# Words after which a code-shaped token names something else: vitamin B12, limb-girdle muscular
# dystrophy subtypes (LGMD R12).
_NOT_A_CODE_BEFORE = re.compile(r"(?:vitamin|LGMD)\s+$", re.IGNORECASE)
_DASHES = str.maketrans({"–": "-", "—": "-", "‐": "-", "‑": "-"})

# Categories with a letter in third place sit in the tabular list next to related categories, not
# after the digits: C4A (Merkel cell carcinoma) belongs to block C43-C44, C7A/C7B come before C76,
# D3A before D37. Ranges order each right after the category named here. The tabular prints J4A
# between J44 and J45, but its block is J40-J4A (J45 and J47 in it), so ranges put J4A after J47.
_PLACED_AFTER = {
    "C4A": ("C43", 1),
    "C7A": ("C75", 1),
    "C7B": ("C75", 2),
    "D3A": ("D36", 1),
    "I1A": ("I16", 1),
    "I5A": ("I52", 1),
    "J4A": ("J47", 1),
    "M1A": ("M10", 1),
    "O9A": ("O99", 1),
    "Z3A": ("Z36", 1),
}
_CODE_KEY = re.compile(rf"^{_CATEGORY}[0-9A-Z]*$")


def parse_codes(text: str) -> tuple[str, ...]:
    """The codes a note refers to, in the order written, each once, in the publisher's dotted form."""
    text = text.translate(_DASHES)
    found: list[tuple[int, str]] = []
    taken = [False] * len(text)
    for match in _RANGE.finditer(text):
        if _NOT_A_CODE_BEFORE.search(text, 0, match.start()):
            continue
        found.append((match.start(), f"{match['first']}-{match['last']}"))
        taken[match.start() : match.end()] = [True] * (match.end() - match.start())
    for match in _SINGLE.finditer(text):
        if taken[match.start()] or _NOT_A_CODE_BEFORE.search(text, 0, match.start()):
            continue
        code = match["code"]
        if match["mark"]:
            code += ".-" if "." not in code else "-"
        found.append((match.start(), code))
    found.sort()
    return tuple(dict.fromkeys(code for _, code in found))


def _plain(code: str) -> str:
    return code.strip().upper().replace(".", "")


def _order_key(code: str) -> tuple[tuple[str, int], str]:
    """Sort key of an undotted code: its category as the tabular list orders it, then the rest."""
    category = code[:3]
    return _PLACED_AFTER.get(category, (category, 0)), code[3:]


def _split_range(reference: str) -> tuple[str, str] | None:
    parts = re.split(r"-+(?=[A-Z])", reference)
    if len(parts) != 2:
        return None
    return parts[0].rstrip("-"), parts[1].rstrip("-")


def _in_range(first: str, last: str, code: str) -> bool:
    # An ancestor of an end point is only partly inside the range, so it is not covered.
    if (len(code) < len(first) and first.startswith(code)) or (
        len(code) < len(last) and last.startswith(code)
    ):
        return False
    return _order_key(first) <= _order_key(code[: len(first)]) and _order_key(
        code[: len(last)]
    ) <= _order_key(last)


def _covers_one(reference: str, code: str) -> bool:
    if not _CODE_KEY.match(code):
        return False  # a chapter number is covered only by itself
    ends = _split_range(reference)
    if ends is None:
        return bool(_CODE_KEY.match(reference.rstrip("-"))) and code.startswith(reference.rstrip("-"))
    first, last = ends
    return bool(_CODE_KEY.match(first) and _CODE_KEY.match(last)) and _in_range(first, last, code)


def covers(reference: str, code: str) -> bool:
    """Whether a note's reference (`E08.-`, `O24.4-`, `K35.8`, `E08-E13`) takes in the whole of a code.

    A code covers itself and everything below it; a range covers every code from its first end
    to its last end and below. The code may itself be a block (`E08-E13`): it is covered when both
    of its ends are. Dots and case do not matter.
    """
    reference, code = _plain(reference), _plain(code)
    if not reference or not code:
        return False
    if reference == code:
        return True
    code_ends = _split_range(code)
    if code_ends is not None:
        return all(_covers_one(reference, end) for end in code_ends)
    return _covers_one(reference, code)
