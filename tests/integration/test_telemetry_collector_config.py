"""deploy/otel-collector.yaml holds together: OTLP in on 4317 and 4318, memory_limiter then batch, Jaeger out.

No collector binary runs in CI, so the test checks what the collector itself checks at start: every
component a pipeline names is defined, and the ports and order the platform's docs promise.
"""

from __future__ import annotations

from pathlib import Path

import yaml

CONFIG = Path(__file__).resolve().parents[2] / "deploy" / "otel-collector.yaml"


def test_the_collector_receives_otlp_and_forwards_traces_to_jaeger():
    config = yaml.safe_load(CONFIG.read_text())

    protocols = config["receivers"]["otlp"]["protocols"]
    assert protocols["grpc"]["endpoint"] == "0.0.0.0:4317"
    assert protocols["http"]["endpoint"] == "0.0.0.0:4318"
    traces = config["service"]["pipelines"]["traces"]
    assert traces["receivers"] == ["otlp"]
    # The limiter must see data before the batch holds it, or it cannot refuse it.
    assert traces["processors"] == ["memory_limiter", "batch"]
    (exporter,) = traces["exporters"]
    assert exporter.split("/")[0] == "otlp" and config["exporters"][exporter]["endpoint"] == "jaeger:4317"


def test_every_component_a_pipeline_names_is_defined():
    config = yaml.safe_load(CONFIG.read_text())
    for name, pipeline in config["service"]["pipelines"].items():
        for kind in ("receivers", "processors", "exporters"):
            for component in pipeline.get(kind, []):
                assert component in config[kind], (
                    f"pipeline {name} names {kind[:-1]} {component!r}, not defined"
                )
    for extension in config["service"].get("extensions", []):
        assert extension in config["extensions"]
