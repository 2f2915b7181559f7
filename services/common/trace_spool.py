"""The local trace spool: spans as OTLP JSON lines under one directory, bounded in size.

Without a collector (`make run` on one machine), each process appends one line per exported batch
to `<service>-<pid>.jsonl`: an ExportTraceServiceRequest in the OTLP/JSON encoding (hex ids,
integer enums), the format of the OpenTelemetry file exporter, so a collector's `otlpjsonfile`
receiver can read it later. A file that passes `max_file_bytes` is closed under a new name; when the
directory passes `max_total_bytes`, its oldest files are deleted. `scripts/traces.py` reads it.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.trace import SpanKind, StatusCode

log = logging.getLogger(__name__)

MAX_FILE_BYTES = 8 * 1024 * 1024
MAX_TOTAL_BYTES = 64 * 1024 * 1024
SUFFIX = ".jsonl"

# OTLP's enum numbers (opentelemetry/proto/trace/v1/trace.proto): kinds are the API's plus one.
_STATUS_CODES = {StatusCode.UNSET: 0, StatusCode.OK: 1, StatusCode.ERROR: 2}


def _any_value(value: Any) -> dict[str, Any]:
    # bool before int: True is an int too.
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}  # int64 as a string, as OTLP/JSON writes it
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, bytes):
        return {"stringValue": value.hex()}
    if isinstance(value, list | tuple):
        return {"arrayValue": {"values": [_any_value(item) for item in value]}}
    return {"stringValue": str(value)}


def _attributes(attributes) -> list[dict[str, Any]]:
    return [{"key": key, "value": _any_value(value)} for key, value in (attributes or {}).items()]


def _span(span: ReadableSpan) -> dict[str, Any]:
    context = span.get_span_context()
    encoded: dict[str, Any] = {
        "traceId": format(context.trace_id, "032x"),
        "spanId": format(context.span_id, "016x"),
        "name": span.name,
        "kind": (span.kind or SpanKind.INTERNAL).value + 1,
        "startTimeUnixNano": str(span.start_time or 0),
        "endTimeUnixNano": str(span.end_time or 0),
        "attributes": _attributes(span.attributes),
        "status": {"code": _STATUS_CODES[span.status.status_code]},
    }
    if span.parent is not None and span.parent.is_valid:
        encoded["parentSpanId"] = format(span.parent.span_id, "016x")
    if span.status.description:
        encoded["status"]["message"] = span.status.description
    if span.events:
        encoded["events"] = [
            {
                "timeUnixNano": str(event.timestamp),
                "name": event.name,
                "attributes": _attributes(event.attributes),
            }
            for event in span.events
        ]
    if span.links:
        encoded["links"] = [
            {
                "traceId": format(link.context.trace_id, "032x"),
                "spanId": format(link.context.span_id, "016x"),
                "attributes": _attributes(link.attributes),
            }
            for link in span.links
        ]
    return encoded


def encode_request(spans: Sequence[ReadableSpan]) -> dict[str, Any]:
    """An ExportTraceServiceRequest in OTLP/JSON: spans grouped by resource, then by scope."""
    resources: dict[int, tuple[Any, dict[tuple[str, str], list]]] = {}
    for span in spans:
        _, scopes = resources.setdefault(id(span.resource), (span.resource, {}))
        scope = span.instrumentation_scope
        key = (scope.name, scope.version or "") if scope else ("", "")
        scopes.setdefault(key, []).append(_span(span))
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": _attributes(resource.attributes)},
                "scopeSpans": [
                    {"scope": {"name": name, "version": version}, "spans": encoded}
                    for (name, version), encoded in scopes.items()
                ],
            }
            for resource, scopes in resources.values()
        ]
    }


class SpoolExporter(SpanExporter):
    """Appends each batch of spans to this process's file in `directory`, keeping the directory bounded."""

    def __init__(
        self,
        directory: Path,
        service_name: str,
        *,
        max_file_bytes: int = MAX_FILE_BYTES,
        max_total_bytes: int = MAX_TOTAL_BYTES,
    ) -> None:
        if max_file_bytes <= 0 or max_total_bytes < max_file_bytes:
            raise ValueError("the spool needs max_file_bytes > 0 and max_total_bytes >= max_file_bytes")
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        safe_name = "".join(c if c.isalnum() or c in "-_." else "_" for c in service_name)
        self.path = self.directory / f"{safe_name}-{os.getpid()}{SUFFIX}"
        self.max_file_bytes = max_file_bytes
        self.max_total_bytes = max_total_bytes
        self._lock = threading.Lock()
        self._file: IO[bytes] | None = None
        self._closed = False
        self._prune()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        line = json.dumps(encode_request(spans), separators=(",", ":")).encode() + b"\n"
        with self._lock:
            if self._closed:
                return SpanExportResult.FAILURE
            try:
                spool = self._open()
                spool.write(line)
                spool.flush()
                if spool.tell() >= self.max_file_bytes:
                    self._rotate()
            except OSError as error:  # a full disk must not stop the service; the spans are dropped
                log.warning("trace spool not written", extra={"path": str(self.path), "error": repr(error)})
                return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS

    def _open(self) -> IO[bytes]:
        # Another process's pruning may have deleted the file: write to a new one, not to a ghost.
        if self._file is None or not self.path.exists():
            if self._file is not None:
                self._file.close()
            self._file = open(self.path, "ab")  # kept open across exports; closed on shutdown
        return self._file

    def _rotate(self) -> None:
        assert self._file is not None
        self._file.close()
        self._file = None
        rotated = self.path.with_name(f"{self.path.stem}-{time.time_ns()}{SUFFIX}")
        self.path.rename(rotated)
        self._prune()

    def _prune(self) -> None:
        """Delete the oldest files until the directory holds at most max_total_bytes."""
        files = []
        for path in self.directory.glob(f"*{SUFFIX}"):
            try:
                stat = path.stat()
            except FileNotFoundError:  # pruned by another process meanwhile
                continue
            files.append((stat.st_mtime_ns, stat.st_size, path))
        total = sum(size for _, size, _ in files)
        for _, size, path in sorted(files):
            if total <= self.max_total_bytes:
                break
            if path == self.path:
                continue
            path.unlink(missing_ok=True)
            total -= size

    def shutdown(self) -> None:
        with self._lock:
            self._closed = True
            if self._file is not None:
                self._file.close()
                self._file = None

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True
