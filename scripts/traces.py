"""`make traces`: the latest traces of the local spool, as trees (span, service, start, duration, status).

Reads the OTLP/JSON lines that `make run`'s processes write to MEDCODE_DATA_DIR/traces/ and prints
each trace with its spans nested under their parents, so that one request can be followed across
the gateway, the services, their SQL, the NATS publish and the meter on one machine. A root marked
"… " continues from a span that is not in the spool (a caller outside, or a call cancelled midway).

    .venv/bin/python scripts/traces.py                  # the 5 latest traces
    .venv/bin/python scripts/traces.py --limit 20 --service medcode-accounts
    .venv/bin/python scripts/traces.py --trace 4bf92f35 # one trace, by a prefix of its id
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

KIND_NAMES = {2: "server", 3: "client", 4: "producer", 5: "consumer"}  # OTLP's numbers; 1 is internal
STATUS_ERROR = 2


@dataclass
class Span:
    trace_id: str
    span_id: str
    parent_id: str
    name: str
    service: str
    kind: int
    start_ns: int
    end_ns: int
    status_code: int
    status_message: str
    children: list[Span] = field(default_factory=list)

    @property
    def label(self) -> str:
        kind = KIND_NAMES.get(self.kind)
        return f"{self.name} ({kind})" if kind else self.name

    @property
    def status(self) -> str:
        if self.status_code == STATUS_ERROR:
            return f"ERROR {self.status_message}".rstrip()
        return "ok"


def spool_directory() -> Path:
    return Path(os.environ.get("MEDCODE_DATA_DIR", "./var")).expanduser().resolve() / "traces"


def _attribute(attributes: list[dict], key: str) -> str:
    for attribute in attributes or []:
        if attribute.get("key") == key:
            value = attribute.get("value", {})
            return str(next(iter(value.values()), "")) if value else ""
    return ""


def read_spans(lines: Iterable[str]) -> Iterator[Span]:
    """Spans from OTLP/JSON lines (one ExportTraceServiceRequest a line); unreadable lines are skipped."""
    for line in lines:
        try:
            request = json.loads(line)
        except json.JSONDecodeError:  # a line cut short by a crash or a full disk
            continue
        for resource_spans in request.get("resourceSpans", []):
            service = _attribute(resource_spans.get("resource", {}).get("attributes", []), "service.name")
            for scope_spans in resource_spans.get("scopeSpans", []):
                for span in scope_spans.get("spans", []):
                    status = span.get("status", {})
                    yield Span(
                        trace_id=span["traceId"],
                        span_id=span["spanId"],
                        parent_id=span.get("parentSpanId", ""),
                        name=span.get("name", ""),
                        service=service or "?",
                        kind=int(span.get("kind", 1)),
                        start_ns=int(span.get("startTimeUnixNano", 0)),
                        end_ns=int(span.get("endTimeUnixNano", 0)),
                        status_code=int(status.get("code", 0)),
                        status_message=status.get("message", ""),
                    )


def read_spool(directory: Path) -> dict[str, list[Span]]:
    """Every span in the spool's files, by trace id."""
    traces: dict[str, list[Span]] = {}
    for path in sorted(directory.glob("*.jsonl")):
        try:
            with open(path, encoding="utf-8", errors="replace") as lines:
                for span in read_spans(lines):
                    traces.setdefault(span.trace_id, []).append(span)
        except FileNotFoundError:  # rotated away while reading
            continue
    return traces


def build_tree(spans: list[Span]) -> list[Span]:
    """The roots of a trace (spans whose parent is not in it), each with its children by start time."""
    by_id = {span.span_id: span for span in spans}
    roots = []
    for span in spans:
        span.children.clear()
    for span in sorted(spans, key=lambda s: s.start_ns):
        parent = by_id.get(span.parent_id)
        if parent is not None and parent is not span:
            parent.children.append(span)
        else:
            roots.append(span)
    return roots


def _rows(span: Span, prefix: str, child_prefix: str) -> Iterator[tuple[str, Span]]:
    yield prefix + span.label, span
    for index, child in enumerate(span.children):
        last = index == len(span.children) - 1
        yield from _rows(
            child, child_prefix + ("└─ " if last else "├─ "), child_prefix + ("   " if last else "│  ")
        )


def render(trace_id: str, spans: list[Span]) -> str:
    """One trace as a heading and an aligned tree."""
    roots = build_tree(spans)
    start = min(span.start_ns for span in spans)
    end = max(span.end_ns for span in spans)
    services = sorted({span.service for span in spans})
    when = datetime.fromtimestamp(start / 1e9, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    errors = sum(span.status_code == STATUS_ERROR for span in spans)
    heading = (
        f"trace {trace_id}  {when} UTC  {(end - start) / 1e6:.1f} ms  {len(spans)} spans"
        f"  {len(services)} services ({', '.join(services)})"
        + (f"  {errors} error{'s' if errors > 1 else ''}" if errors else "")
    )
    # "… " marks a root whose parent was not recorded: a caller outside the platform, or a span
    # that never ended (a call cancelled midway).
    rows = [
        row
        for root in roots
        for row in _rows(root, "… " if root.parent_id else "", "  " if root.parent_id else "")
    ]
    name_width = max(len(label) for label, _ in rows)
    service_width = max(len(span.service) for _, span in rows)
    lines = [heading]
    for label, span in rows:
        lines.append(
            f"  {label:<{name_width}}  {span.service:<{service_width}}"
            f"  {f'+{(span.start_ns - start) / 1e6:.1f}':>9} ms  {(span.end_ns - span.start_ns) / 1e6:8.1f} ms"
            f"  {span.status}"
        )
    return "\n".join(lines)


def latest(traces: dict[str, list[Span]], limit: int) -> list[str]:
    """The ids of the `limit` traces that ended last, oldest first (the newest prints at the bottom)."""
    ends = sorted(traces, key=lambda trace_id: max(span.end_ns for span in traces[trace_id]))
    return ends[-limit:] if limit > 0 else []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Print the latest traces of the local spool as trees.")
    parser.add_argument("--dir", type=Path, default=None, help="the spool (default MEDCODE_DATA_DIR/traces)")
    parser.add_argument("--limit", type=int, default=5, help="how many traces (default 5)")
    parser.add_argument("--trace", default="", help="only the trace whose id starts with this")
    parser.add_argument("--service", default="", help="only traces with a span of this service")
    args = parser.parse_args(argv)
    directory = args.dir or spool_directory()
    if not directory.is_dir():
        print(
            f"no trace spool at {directory}: start the platform with `make run` (it spools spans there "
            "unless OTEL_EXPORTER_OTLP_ENDPOINT sends them to a collector)",
            file=sys.stderr,
        )
        return 1
    traces = read_spool(directory)
    if args.trace:
        traces = {key: spans for key, spans in traces.items() if key.startswith(args.trace.lower())}
    if args.service:
        traces = {
            key: spans for key, spans in traces.items() if any(s.service == args.service for s in spans)
        }
    if not traces:
        print(f"no traces in {directory}" + (" matching the filters" if args.trace or args.service else ""))
        return 0 if not (args.trace or args.service) else 1
    chosen = latest(traces, args.limit)
    print("\n\n".join(render(trace_id, traces[trace_id]) for trace_id in chosen))
    return 0


if __name__ == "__main__":
    sys.exit(main())
