"""Typed errors of the lookup domain; server.py maps each to a gRPC status and reason."""

from __future__ import annotations


class LookupError_(Exception):
    """Base of the lookup domain's errors; `reason` is what a program branches on."""

    reason = "LOOKUP_ERROR"

    def __init__(self, message: str, **metadata: str) -> None:
        super().__init__(message)
        self.message = message
        self.metadata = metadata


class InvalidArgument(LookupError_):
    reason = "INVALID_ARGUMENT"

    def __init__(self, field: str, message: str, reason: str = "INVALID_ARGUMENT") -> None:
        super().__init__(message, field=field)
        self.field = field
        self.reason = reason


class CodeNotFound(LookupError_):
    reason = "CODE_NOT_FOUND"

    def __init__(self, system: str, code: str, nearest: list[str], hint: str = "") -> None:
        shown = f"; nearest codes: {', '.join(nearest)}" if nearest else ""
        super().__init__(
            f"{code!r} is not a {system} code in this catalog{shown}{hint}",
            system=system,
            code=code,
            nearest=",".join(nearest),
        )
        self.system = system
        self.code = code
        self.nearest = nearest


class SystemNotLoaded(LookupError_):
    reason = "CODE_SYSTEM_NOT_LOADED"

    def __init__(self, system: str, how: str) -> None:
        super().__init__(f"the {system} code system is not loaded in this catalog: {how}", system=system)
        self.system = system


class CategoryNotFound(LookupError_):
    reason = "CATEGORY_NOT_FOUND"
