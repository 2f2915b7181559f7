"""Shared runtime of every medcode service: settings, logs, telemetry, gRPC bootstrap, DB sessions."""
