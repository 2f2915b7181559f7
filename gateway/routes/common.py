"""Parameters and answers the route modules share."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import Path, Query, Request
from starlette.responses import Response

from gateway.errors import Problem
from gateway.schemas import CODE_PATTERN, MAX_PAGE_SIZE, PAGE_TOKEN_PATTERN

CodeParam = Annotated[
    str,
    Path(
        pattern=CODE_PATTERN,
        max_length=16,
        description="The code as the publisher writes it or without its dot, any case (`E11.65`, `e1165`).",
        examples=["E11.65"],
    ),
]
PageSize = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="Results per page, 1..100.")]
PageToken = Annotated[
    str,
    Query(
        max_length=512,
        pattern=PAGE_TOKEN_PATTERN,
        description="next_page_token of the previous page, with the same other parameters.",
    ),
]
JSON_MEDIA = "application/json"


def json_response(payload: Any, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    """JSON written once, without a second pass through the response model (hot routes)."""
    return Response(
        to_json_text(payload),
        status_code=status_code,
        media_type=JSON_MEDIA,
        headers=headers,
    )


def code_key(code: str) -> str:
    """How codes are matched: upper case, without dots (`e11.65` → `E1165`)."""
    return code.strip().upper().replace(".", "")


async def require_json_body(request: Request) -> None:
    """Bodies are JSON: anything else is refused with 415 rather than parsed as something else."""
    content_type = request.headers.get("content-type", "")
    media = content_type.split(";", 1)[0].strip().lower()
    if media != JSON_MEDIA and not (media.startswith("application/") and media.endswith("+json")):
        raise Problem(
            415,
            "UNSUPPORTED_MEDIA_TYPE",
            f"send the body as application/json (got {media or 'no Content-Type'})",
        )


def with_cookie(request: Request, response: Response) -> Response:
    """Attach the cookie the request minted or dropped, if any."""
    cookie = getattr(request.state, "set_cookie", None)
    if cookie:
        response.headers.append("Set-Cookie", cookie)
    return response


def to_json_text(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
