"""uvicorn's httptools protocol with a bound on the request head (request line and headers).

uvicorn bounds headers only for h11 (`h11_max_incomplete_event_size`); httptools buffers a header of
any size. This counts the bytes of a request's head as they arrive and answers 431 once they pass
the limit, so that the parser never holds more than the limit and one read.
"""

from __future__ import annotations

import functools
import os
import secrets

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

MAX_HEAD_BYTES_ENV = "MEDCODE_GATEWAY_MAX_HEADER_BYTES"
DEFAULT_MAX_HEAD_BYTES = 16 * 1024
# The head is bounded with room for the request line next to the headers' own limit.
REQUEST_LINE_ALLOWANCE = 8 * 1024
TOO_LARGE = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
    b"content-type: application/problem+json\r\n"
    b"connection: close\r\n"
    b"content-length: %d\r\n\r\n%s"
)
TOO_LARGE_BODY = (
    b'{"type":"urn:medcode:problem:headers-too-large","title":"Request Header Fields Too Large",'
    b'"status":431,"detail":"the request line and headers are too large","reason":"HEADERS_TOO_LARGE",'
    b'"trace_id":"%s"}'
)


@functools.cache
def max_head_bytes() -> int:
    """The limit, from the same variable the settings read (workers are separate processes)."""
    raw = os.environ.get(MAX_HEAD_BYTES_ENV, "").strip()
    return (int(raw) if raw.isdigit() else DEFAULT_MAX_HEAD_BYTES) + REQUEST_LINE_ALLOWANCE


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.max_head = max_head_bytes()
        self._head_bytes = 0
        self._in_head = True

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        # Still inside a head after this chunk: it counts (at most one read past the limit is held).
        if self._in_head and not self.transport.is_closing():
            self._head_bytes += len(data)
            if self._head_bytes > self.max_head:
                self._refuse()

    def on_message_begin(self) -> None:
        self._in_head = True
        super().on_message_begin()

    def on_headers_complete(self) -> None:
        # The body and the next request's head are counted afresh.
        self._in_head = False
        self._head_bytes = 0
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._in_head = True

    def _refuse(self) -> None:
        if self.transport.is_closing():
            return
        # No request was read, so no trace: the id still lets the refusal be found in the logs.
        body = TOO_LARGE_BODY % secrets.token_hex(16).encode()
        self.transport.write(TOO_LARGE % (len(body), body))
        self.transport.close()
